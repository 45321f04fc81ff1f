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
void grid3(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  int32_t *data0 = (int32_t *)bufs[0];
  (void)vars; (void)grid;
  int64_t cg_i0 = start % grid[0], cg_i1 = start / grid[0] % grid[1], cg_i2 = start / grid[0] / grid[1];
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx1 = (int32_t)cg_i0;
    int32_t gidx2 = (int32_t)cg_i1;
    int32_t gidx3 = (int32_t)cg_i2;
    int32_t alu6 = ((int32_t)((uint32_t)gidx3 * (uint32_t)3));
    int32_t alu7 = ((int32_t)((uint32_t)alu6 + (uint32_t)gidx2));
    int32_t alu8 = ((int32_t)((uint32_t)alu7 * (uint32_t)2));
    int32_t alu9 = ((int32_t)((uint32_t)alu8 + (uint32_t)gidx1));
    int32_t alu11 = ((int32_t)((uint32_t)gidx3 * (uint32_t)10000));
    int32_t alu13 = ((int32_t)((uint32_t)gidx2 * (uint32_t)100));
    int32_t alu14 = ((int32_t)((uint32_t)alu13 + (uint32_t)alu11));
    int32_t alu15 = ((int32_t)((uint32_t)gidx1 + (uint32_t)alu14));
    data0[alu9] = alu15;
    if (++cg_i0 == grid[0]) { cg_i0 = 0; if (++cg_i1 == grid[1]) { cg_i1 = 0; cg_i2++; } }
  }
}
