/* Metal plugin tests. Apple's Metal compiler is not available here, so the MSL the
 * plugin renders is held to what can be checked without it:
 *
 *   golden   the MSL of the sample kernels equals the reviewed files golden/<name>.metal
 *            (regenerate with CG_UPDATE_GOLDEN=1 and review the diff); two renders are
 *            identical; float64 and vectors wider than 4 are refused with a clear message.
 *   syntax   every test kernel (the samples, binops over every Metal dtype, half/bfloat
 *            vectors, 2-D work-groups) is compiled as C++17 by g++ -fsyntax-only against
 *            metal_stub.h, which declares the Metal built-ins the renderer uses. Catches
 *            syntax errors, undeclared names, wrong arity and type errors; not Metal's
 *            address-space rules. SKIP (77) without a C++ compiler.
 *   device   loads the plugin through its ABI: "no Metal device" here (off macOS, the
 *            behaviour under test); with a Metal GPU, the cstyle numeric suite.
 * Usage: test_metal golden <dir> | syntax <stub include dir> <c++> <work dir> | device <plugin.so> */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cgrad/cstyle.h>

#include "kt.h"
#include "metal_impl.h"

#include "../common/check.h"

typedef struct {
  char name[32];
  cg_ir_program *p;
} kernel;

static const cg_ir_type I32 = {CG_IR_INT32, 1, 0, 0};

/* kt_casts without float64 (Metal has no double): f32 -> i32 u8 i8 u64 bool f16 bf16 i64. */
static cg_ir_program *casts_metal(int n) {
  static const cg_ir_scalar to[] = {CG_IR_INT32, CG_IR_UINT8, CG_IR_INT8, CG_IR_UINT64,
                                    CG_IR_BOOL, CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_INT64};
  cg_ir_builder *b = cg_irb_new("casts_metal");
  int32_t outs[8];
  for (int k = 0; k < 8; k++) outs[k] = kt_param(b, to[k], CG_IR_PARAM_WRITE, n);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  int32_t i = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 0), x = kt_ld(b, a, i);
  for (int k = 0; k < 8; k++) kt_st(b, outs[k], i, kt_op(b, CG_IR_CAST, cg_ir_t(to[k]), 1, x, 0, 0, 0));
  return kt_finish(b, (uint32_t)n, 1, 1);
}

/* 16-bit float vectors and a 2-D work-group: half4 a*a (native), bfloat4 a+a
 * (emulated), half4 -> float4 cast, bool4 from a compare stored as uchar lanes, and
 * out index = gid * 8 + lid.y * 4 + lid.x over local (4, 2). */
static cg_ir_program *vec16_2d(int groups) {
  cg_ir_builder *b = cg_irb_new("vec16_2d");
  const int n = groups * 8 * 4;
  const cg_ir_type H4 = kt_vec(CG_IR_FLOAT16, 4), B4 = kt_vec(CG_IR_BFLOAT16, 4), F4 = kt_vec(CG_IR_FLOAT32, 4);
  const cg_ir_type Q4 = kt_vec(CG_IR_BOOL, 4), V = cg_ir_t(CG_IR_VOID);
  int32_t oh = kt_param(b, CG_IR_FLOAT16, CG_IR_PARAM_WRITE, n);
  int32_t ob = kt_param(b, CG_IR_BFLOAT16, CG_IR_PARAM_WRITE, n);
  int32_t of = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  int32_t oq = kt_param(b, CG_IR_BOOL, CG_IR_PARAM_WRITE, n);
  int32_t ah = kt_param(b, CG_IR_FLOAT16, CG_IR_PARAM_READ, n);
  int32_t ab = kt_param(b, CG_IR_BFLOAT16, CG_IR_PARAM_READ, n);
  int32_t g = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 0);
  int32_t lx = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 3), ly = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 4);
  int32_t slot = kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, g, cg_irb_const_i(b, CG_IR_INT32, 8), 0, 0),
                       kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, ly, cg_irb_const_i(b, CG_IR_INT32, 4), 0, 0), lx, 0, 0), 0, 0);
  int32_t i4 = kt_op(b, CG_IR_MUL, I32, 2, slot, cg_irb_const_i(b, CG_IR_INT32, 4), 0, 0);
  int32_t xh = kt_op(b, CG_IR_LOAD, H4, 1, kt_at(b, ah, i4, 4), 0, 0, 0);
  int32_t xb = kt_op(b, CG_IR_LOAD, B4, 1, kt_at(b, ab, i4, 4), 0, 0, 0);
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, oh, i4, 4), kt_op(b, CG_IR_MUL, H4, 2, xh, xh, 0, 0), 0, 0);
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, ob, i4, 4), kt_op(b, CG_IR_ADD, B4, 2, xb, xb, 0, 0), 0, 0);
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, of, i4, 4), kt_op(b, CG_IR_CAST, F4, 1, xh, 0, 0, 0), 0, 0);
  int32_t lt = kt_op(b, CG_IR_CMPLT, Q4, 2, xh, kt_op(b, CG_IR_CAST, H4, 1, xb, 0, 0, 0), 0, 0);
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, oq, i4, 4), lt, 0, 0);
  uint32_t gl[3] = {(uint32_t)groups, 1, 1}, lo[3] = {4, 2, 1};
  cg_irb_set_launch(b, gl, lo);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* The kernels checked; golden ones first. Returns the count (ngolden = goldens). */
