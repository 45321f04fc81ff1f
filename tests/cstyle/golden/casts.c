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
static inline float cg_h2f(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (uint32_t)(h >> 10) & 0x1fu, m = (uint32_t)h & 0x3ffu;
  if (e == 0x1fu) return cg_u2f(s | 0x7f800000u | (m << 13));
  if (e == 0u) { float f = (float)m * 5.9604644775390625e-8f; return s ? -f : f; }
  return cg_u2f(s | ((e + 112u) << 23) | (m << 13));
}
static inline uint16_t cg_f2h(float f) {
  uint32_t u = cg_f2u(f), s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(s | 0x7e00u);
  if (a >= 0x477ff000u) return (uint16_t)(s | 0x7c00u);
  if (a < 0x38800000u) {
    uint32_t sh = 126u - (a >> 23), m = (a & 0x7fffffu) | 0x800000u;
    if (sh > 24u) return (uint16_t)s;
    uint32_t q = m >> sh, rem = m & ((1u << sh) - 1u), tie = 1u << (sh - 1u);
    if (rem > tie || (rem == tie && (q & 1u))) q++;
    return (uint16_t)(s | q);
  }
  a -= 0x38000000u;
  return (uint16_t)(s | ((a + 0x0fffu + ((a >> 13) & 1u)) >> 13));
}
static inline float cg_rh(float f) { return cg_h2f(cg_f2h(f)); }
static inline float cg_b2f(uint16_t b) { return cg_u2f((uint32_t)b << 16); }
static inline uint16_t cg_f2b(float f) {
  uint32_t u = cg_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(((u >> 16) & 0x8000u) | 0x7fc0u);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static inline float cg_rb(float f) { return cg_b2f(cg_f2b(f)); }
void casts(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  int32_t *data0 = (int32_t *)bufs[0];
  uint8_t *data1 = (uint8_t *)bufs[1];
  int8_t *data2 = (int8_t *)bufs[2];
  uint64_t *data3 = (uint64_t *)bufs[3];
  uint8_t *data4 = (uint8_t *)bufs[4];
  uint16_t *data5 = (uint16_t *)bufs[5];
  uint16_t *data6 = (uint16_t *)bufs[6];
  double *data7 = (double *)bufs[7];
  int64_t *data8 = (int64_t *)bufs[8];
  const float *data9 = (const float *)bufs[9];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx10 = (int32_t)cg_g;
    float val12 = data9[gidx10];
    int32_t cast13 = (val12 != val12 ? (int32_t)0 : val12 <= -2147483648.0f ? (-2147483647-1) : val12 >= 2147483648.0f ? 2147483647 : (int32_t)val12);
    data0[gidx10] = cast13;
    uint8_t cast16 = (val12 != val12 ? (uint8_t)0 : val12 <= -1.0f ? ((uint8_t)0) : val12 >= 256.0f ? ((uint8_t)255) : (uint8_t)val12);
    data1[gidx10] = cast16;
    int8_t cast19 = (val12 != val12 ? (int8_t)0 : val12 <= -128.0f ? ((int8_t)-128) : val12 >= 128.0f ? ((int8_t)127) : (int8_t)val12);
    data2[gidx10] = cast19;
    uint64_t cast22 = (val12 != val12 ? (uint64_t)0 : val12 <= -1.0f ? 0ULL : val12 >= 18446744073709551616.0f ? 18446744073709551615ULL : (uint64_t)val12);
    data3[gidx10] = cast22;
    _Bool cast25 = (val12 != 0);
    data4[gidx10] = (uint8_t)(cast25);
    float cast28 = cg_rh((float)val12);
    data5[gidx10] = cg_f2h(cast28);
    float cast31 = cg_rb((float)val12);
    data6[gidx10] = cg_f2b(cast31);
    double cast34 = ((double)val12);
    data7[gidx10] = cast34;
    int64_t cast37 = (val12 != val12 ? (int64_t)0 : val12 <= -9223372036854775808.0f ? (-9223372036854775807LL-1) : val12 >= 9223372036854775808.0f ? 9223372036854775807LL : (int64_t)val12);
    data8[gidx10] = cast37;
  }
}
