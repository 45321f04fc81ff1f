/* Tests of the llvm plugin through its ABI alone: dlopen the module from the build's
 * plugin folder, call cg_plugin_entry, build kernels with the IR builder, run them
 * and compare with naive C loops.
 *
 *   test_llvm <case>   cases: ops casts reduce gated vector grid cache errors latency
 *
 * References: float ops are computed in double and rounded to the type (GCC's
 * _Float16 for float16, bit rounding for bfloat16); integer ops wrap in uint64_t;
 * IDIV/MOD by 0 give 0; float->int truncates and saturates, NaN -> 0. */
#include <dlfcn.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

#include "../common/check.h"

/* ---- plugin harness ------------------------------------------------------------- */

static const cg_plugin_api *api;
static void *plugin_ctx, *dev;
static char last_err[2048];

static void h_log(void *c, int level, const char *msg) {
  if (getenv("TEST_VERBOSE")) fprintf(stderr, "[plugin %d] %s\n", level, msg);
}
static void h_set_error(void *c, const char *msg) { snprintf(last_err, sizeof last_err, "%s", msg); }
static const char *h_option(void *c, const char *key) { return getenv(key); }
static const cg_host_services host = {sizeof host, NULL, h_log, h_set_error, h_option};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int open_plugin(void) {
  char path[4096];
  const char *dir = getenv("TEST_LLVM_PLUGIN_DIR"); /* to run a copied build elsewhere */
  const char *id = getenv("TEST_PLUGIN"); /* e.g. clang, to compare compile latency */
  snprintf(path, sizeof path, "%s/libcgrad-%s.so", dir ? dir : CG_PLUGIN_BUILD_DIR, id ? id : "llvm");
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return -1;
  }
  cg_plugin_entry_fn entry = (cg_plugin_entry_fn)dlsym(h, "cg_plugin_entry");
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &host};
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  if (!entry || entry(&q, &r) != CG_P_OK || !r.api) return -1;
  api = r.api;
  if (api->init(&plugin_ctx) || api->device_open(plugin_ctx, 0, &dev)) return -1;
  return 0;
}

static void close_plugin(void) {
  api->device_close(dev);
  api->shutdown(plugin_ctx);
}

static void *dbuf(size_t bytes) {
  void *b = NULL;
  if (api->mem_alloc(dev, bytes, &b) != CG_P_OK) abort();
  return b;
}

static double g_compile_s; /* time of the last compile */

/* compile + load + launch over the program's global dims + unload. */
static cg_pstatus run_prog(const cg_ir_program *p, void **bufs, const int64_t *vars) {
  void *blob = NULL, *h = NULL;
  size_t n = 0;
  char verr[256];
  CHECK(cg_ir_verify(p, p->total_size, verr, sizeof verr) == 0, "test IR %s is invalid: %s", p->name, verr);
  double t0 = now_s();
  cg_pstatus st = api->compile(dev, p, NULL, &blob, &n);
  g_compile_s = now_s() - t0;
  if (st) return st;
  st = api->program_load(dev, p, blob, n, &h);
  api->release(blob);
  if (st) return st;
  cg_launch_args a = {sizeof a, p->nparams, bufs, NULL, p->nvars, 0, vars,
                      {p->global[0], p->global[1], p->global[2]}, {1, 1, 1}, NULL};
  st = api->launch(dev, h, &a);
  api->program_unload(dev, h);
  return st;
}

/* ---- IR building shortcuts ------------------------------------------------------ */

static int32_t E(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int64_t arg, int n, ...) {
  int32_t s[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) s[i] = va_arg(ap, int32_t);
  va_end(ap);
  return cg_irb_emit(b, op, t, n, s, arg);
}
static cg_ir_type T(int s) { return cg_ir_t((cg_ir_scalar)s); }
static cg_ir_type TV(int s, int v) {
  cg_ir_type t = cg_ir_t((cg_ir_scalar)s);
  t.vec = (uint8_t)v;
  return t;
}
static cg_ir_type TP(int s, int space) { return cg_ir_ptr((cg_ir_scalar)s, (cg_ir_addrspace)space); }
/* Pointer to a vector of v lanes in global memory (the pointee of a vector LOAD/STORE). */
static cg_ir_type TPV(int s, int v) {
  cg_ir_type t = cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_GLOBAL);
  t.vec = (uint8_t)v;
  return t;
}
static const cg_ir_type TVOID = {CG_IR_VOID, 1, 0, 0};
static int32_t PARAM(cg_ir_builder *b, int s, int flags, int64_t n) {
  int k = cg_irb_param(b, (cg_ir_scalar)s, flags, n);
  return E(b, CG_IR_PARAM, TP(s, CG_IR_AS_GLOBAL), k, 0);
}
static int32_t CI(cg_ir_builder *b, int64_t v) { return cg_irb_const_i(b, CG_IR_INT32, v); }
static int32_t GID(cg_ir_builder *b, int axis) { return E(b, CG_IR_SPECIAL, T(CG_IR_INT32), axis, 0); }
static void LAUNCH(cg_ir_builder *b, uint32_t g0, uint32_t g1, uint32_t g2) {
  uint32_t g[3] = {g0, g1, g2}, l[3] = {1, 1, 1};
  cg_irb_set_launch(b, g, l);
}

/* ---- scalar references ---------------------------------------------------------- */

static int bits_of(int s) { return s == CG_IR_BOOL ? 1 : (int)cg_ir_scalar_size((uint8_t)s) * 8; }

/* Wrap an integer to type s (sign-extended for signed types). */
static int64_t wrap(int s, uint64_t v) {
  if (s == CG_IR_BOOL) return v != 0;
  int n = bits_of(s);
  if (n == 64) return (int64_t)v;
  v &= (1ull << n) - 1;
  if (cg_ir_is_signed((uint8_t)s) && (v >> (n - 1))) v |= ~((1ull << n) - 1);
  return (int64_t)v;
}

static double bf16_round(double x) {
  if (isnan(x) || isinf(x) || x == 0) return x;
  uint64_t u;
  memcpy(&u, &x, 8);
  u += 0xfffffffffffull + ((u >> 45) & 1); /* half an ulp minus 1, plus the odd bit */
  u &= ~((1ull << 45) - 1);
  memcpy(&x, &u, 8);
  return fabs(x) >= 0x1.ffp127 * 1.0039 ? copysign(INFINITY, x) : x;
}

static double rnd(int s, double x) {
  switch (s) {
  case CG_IR_FLOAT16: return (double)(_Float16)x;
  case CG_IR_BFLOAT16: return bf16_round(x);
  case CG_IR_FLOAT32: return (double)(float)x;
  default: return x;
  }
}

/* Typed element access in a host buffer. */
static void put(int s, void *buf, size_t i, double f, int64_t v) {
  char *p = (char *)buf + i * cg_ir_scalar_size((uint8_t)s);
  if (s == CG_IR_FLOAT16) {
    _Float16 h = (_Float16)f;
    memcpy(p, &h, 2);
  } else if (s == CG_IR_BFLOAT16) {
    float x = (float)bf16_round(f);
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t h = (uint16_t)(u >> 16);
    if (isnan(f)) h = 0x7fc0;
    memcpy(p, &h, 2);
  } else if (s == CG_IR_FLOAT32) {
    float x = (float)f;
    memcpy(p, &x, 4);
  } else if (s == CG_IR_FLOAT64) {
    memcpy(p, &f, 8);
  } else {
    int64_t w = wrap(s, (uint64_t)v);
    memcpy(p, &w, cg_ir_scalar_size((uint8_t)s)); /* little-endian */
  }
}

static double getf(int s, const void *buf, size_t i) {
  const char *p = (const char *)buf + i * cg_ir_scalar_size((uint8_t)s);
  if (s == CG_IR_FLOAT16) { _Float16 h; memcpy(&h, p, 2); return (double)h; }
  if (s == CG_IR_BFLOAT16) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  if (s == CG_IR_FLOAT32) { float f; memcpy(&f, p, 4); return f; }
  double d;
  memcpy(&d, p, 8);
  return d;
}

static int64_t geti(int s, const void *buf, size_t i) {
  uint64_t v = 0;
  memcpy(&v, (const char *)buf + i * cg_ir_scalar_size((uint8_t)s), cg_ir_scalar_size((uint8_t)s));
  return wrap(s, v);
}

/* Test inputs: n values for scalar s, as doubles (floats) or ints. */
static const double FVALS[] = {0.0, -0.0, 1.0, -1.5, 2.5, 3.75, -7.25, 100.5, 1e-3, -0.3333,
                               65504.0, 1e5, -2e9, 3e9, NAN, INFINITY, -INFINITY, 0.1, 0x1.0020000001p0, -0.5}; /* a 16-bit tie + tiny */
static const int64_t IVALS[] = {0, 1, -1, 2, 7, -7, 100, -128, 127, 255, 32767, -32768, 65535,
                                2147483647, -2147483647 - 1, 4294967295LL, 3, -3, 16842753, 31}; /* 2^24+2^16+1: bf16 tie + 1 */
