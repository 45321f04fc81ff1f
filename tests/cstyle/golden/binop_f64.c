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
  double *data0 = (double *)bufs[0];
  const double *data1 = (const double *)bufs[1];
  const double *data2 = (const double *)bufs[2];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx3 = (int32_t)cg_g;
    double val5 = data1[gidx3];
    double val7 = data2[gidx3];
    double alu8 = (val5 / val7);
    int32_t alu10 = ((int32_t)((uint32_t)0 + (uint32_t)gidx3));
    data0[alu10] = alu8;
    double alu13 = ((val5 < val7 || val7 != val7) ? val7 : val5);
    int32_t alu15 = ((int32_t)((uint32_t)8 + (uint32_t)gidx3));
    data0[alu15] = alu13;
    double alu18 = pow(val5, val7);
    int32_t alu20 = ((int32_t)((uint32_t)16 + (uint32_t)gidx3));
    data0[alu20] = alu18;
    double alu23 = (val5 * val7 + val5);
    int32_t alu25 = ((int32_t)((uint32_t)24 + (uint32_t)gidx3));
    data0[alu25] = alu23;
  }
}
