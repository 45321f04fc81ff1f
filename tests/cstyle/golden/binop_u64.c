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
void binop(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  uint64_t *data0 = (uint64_t *)bufs[0];
  const uint64_t *data1 = (const uint64_t *)bufs[1];
  const uint64_t *data2 = (const uint64_t *)bufs[2];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx3 = (int32_t)cg_g;
    uint64_t val5 = data1[gidx3];
    uint64_t val7 = data2[gidx3];
    uint64_t alu8 = (val5 + val7);
    int32_t alu10 = ((int32_t)((uint32_t)0 + (uint32_t)gidx3));
    data0[alu10] = alu8;
    uint64_t alu13 = (val5 * val7);
    int32_t alu15 = ((int32_t)((uint32_t)8 + (uint32_t)gidx3));
    data0[alu15] = alu13;
    uint64_t alu18 = (val7 == 0 ? (uint64_t)0 : (uint64_t)(val5 / val7));
    int32_t alu20 = ((int32_t)((uint32_t)16 + (uint32_t)gidx3));
    data0[alu20] = alu18;
    uint64_t alu23 = (val7 == 0 ? (uint64_t)0 : (uint64_t)(val5 % val7));
    int32_t alu25 = ((int32_t)((uint32_t)24 + (uint32_t)gidx3));
    data0[alu25] = alu23;
    uint64_t alu28 = ((uint64_t)((uint64_t)val5 << (val7 & 63)));
    int32_t alu30 = ((int32_t)((uint32_t)32 + (uint32_t)gidx3));
    data0[alu30] = alu28;
    uint64_t alu33 = ((uint64_t)(val5 >> (val7 & 63)));
    int32_t alu35 = ((int32_t)((uint32_t)40 + (uint32_t)gidx3));
    data0[alu35] = alu33;
    uint64_t alu38 = (val5 < val7 ? val7 : val5);
    int32_t alu40 = ((int32_t)((uint32_t)48 + (uint32_t)gidx3));
    data0[alu40] = alu38;
    _Bool alu43 = (val5 < val7);
    uint64_t cast44 = ((uint64_t)alu43);
    int32_t alu46 = ((int32_t)((uint32_t)56 + (uint32_t)gidx3));
    data0[alu46] = cast44;
  }
}