#define NVALS 20

static double fval(int s, int i) { return rnd(s, FVALS[i % NVALS]); }
static int64_t ival(int s, int i) { return wrap(s, (uint64_t)IVALS[i % NVALS]); }

/* ---- ops: out[i] = op(a[i], b[i]) for every op and type ------------------------- */

static int is_cmp(int op) { return op == CG_IR_CMPLT || op == CG_IR_CMPNE || op == CG_IR_CMPEQ; }

/* Reference for a float op; returns the double result before rounding. */
static double ref_fop(int op, int s, double a, double b) {
  switch (op) {
  case CG_IR_ADD: return a + b;
  case CG_IR_SUB: return a - b;
  case CG_IR_MUL: return a * b;
  case CG_IR_FDIV: return a / b;
  case CG_IR_MAX: return (isnan(a) || isnan(b)) ? NAN : (a < b ? b : a);
  case CG_IR_POW: return pow(a, b);
  case CG_IR_CMPLT: return a < b;
  case CG_IR_CMPNE: return a != b;
  case CG_IR_CMPEQ: return a == b;
  case CG_IR_EXP2: return exp2(a);
  case CG_IR_LOG2: return log2(a);
  case CG_IR_SIN: return sin(a);
  case CG_IR_SQRT: return sqrt(a);
  case CG_IR_RECIP: return 1.0 / a;
  case CG_IR_NEG: return -a;
  case CG_IR_TRUNC: return trunc(a);
  case CG_IR_MULACC: return rnd(s, a * b) + 1.25;
  default: return NAN;
  }
}

static uint64_t sar(int64_t a, unsigned n) { return (uint64_t)(a >> n); }

static int64_t ref_iop(int op, int s, int64_t a, int64_t b) {
  int sg = cg_ir_is_signed((uint8_t)s);
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b, un = (uint64_t)bits_of(s);
  unsigned sh = (unsigned)(ub & (un - 1));
  if (s != CG_IR_UINT64 && s != CG_IR_INT64 && !sg) ua &= (1ull << un) - 1, ub &= (1ull << un) - 1;
  switch (op) {
  case CG_IR_ADD: return wrap(s, ua + ub);
  case CG_IR_SUB: return wrap(s, ua - ub);
  case CG_IR_MUL: return wrap(s, ua * ub);
  case CG_IR_IDIV:
    if (!b) return 0;
    if (sg) return b == -1 ? wrap(s, 0 - ua) : a / b;
    return wrap(s, ua / ub);
  case CG_IR_MOD:
    if (!b) return 0;
    if (sg) return b == -1 ? 0 : a % b;
    return wrap(s, ua % ub);
  case CG_IR_MAX: return (sg ? a < b : ua < ub) ? b : a;
  case CG_IR_CMPLT: return sg ? a < b : ua < ub;
  case CG_IR_CMPNE: return a != b;
  case CG_IR_CMPEQ: return a == b;
  case CG_IR_AND: return wrap(s, ua & ub);
  case CG_IR_OR: return wrap(s, ua | ub);
  case CG_IR_XOR: return wrap(s, ua ^ ub);
  case CG_IR_SHL: return s == CG_IR_BOOL ? a : wrap(s, ua << sh);
  case CG_IR_SHR: return s == CG_IR_BOOL ? a : wrap(s, sg ? sar(a, sh) : ua >> sh);
  case CG_IR_NEG: return s == CG_IR_BOOL ? !a : wrap(s, 0 - ua);
  case CG_IR_MULACC: return wrap(s, ua * ub + 3);
  default: return 0;
  }
}

/* Build out[i] = op(a[i], b[i]) (MULACC: a*b+1.25 or +3) in vectors of `vec` lanes. */
static cg_ir_program *k_op(int op, int s, int nsrc, int n, int vec) {
  cg_ir_builder *b = cg_irb_new("op");
  int so = is_cmp(op) ? CG_IR_BOOL : s;
  int32_t po = PARAM(b, so, CG_IR_PARAM_WRITE, n), pa = PARAM(b, s, CG_IR_PARAM_READ, n);
  int32_t pb = nsrc > 1 ? PARAM(b, s, CG_IR_PARAM_READ, n) : -1;
  int32_t i = E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, GID(b, 0), CI(b, vec));
  int32_t a = E(b, CG_IR_LOAD, TV(s, vec), 0, 1, E(b, CG_IR_INDEX, TPV(s, vec), 0, 2, pa, i));
  int32_t r;
  if (nsrc == 1) {
    r = E(b, (cg_ir_op)op, TV(so, vec), 0, 1, a);
  } else {
    int32_t bb = E(b, CG_IR_LOAD, TV(s, vec), 0, 1, E(b, CG_IR_INDEX, TPV(s, vec), 0, 2, pb, i));
    if (op == CG_IR_MULACC) {
      int32_t c = cg_ir_is_float((uint8_t)s) ? cg_irb_const_f(b, (cg_ir_scalar)s, 1.25)
                                              : cg_irb_const_i(b, (cg_ir_scalar)s, 3);
      r = E(b, CG_IR_MULACC, TV(so, vec), 0, 3, a, bb, c); /* scalar c: broadcast */
    } else {
      r = E(b, (cg_ir_op)op, TV(so, vec), 0, 2, a, bb);
    }
  }
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TPV(so, vec), 0, 2, po, i), r);
  LAUNCH(b, (uint32_t)(n / vec), 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* Does float result x match reference r within the op's tolerance? */
static int close_enough(int op, int s, double x, double r) {
  if (isnan(r)) return isnan(x);
  if (isinf(r)) return x == r;
  if (x == r) return signbit(x) == signbit(r) || op == CG_IR_SIN;
  int transc = op == CG_IR_EXP2 || op == CG_IR_LOG2 || op == CG_IR_SIN || op == CG_IR_POW;
  if (!transc) return 0;
  double ulp = s == CG_IR_FLOAT16 ? 0x1p-10 : s == CG_IR_BFLOAT16 ? 0x1p-7 : s == CG_IR_FLOAT32 ? 0x1p-23 : 0x1p-52;
  return fabs(x - r) <= 2 * ulp * fabs(r) + 1e-300;
}

static void test_one_op(int op, int s, int nsrc, int vec) {
  enum { N = 64 };
  size_t es = cg_ir_scalar_size((uint8_t)s);
  int so = is_cmp(op) ? CG_IR_BOOL : s;
  unsigned char ha[N * 8], hb[N * 8], ho[N * 8];
  for (int i = 0; i < N; i++) {
    int j = (i * 7 + i / NVALS) % NVALS; /* b cycles differently from a */
    put(s, ha, (size_t)i, fval(s, i), ival(s, i));
    put(s, hb, (size_t)i, fval(s, j), ival(s, j));
  }
  void *bo = dbuf(N * 8), *ba = dbuf(N * 8), *bb = dbuf(N * 8);
  api->copy_in(dev, ba, 0, ha, N * es);
  api->copy_in(dev, bb, 0, hb, N * es);
  cg_ir_program *p = k_op(op, s, nsrc, N, vec);
  void *bufs[3] = {bo, ba, bb};
  cg_pstatus st = run_prog(p, bufs, NULL);
  CHECK(st == CG_P_OK, "%s %s x%d: status %d: %s", cg_ir_op_name(op), cg_ir_scalar_name(s), vec, st, last_err);
  api->copy_out(dev, ho, bo, 0, N * cg_ir_scalar_size((uint8_t)so));
  int bad = 0;
  for (int i = 0; i < N && !st && bad < 3; i++) {
    if (cg_ir_is_float((uint8_t)s)) {
      double a = getf(s, ha, (size_t)i), b2 = getf(s, hb, (size_t)i);
      double r = ref_fop(op, s, a, b2);
      if (so == CG_IR_BOOL) {
        int64_t x = geti(so, ho, (size_t)i);
        if (x != (int64_t)r) bad++, fprintf(stderr, "  %s %s(%g, %g) = %lld, want %g\n", cg_ir_scalar_name(s), cg_ir_op_name(op), a, b2, (long long)x, r);
      } else {
        r = rnd(s, r);
        double x = getf(s, ho, (size_t)i);
        if (!close_enough(op, s, x, r)) bad++, fprintf(stderr, "  %s %s(%.17g, %.17g) = %.17g, want %.17g\n", cg_ir_scalar_name(s), cg_ir_op_name(op), a, b2, x, r);
      }
    } else {
      int64_t a = geti(s, ha, (size_t)i), b2 = geti(s, hb, (size_t)i);
      int64_t r = ref_iop(op, s, a, b2), x = geti(so, ho, (size_t)i);
      if (so == CG_IR_BOOL) r = r != 0;
      if (x != r) bad++, fprintf(stderr, "  %s %s(%lld, %lld) = %lld, want %lld\n", cg_ir_scalar_name(s), cg_ir_op_name(op), (long long)a, (long long)b2, (long long)x, (long long)r);
    }
  }
  CHECK(!bad, "%s on %s (vec %d) differs from the C reference", cg_ir_op_name(op), cg_ir_scalar_name(s), vec);
  free(p);
  api->mem_free(dev, bo);
  api->mem_free(dev, ba);
  api->mem_free(dev, bb);
}

static void test_ops(void) {
  static const int fbin[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_FDIV, CG_IR_MAX, CG_IR_POW,
                             CG_IR_CMPLT, CG_IR_CMPNE, CG_IR_CMPEQ, CG_IR_MULACC};
  static const int fun[] = {CG_IR_EXP2, CG_IR_LOG2, CG_IR_SIN, CG_IR_SQRT, CG_IR_RECIP, CG_IR_NEG, CG_IR_TRUNC};
  static const int ibin[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_IDIV, CG_IR_MOD, CG_IR_MAX, CG_IR_CMPLT,
                             CG_IR_CMPNE, CG_IR_CMPEQ, CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_SHL, CG_IR_SHR,
                             CG_IR_MULACC};
  static const int fl[] = {CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_FLOAT32, CG_IR_FLOAT64};
  static const int in[] = {CG_IR_BOOL, CG_IR_INT8, CG_IR_INT16, CG_IR_INT32, CG_IR_INT64,
                           CG_IR_UINT8, CG_IR_UINT16, CG_IR_UINT32, CG_IR_UINT64};
  for (size_t t = 0; t < 4; t++) {
    for (size_t k = 0; k < sizeof fbin / sizeof *fbin; k++) test_one_op(fbin[k], fl[t], fbin[k] == CG_IR_MULACC ? 2 : 2, 1);
    for (size_t k = 0; k < sizeof fun / sizeof *fun; k++) test_one_op(fun[k], fl[t], 1, 1);
  }
  for (size_t t = 0; t < 9; t++) {
    for (size_t k = 0; k < sizeof ibin / sizeof *ibin; k++) {
      int op = ibin[k]; /* bool has only the logic ops, MAX and compares */
      if (in[t] == CG_IR_BOOL && op != CG_IR_AND && op != CG_IR_OR && op != CG_IR_XOR && op != CG_IR_MAX && !is_cmp(op))
        continue;
      test_one_op(ibin[k], in[t], 2, 1);
    }
    test_one_op(CG_IR_NEG, in[t], 1, 1);
  }
  /* vector forms of a few */
  test_one_op(CG_IR_ADD, CG_IR_FLOAT32, 2, 4);
  test_one_op(CG_IR_MAX, CG_IR_FLOAT32, 2, 8);
  test_one_op(CG_IR_MUL, CG_IR_FLOAT16, 2, 4);
  test_one_op(CG_IR_IDIV, CG_IR_INT32, 2, 4);
  test_one_op(CG_IR_SQRT, CG_IR_BFLOAT16, 1, 2);
  test_one_op(CG_IR_CMPLT, CG_IR_FLOAT32, 2, 4);
}

/* ---- exp2 / log2 accuracy over dense ranges (the plugin inlines its own) ---------- */

/* Error of x against the exact r in units of the last place of float r. */
static double ulp_err(double x, double r) {
  if (isnan(r) || isinf(r)) return (isnan(r) ? isnan(x) : x == r) ? 0 : 1e9;
  int e;
  frexp(r, &e);
  double ulp = ldexp(1.0, (e - 1 < -126 ? -126 : e - 1) - 23);
  return fabs(x - r) / ulp;
}

/* Max ulp error of op over n float inputs. */
static double transc_err(int op, const float *in, int n, int *worst) {
  cg_ir_program *p = k_op(op, CG_IR_FLOAT32, 1, n, 4);
  void *bi = dbuf((size_t)n * 4), *bo = dbuf((size_t)n * 4);
  float *out = malloc((size_t)n * 4);
  api->copy_in(dev, bi, 0, in, (size_t)n * 4);
  void *bufs[2] = {bo, bi};
  CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "%s", last_err);
  api->copy_out(dev, out, bo, 0, (size_t)n * 4);
  double maxe = 0;
  for (int i = 0; i < n; i++) {
    double r = op == CG_IR_EXP2 ? exp2((double)in[i]) : log2((double)in[i]);
    if (isinf((float)r)) r = (float)r; /* overflows to inf in float */
    double e = ulp_err(out[i], r);
    if (e > maxe) maxe = e, *worst = i;
  }
  free(out);
  free(p);
  api->mem_free(dev, bi), api->mem_free(dev, bo);
  return maxe;
}

