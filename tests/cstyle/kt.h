/* Shared test kit for the C-family backends (cstyle renderer, clang, opencl, qcom):
 * IR builders for a fixed set of sample kernels, a harness that drives any plugin
 * through its ABI (dlopen + cg_plugin_entry, no libcgrad), and a numeric suite that
 * runs every sample kernel and compares against naive C references written here,
 * independently of the renderer. */
#ifndef CG_TESTS_KT_H
#define CG_TESTS_KT_H

#include <stdint.h>
#include <stdio.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

#define KT_SKIP 77

/* ---- IR building ---- */
int32_t kt_op(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int n, int32_t a, int32_t c, int32_t d, int64_t arg);
cg_ir_type kt_vec(cg_ir_scalar s, int vec);
cg_ir_type kt_gptr(cg_ir_scalar s, int vec); /* global pointer */
int32_t kt_param(cg_ir_builder *b, cg_ir_scalar s, int flags, int64_t count);
int32_t kt_at(cg_ir_builder *b, int32_t ptr, int32_t idx, int vec); /* INDEX */
int32_t kt_ld(cg_ir_builder *b, int32_t ptr, int32_t idx);             /* scalar LOAD */
void kt_st(cg_ir_builder *b, int32_t ptr, int32_t idx, int32_t v);     /* scalar STORE */
cg_ir_program *kt_finish(cg_ir_builder *b, uint32_t gx, uint32_t gy, uint32_t gz);

/* Sample kernels. Each takes its sizes; global = one work-group per element unless said. */
/* out[k*n+i] = op_k(a[i]) for EXP2 LOG2 SIN SQRT RECIP NEG TRUNC (f32) */
cg_ir_program *kt_unary(int n);
/* out[k*n+i] = op_k(a[i], b[i]) for the ops valid on scalar s (compares cast to s) */
cg_ir_program *kt_binop(cg_ir_scalar s, int n, const int *ops, int nops);
/* out[g] = sum_j a[g*k + j], accumulated in a DEFINE_REG, f32 */
cg_ir_program *kt_reduce(int groups, int k);
/* out[i] = i < var n ? a[i] : -1; out2[i] = a[i] only where i is even (gated STORE) */
cg_ir_program *kt_gated(int n);
/* from f32 a[i]: i32, u8, i8, u64, bool, f16, bf16, f64, i64 outputs */
cg_ir_program *kt_casts(int n);
/* 16-bit float arithmetic in type s: out[k*n+i] for ADD MUL FDIV SQRT MULACC(a,b,a) MAX */
cg_ir_program *kt_half(cg_ir_scalar s, int n);
/* vec4 f32: out4[i] = reverse(a4[i] * b4[i] + a4[i]); int4 IDIV; bool4 compare + WHERE */
cg_ir_program *kt_vector(int n);
/* out[(z*gy + y)*gx + x] = x + 100*y + 10000*z over a 3-D grid */
cg_ir_program *kt_grid3(int gx, int gy, int gz);
/* out[i] = 2 * a[i] through a DEFINE_LOCAL slot and a BARRIER */
cg_ir_program *kt_local(int n);
/* out[g] = sum of a[g*l .. g*l+l) by l work-items: DEFINE_LOCAL, BARRIER, IF lid == 0 */
cg_ir_program *kt_groupsum(int groups, int l);
/* out[r] = sum_{a<2,b<3} x[r/4 + 15a + 5b] * y[12a + r%4 + 4b], r < 20, in a 20-wide
 * DEFINE_REG accumulator zeroed by a loop (the shape of a small matmul kernel; once
 * miscompiled by GCC 12 with AVX-512 into a misaligned red-zone store) */
cg_ir_program *kt_regacc(void);
/* BITCAST f32 <-> u32, f16 <-> u16 */
cg_ir_program *kt_bitcast(int n);

/* ---- plugin harness ---- */
typedef struct {
  void *lib;
  const cg_plugin_api *api;
  void *ctx, *dev;
  cg_device_props props;
  int failures, checks;
  const char *tag; /* printed in messages */
} kt_dev;

const char *kt_last_error(void);
/* Load the plugin at path and init it. 0 ok, -1 error (printed). */
int kt_load(kt_dev *d, const char *path);
/* Open device `index`. 0 ok, 1 no such device (message in kt_last_error), -1 error. */
int kt_open(kt_dev *d, int index);
void kt_unload(kt_dev *d);
/* Render, compile, load, launch prog over host arrays io[i] of bytes[i] bytes (copied
 * in and back out), with vars. local NULL = the program's local dims. Returns the plugin status. */
cg_pstatus kt_run(kt_dev *d, const cg_ir_program *p, void **io, const size_t *bytes, const int64_t *vars,
                  const uint32_t *local);

/* Run every numeric case of the suite on d; returns the number of failed checks. */
int kt_suite(kt_dev *d);
/* Device test of a GPU plugin: load the plugin at path, check its id; without a device,
 * device_open and device_props must answer CG_P_ERR_NODEV with a message containing
 * nodev ("no HIP device"); with one, the suite runs on device 0. Returns the number of
 * failed checks (1 when the plugin does not load). */
int kt_device_test(const char *path, const char *id, const char *nodev);

#define KT_CHECK(d, cond, ...)                                          \
  do {                                                                  \
    (d)->checks++;                                                      \
    if (!(cond)) {                                                      \
      (d)->failures++;                                                  \
      if ((d)->failures < 40) {                                         \
        fprintf(stderr, "FAIL [%s] %s:%d: ", (d)->tag, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                   \
        fprintf(stderr, "\n");                                          \
      }                                                                 \
    }                                                                   \
  } while (0)

#endif
