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
static inline float cg_b2f(uint16_t b) { return cg_u2f((uint32_t)b << 16); }
static inline uint16_t cg_f2b(float f) {
  uint32_t u = cg_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float cg_rb(float f) { return cg_b2f(cg_f2b(f)); }
void half_bf16(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  uint16_t *data0 = (uint16_t *)bufs[0];
  const uint16_t *data1 = (const uint16_t *)bufs[1];
  const uint16_t *data2 = (const uint16_t *)bufs[2];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx3 = (int32_t)cg_g;
    float val5 = cg_b2f(data1[gidx3]);
    float val7 = cg_b2f(data2[gidx3]);
    float alu8 = cg_rb((val5 + val7));
    int32_t alu10 = ((int32_t)((uint32_t)0 + (uint32_t)gidx3));
    data0[alu10] = cg_f2b(alu8);
    float alu13 = cg_rb((val5 * val7));
    int32_t alu15 = ((int32_t)((uint32_t)8 + (uint32_t)gidx3));
    data0[alu15] = cg_f2b(alu13);
    float alu18 = cg_rb((val5 / val7));
    int32_t alu20 = ((int32_t)((uint32_t)16 + (uint32_t)gidx3));
    data0[alu20] = cg_f2b(alu18);
    float alu23 = cg_rb(sqrtf(val5));
    int32_t alu25 = ((int32_t)((uint32_t)24 + (uint32_t)gidx3));
    data0[alu25] = cg_f2b(alu23);
    float alu28 = cg_rb((cg_rb(val5 * val7) + val5));
    int32_t alu30 = ((int32_t)((uint32_t)32 + (uint32_t)gidx3));
    data0[alu30] = cg_f2b(alu28);
    float alu33 = ((val5 < val7 || val7 != val7) ? val7 : val5);
    int32_t alu35 = ((int32_t)((uint32_t)40 + (uint32_t)gidx3));
    data0[alu35] = cg_f2b(alu33);
  }
}