static void test_transc(void) {
  enum { N = 1 << 19 };
  float *in = malloc(N * sizeof(float));
  for (int i = 0; i < N; i++) in[i] = -160.0f + 300.0f * (float)i / N; /* covers overflow and subnormals */
  static const float sp[] = {0.0f, -0.0f, 1.0f, -1.0f, 128.0f, -126.0f, -149.0f, -150.0f, INFINITY, -INFINITY, NAN, 0.5f};
  memcpy(in, sp, sizeof sp);
  int w = 0;
  double e = transc_err(CG_IR_EXP2, in, N, &w);
  printf("exp2 f32: max error %.2f ulp (at %a)\n", e, in[w]);
  CHECK(e <= 2.0, "exp2 error %.2f ulp at %a", e, in[w]);
  for (int i = 0; i < N; i++) { /* every exponent, subnormals included, random mantissas */
    uint32_t u = (uint32_t)i * 2654435761u;
    u = (u & 0x007fffffu) | ((uint32_t)(i % 255) << 23);
    memcpy(&in[i], &u, 4);
  }
  static const float sl[] = {0.0f, -0.0f, 1.0f, -1.0f, 2.0f, 0.5f, INFINITY, -INFINITY, NAN, 0x1p-149f, 1.0000001f, 0.99999994f};
  memcpy(in, sl, sizeof sl);
  e = transc_err(CG_IR_LOG2, in, N, &w);
  printf("log2 f32: max error %.2f ulp (at %a)\n", e, in[w]);
  CHECK(e <= 2.5, "log2 error %.2f ulp at %a", e, in[w]); /* worst just below 1.5 (result ~0.5) */
  free(in);
}

/* ---- casts: every pair of types ------------------------------------------------- */

/* Reference CAST of input i of type s to type d, into out[i]. */
static void ref_cast(int s, int d, const void *in, size_t i, void *out) {
  if (cg_ir_is_float((uint8_t)s)) {
    double x = getf(s, in, i);
    if (cg_ir_is_float((uint8_t)d)) return put(d, out, i, rnd(d, x), 0);
    if (d == CG_IR_BOOL) return put(d, out, i, 0, x != 0);
    int64_t v = 0;
    if (isnan(x)) v = 0;
    else if (cg_ir_is_signed((uint8_t)d)) {
      double lim = ldexp(1.0, bits_of(d) - 1);
      x = trunc(x);
      v = x >= lim ? (int64_t)(lim - 1) : x < -lim ? (int64_t)-lim : (int64_t)x;
      if (d == CG_IR_INT64 && x >= lim) v = INT64_MAX;
    } else {
      double lim = ldexp(1.0, bits_of(d));
      x = trunc(x);
      uint64_t u = x <= 0 ? 0 : x >= lim ? ~0ull : (uint64_t)x;
      v = (int64_t)u;
    }
    return put(d, out, i, 0, v);
  }
  int64_t v = geti(s, in, i);
  if (cg_ir_is_float((uint8_t)d)) {
    double x = (s == CG_IR_UINT64) ? (double)(uint64_t)v : (double)v;
    return put(d, out, i, rnd(d, x), 0);
  }
  put(d, out, i, 0, v);
}

