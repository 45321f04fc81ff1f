#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
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
    bool alu5 = (gidx3 < var0);
    float val8 = alu5 ? data2[gidx3] : (-1.0f);
    data0[gidx3] = val8;
    int32_t alu13 = ((2 == 0 || 2 == -1) ? (int32_t)0 : (int32_t)(gidx3 % 2));
    bool alu14 = (alu13 == 0);
    float val16 = data2[gidx3];
    if (alu14) data1[gidx3] = val16;
  }
}
