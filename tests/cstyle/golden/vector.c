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
typedef float float_v4 __attribute__((vector_size(16)));
typedef float float_v4_u __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t int32_t_v4 __attribute__((vector_size(16)));
typedef int32_t int32_t_v4_u __attribute__((vector_size(16), aligned(4), may_alias));
typedef uint8_t uint8_t_v4 __attribute__((vector_size(4)));
typedef uint8_t uint8_t_v4_u __attribute__((vector_size(4), aligned(1), may_alias));
void vec4(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {
  float *data0 = (float *)bufs[0];
  int32_t *data1 = (int32_t *)bufs[1];
  float *data2 = (float *)bufs[2];
  const float *data3 = (const float *)bufs[3];
  const float *data4 = (const float *)bufs[4];
  const int32_t *data5 = (const int32_t *)bufs[5];
  (void)vars; (void)grid;
  for (int64_t cg_g = start; cg_g < end; cg_g++) {
    int32_t gidx6 = (int32_t)cg_g;
    int32_t alu8 = ((int32_t)((uint32_t)gidx6 * (uint32_t)4));
    float_v4 val10 = (*(float_v4_u *)(data3 + alu8));
    float_v4 val12 = (*(float_v4_u *)(data4 + alu8));
    float_v4 alu13 = (float_v4){(val10[0] * val12[0] + val10[0]), (val10[1] * val12[1] + val10[1]), (val10[2] * val12[2] + val10[2]), (val10[3] * val12[3] + val10[3])};
    float_v4 vec18 = (float_v4){alu13[3], alu13[2], alu13[1], alu13[0]};
    *(float_v4_u *)(data0 + alu8) = vec18;
    int32_t_v4 val22 = (*(int32_t_v4_u *)(data5 + alu8));
    int32_t_v4 vec24 = (int32_t_v4){3, 3, 3, 3};
    int32_t_v4 alu25 = (int32_t_v4){((int32_t)((uint32_t)val22[0] - (uint32_t)vec24[0])), ((int32_t)((uint32_t)val22[1] - (uint32_t)vec24[1])), ((int32_t)((uint32_t)val22[2] - (uint32_t)vec24[2])), ((int32_t)((uint32_t)val22[3] - (uint32_t)vec24[3]))};
    int32_t_v4 alu26 = (int32_t_v4){(alu25[0] == 0 ? (int32_t)0 : alu25[0] == -1 ? (int32_t)((uint32_t)0 - (uint32_t)val22[0]) : (int32_t)(val22[0] / alu25[0])), (alu25[1] == 0 ? (int32_t)0 : alu25[1] == -1 ? (int32_t)((uint32_t)0 - (uint32_t)val22[1]) : (int32_t)(val22[1] / alu25[1])), (alu25[2] == 0 ? (int32_t)0 : alu25[2] == -1 ? (int32_t)((uint32_t)0 - (uint32_t)val22[2]) : (int32_t)(val22[2] / alu25[2])), (alu25[3] == 0 ? (int32_t)0 : alu25[3] == -1 ? (int32_t)((uint32_t)0 - (uint32_t)val22[3]) : (int32_t)(val22[3] / alu25[3]))};
    *(int32_t_v4_u *)(data1 + alu8) = alu26;
    uint8_t_v4 alu29 = (uint8_t_v4){(uint8_t)(val10[0] < val12[0]), (uint8_t)(val10[1] < val12[1]), (uint8_t)(val10[2] < val12[2]), (uint8_t)(val10[3] < val12[3])};
    float_v4 alu30 = (float_v4){(alu29[0] ? val10[0] : val12[0]), (alu29[1] ? val10[1] : val12[1]), (alu29[2] ? val10[2] : val12[2]), (alu29[3] ? val10[3] : val12[3])};
    *(float_v4_u *)(data2 + alu8) = alu30;
  }
}