static cg_ir_program *k_cast(int s, int d, int n, int bitcast) {
  cg_ir_builder *b = cg_irb_new("cast");
  int32_t po = PARAM(b, d, CG_IR_PARAM_WRITE, n), pa = PARAM(b, s, CG_IR_PARAM_READ, n), i = GID(b, 0);
  int32_t a = E(b, CG_IR_LOAD, T(s), 0, 1, E(b, CG_IR_INDEX, TP(s, CG_IR_AS_GLOBAL), 0, 2, pa, i));
  int32_t r = E(b, bitcast ? CG_IR_BITCAST : CG_IR_CAST, T(d), 0, 1, a);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(d, CG_IR_AS_GLOBAL), 0, 2, po, i), r);
  LAUNCH(b, (uint32_t)n, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

static void test_casts(void) {
  enum { N = 40 };
  unsigned char hin[N * 8], hout[N * 8], want[N * 8];
  void *bi = dbuf(N * 8), *bo = dbuf(N * 8);
  for (int s = 0; s < CG_IR_VOID; s++) {
    for (int i = 0; i < N; i++) put(s, hin, (size_t)i, fval(s, i), ival(s, i));
    api->copy_in(dev, bi, 0, hin, N * 8);
    for (int d = 0; d < CG_IR_VOID; d++) {
      cg_ir_program *p = k_cast(s, d, N, 0);
      void *bufs[2] = {bo, bi};
      cg_pstatus st = run_prog(p, bufs, NULL);
      CHECK(st == CG_P_OK, "cast %s->%s: %s", cg_ir_scalar_name(s), cg_ir_scalar_name(d), last_err);
      size_t es = cg_ir_scalar_size((uint8_t)d);
      api->copy_out(dev, hout, bo, 0, N * es);
      int bad = 0;
      for (int i = 0; i < N && !st; i++) {
        ref_cast(s, d, hin, (size_t)i, want);
        int same = !memcmp(hout + (size_t)i * es, want + (size_t)i * es, es);
        if (!same && cg_ir_is_float((uint8_t)d) && isnan(getf(d, hout, (size_t)i)) && isnan(getf(d, want, (size_t)i))) same = 1;
        if (!same && bad++ < 2)
          fprintf(stderr, "  cast %s->%s of input %d: got %g/%lld want %g/%lld\n", cg_ir_scalar_name(s),
                  cg_ir_scalar_name(d), i, cg_ir_is_float((uint8_t)d) ? getf(d, hout, (size_t)i) : 0,
                  (long long)(cg_ir_is_float((uint8_t)d) ? 0 : geti(d, hout, (size_t)i)),
                  cg_ir_is_float((uint8_t)d) ? getf(d, want, (size_t)i) : 0,
                  (long long)(cg_ir_is_float((uint8_t)d) ? 0 : geti(d, want, (size_t)i)));
      }
      CHECK(!bad, "cast %s -> %s differs from the reference", cg_ir_scalar_name(s), cg_ir_scalar_name(d));
      free(p);
    }
  }
  /* BITCAST f32 <-> i32, f16 <-> i16 keeps the bits */
  static const int pairs[][2] = {{CG_IR_FLOAT32, CG_IR_INT32}, {CG_IR_INT32, CG_IR_FLOAT32},
                                 {CG_IR_FLOAT16, CG_IR_UINT16}, {CG_IR_UINT16, CG_IR_FLOAT16},
                                 {CG_IR_BFLOAT16, CG_IR_INT16}, {CG_IR_FLOAT64, CG_IR_UINT64}};
  for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
    int s = pairs[k][0], d = pairs[k][1];
    size_t es = cg_ir_scalar_size((uint8_t)s);
    for (int i = 0; i < N; i++) put(s, hin, (size_t)i, fval(s, i + 1), ival(s, i + 1));
    if (s == CG_IR_UINT16) put(s, hin, 13, 0, 0x7d23); /* a NaN payload survives */
    api->copy_in(dev, bi, 0, hin, N * es);
    cg_ir_program *p = k_cast(s, d, N, 1);
    void *bufs[2] = {bo, bi};
    CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "bitcast: %s", last_err);
    api->copy_out(dev, hout, bo, 0, N * es);
    int bad = 0;
    for (int i = 0; i < N; i++) {
      int same = !memcmp(hout + i * es, hin + i * es, es);
      if (!same && cg_ir_is_float((uint8_t)d) && isnan(getf(d, hout, (size_t)i))) same = 1; /* NaN payloads may quiet */
      bad += !same;
    }
    CHECK(!bad, "bitcast %s -> %s changed %d values", cg_ir_scalar_name(s), cg_ir_scalar_name(d), bad);
    free(p);
  }
  api->mem_free(dev, bi);
  api->mem_free(dev, bo);
}

/* ---- reductions with a DEFINE_REG accumulator and a VAR loop bound -------------- */

/* out[r] = init; for k in [0, K): acc = acc OP x[r*K + k]; K is variable 0. */
static cg_ir_program *k_reduce(int op, int s, int rows, int64_t kmax) {
  cg_ir_builder *b = cg_irb_new("reduce");
  int32_t po = PARAM(b, s, CG_IR_PARAM_WRITE, rows), px = PARAM(b, s, CG_IR_PARAM_READ, rows * kmax);
  cg_irb_var(b, "K", 0, kmax);
  int32_t K = E(b, CG_IR_VAR, T(CG_IR_INT32), 0, 0);
  int32_t acc = E(b, CG_IR_DEFINE_REG, TP(s, CG_IR_AS_REG), 1, 0);
  int32_t a0 = E(b, CG_IR_INDEX, TP(s, CG_IR_AS_REG), 0, 2, acc, CI(b, 0));
  int32_t init = op == CG_IR_MAX ? cg_irb_const_f(b, (cg_ir_scalar)s, -INFINITY) : cg_irb_const_f(b, (cg_ir_scalar)s, 0.0);
  E(b, CG_IR_STORE, TVOID, 0, 2, a0, init);
  int32_t r = GID(b, 0);
  int32_t k = E(b, CG_IR_RANGE, T(CG_IR_INT32), 0, 2, CI(b, 0), K);
  int32_t idx = E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, r, K), k);
  int32_t x = E(b, CG_IR_LOAD, T(s), 0, 1, E(b, CG_IR_INDEX, TP(s, CG_IR_AS_GLOBAL), 0, 2, px, idx));
  int32_t cur = E(b, CG_IR_LOAD, T(s), 0, 1, a0);
  E(b, CG_IR_STORE, TVOID, 0, 2, a0, E(b, (cg_ir_op)op, T(s), 0, 2, cur, x));
  E(b, CG_IR_ENDRANGE, TVOID, 0, 1, k);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(s, CG_IR_AS_GLOBAL), 0, 2, po, r),
    E(b, CG_IR_LOAD, T(s), 0, 1, a0));
  LAUNCH(b, (uint32_t)rows, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

static void test_reduce(void) {
  enum { R = 37, KMAX = 300 };
  static const int types[] = {CG_IR_FLOAT32, CG_IR_FLOAT64, CG_IR_FLOAT16};
  for (size_t t = 0; t < 3; t++)
    for (int opi = 0; opi < 2; opi++) {
      int s = types[t], op = opi ? CG_IR_MAX : CG_IR_ADD;
      size_t es = cg_ir_scalar_size((uint8_t)s);
      unsigned char *hx = malloc(R * KMAX * es), ho[R * 8];
      for (int i = 0; i < R * KMAX; i++) put(s, hx, (size_t)i, (double)((i * 37) % 17 - 8) * 0.25, 0);
      void *bx = dbuf(R * KMAX * es), *bo = dbuf(R * 8);
      api->copy_in(dev, bx, 0, hx, R * KMAX * es);
      cg_ir_program *p = k_reduce(op, s, R, KMAX);
      for (int64_t K = 0; K <= KMAX; K += 150) {
        void *bufs[2] = {bo, bx};
        CHECK(run_prog(p, bufs, &K) == CG_P_OK, "reduce: %s", last_err);
        api->copy_out(dev, ho, bo, 0, R * es);
        for (int r = 0; r < R; r++) {
          double want = opi ? -INFINITY : 0;
          for (int k = 0; k < K; k++) {
            double x = getf(s, hx, (size_t)(r * K + k));
            want = opi ? (want < x ? x : want) : rnd(s, want + x);
          }
          double got = getf(s, ho, (size_t)r);
          CHECK(got == want, "%s %s row %d K=%lld: got %g want %g", cg_ir_op_name(op), cg_ir_scalar_name(s), r,
                (long long)K, got, want);
        }
      }
      free(p);
      free(hx);
      api->mem_free(dev, bx);
      api->mem_free(dev, bo);
    }
}

/* ---- gated loads and stores, IF ------------------------------------------------- */

/* out[i] = (i >= PAD && i < N+PAD) ? x[i-PAD] : -1  (the index is negative or past the
 * end when the gate is off); out2[i] = x..., stored only where the value is > 0 (gated
 * STORE) and, with IF, out3[i] = 5 where i is odd. */
static void test_gated(void) {
  enum { N = 1000, PAD = 3, M = N + 2 * PAD };
  float *hx = malloc(N * sizeof(float)), *ho = malloc(M * sizeof(float));
  for (int i = 0; i < N; i++) hx[i] = (float)((i * 13) % 7) - 3.0f;
  /* x sits exactly at the start of its allocation so x[-3] would be out of bounds */
  void *bx = dbuf(N * 4), *bo = dbuf(M * 4), *bo2 = dbuf(M * 4), *bo3 = dbuf(M * 4);
  api->copy_in(dev, bx, 0, hx, N * 4);
  float zero[M];
  memset(zero, 0, sizeof zero);
  api->copy_in(dev, bo2, 0, zero, M * 4);
  api->copy_in(dev, bo3, 0, zero, M * 4);
  cg_ir_builder *b = cg_irb_new("gated");
  int32_t po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, M), px = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t po2 = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, M), po3 = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, M);
  int32_t i = GID(b, 0);
  int32_t lo = E(b, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, i, CI(b, PAD));
  int32_t hi = E(b, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, i, CI(b, N + PAD));
  int32_t gate = E(b, CG_IR_AND, T(CG_IR_BOOL), 0, 2, E(b, CG_IR_NEG, T(CG_IR_BOOL), 0, 1, lo), hi);
  int32_t src = E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, px,
                  E(b, CG_IR_SUB, T(CG_IR_INT32), 0, 2, i, CI(b, PAD)));
  int32_t v = E(b, CG_IR_LOAD, T(CG_IR_FLOAT32), 0, 3, src, gate, cg_irb_const_f(b, CG_IR_FLOAT32, -1.0));
  int32_t dst = E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, po, i);
  E(b, CG_IR_STORE, TVOID, 0, 2, dst, v);
  int32_t pos = E(b, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, cg_irb_const_f(b, CG_IR_FLOAT32, 0.0), v);
  E(b, CG_IR_STORE, TVOID, 0, 3, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, po2, i), v, pos);
  int32_t odd = E(b, CG_IR_CMPNE, T(CG_IR_BOOL), 0, 2, E(b, CG_IR_MOD, T(CG_IR_INT32), 0, 2, i, CI(b, 2)), CI(b, 0));
  int32_t f = E(b, CG_IR_IF, TVOID, 0, 1, odd);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, po3, i),
    cg_irb_const_f(b, CG_IR_FLOAT32, 5.0));
  E(b, CG_IR_ENDIF, TVOID, 0, 1, f);
  LAUNCH(b, M, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  void *bufs[4] = {bo, bx, bo2, bo3};
  CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "gated: %s", last_err);
  float *h2 = malloc(M * 4), *h3 = malloc(M * 4);
  api->copy_out(dev, ho, bo, 0, M * 4);
  api->copy_out(dev, h2, bo2, 0, M * 4);
  api->copy_out(dev, h3, bo3, 0, M * 4);
  int bad = 0;
  for (int k = 0; k < M; k++) {
    float want = (k >= PAD && k < N + PAD) ? hx[k - PAD] : -1.0f;
    bad += ho[k] != want;
    bad += h2[k] != (want > 0 ? want : 0.0f);
    bad += h3[k] != (k % 2 ? 5.0f : 0.0f);
  }
  CHECK(!bad, "gated load/store/IF: %d wrong values", bad);
  free(p);
  free(hx), free(ho), free(h2), free(h3);
  api->mem_free(dev, bx), api->mem_free(dev, bo), api->mem_free(dev, bo2), api->mem_free(dev, bo3);
}

