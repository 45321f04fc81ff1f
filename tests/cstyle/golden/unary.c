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
void unary_f32(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  float *data0 = (float *)bufs[0];
  const float *data1 = (const float *)bufs[1];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx2 = (int32_t)cg_g;
    float val4 = data1[gidx2];
    float alu5 = exp2f(val4);
    int32_t alu7 = ((int32_t)((uint32_t)0 + (uint32_t)gidx2));
    data0[alu7] = alu5;
    float alu10 = log2f(val4);
    int32_t alu12 = ((int32_t)((uint32_t)8 + (uint32_t)gidx2));
    data0[alu12] = alu10;
    float alu15 = sinf(val4);
    int32_t alu17 = ((int32_t)((uint32_t)16 + (uint32_t)gidx2));
    data0[alu17] = alu15;
    float alu20 = sqrtf(val4);
    int32_t alu22 = ((int32_t)((uint32_t)24 + (uint32_t)gidx2));
    data0[alu22] = alu20;
    float alu25 = ((float)1 / val4);
    int32_t alu27 = ((int32_t)((uint32_t)32 + (uint32_t)gidx2));
    data0[alu27] = alu25;
    float alu30 = (-val4);
    int32_t alu32 = ((int32_t)((uint32_t)40 + (uint32_t)gidx2));
    data0[alu32] = alu30;
    float alu35 = truncf(val4);
    int32_t alu37 = ((int32_t)((uint32_t)48 + (uint32_t)gidx2));
    data0[alu37] = alu35;
  }
}
