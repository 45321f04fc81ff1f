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
void groupsum(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  float *data0 = (float *)bufs[0];
  const float *data1 = (const float *)bufs[1];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    float smem2[4];
    float acc3[1];
    int32_t gidx4 = (int32_t)cg_g;
    int32_t lidx5 = (int32_t)0;
    int32_t alu8 = ((int32_t)((uint32_t)gidx4 * (uint32_t)4));
    int32_t alu9 = ((int32_t)((uint32_t)alu8 + (uint32_t)lidx5));
    float val11 = data1[alu9];
    smem2[lidx5] = val11;
    _Bool alu15 = (lidx5 == 0);
    if (alu15) {
      acc3[0] = 0.0f;
      for (int32_t ridx21 = 0; ridx21 < 4; ridx21++) {
        float val23 = smem2[ridx21];
        float val25 = acc3[0];
        float alu26 = (val25 + val23);
        acc3[0] = alu26;
      }
      float val31 = acc3[0];
      data0[gidx4] = val31;
    }
  }
}