/* ---- vectors: float4 load/store, VECTORIZE + GEP swizzle, half4 ----------------- */

static void test_vector(void) {
  enum { N = 256 };
  float ha[N], hb[N], ho[N];
  for (int i = 0; i < N; i++) ha[i] = (float)i * 0.5f, hb[i] = (float)(i % 5) - 2.0f;
  void *ba = dbuf(N * 4), *bb = dbuf(N * 4), *bo = dbuf(N * 4);
  api->copy_in(dev, ba, 0, ha, sizeof ha);
  api->copy_in(dev, bb, 0, hb, sizeof hb);
  cg_ir_builder *b = cg_irb_new("vec");
  int32_t po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pa = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t pb = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t i = E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, GID(b, 0), CI(b, 4));
  int32_t a = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 1, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, pa, i));
  int32_t bv = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 1, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, pb, i));
  int32_t m = E(b, CG_IR_MUL, TV(CG_IR_FLOAT32, 4), 0, 2, a, bv);
  /* reverse the lanes: VECTORIZE(GEP 3, GEP 2, GEP 1, GEP 0) */
  int32_t g[4];
  for (int k = 0; k < 4; k++) g[k] = E(b, CG_IR_GEP, T(CG_IR_FLOAT32), 3 - k, 1, m);
  int32_t rv = E(b, CG_IR_VECTORIZE, TV(CG_IR_FLOAT32, 4), 0, 4, g[0], g[1], g[2], g[3]);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, po, i), rv);
  LAUNCH(b, N / 4, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  void *bufs[3] = {bo, ba, bb};
  CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "vector: %s", last_err);
  api->copy_out(dev, ho, bo, 0, sizeof ho);
  int bad = 0;
  for (int k = 0; k < N; k++) {
    int src = (k / 4) * 4 + (3 - k % 4);
    bad += ho[k] != ha[src] * hb[src];
  }
  CHECK(!bad, "float4 mul + lane reverse: %d wrong", bad);
  free(p);
  /* gated float4 load with a scalar gate: off for the last group, whose address is past the end */
  b = cg_irb_new("vecgate");
  po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N + 4);
  pa = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t gi = GID(b, 0);
  i = E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, gi, CI(b, 4));
  int32_t gate = E(b, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, gi, CI(b, N / 4));
  int32_t alt = E(b, CG_IR_VECTORIZE, TV(CG_IR_FLOAT32, 4), 0, 4, cg_irb_const_f(b, CG_IR_FLOAT32, 9.0),
                  cg_irb_const_f(b, CG_IR_FLOAT32, 8.0), cg_irb_const_f(b, CG_IR_FLOAT32, 7.0),
                  cg_irb_const_f(b, CG_IR_FLOAT32, 6.0));
  a = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 3, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, pa, i), gate, alt);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, po, i), a);
  LAUNCH(b, N / 4 + 1, 1, 1);
  p = cg_irb_finish(b);
  cg_irb_free(b);
  void *bo2 = dbuf((N + 4) * 4);
  float h2[N + 4];
  void *bufs2[2] = {bo2, ba};
  CHECK(run_prog(p, bufs2, NULL) == CG_P_OK, "vector gate: %s", last_err);
  api->copy_out(dev, h2, bo2, 0, sizeof h2);
  bad = 0;
  for (int k = 0; k < N; k++) bad += h2[k] != ha[k];
  bad += h2[N] != 9.0f || h2[N + 1] != 8.0f || h2[N + 2] != 7.0f || h2[N + 3] != 6.0f;
  CHECK(!bad, "gated float4 load: %d wrong", bad);
  free(p);
  api->mem_free(dev, ba), api->mem_free(dev, bb), api->mem_free(dev, bo), api->mem_free(dev, bo2);
}

/* ---- large 3-D grid on the thread pool ------------------------------------------ */

/* out[g0 + G0*(g1 + G1*g2)] = g0*7 + g1*3 + g2 for every group id. */
static void test_grid(void) {
  enum { G0 = 1000, G1 = 123, G2 = 3, N = G0 * G1 * G2 };
  cg_ir_builder *b = cg_irb_new("grid");
  int32_t po = PARAM(b, CG_IR_INT32, CG_IR_PARAM_WRITE, N);
  int32_t g0 = GID(b, 0), g1 = GID(b, 1), g2 = GID(b, 2);
  int32_t flat = E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, g0,
                   E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, CI(b, G0),
                     E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, g1, E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, CI(b, G1), g2))));
  int32_t v = E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, g0, CI(b, 7)),
                E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, g1, CI(b, 3)), g2));
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_GLOBAL), 0, 2, po, flat), v);
  LAUNCH(b, G0, G1, G2);
  cg_irb_set_cost(b, N, (uint64_t)N * 4);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  int32_t *ho = malloc(N * 4);
  void *bo = dbuf(N * 4);
  memset(ho, 0xff, N * 4);
  api->copy_in(dev, bo, 0, ho, N * 4);
  void *bufs[1] = {bo};
  CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "grid: %s", last_err);
  api->copy_out(dev, ho, bo, 0, N * 4);
  int bad = 0;
  for (int z = 0; z < G2; z++)
    for (int y = 0; y < G1; y++)
      for (int x = 0; x < G0; x++) bad += ho[x + G0 * (y + G1 * z)] != x * 7 + y * 3 + z;
  CHECK(!bad, "3-D grid: %d wrong group ids", bad);
  free(p);
  free(ho);
  api->mem_free(dev, bo);
}

/* Elementwise c = a*b + a (heavy 1: sin(a)*b + a, 2: exp2(a)*b + a) over 4M floats; best of 5 launches
 * with `threads` threads (0 = the default pool). */