static int make_kernels(kernel *k, int *ngolden) {
  static const int iops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_IDIV, CG_IR_MOD, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE,
                             CG_IR_CMPEQ, CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_SHL, CG_IR_SHR, CG_IR_MULACC};
  static const int fops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_FDIV, CG_IR_MAX, CG_IR_POW, CG_IR_CMPLT,
                             CG_IR_CMPNE, CG_IR_CMPEQ, CG_IR_MULACC};
  static const int bops[] = {CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE, CG_IR_CMPEQ};
  static const int dts[] = {CG_IR_BOOL, CG_IR_INT8, CG_IR_INT16, CG_IR_INT32, CG_IR_INT64, CG_IR_UINT8,
                            CG_IR_UINT16, CG_IR_UINT32, CG_IR_UINT64, CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_FLOAT32};
  struct { const char *name; cg_ir_program *p; } g[] = {
      {"unary", kt_unary(8)},          {"reduce", kt_reduce(4, 16)},   {"gated", kt_gated(8)},
      {"casts_metal", casts_metal(8)}, {"half_f16", kt_half(CG_IR_FLOAT16, 8)},
      {"half_bf16", kt_half(CG_IR_BFLOAT16, 8)}, {"vector", kt_vector(4)}, {"grid3", kt_grid3(2, 3, 4)},
      {"local", kt_local(4)},          {"bitcast", kt_bitcast(4)},     {"groupsum", kt_groupsum(3, 4)},
      {"vec16_2d", vec16_2d(2)}};
  int n = 0;
  for (size_t i = 0; i < sizeof g / sizeof g[0]; i++, n++) {
    snprintf(k[n].name, sizeof k[n].name, "%s", g[i].name);
    k[n].p = g[i].p;
  }
  *ngolden = n;
  for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++, n++) {
    int s = dts[i], fl = cg_ir_is_float((uint8_t)s);
    const int *ops = s == CG_IR_BOOL ? bops : fl ? fops : iops;
    int nops = s == CG_IR_BOOL ? 7 : fl ? 10 : 15;
    snprintf(k[n].name, sizeof k[n].name, "binop_%s", cg_ir_scalar_name(s));
    k[n].p = kt_binop((cg_ir_scalar)s, 16, ops, nops);
  }
  return n;
}

static void free_kernels(kernel *k, int n) {
  for (int i = 0; i < n; i++) free(k[i].p);
}

