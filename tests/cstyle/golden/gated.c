typedef __INT8_TYPE__ int8_t;
typedef __INT16_TYPE__ int16_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
void *memcpy(void *, const void *, __SIZE_TYPE__);
float exp2f(float); float log2f(float); float sinf(float); float sqrtf(float);
float truncf(float); float powf(float, float);
double exp2(double); double log2(double); double sin(double); double sqrt(double);
double trunc(double); double pow(double, double);
static inline uint32_t cg_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float cg_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
void gated(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  float *data0 = (float *)bufs[0];
  float *data1 = (float *)bufs[1];
  const float *data2 = (const float *)bufs[2];
  const int var0 = (int)vars[0]; /* n */
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx3 = (int32_t)cg_g;
    _Bool alu5 = (gidx3 < var0);
    float val8 = alu5 ? data2[gidx3] : (-1.0f);
    data0[gidx3] = val8;
    int32_t alu13 = ((int32_t)(gidx3 % 2));
    _Bool alu14 = (alu13 == 0);
    float val16 = data2[gidx3];
    if (alu14) data1[gidx3] = val16;
  }
}