static double time_elementwise(int threads, int heavy) {
  enum { N = 1 << 22 }; /* 48 MiB of buffers: well past the caches */
  char val[16];
  snprintf(val, sizeof val, "%d", threads);
  setenv("CG_THREADS", val, 1);
  void *d2 = NULL;
  api->device_open(plugin_ctx, 0, &d2);
  void *save = dev;
  dev = d2;
  cg_ir_builder *b = cg_irb_new("ew");
  int32_t po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pa = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t pb = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t i = E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, GID(b, 0), CI(b, 4));
  int32_t a = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 1, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, pa, i));
  int32_t bv = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 1, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, pb, i));
  int32_t x = heavy ? E(b, heavy == 1 ? CG_IR_SIN : CG_IR_EXP2, TV(CG_IR_FLOAT32, 4), 0, 1, a) : a;
  int32_t r = E(b, CG_IR_ADD, TV(CG_IR_FLOAT32, 4), 0, 2, E(b, CG_IR_MUL, TV(CG_IR_FLOAT32, 4), 0, 2, x, bv), a);
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 4), 0, 2, po, i), r);
  LAUNCH(b, N / 4, 1, 1);
  cg_irb_set_cost(b, 2ull * N, 12ull * N);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  float *h = malloc((size_t)N * 4);
  for (int k = 0; k < N; k++) h[k] = (float)(k % 100) * 0.01f;
  void *ba = dbuf((size_t)N * 4), *bb = dbuf((size_t)N * 4), *bo = dbuf((size_t)N * 4);
  api->copy_in(dev, ba, 0, h, (size_t)N * 4);
  api->copy_in(dev, bb, 0, h, (size_t)N * 4);
  void *blob, *hnd;
  size_t n;
  double best = 1e9;
  if (!api->compile(dev, p, NULL, &blob, &n) && !api->program_load(dev, p, blob, n, &hnd)) {
    api->release(blob);
    void *bufs[3] = {bo, ba, bb};
    for (int rep = 0; rep < 5; rep++) {
      double t;
      cg_launch_args la = {sizeof la, 3, bufs, NULL, 0, 0, NULL, {N / 4, 1, 1}, {1, 1, 1}, &t};
      CHECK(api->launch(dev, hnd, &la) == CG_P_OK, "launch: %s", last_err);
      if (t < best) best = t;
    }
    api->program_unload(dev, hnd);
    float *o = malloc((size_t)N * 4);
    api->copy_out(dev, o, bo, 0, (size_t)N * 4);
    int bad = 0;
    for (int k = 0; k < N && heavy < 2; k++) bad += o[k] != (heavy ? sinf(h[k]) : h[k]) * h[k] + h[k];
    CHECK(!bad, "elementwise with %d threads: %d wrong", threads, bad);
    free(o);
  } else {
    CHECK(0, "elementwise compile: %s", last_err);
  }
  free(p);
  free(h);
  api->mem_free(dev, ba), api->mem_free(dev, bb), api->mem_free(dev, bo);
  api->device_close(d2);
  dev = save;
  unsetenv("CG_THREADS");
  return best;
}

static void test_threads(void) {
  for (int heavy = 0; heavy < 3; heavy++) {
    const char *pt = getenv("TEST_POOL_THREADS"); /* default: all cores */
    double t1 = time_elementwise(1, heavy), tn = time_elementwise(pt ? atoi(pt) : 0, heavy);
    printf("elementwise 4M floats (%s): 1 thread %.2f ms, pool %.2f ms, speedup %.2fx\n",
           heavy == 2 ? "exp2(a)*b+a" : heavy ? "sin(a)*b+a" : "a*b+a", t1 * 1e3, tn * 1e3, t1 / tn);
  }
}

/* ---- program cache behaviour, render, errors ------------------------------------ */

static void test_cache(void) {
  cg_ir_program *p = k_op(CG_IR_ADD, CG_IR_FLOAT32, 2, 16, 1);
  void *blob = NULL, *blob2 = NULL, *h1 = NULL, *h2 = NULL;
  size_t n = 0, n2 = 0;
  CHECK(api->compile(dev, p, NULL, &blob, &n) == CG_P_OK && n > 0, "compile: %s", last_err);
  CHECK(api->compile(dev, p, NULL, &blob2, &n2) == CG_P_OK, "compile 2: %s", last_err);
  CHECK(n == n2 && blob && blob2 && !memcmp(blob, blob2, n), "compile is not deterministic");
  /* the same object loaded twice shares one linked copy; unloading one keeps the other */
  CHECK(api->program_load(dev, p, blob, n, &h1) == CG_P_OK, "load: %s", last_err);
  CHECK(api->program_load(dev, p, blob2, n2, &h2) == CG_P_OK, "load 2: %s", last_err);
  api->program_unload(dev, h1);
  float a[16], b[16], o[16];
  for (int i = 0; i < 16; i++) a[i] = (float)i, b[i] = 0.5f;
  void *ba = dbuf(64), *bb = dbuf(64), *bo = dbuf(64);
  api->copy_in(dev, ba, 0, a, 64);
  api->copy_in(dev, bb, 0, b, 64);
  void *bufs[3] = {bo, ba, bb};
  cg_launch_args la = {sizeof la, 3, bufs, NULL, 0, 0, NULL, {16, 1, 1}, {1, 1, 1}, NULL};
  CHECK(api->launch(dev, h2, &la) == CG_P_OK, "launch after twin unload: %s", last_err);
  api->copy_out(dev, o, bo, 0, 64);
  CHECK(o[15] == 15.5f, "got %g", o[15]);
  api->program_unload(dev, h2);
  /* an object from an earlier "process": a fresh device (new JIT) loads the blob as is */
  void *d2 = NULL, *h3 = NULL;
  CHECK(api->device_open(plugin_ctx, 0, &d2) == CG_P_OK, "open 2");
  CHECK(api->program_load(d2, p, blob, n, &h3) == CG_P_OK, "load cached blob: %s", last_err);
  api->program_unload(d2, h3);
  api->device_close(d2);
  char *src = NULL;
  const char *lang = NULL;
  CHECK(api->render(dev, p, &src, &lang) == CG_P_OK && src && strstr(src, "define void @cg_op_"),
        "render: %s", last_err);
  CHECK(lang && !strcmp(lang, "llvm"), "lang");
  api->release(src);
  const char *cid = api->compiler_id(dev);
  CHECK(cid && !strncmp(cid, "LLVM ", 5), "compiler_id %s", cid ? cid : "(null)");
  cg_device_props props = {sizeof props};
  CHECK(api->device_props(plugin_ctx, 0, &props) == CG_P_OK && props.kind == CG_DEVICE_CPU &&
            props.max_local_size == 1 && props.compute_units >= 1 && props.dtypes == 0x1fff,
        "props");
  printf("device: %s (arch %s, %u threads), compiler id: %s\n", props.name, props.arch, props.compute_units, cid);
  /* struct_size rules: a smaller props struct keeps its tail, a larger one too */
  unsigned char raw[sizeof(cg_device_props) + 64];
  memset(raw, 0xab, sizeof raw);
  cg_device_props *pr = (cg_device_props *)raw;
  pr->struct_size = (uint32_t)offsetof(cg_device_props, dtypes);
  CHECK(api->device_props(plugin_ctx, 0, pr) == CG_P_OK && raw[offsetof(cg_device_props, dtypes)] == 0xab &&
            pr->struct_size == offsetof(cg_device_props, dtypes) && !strncmp(pr->name, "LLVM", 4),
        "small props struct");
  memset(raw, 0xab, sizeof raw);
  pr->struct_size = (uint32_t)sizeof raw;
  CHECK(api->device_props(plugin_ctx, 0, pr) == CG_P_OK && raw[sizeof(cg_device_props)] == 0xab &&
            pr->max_local_size == 1 && !(pr->native_ops & (1ull << CG_IR_WMMA)), "large props struct");
  /* launch args without time_s: not written */
  void *h4 = NULL;
  double t = -1;
  CHECK(api->program_load(dev, p, blob, n, &h4) == CG_P_OK, "load: %s", last_err);
  cg_launch_args sa = {.struct_size = (uint32_t)offsetof(cg_launch_args, time_s), .nbufs = 3, .bufs = bufs,
                       .global = {16, 1, 1}, .local = {1, 1, 1}, .time_s = &t};
  CHECK(api->launch(dev, h4, &sa) == CG_P_OK && t == -1, "short launch args");
  api->program_unload(dev, h4);
  api->release(blob);
  api->release(blob2);
  api->mem_free(dev, ba), api->mem_free(dev, bb), api->mem_free(dev, bo);
  free(p);
}

/* Random bit flips in the instruction and source tables of a kernel that uses most ops:
 * whatever the verifier accepts must compile and load, or fail with a status, never
 * crash. (Mutants are not run: the JIT code does not bounds-check.) */