static int t_golden(const char *dir) {
  kernel k[40];
  int ng, n = make_kernels(k, &ng);
  char err[512], path[2048];
  for (int i = 0; i < ng; i++) {
    char *a = mt__render_source(k[i].p, err, sizeof err), *b = mt__render_source(k[i].p, err, sizeof err);
    CHECK(a && b, "%s: render failed: %s", k[i].name, err);
    if (a && b) {
      CHECK(!strcmp(a, b), "%s: two renders differ", k[i].name);
      snprintf(path, sizeof path, "%s/%s.metal", dir, k[i].name);
      test_golden(path, a, "rendered MSL");
    }
    free(a);
    free(b);
  }
  free_kernels(k, n);
  /* what Metal cannot express is refused with a reason */
  static const int fops[] = {CG_IR_ADD};
  cg_ir_program *p = kt_binop(CG_IR_FLOAT64, 4, fops, 1);
  char *s = mt__render_source(p, err, sizeof err);
  CHECK(!s && strstr(err, "dtype"), "float64: %s", s ? "rendered" : err);
  free(s);
  free(p);
  cg_ir_builder *b = cg_irb_new("wide");
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 8);
  int32_t z = cg_irb_const_f(b, CG_IR_FLOAT32, 1.0), lanes[8] = {z, z, z, z, z, z, z, z};
  int32_t v = cg_irb_emit(b, CG_IR_VECTORIZE, kt_vec(CG_IR_FLOAT32, 8), 8, lanes, 0);
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, kt_at(b, out, cg_irb_const_i(b, CG_IR_INT32, 0), 8), v, 0, 0);
  p = kt_finish(b, 1, 1, 1);
  s = mt__render_source(p, err, sizeof err);
  CHECK(!s && strstr(err, "wider than 4"), "vec8: %s", s ? "rendered" : err);
  free(s);
  free(p);
  s = mt__render_source(NULL, err, sizeof err);
  CHECK(!s && err[0], "NULL program rendered");
  free(s);
  printf("metal golden: %d kernels, %d failures\n", ng, fails);
  return fails ? 1 : 0;
}

/* Compile every rendered kernel as C++ against the stub. */
static int t_syntax(const char *inc, const char *cxx, const char *work) {
  char cmd[8192], path[2048], err[512];
  snprintf(cmd, sizeof cmd, "'%s' --version >/dev/null 2>&1", cxx);
  if (system(cmd) != 0) {
    printf("SKIP: no C++ compiler (%s)\n", cxx);
    return KT_SKIP;
  }
  mkdir(work, 0755);
  kernel k[40];
  int ng, n = make_kernels(k, &ng), ok = 0;
  for (int i = 0; i < n; i++) {
    char *s = mt__render_source(k[i].p, err, sizeof err);
    CHECK(s, "%s: render failed: %s", k[i].name, err);
    if (!s) continue;
    snprintf(path, sizeof path, "%s/%s.metal", work, k[i].name);
    CHECK(test_write_file(path, s), "cannot write %s", path);
    free(s);
    snprintf(cmd, sizeof cmd,
             "'%s' -std=c++17 -fsyntax-only -x c++ -Wall -Wextra -Werror -Wno-attributes -Wno-unused "
             "-Wno-unused-parameter -I'%s' '%s'",
             cxx, inc, path);
    int rc = system(cmd);
    CHECK(rc == 0, "%s: the C++ check of %s failed (see the compiler output above)", k[i].name, path);
    ok += rc == 0;
  }
  free_kernels(k, n);
  printf("metal syntax: %d of %d kernels pass the C++ check\n", ok, n);
  return fails ? 1 : 0;
}

static char g_err[4096];
static void h_set_error(void *ctx, const char *msg) { snprintf(g_err, sizeof g_err, "%s", msg ? msg : ""); }

static int t_device(const char *path) { return kt_device_test(path, "metal", "no Metal device") ? 1 : 0; }

int main(int argc, char **argv) {
  static const cg_host_services host = {sizeof host, NULL, NULL, h_set_error, NULL};
  cg_host_set(&host);
  if (argc >= 3 && !strcmp(argv[1], "golden")) return t_golden(argv[2]);
  if (argc >= 5 && !strcmp(argv[1], "syntax")) return t_syntax(argv[2], argv[3], argv[4]);
  if (argc >= 3 && !strcmp(argv[1], "device")) return t_device(argv[2]);
  fprintf(stderr, "usage: %s golden <dir> | syntax <inc> <c++> <work> | device <plugin.so>\n", argv[0]);
  return 2;
}