static void test_fuzz(void) {
  cg_ir_builder *b = cg_irb_new("fz");
  int nv = cg_irb_var(b, "n", 0, 3);
  int32_t po = PARAM(b, CG_IR_INT32, CG_IR_PARAM_WRITE, 8), pa = PARAM(b, CG_IR_INT32, CG_IR_PARAM_READ, 8);
  int32_t pf = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 8);
  int32_t sh = E(b, CG_IR_DEFINE_LOCAL, TP(CG_IR_INT32, CG_IR_AS_LOCAL), 2, 0);
  int32_t acc = E(b, CG_IR_DEFINE_REG, TP(CG_IR_INT32, CG_IR_AS_REG), 4, 0);
  int32_t z = CI(b, 0), n = E(b, CG_IR_VAR, T(CG_IR_INT32), nv, 0), i = GID(b, 0);
  int32_t x = E(b, CG_IR_LOAD, T(CG_IR_INT32), 0, 3, E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_GLOBAL), 0, 2, pa, i),
                E(b, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, n, i), CI(b, 5));
  int32_t fx = E(b, CG_IR_LOAD, TV(CG_IR_FLOAT32, 2), 0, 1, E(b, CG_IR_INDEX, TPV(CG_IR_FLOAT32, 2), 0, 2, pf, z));
  int32_t fe = E(b, CG_IR_EXP2, TV(CG_IR_FLOAT32, 2), 0, 1, E(b, CG_IR_MAX, TV(CG_IR_FLOAT32, 2), 0, 2, fx, fx));
  int32_t fl = E(b, CG_IR_CAST, T(CG_IR_INT32), 0, 1, E(b, CG_IR_GEP, T(CG_IR_FLOAT32), 1, 1, fe));
  int32_t sidx = E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_LOCAL), 0, 2, sh, z);
  E(b, CG_IR_STORE, TVOID, 0, 2, sidx, E(b, CG_IR_SHL, T(CG_IR_INT32), 0, 2, E(b, CG_IR_XOR, T(CG_IR_INT32), 0, 2, x, fl), n));
  E(b, CG_IR_BARRIER, TVOID, 0, 0);
  int32_t a0 = E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_REG), 0, 2, acc, z);
  E(b, CG_IR_STORE, TVOID, 0, 2, a0, z);
  int32_t k = E(b, CG_IR_RANGE, T(CG_IR_INT32), 0, 2, z, CI(b, 2));
  int32_t v = E(b, CG_IR_LOAD, T(CG_IR_INT32), 0, 1, E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_LOCAL), 0, 2, sh, k));
  int32_t q = E(b, CG_IR_IDIV, T(CG_IR_INT32), 0, 2, v, E(b, CG_IR_SUB, T(CG_IR_INT32), 0, 2, k, n));
  E(b, CG_IR_STORE, TVOID, 0, 2, a0, E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, E(b, CG_IR_LOAD, T(CG_IR_INT32), 0, 1, a0), q));
  E(b, CG_IR_ENDRANGE, TVOID, 0, 1, k);
  int32_t c = E(b, CG_IR_CMPNE, T(CG_IR_BOOL), 0, 2, n, z);
  int32_t f = E(b, CG_IR_IF, TVOID, 0, 1, c);
  int32_t h = E(b, CG_IR_CAST, T(CG_IR_FLOAT16), 0, 1, E(b, CG_IR_LOAD, T(CG_IR_INT32), 0, 1, a0));
  int32_t bits = E(b, CG_IR_BITCAST, T(CG_IR_INT32), 0, 1, E(b, CG_IR_VECTORIZE, TV(CG_IR_FLOAT16, 2), 0, 2, h, h));
  E(b, CG_IR_STORE, TVOID, 0, 3, E(b, CG_IR_INDEX, TP(CG_IR_INT32, CG_IR_AS_GLOBAL), 0, 2, po, i),
    E(b, CG_IR_MOD, T(CG_IR_INT32), 0, 2, bits, CI(b, 1000)), c);
  E(b, CG_IR_ENDIF, TVOID, 0, 1, f);
  LAUNCH(b, 4, 1, 1);
  cg_ir_program *base = cg_irb_finish(b);
  cg_irb_free(b);
  char err[256];
  CHECK(cg_ir_verify(base, base->total_size, err, sizeof err) == 0, "fuzz base: %s", err);
  const char *it_env = getenv("TEST_FUZZ_ITERS");
  int iters = it_env ? atoi(it_env) : 3000, verified = 0, compiled = 0;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  size_t lo = base->insts_off, hi = base->srcs_off + (size_t)base->nsrcs * 4;
  for (int it = 0; it < iters; it++) {
    cg_ir_program *m = malloc(base->total_size);
    memcpy(m, base, base->total_size);
    for (int e = 0; e < 1 + it % 2; e++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      ((unsigned char *)m)[lo + (seed >> 33) % (hi - lo)] ^= (unsigned char)(1u << ((seed >> 20) % 8));
    }
    if (cg_ir_verify(m, m->total_size, err, sizeof err) == 0) {
      void *blob = NULL, *hd = NULL;
      size_t sz = 0;
      verified++;
      if (api->compile(dev, m, NULL, &blob, &sz) == CG_P_OK) {
        compiled++;
        CHECK(api->program_load(dev, m, blob, sz, &hd) == CG_P_OK, "mutant %d compiled but did not load: %s", it, last_err);
        if (hd) api->program_unload(dev, hd);
        api->release(blob);
      } else {
        CHECK(last_err[0], "mutant %d failed without a message", it);
        if (getenv("TEST_VERBOSE")) fprintf(stderr, "mutant %d: %s\n", it, last_err);
      }
    }
    free(m);
  }
  printf("fuzz: %d of %d mutants verified, %d compiled\n", verified, iters, compiled);
  CHECK(verified > iters / 50, "fuzz: too few verified mutants");
  free(base);
}

static void test_errors(void) {
  /* WMMA is not supported on the CPU: a clear error, not a crash */
  cg_ir_builder *b = cg_irb_new("wmma");
  int32_t c = cg_irb_const_f(b, CG_IR_FLOAT32, 1.0);
  E(b, CG_IR_WMMA, T(CG_IR_FLOAT32), 0, 3, c, c, c);
  LAUNCH(b, 1, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  void *blob = NULL;
  size_t n = 0;
  last_err[0] = 0;
  cg_pstatus st = api->compile(dev, p, NULL, &blob, &n);
  CHECK(st == CG_P_ERR_UNSUPPORTED && strstr(last_err, "WMMA"), "WMMA: status %d, %s", st, last_err);
  /* a source that refers to a later instruction */
  cg_ir_inst *ins = (cg_ir_inst *)((char *)p + p->insts_off);
  int32_t *srcs = (int32_t *)((char *)p + p->srcs_off);
  srcs[ins[1].src_start] = 5;
  st = api->compile(dev, p, NULL, &blob, &n);
  CHECK(st == CG_P_ERR_COMPILE && strstr(last_err, "earlier"), "bad source: %d %s", st, last_err);
  p->magic = 0;
  CHECK(api->compile(dev, p, NULL, &blob, &n) == CG_P_ERR_COMPILE, "bad magic accepted");
  /* copies outside a buffer are refused */
  void *buf = dbuf(8), *empty = dbuf(0);
  char bytes[16] = {0};
  CHECK(api->copy_in(dev, buf, 4, bytes, 8) == CG_P_ERR_INVALID, "copy_in past the end");
  CHECK(api->copy_out(dev, bytes, buf, SIZE_MAX, 2) == CG_P_ERR_INVALID, "copy_out offset overflow");
  CHECK(api->copy_d2d(dev, buf, 0, empty, 0, 1) == CG_P_ERR_INVALID, "d2d from an empty buffer");
  CHECK(api->copy_in(dev, buf, 8, bytes, 0) == CG_P_OK && api->copy_in(dev, buf, 0, bytes, 8) == CG_P_OK, "copy_in");
  CHECK(empty != NULL, "0-byte alloc");
  api->mem_free(dev, buf), api->mem_free(dev, empty);
  free(p);
  /* an unbalanced ENDRANGE */
  b = cg_irb_new("unbalanced");
  E(b, CG_IR_ENDRANGE, TVOID, 0, 1, CI(b, 0));
  p = cg_irb_finish(b);
  cg_irb_free(b);
  CHECK(api->compile(dev, p, NULL, &blob, &n) == CG_P_ERR_COMPILE, "unbalanced ENDRANGE accepted");
  free(p);
}

/* First-call compile latency (includes LLVM's one-time setup) and the steady state. */
static void test_latency(void) {
  double first = 0, sum = 0;
  int n = 0;
  for (int op = CG_IR_ADD; op <= CG_IR_MAX; op++) {
    cg_ir_program *p = k_op(op == CG_IR_IDIV || op == CG_IR_MOD ? CG_IR_ADD : op, CG_IR_FLOAT32, 2, 1024, 4);
    p->name[3] = (char)('a' + op % 26); /* distinct programs */
    void *blob;
    size_t sz;
    double t0 = now_s();
    char *src = NULL; /* plugins other than llvm compile their rendered source */
    const char *lang = NULL;
    if (strcmp(api->id, "llvm") != 0 && api->render) CHECK(api->render(dev, p, &src, &lang) == CG_P_OK, "render: %s", last_err);
    CHECK(api->compile(dev, p, src, &blob, &sz) == CG_P_OK, "compile: %s", last_err);
    double t = now_s() - t0;
    api->release(src);
    api->release(blob);
    if (!n) first = t;
    else sum += t;
    n++;
    free(p);
  }
  cg_ir_program *p = k_op(CG_IR_ADD, CG_IR_FLOAT32, 2, 1024, 4);
  char *src = NULL;
  double t0 = now_s();
  if (api->render) CHECK(api->render(dev, p, &src, NULL) == CG_P_OK, "render: %s", last_err);
  printf("%s render: %.2f ms\n", api->id, (now_s() - t0) * 1e3);
  api->release(src);
  free(p);
  printf("%s compile latency: first %.1f ms, then %.1f ms per kernel (elementwise float4)\n", api->id, first * 1e3,
         sum / (n - 1) * 1e3);
  CHECK(first < 2.0, "first compile took %.2f s", first);
}

/* A device left open with a linked program and a running pool: shutdown releases it
 * (the ASan build's leak check fails otherwise). */
static void test_shutdown(void) {
  void *d2 = NULL, *save = dev;
  CHECK(api->device_open(plugin_ctx, 0, &d2) == CG_P_OK, "open");
  dev = d2;
  test_grid(); /* links a kernel and starts the pool; the program is unloaded */
  cg_ir_program *p = k_op(CG_IR_ADD, CG_IR_FLOAT32, 2, 16, 1);
  void *blob = NULL, *h = NULL;
  size_t n = 0;
  CHECK(api->compile(dev, p, NULL, &blob, &n) == CG_P_OK && api->program_load(dev, p, blob, n, &h) == CG_P_OK,
        "load: %s", last_err);
  api->release(blob);
  free(p);
  dev = save; /* d2 and its program stay open until close_plugin() -> shutdown */
}

/* One buffer passed as both the output and the input: for k: out[k+1] = in[k] runs in
 * order, so every element becomes in[0]. The plugin must not use its noalias kernel. */
static void test_alias(void) {
  enum { N = 1024 };
  cg_ir_builder *b = cg_irb_new("shift");
  int32_t po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pi = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t k = E(b, CG_IR_RANGE, T(CG_IR_INT32), 0, 2, CI(b, 0), CI(b, N - 1));
  int32_t v = E(b, CG_IR_LOAD, T(CG_IR_FLOAT32), 0, 1, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, pi, k));
  int32_t k1 = E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, k, CI(b, 1));
  E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, po, k1), v);
  E(b, CG_IR_ENDRANGE, TVOID, 0, 1, k);
  LAUNCH(b, 1, 1, 1);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  float h[N], o[N];
  for (int i = 0; i < N; i++) h[i] = (float)i + 1.0f;
  void *buf = dbuf(N * 4), *other = dbuf(N * 4);
  for (int same = 1; same >= 0; same--) {
    api->copy_in(dev, buf, 0, h, sizeof h);
    void *bufs[2] = {same ? buf : other, buf};
    CHECK(run_prog(p, bufs, NULL) == CG_P_OK, "alias: %s", last_err);
    api->copy_out(dev, o, same ? buf : other, 0, sizeof o);
    int bad = 0;
    for (int i = 1; i < N; i++) bad += o[i] != (same ? h[0] : h[i - 1]);
    CHECK(!bad, "%s buffers: %d wrong", same ? "the same" : "separate", bad);
  }
  free(p);
  api->mem_free(dev, buf), api->mem_free(dev, other);
}

/* Full-width non-temporal stores (render.c cg__llvm_nt_aligned_mask; run as llvm_ntalign_nt
 * with CG_LLVM_NT_MIN=1): o[idx] = a[idx] * 1.5 with idx = r + g0*1024 (inner RANGE) or
 * idx = g0 (rows of 1000, not a multiple of 64), into buffers at byte offset 0 and 4. An
 * unaligned full-width store would fault; a wrong fallback would give wrong values. */
static void test_ntalign(void) {
  enum { M = 1024, G = 37, N = M * G };
  for (int form = 0; form < 2; form++) {
    cg_ir_builder *b = cg_irb_new(form ? "nt_g0" : "nt_range");
    int32_t po = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pa = PARAM(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
    int32_t g0 = GID(b, 0), r = -1, idx = g0;
    if (!form) {
      r = E(b, CG_IR_RANGE, T(CG_IR_INT32), 0, 2, CI(b, 0), CI(b, M));
      idx = E(b, CG_IR_ADD, T(CG_IR_INT32), 0, 2, r, E(b, CG_IR_MUL, T(CG_IR_INT32), 0, 2, g0, CI(b, M)));
    }
    int32_t v = E(b, CG_IR_LOAD, T(CG_IR_FLOAT32), 0, 1, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, pa, idx));
    v = E(b, CG_IR_MUL, T(CG_IR_FLOAT32), 0, 2, v, cg_irb_const_f(b, CG_IR_FLOAT32, 1.5));
    E(b, CG_IR_STORE, TVOID, 0, 2, E(b, CG_IR_INDEX, TP(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 2, po, idx), v);
    if (!form) E(b, CG_IR_ENDRANGE, TVOID, 0, 1, r);
    uint32_t gd[3] = {form ? 1000u : (uint32_t)G, form ? 3u : 1u, 1}, l[3] = {1, 1, 1};
    cg_irb_set_launch(b, gd, l);
    cg_ir_program *p = cg_irb_finish(b);
    cg_irb_free(b);
    void *blob = NULL, *h = NULL;
    size_t n = 0;
    CHECK(api->compile(dev, p, NULL, &blob, &n) == CG_P_OK, "ntalign compile: %s", last_err);
    CHECK(api->program_load(dev, p, blob, n, &h) == CG_P_OK, "ntalign load: %s", last_err);
    api->release(blob);
    static float ha[N + 16], ho[N + 16];
    for (int i = 0; i < N + 16; i++) ha[i] = (float)i - 7.0f;
    void *bo = dbuf((N + 16) * 4), *ba = dbuf((N + 16) * 4);
    api->copy_in(dev, ba, 0, ha, sizeof ha);
    for (uint64_t off = 0; off <= 4; off += 4) {
      memset(ho, 0, sizeof ho);
      api->copy_in(dev, bo, 0, ho, sizeof ho);
      void *bufs[2] = {bo, ba};
      size_t offs[2] = {(size_t)off, (size_t)off};
      cg_launch_args a = {sizeof a, 2, bufs, offs, 0, 0, NULL, {gd[0], gd[1], gd[2]}, {1, 1, 1}, NULL};
      CHECK(api->launch(dev, h, &a) == CG_P_OK, "ntalign launch: %s", last_err);
      api->copy_out(dev, ho, bo, 0, sizeof ho);
      int bad = 0, k = (int)(off / 4), cnt = form ? 1000 : N;
      for (int i = 0; i < N + 16; i++) bad += ho[i] != (i >= k && i < k + cnt ? ha[i] * 1.5f : 0.0f);
      CHECK(!bad, "ntalign %s offset %d: %d wrong", form ? "g0" : "range", (int)off, bad);
    }
    api->program_unload(dev, h);
    api->mem_free(dev, bo), api->mem_free(dev, ba);
    free(p);
  }
}

/* A pool used before fork() must not hang the child: it starts its own workers. */
static void test_fork(void) {
  test_grid(); /* starts the pool */
  pid_t pid = fork();
  if (pid == 0) {
    test_grid();
    _exit(fails ? 1 : 0);
  }
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "the fork child failed or hung (status %d)", st);
}

/* Mean launch time of a small kernel (4096 floats, no cost estimate: the pool runs it). */
static void test_launch(void) {
  enum { N = 4096, REPS = 2000 };
  cg_ir_program *p = k_op(CG_IR_ADD, CG_IR_FLOAT32, 2, N, 4);
  void *ba = dbuf(N * 4), *bb = dbuf(N * 4), *bo = dbuf(N * 4), *blob, *h;
  size_t n;
  CHECK(!api->compile(dev, p, NULL, &blob, &n) && !api->program_load(dev, p, blob, n, &h), "%s", last_err);
  api->release(blob);
  void *bufs[3] = {bo, ba, bb};
  cg_launch_args la = {sizeof la, 3, bufs, NULL, 0, 0, NULL, {N / 4, 1, 1}, {1, 1, 1}, NULL};
  double t0 = now_s();
  for (int r = 0; r < REPS; r++) CHECK(api->launch(dev, h, &la) == CG_P_OK, "launch");
  printf("small kernel launch: %.1f us per launch\n", (now_s() - t0) / REPS * 1e6);
  api->program_unload(dev, h);
  api->mem_free(dev, ba), api->mem_free(dev, bb), api->mem_free(dev, bo);
  free(p);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  if (open_plugin()) {
    fprintf(stderr, "FAIL: cannot open the llvm plugin: %s\n", last_err);
    return 1;
  }
  int all = !strcmp(which, "all");
  if (all || !strcmp(which, "latency")) test_latency();
  if (all || !strcmp(which, "ops")) test_ops();
  if (all || !strcmp(which, "casts")) test_casts();
  if (all || !strcmp(which, "transc")) test_transc();
  if (all || !strcmp(which, "reduce")) test_reduce();
  if (all || !strcmp(which, "gated")) test_gated();
  if (all || !strcmp(which, "vector")) test_vector();
  if (all || !strcmp(which, "grid")) test_grid();
  if (all || !strcmp(which, "threads")) test_threads();
  if (all || !strcmp(which, "launch")) test_launch();
  if (all || !strcmp(which, "fork")) test_fork();
  if (all || !strcmp(which, "alias")) test_alias();
  if (all || !strcmp(which, "ntalign")) test_ntalign();
  if (all || !strcmp(which, "shutdown")) test_shutdown();
  if (all || !strcmp(which, "cache")) test_cache();
  if (all || !strcmp(which, "errors")) test_errors();
  if (all || !strcmp(which, "fuzz")) test_fuzz();
  close_plugin();
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ok: %s\n", which);
  return fails ? 1 : 0;
}
