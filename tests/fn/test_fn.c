/* Tests of the composite ops (core/tensor_fn.c, core/nn_fn.c) on the default device:
 * every op's values against a naive C loop (or libm), a few gradients against the
 * analytic ones, and argument errors. Each failing check prints its line and the run
 * goes on; exit 1 if any failed, 77 (skip) if no device opens. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/cgrad.h"
#include "../common/backend_arg.h"

static int failures;

#define FAIL(...)                                             \
  do {                                                        \
    failures++;                                               \
    fprintf(stderr, "%s:%d: FAIL ", __FILE__, __LINE__);      \
    fprintf(stderr, __VA_ARGS__);                             \
    fprintf(stderr, "\n");                                    \
  } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

/* ---- helpers ---- */

static uint64_t rng = 88172645463325252ULL;
static double urand(void) { /* xorshift64, U[0,1) */
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (double)(rng >> 11) * 0x1.0p-53;
}
/* n floats in [lo, hi) */
static float *randf(int64_t n, double lo, double hi) {
  float *v = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) v[i] = (float)(lo + (hi - lo) * urand());
  return v;
}
static cg_tensor *tf(const float *v, int nd, const int64_t *s) { return cg_from_data(v, CG_FLOAT32, nd, s); }
static cg_tensor *ti(const int32_t *v, int nd, const int64_t *s) { return cg_from_data(v, CG_INT32, nd, s); }

/* Copies t (any dtype) to the host as doubles (via float32 on the device). */
static double *host(cg_tensor *t) {
  if (!t) return NULL;
  int64_t n = cg_numel(t);
  float *f = malloc((size_t)(n ? n : 1) * sizeof(float));
  double *d = malloc((size_t)(n ? n : 1) * sizeof(double));
  cg_scope_push();
  cg_tensor *c = cg_cast(t, CG_FLOAT32);
  cg_status st = c ? cg_to_host(c, f, (size_t)n * sizeof(float)) : CG_ERR_INVALID;
  cg_scope_pop();
  for (int64_t i = 0; st == CG_OK && i < n; i++) d[i] = f[i];
  free(f);
  if (st == CG_OK) return d;
  free(d);
  return NULL;
}

/* Compares t with want (n values, |got-want| <= tol (1 + |want|)); NaN matches NaN. */
static void expect_at(int line, const char *what, cg_tensor *t, const double *want, int64_t n,
                      double tol) {
  if (!t) { failures++; fprintf(stderr, "line %d: FAIL %s: NULL (%s)\n", line, what, cg_last_error()); return; }
  if (cg_numel(t) != n) {
    failures++;
    fprintf(stderr, "line %d: FAIL %s: %lld elements, want %lld\n", line, what,
            (long long)cg_numel(t), (long long)n);
    return;
  }
  double *got = host(t);
  if (!got) { failures++; fprintf(stderr, "line %d: FAIL %s: realize (%s)\n", line, what, cg_last_error()); return; }
  int bad = 0;
  for (int64_t i = 0; i < n && bad < 3; i++) {
    bool ok = isnan(want[i]) ? isnan(got[i]) : fabs(got[i] - want[i]) <= tol * (1 + fabs(want[i]));
    if (isinf(want[i])) ok = got[i] == want[i];
    if (!ok) {
      if (!bad++) failures++;
      fprintf(stderr, "line %d: FAIL %s[%lld] = %.9g, want %.9g\n", line, what, (long long)i,
              got[i], want[i]);
    }
  }
  free(got);
}
#define EXPECT(what, t, want, n, tol) expect_at(__LINE__, what, t, want, n, tol)

static void expect_shape_at(int line, cg_tensor *t, int nd, const int64_t *s) {
  bool ok = t && cg_ndim(t) == nd;
  for (int i = 0; ok && i < nd; i++) ok = cg_dim(t, i) == s[i];
  if (!ok) { failures++; fprintf(stderr, "line %d: FAIL shape (%s)\n", line, t ? "" : cg_last_error()); }
}
#define EXPECT_SHAPE(t, nd, ...) expect_shape_at(__LINE__, t, nd, (int64_t[]){__VA_ARGS__})

/* ---- creation and random ---- */

static void test_creation(void) {
  cg_scope_push();
  int64_t s23[2] = {2, 3};
  double w0[6] = {0}, w1[6] = {1, 1, 1, 1, 1, 1}, w7[6] = {7, 7, 7, 7, 7, 7};
  EXPECT("zeros", cg_zeros(CG_FLOAT32, 2, s23), w0, 6, 0);
  EXPECT("ones", cg_ones(CG_INT32, 2, s23), w1, 6, 0);
  EXPECT("full_like", cg_full_like(cg_zeros(CG_FLOAT32, 2, s23), 7), w7, 6, 0);
  EXPECT("ones_like", cg_ones_like(cg_zeros(CG_FLOAT32, 2, s23)), w1, 6, 0);
  double ar[4] = {1, 3.5, 6, 8.5};
  EXPECT("arange", cg_arange(1, 10, 2.5, CG_FLOAT32), ar, 4, 0);
  double ai[4] = {10, 7, 4, 1};
  EXPECT("arange down", cg_arange(10, 0, -3, CG_INT32), ai, 4, 0);
  double ls[5] = {-1, -0.5, 0, 0.5, 1};
  EXPECT("linspace", cg_linspace(-1, 1, 5, CG_FLOAT32), ls, 5, 0);
  double ey[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT("eye", cg_eye(3, CG_FLOAT32), ey, 9, 0);
  EXPECT_SHAPE(cg_eye(3, CG_INT32), 2, 3, 3);
  cg_scope_pop();
}

static void stats(cg_tensor *t, double *mean, double *var, double *lo, double *hi) {
  double *v = host(t);
  int64_t n = cg_numel(t);
  *mean = *var = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; v && i < n; i++) {
    *mean += v[i] / (double)n;
    *lo = fmin(*lo, v[i]);
    *hi = fmax(*hi, v[i]);
  }
  for (int64_t i = 0; v && i < n; i++) *var += (v[i] - *mean) * (v[i] - *mean) / (double)n;
  free(v);
}

static void test_random(void) {
  cg_scope_push();
  int64_t s = 20000;
  double m, v, lo, hi;
  cg_manual_seed(42);
  cg_tensor *a = cg_rand(CG_FLOAT32, 1, &s);
  stats(a, &m, &v, &lo, &hi);
  CHECK(fabs(m - 0.5) < 0.02 && fabs(v - 1.0 / 12) < 0.01 && lo >= 0 && hi < 1,
        "rand mean %g var %g range [%g, %g]", m, v, lo, hi);
  stats(cg_randn(CG_FLOAT32, 1, &s), &m, &v, &lo, &hi);
  CHECK(fabs(m) < 0.05 && fabs(v - 1) < 0.05, "randn mean %g var %g", m, v);
  stats(cg_randint(-3, 5, CG_INT32, 1, &s), &m, &v, &lo, &hi);
  CHECK(lo == -3 && hi == 4 && fabs(m - 0.5) < 0.1, "randint range [%g, %g] mean %g", lo, hi, m);
  cg_manual_seed(42); /* same seed, same numbers */
  double *x = host(a), *y = host(cg_rand(CG_FLOAT32, 1, &s));
  CHECK(x && y && memcmp(x, y, (size_t)s * sizeof(double)) == 0, "rand not deterministic");
  free(x);
  free(y);
  CHECK(!cg_rand(CG_INT32, 1, &s) && strstr(cg_last_error(), "rand"), "rand int dtype");
  CHECK(!cg_randint(3, 3, CG_INT32, 1, &s), "randint empty range");
  cg_scope_pop();
}

/* ---- elementwise ---- */

typedef struct {
  const char *name;
  cg_tensor *(*op)(cg_tensor *);
  double (*ref)(double);
  double lo, hi, tol;
} unary_case;

static double r_exp(double x) { return exp(x); }
static double r_log(double x) { return log(x); }
static double r_rsqrt(double x) { return 1 / sqrt(x); }
static double r_cos(double x) { return cos(x); }
static double r_tan(double x) { return tan(x); }
static double r_tanh(double x) { return tanh(x); }
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double r_relu(double x) { return x > 0 ? x : 0; }
static double r_gelu(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double r_silu(double x) { return x / (1 + exp(-x)); }
static double r_softplus(double x) { return x > 20 ? x : log1p(exp(x)); }
static double r_abs(double x) { return fabs(x); }
static double r_sign(double x) { return (x > 0) - (x < 0); }
static double r_floor(double x) { return floor(x); }
static double r_ceil(double x) { return ceil(x); }

static const unary_case unary_cases[] = {
    {"exp", cg_exp, r_exp, -5, 5, 1e-5},
    {"log", cg_log, r_log, 0.01, 100, 1e-5},
    {"rsqrt", cg_rsqrt, r_rsqrt, 0.01, 100, 1e-5},
    {"cos", cg_cos, r_cos, -6, 6, 1e-5},
    {"tan", cg_tan, r_tan, -1.3, 1.3, 1e-4},
    {"tanh", cg_tanh, r_tanh, -6, 6, 1e-5},
    {"sigmoid", cg_sigmoid, r_sigmoid, -30, 30, 1e-6},
    {"relu", cg_relu, r_relu, -3, 3, 0},
    {"gelu", cg_gelu, r_gelu, -6, 6, 1e-5},
    {"silu", cg_silu, r_silu, -10, 10, 1e-5},
    {"softplus", cg_softplus, r_softplus, -30, 40, 1e-5},
    {"abs", cg_abs, r_abs, -3, 3, 0},
    {"sign", cg_sign, r_sign, -3, 3, 0},
    {"floor", cg_floor, r_floor, -5, 5, 0},
    {"ceil", cg_ceil, r_ceil, -5, 5, 0},
};

static void test_unary(void) {
  const int64_t n = 257;
  double want[257];
  for (size_t c = 0; c < sizeof unary_cases / sizeof *unary_cases; c++) {
    const unary_case *u = &unary_cases[c];
    cg_scope_push();
    float *v = randf(n, u->lo, u->hi);
    v[0] = 0.0f; /* edge values inside the range */
    if (u->lo > 0) v[0] = (float)u->lo;
    v[1] = 2.0f;
    v[2] = -2.0f;
    if (u->lo >= -2) v[2] = (float)u->hi / 2;
    for (int64_t i = 0; i < n; i++) want[i] = u->ref(v[i]);
    EXPECT(u->name, u->op(tf(v, 1, &n)), want, n, u->tol);
    free(v);
    cg_scope_pop();
  }
  cg_scope_push();
  float x[6] = {-2, -0.5f, 0, 0.5f, 2, 40};
  int64_t s = 6;
  cg_tensor *t = tf(x, 1, &s);
  double lr[6] = {-0.2, -0.05, 0, 0.5, 2, 40};
  EXPECT("leaky_relu", cg_leaky_relu(t, 0.1), lr, 6, 1e-6);
  double el[6];
  for (int i = 0; i < 6; i++) el[i] = x[i] > 0 ? x[i] : 1.5 * (exp(x[i]) - 1);
  EXPECT("elu", cg_elu(t, 1.5), el, 6, 1e-6);
  double cl[6] = {-1, -0.5, 0, 0.5, 1.5, 1.5};
  EXPECT("clamp", cg_clamp(t, -1, 1.5), cl, 6, 0);
  double ex[6];
  for (int i = 0; i < 6; i++) ex[i] = exp(x[i]);
  EXPECT("exp overflow-free 40", cg_exp(t), ex, 6, 1e-5);
  int32_t iv[6] = {-7, -1, 0, 1, 5, 100};
  cg_tensor *it = ti(iv, 1, &s);
  double ia[6] = {7, 1, 0, 1, 5, 100}, is[6] = {-1, -1, 0, 1, 1, 1}, inot[6];
  for (int i = 0; i < 6; i++) inot[i] = ~iv[i];
  EXPECT("abs int", cg_abs(it), ia, 6, 0);
  EXPECT("sign int", cg_sign(it), is, 6, 0);
  EXPECT("bitwise_not int32", cg_bitwise_not(it), inot, 6, 0);
  uint8_t u8[3] = {0, 1, 200};
  double u8n[3] = {255, 254, 55};
  EXPECT("bitwise_not uint8", cg_bitwise_not(cg_from_data(u8, CG_UINT8, 1, (int64_t[]){3})), u8n, 3, 0);
  uint64_t u64[2] = {0, 12345}, u64n[2];
  cg_tensor *n64 = cg_bitwise_not(cg_from_data(u64, CG_UINT64, 1, (int64_t[]){2}));
  CHECK(n64 && cg_to_host(n64, u64n, sizeof u64n) == CG_OK && u64n[0] == ~0ULL && u64n[1] == ~12345ULL,
        "bitwise_not uint64: %s", cg_last_error());
  double iclamp[6] = {-1, -1, 0, 1, 3, 3};
  EXPECT("clamp int", cg_clamp(it, -1, 3), iclamp, 6, 0);
  double uclamp[3] = {0, 1, 100};
  EXPECT("clamp uint8 wide bounds", cg_clamp(cg_from_data(u8, CG_UINT8, 1, (int64_t[]){3}), -5, 100), uclamp, 3, 0);
  cg_tensor *e = cg_exp(it); /* ints compute in float32 */
  CHECK(e && cg_tensor_dtype(e) == CG_FLOAT32, "exp(int) dtype");
  cg_scope_pop();
}

static void test_binary(void) {
  cg_scope_push();
  float a[4] = {1, -2, 3, 0.5f}, b[4] = {0, 5, -1, 0.5f};
  int64_t s = 4;
  cg_tensor *x = tf(a, 1, &s), *y = tf(b, 1, &s);
  double mn[4] = {0, -2, -1, 0.5};
  EXPECT("minimum", cg_minimum(x, y), mn, 4, 0);
  double ad[4] = {3, 0, 5, 2.5}, sb[4] = {-1, -4, 1, -1.5}, ml[4] = {3, -6, 9, 1.5};
  double dv[4] = {0.5, -1, 1.5, 0.25}, pw[4] = {1, 4, 9, 0.25}, rs[4] = {9, 12, 7, 9.5};
  EXPECT("adds", cg_adds(x, 2), ad, 4, 0);
  EXPECT("subs", cg_subs(x, 2), sb, 4, 0);
  EXPECT("muls", cg_muls(x, 3), ml, 4, 0);
  EXPECT("divs", cg_divs(x, 2), dv, 4, 0);
  EXPECT("pows 2", cg_pows(x, 2), pw, 4, 0);
  EXPECT("rsubs", cg_rsubs(x, 10), rs, 4, 0);
  double p3[4] = {1, NAN, pow(3, 1.5), pow(0.5, 1.5)}; /* (-2)^1.5 is NaN */
  EXPECT("pows 1.5", cg_pows(x, 1.5), p3, 4, 1e-5);
  int32_t ia[4] = {7, -7, 0, 3};
  cg_tensor *it = ti(ia, 1, &s);
  double idv[4] = {3.5, -3.5, 0, 1.5};
  EXPECT("divs int -> float", cg_divs(it, 2), idv, 4, 0);
  double idv25[4] = {2.8, -2.8, 0, 1.2};
  EXPECT("divs int by 2.5", cg_divs(it, 2.5), idv25, 4, 1e-6);
  double imn[4] = {0, -7, 0, 0};
  EXPECT("minimum int", cg_minimum(it, cg_zeros(CG_INT32, 1, &s)), imn, 4, 0);
  double land[4] = {0, 1, 1, 1}, lor[4] = {1, 1, 1, 1}, lnot[4] = {0, 0, 1, 0};
  EXPECT("logical_and", cg_logical_and(x, y), land, 4, 0);
  EXPECT("logical_or", cg_logical_or(x, y), lor, 4, 0);
  EXPECT("logical_not", cg_logical_not(it), lnot, 4, 0);
  cg_scope_pop();
}

/* ---- reductions ---- */

static void test_reduce(void) {
  cg_scope_push();
  enum { R = 5, C = 7 };
  int64_t s[2] = {R, C};
  float *v = randf(R * C, -3, 3);
  v[3] = v[5] = 10; /* tie in row 0: first index 3 wins */
  v[C + 2] = v[C + 6] = -10;
  cg_tensor *x = tf(v, 2, s);
  double mn[R], me[R], va[R], sd[R], am[R], ai[R], lse[R], sm[R * C], lsm[R * C], mnall = 1e9;
  for (int r = 0; r < R; r++) {
    double lo = 1e9, hi = -1e9, sum = 0, ss = 0, se = 0;
    int ihi = 0, ilo = 0;
    for (int c = 0; c < C; c++) {
      double e = v[r * C + c];
      if (e > hi) { hi = e; ihi = c; }
      if (e < lo) { lo = e; ilo = c; }
      sum += e;
    }
    for (int c = 0; c < C; c++) {
      ss += (v[r * C + c] - sum / C) * (v[r * C + c] - sum / C);
      se += exp(v[r * C + c] - hi);
    }
    for (int c = 0; c < C; c++) {
      sm[r * C + c] = exp(v[r * C + c] - hi) / se;
      lsm[r * C + c] = v[r * C + c] - hi - log(se);
    }
    mn[r] = lo; me[r] = sum / C; va[r] = ss / (C - 1); sd[r] = sqrt(ss / C);
    am[r] = ihi; ai[r] = ilo; lse[r] = hi + log(se);
    mnall = fmin(mnall, lo);
  }
  int ax = 1;
  EXPECT("min", cg_min(x, 1, &ax, false), mn, R, 0);
  EXPECT("min all", cg_min(x, 0, NULL, false), &mnall, 1, 0);
  EXPECT("mean", cg_mean(x, 1, &ax, false), me, R, 1e-6);
  EXPECT("variance", cg_variance(x, 1, &ax, false, 1), va, R, 1e-5);
  EXPECT("std", cg_std(x, 1, &ax, true, 0), sd, R, 1e-5);
  EXPECT_SHAPE(cg_std(x, 1, &ax, true, 0), 2, R, 1);
  EXPECT("argmax", cg_argmax(x, -1, false), am, R, 0);
  EXPECT("argmin", cg_argmin(x, 1, false), ai, R, 0);
  cg_tensor *amx = cg_argmax(x, 1, true);
  CHECK(amx && cg_tensor_dtype(amx) == CG_INT32, "argmax dtype");
  EXPECT_SHAPE(amx, 2, R, 1);
  EXPECT("logsumexp", cg_logsumexp(x, 1, false), lse, R, 1e-6);
  EXPECT("softmax", cg_softmax(x, 1), sm, R * C, 1e-6);
  EXPECT("log_softmax", cg_log_softmax(x, -1), lsm, R * C, 1e-6);
  /* column-wise argmax (axis 0) */
  double am0[C];
  for (int c = 0; c < C; c++) {
    int best = 0;
    for (int r = 1; r < R; r++) if (v[r * C + c] > v[best * C + c]) best = r;
    am0[c] = best;
  }
  EXPECT("argmax axis 0", cg_argmax(x, 0, false), am0, C, 0);
  float ninf[3] = {-INFINITY, -INFINITY, -INFINITY};
  double want_ninf = -INFINITY;
  EXPECT("logsumexp -inf", cg_logsumexp(tf(ninf, 1, (int64_t[]){3}), 0, false), &want_ninf, 1, 0);
  int32_t iv[4] = {3, -2, 9, 9};
  double imin = -2, iam = 2;
  EXPECT("min int", cg_min(ti(iv, 1, (int64_t[]){4}), 0, NULL, false), &imin, 1, 0);
  EXPECT("argmax int", cg_argmax(ti(iv, 1, (int64_t[]){4}), 0, false), &iam, 1, 0);
  free(v);
  cg_scope_pop();
}

/* ---- movement ---- */

static void test_movement(void) {
  cg_scope_push();
  float v[24];
  for (int i = 0; i < 24; i++) v[i] = (float)i;
  cg_tensor *x = tf(v, 3, (int64_t[]){2, 3, 4});
  double tr[24];
  for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++)
    tr[k * 6 + j * 2 + i] = v[i * 12 + j * 4 + k];
  EXPECT("transpose", cg_transpose(x, 0, 2), tr, 24, 0);
  EXPECT_SHAPE(cg_transpose(x, 0, -1), 3, 4, 3, 2);
  EXPECT_SHAPE(cg_unsqueeze(x, 1), 4, 2, 1, 3, 4);
  EXPECT_SHAPE(cg_unsqueeze(x, -1), 4, 2, 3, 4, 1);
  EXPECT_SHAPE(cg_squeeze(cg_unsqueeze(x, 1), 1), 3, 2, 3, 4);
  EXPECT_SHAPE(cg_squeeze(x, 1), 3, 2, 3, 4);
  EXPECT_SHAPE(cg_flatten(x, 1, 2), 2, 2, 12);
  EXPECT_SHAPE(cg_flatten(x, 0, -1), 1, 24);
  /* cat / stack */
  float w[8];
  for (int i = 0; i < 8; i++) w[i] = 100.0f + (float)i;
  cg_tensor *y = tf(w, 3, (int64_t[]){2, 1, 4});
  cg_tensor *xy[2] = {x, y};
  double ct[32];
  for (int i = 0; i < 2; i++) for (int j = 0; j < 4; j++) for (int k = 0; k < 4; k++)
    ct[i * 16 + j * 4 + k] = j < 3 ? v[i * 12 + j * 4 + k] : w[i * 4 + k];
  EXPECT("cat", cg_cat(2, xy, 1), ct, 32, 0);
  cg_tensor *xx[3] = {x, x, x};
  cg_tensor *st = cg_stack(3, xx, 1);
  EXPECT_SHAPE(st, 4, 2, 3, 3, 4);
  double sk[72];
  for (int i = 0; i < 2; i++) for (int n = 0; n < 3; n++) for (int j = 0; j < 12; j++)
    sk[i * 36 + n * 12 + j] = v[i * 12 + j];
  EXPECT("stack", st, sk, 72, 0);
  CHECK(!cg_cat(2, (cg_tensor *[]){x, cg_transpose(x, 0, 1)}, 1) && strstr(cg_last_error(), "cat"),
        "cat shape error");
  /* slice: python semantics on axis 2 (size 4) and axis 1 */
  struct { int64_t start, stop, step; int n, idx[4]; } sl[] = { /* python's answers */
      {1, 3, 1, 2, {1, 2}},       {0, 4, 2, 2, {0, 2}},    {-1, -5, -1, 4, {3, 2, 1, 0}},
      {3, 0, -2, 2, {3, 1}},      {-100, 100, 3, 2, {0, 3}}, {2, 2, 1, 0, {0}},
      {0, 4, 5, 1, {0}},          {3, INT64_MIN, -3, 2, {3, 0}}, {-2, 100, 1, 2, {2, 3}}};
  for (size_t c = 0; c < sizeof sl / sizeof *sl; c++) {
    int n = sl[c].n;
    const int *idx = sl[c].idx;
    double want[24];
    for (int i = 0; i < 6; i++) for (int k = 0; k < n; k++) want[i * n + k] = v[i * 4 + idx[k]];
    char name[64];
    snprintf(name, sizeof name, "slice %lld:%lld:%lld", (long long)sl[c].start,
             (long long)sl[c].stop, (long long)sl[c].step);
    cg_tensor *r = cg_slice(x, 2, sl[c].start, sl[c].stop, sl[c].step);
    EXPECT(name, r, want, 6 * n, 0);
    EXPECT_SHAPE(r, 3, 2, 3, n);
  }
  double s1[8];
  for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) s1[i * 4 + k] = v[i * 12 + 2 * 4 + k];
  EXPECT("slice axis 1", cg_slice(x, 1, -1, 3, 1), s1, 8, 0);
  CHECK(!cg_slice(x, 1, 0, 3, 0), "slice step 0");
  /* gather along axis 1 and 0 */
  int32_t gi[6] = {2, 0, 1, 1, 2, 2};
  cg_tensor *g = cg_gather(cg_reshape(x, 2, (int64_t[]){4, 6}), 1, ti(gi, 2, (int64_t[]){2, 3}));
  double gw[6];
  for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) gw[i * 3 + j] = v[i * 6 + gi[i * 3 + j]];
  EXPECT("gather axis 1", g, gw, 6, 0);
  int32_t g0[3] = {3, 0, 2};
  double g0w[3] = {v[18], v[1], v[14]};
  EXPECT("gather axis 0", cg_gather(cg_reshape(x, 2, (int64_t[]){4, 6}), 0, ti(g0, 2, (int64_t[]){1, 3})),
         g0w, 3, 0);
  int32_t lab[3] = {2, 0, 1};
  double oh[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
  cg_tensor *o = cg_one_hot(ti(lab, 1, (int64_t[]){3}), 3);
  EXPECT("one_hot", o, oh, 9, 0);
  CHECK(o && cg_tensor_dtype(o) == CG_FLOAT32, "one_hot dtype");
  uint8_t lab8[2] = {255, 3};
  double oh8[2] = {1, 0}; /* row 0 at class 255, row 1 at 3: check the two class-255 cells */
  cg_tensor *o8 = cg_one_hot(cg_from_data(lab8, CG_UINT8, 1, (int64_t[]){2}), 300);
  EXPECT("one_hot uint8 class 255", cg_shrink(o8, (int64_t[]){0, 2, 255, 256}), oh8, 2, 0);
  cg_scope_pop();
}

/* ---- nn ---- */

/* c = a (B?, M, K) @ b (B?, K, N) with batch broadcast (batch sizes ba, bb: 1 or B) */
static void ref_matmul(const float *a, const float *b, double *c, int B, int ba, int bb, int M,
                       int K, int N) {
  for (int z = 0; z < B; z++)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        double s = 0;
        for (int k = 0; k < K; k++)
          s += (double)a[(ba > 1 ? z : 0) * M * K + i * K + k] * b[(bb > 1 ? z : 0) * K * N + k * N + j];
        c[z * M * N + i * N + j] = s;
      }
}

static void test_matmul(void) {
  cg_scope_push();
  enum { B = 3, M = 4, K = 5, N = 6 };
  float *a = randf(B * M * K, -1, 1), *b = randf(B * K * N, -1, 1), *bias = randf(N, -1, 1);
  double c[B * M * N];
  ref_matmul(a, b, c, 1, 1, 1, M, K, N);
  EXPECT("matmul 2d", cg_matmul(tf(a, 2, (int64_t[]){M, K}), tf(b, 2, (int64_t[]){K, N})), c, M * N, 1e-5);
  ref_matmul(a, b, c, B, B, B, M, K, N);
  EXPECT("matmul batched", cg_matmul(tf(a, 3, (int64_t[]){B, M, K}), tf(b, 3, (int64_t[]){B, K, N})),
         c, B * M * N, 1e-5);
  ref_matmul(a, b, c, B, 1, B, M, K, N);
  cg_tensor *r = cg_matmul(tf(a, 2, (int64_t[]){M, K}), tf(b, 4, (int64_t[]){B, 1, K, N}));
  EXPECT("matmul broadcast", r, c, B * M * N, 1e-5);
  EXPECT_SHAPE(r, 4, B, 1, M, N);
  ref_matmul(a, b, c, 1, 1, 1, 1, K, N);
  r = cg_matmul(tf(a, 1, (int64_t[]){K}), tf(b, 2, (int64_t[]){K, N}));
  EXPECT("matmul vec@mat", r, c, N, 1e-5);
  EXPECT_SHAPE(r, 1, N);
  ref_matmul(a, b, c, 1, 1, 1, M, K, 1);
  r = cg_matmul(tf(a, 2, (int64_t[]){M, K}), tf(b, 1, (int64_t[]){K}));
  EXPECT("matmul mat@vec", r, c, M, 1e-5);
  EXPECT_SHAPE(r, 1, M);
  ref_matmul(a, b, c, 1, 1, 1, 1, K, 1);
  r = cg_matmul(tf(a, 1, (int64_t[]){K}), tf(b, 1, (int64_t[]){K}));
  EXPECT("matmul dot", r, c, 1, 1e-5);
  EXPECT_SHAPE(r, 0, 0);
  CHECK(!cg_matmul(tf(a, 2, (int64_t[]){M, K}), tf(b, 2, (int64_t[]){N, K})) &&
            strstr(cg_last_error(), "matmul") && strstr(cg_last_error(), "(4, 5)"),
        "matmul shape error: %s", cg_last_error());
  /* linear: x (B, M, K) @ w (N, K).T + bias */
  double l[B * M * N];
  for (int z = 0; z < B * M; z++)
    for (int j = 0; j < N; j++) {
      double s = bias[j];
      for (int k = 0; k < K; k++) s += (double)a[z * K + k] * b[j * K + k];
      l[z * N + j] = s;
    }
  EXPECT("linear", cg_linear(tf(a, 3, (int64_t[]){B, M, K}), tf(b, 2, (int64_t[]){N, K}), tf(bias, 1, (int64_t[]){N})),
         l, B * M * N, 1e-5);
  /* 16-bit floats: products and sum in float32, one rounding at the end (torch's rule).
   * x = 1 + 3u (u = 2^-10 for f16, 2^-7 for bf16): x*x - 1 = 6u + 9u^2 survives the final
   * rounding as 6u + 2u^2 (f16: 6u + 2^-17, bf16: 6u + 2^-11); rounding x*x to 16 bits
   * first would give 6u. */
  for (int h = 0; h < 2; h++) {
    double u = h ? 0x1p-7 : 0x1p-10, want = 6 * u + (h ? 0x1p-11 : 0x1p-17);
    float va[2] = {(float)(1 + 3 * u), 1}, vb[2] = {(float)(1 + 3 * u), -1};
    cg_dtype dt = h ? CG_BFLOAT16 : CG_FLOAT16;
    cg_tensor *x16 = cg_cast(tf(va, 2, (int64_t[]){1, 2}), dt), *y16 = cg_cast(tf(vb, 2, (int64_t[]){2, 1}), dt);
    EXPECT(h ? "matmul bf16 sums in float32" : "matmul f16 sums in float32", cg_matmul(x16, y16), &want, 1, 0);
    EXPECT(h ? "linear bf16 sums in float32" : "linear f16 sums in float32",
           cg_linear(x16, cg_reshape(y16, 2, (int64_t[]){1, 2}), NULL), &want, 1, 0);
    CHECK(cg_tensor_dtype(cg_matmul(x16, y16)) == dt, "16-bit matmul keeps its dtype");
  }
  free(a);
  free(b);
  free(bias);
  cg_scope_pop();
}

/* Naive conv2d on (N, Cin, H, W) * (Cout, Cin/G, KH, KW). */
static void ref_conv(const float *x, const float *w, const float *b, double *y, int n, int cin,
                     int h, int wd, int cout, int kh, int kw, int st, int pd, int dl, int g,
                     int oh, int ow) {
  int cg = cin / g, og = cout / g;
  for (int in = 0; in < n; in++)
    for (int co = 0; co < cout; co++)
      for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
          double s = b ? b[co] : 0;
          for (int ci = 0; ci < cg; ci++)
            for (int p = 0; p < kh; p++)
              for (int q = 0; q < kw; q++) {
                int yy = i * st - pd + p * dl, xx = j * st - pd + q * dl;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                int c = (co / og) * cg + ci;
                s += (double)x[((in * cin + c) * h + yy) * wd + xx] * w[((co * cg + ci) * kh + p) * kw + q];
              }
          y[((in * cout + co) * oh + i) * ow + j] = s;
        }
}

static void test_conv(void) {
  struct { int n, cin, h, w, cout, kh, kw, st, pd, dl, g; bool bias; } cs[] = {
      {2, 3, 7, 6, 4, 3, 3, 1, 0, 1, 1, true},  {1, 2, 8, 8, 3, 3, 3, 2, 1, 1, 1, false},
      {2, 4, 9, 7, 6, 3, 2, 2, 2, 2, 2, true},  {1, 4, 5, 5, 4, 1, 1, 1, 0, 1, 4, true},
      {1, 1, 6, 6, 2, 2, 2, 3, 0, 1, 1, false}, {1, 2, 5, 6, 2, 5, 5, 1, 2, 1, 1, true},
  };
  for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
    cg_scope_push();
    int oh = (cs[c].h + 2 * cs[c].pd - cs[c].dl * (cs[c].kh - 1) - 1) / cs[c].st + 1;
    int ow = (cs[c].w + 2 * cs[c].pd - cs[c].dl * (cs[c].kw - 1) - 1) / cs[c].st + 1;
    int64_t xs[4] = {cs[c].n, cs[c].cin, cs[c].h, cs[c].w};
    int64_t ws[4] = {cs[c].cout, cs[c].cin / cs[c].g, cs[c].kh, cs[c].kw};
    float *x = randf(xs[0] * xs[1] * xs[2] * xs[3], -1, 1);
    float *w = randf(ws[0] * ws[1] * ws[2] * ws[3], -1, 1), *b = randf(cs[c].cout, -1, 1);
    int64_t ny = (int64_t)cs[c].n * cs[c].cout * oh * ow;
    double *y = malloc((size_t)ny * sizeof(double));
    ref_conv(x, w, cs[c].bias ? b : NULL, y, cs[c].n, cs[c].cin, cs[c].h, cs[c].w, cs[c].cout,
             cs[c].kh, cs[c].kw, cs[c].st, cs[c].pd, cs[c].dl, cs[c].g, oh, ow);
    cg_tensor *r = cg_conv2d_ex(tf(x, 4, xs), tf(w, 4, ws), cs[c].bias ? tf(b, 1, (int64_t[]){cs[c].cout}) : NULL,
                                cs[c].st, cs[c].pd, cs[c].dl, cs[c].g);
    char name[32];
    snprintf(name, sizeof name, "conv2d case %zu", c);
    EXPECT(name, r, y, ny, 1e-5);
    EXPECT_SHAPE(r, 4, cs[c].n, cs[c].cout, oh, ow);
    free(x); free(w); free(b); free(y);
    cg_scope_pop();
  }
  cg_scope_push();
  float x[48];
  for (int i = 0; i < 48; i++) x[i] = (float)((i * 7) % 11);
  cg_tensor *t = tf(x, 3, (int64_t[]){3, 4, 4});
  CHECK(!cg_conv2d(t, tf(x, 4, (int64_t[]){1, 2, 2, 2}), NULL, 1, 0) && strstr(cg_last_error(), "conv2d"),
        "conv2d channel mismatch");
  cg_scope_pop();
}

static void test_pool(void) {
  struct { int h, w, k, s; } cs[] = {{4, 4, 2, 2}, {5, 7, 3, 2}, {6, 6, 3, 3}, {5, 5, 2, 3}, {4, 6, 3, 1}};
  for (size_t c = 0; c < sizeof cs / sizeof *cs; c++) {
    cg_scope_push();
    int n = 2, oh = (cs[c].h - cs[c].k) / cs[c].s + 1, ow = (cs[c].w - cs[c].k) / cs[c].s + 1;
    float *x = randf(n * cs[c].h * cs[c].w, -1, 1);
    double mx[64], av[64];
    for (int z = 0; z < n; z++)
      for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
          double m = -1e9, s = 0;
          for (int p = 0; p < cs[c].k; p++)
            for (int q = 0; q < cs[c].k; q++) {
              double e = x[(z * cs[c].h + i * cs[c].s + p) * cs[c].w + j * cs[c].s + q];
              m = fmax(m, e);
              s += e;
            }
          mx[(z * oh + i) * ow + j] = m;
          av[(z * oh + i) * ow + j] = s / (cs[c].k * cs[c].k);
        }
    cg_tensor *t = tf(x, 3, (int64_t[]){n, cs[c].h, cs[c].w});
    char name[32];
    snprintf(name, sizeof name, "max_pool2d case %zu", c);
    EXPECT(name, cg_max_pool2d(t, cs[c].k, cs[c].s), mx, n * oh * ow, 0);
    snprintf(name, sizeof name, "avg_pool2d case %zu", c);
    EXPECT(name, cg_avg_pool2d(t, cs[c].k, cs[c].s), av, n * oh * ow, 1e-6);
    EXPECT_SHAPE(cg_max_pool2d(t, cs[c].k, cs[c].s), 3, n, oh, ow);
    free(x);
    cg_scope_pop();
  }
}

static void test_norm_losses(void) {
  cg_scope_push();
  enum { R = 4, C = 6 };
  float *x = randf(R * C, -2, 2), *w = randf(C, 0.5, 1.5), *b = randf(C, -1, 1);
  double ln[R * C];
  for (int r = 0; r < R; r++) {
    double m = 0, v = 0;
    for (int c = 0; c < C; c++) m += x[r * C + c] / (double)C;
    for (int c = 0; c < C; c++) v += (x[r * C + c] - m) * (x[r * C + c] - m) / C;
    for (int c = 0; c < C; c++) ln[r * C + c] = (x[r * C + c] - m) / sqrt(v + 1e-5) * w[c] + b[c];
  }
  cg_tensor *xt = tf(x, 2, (int64_t[]){R, C});
  EXPECT("layernorm", cg_layernorm(xt, 1, tf(w, 1, (int64_t[]){C}), tf(b, 1, (int64_t[]){C}), 1e-5),
         ln, R * C, 1e-5);
  /* cross entropy / nll / mse */
  int32_t lab[R] = {1, 5, 0, 3};
  double ce = 0, mse = 0;
  for (int r = 0; r < R; r++) {
    double m = -1e9, s = 0;
    for (int c = 0; c < C; c++) m = fmax(m, x[r * C + c]);
    for (int c = 0; c < C; c++) s += exp(x[r * C + c] - m);
    ce += -(x[r * C + lab[r]] - m - log(s)) / R;
  }
  for (int i = 0; i < R * C; i++) mse += (x[i] - w[i % C]) * (x[i] - w[i % C]) / (R * C);
  cg_tensor *lt = ti(lab, 1, (int64_t[]){R});
  EXPECT("cross_entropy", cg_cross_entropy(xt, lt), &ce, 1, 1e-6);
  EXPECT("nll_loss", cg_nll_loss(cg_log_softmax(xt, 1), lt), &ce, 1, 1e-6);
  EXPECT("cross_entropy probs", cg_cross_entropy(xt, cg_one_hot(lt, C)), &ce, 1, 1e-6);
  EXPECT("mse_loss", cg_mse_loss(xt, tf(w, 1, (int64_t[]){C})), &mse, 1, 1e-6);
  CHECK(!cg_cross_entropy(xt, ti(lab, 1, (int64_t[]){3})) && strstr(cg_last_error(), "cross_entropy"),
        "cross_entropy label shape error");
  /* dropout: identity off-training; zeros or x/(1-p) in training, about p dropped */
  double xd[R * C];
  for (int i = 0; i < R * C; i++) xd[i] = x[i];
  EXPECT("dropout eval", cg_dropout(xt, 0.5, false), xd, R * C, 0);
  int64_t n = 10000;
  float *ones = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) ones[i] = 1;
  double *d = host(cg_dropout(tf(ones, 1, &n), 0.25, true));
  int64_t zeros = 0, scaled = 0;
  for (int64_t i = 0; d && i < n; i++) {
    zeros += d[i] == 0;
    scaled += fabs(d[i] - 1 / 0.75) < 1e-6;
  }
  CHECK(d && zeros + scaled == n && labs((long)zeros - 2500) < 200, "dropout zeros %lld", (long long)zeros);
  free(d);
  free(ones);
  free(x); free(w); free(b);
  cg_scope_pop();
}

/* ---- gradients through composites ---- */

static void test_grads(void) {
  cg_scope_push();
  enum { R = 3, C = 5 };
  float *xv = randf(R * C, -2, 2);
  int32_t lab[R] = {4, 0, 2};
  cg_tensor *x = tf(xv, 2, (int64_t[]){R, C});
  cg_set_requires_grad(x, true);
  cg_tensor *loss = cg_cross_entropy(x, ti(lab, 1, (int64_t[]){R}));
  CHECK(loss && cg_backward(loss) == CG_OK, "backward cross_entropy: %s", cg_last_error());
  double g[R * C]; /* (softmax - onehot) / R */
  for (int r = 0; r < R; r++) {
    double m = -1e9, s = 0;
    for (int c = 0; c < C; c++) m = fmax(m, xv[r * C + c]);
    for (int c = 0; c < C; c++) s += exp(xv[r * C + c] - m);
    for (int c = 0; c < C; c++) g[r * C + c] = (exp(xv[r * C + c] - m) / s - (c == lab[r])) / R;
  }
  EXPECT("grad cross_entropy", cg_grad(x), g, R * C, 1e-6);
  /* d/dx sum(relu(x) + abs(x) + tanh(x)) */
  cg_zero_grad(x);
  xv[0] = 0; /* relu'(0) = abs'(0) = 0 as in PyTorch */
  cg_tensor *x2 = tf(xv, 2, (int64_t[]){R, C});
  cg_set_requires_grad(x2, true);
  cg_tensor *y = cg_add(cg_add(cg_relu(x2), cg_abs(x2)), cg_tanh(x2));
  CHECK(cg_backward(cg_sum(y, 0, NULL, false)) == CG_OK, "backward act: %s", cg_last_error());
  for (int i = 0; i < R * C; i++) {
    double t = tanh(xv[i]);
    g[i] = (xv[i] > 0) + ((xv[i] > 0) - (xv[i] < 0)) + 1 - t * t;
  }
  EXPECT("grad relu+abs+tanh", cg_grad(x2), g, R * C, 1e-5);
  /* sigmoid/tanh stay finite far out; clamp passes the gradient on its bounds */
  float big[6] = {-200, -30, 0, 30, 200, 1};
  cg_tensor *xb = tf(big, 1, (int64_t[]){6});
  cg_set_requires_grad(xb, true);
  cg_tensor *yb = cg_add(cg_add(cg_sigmoid(xb), cg_tanh(xb)), cg_clamp(xb, 0, 1));
  CHECK(cg_backward(cg_sum(yb, 0, NULL, false)) == CG_OK, "backward sigmoid: %s", cg_last_error());
  double gb[6];
  for (int i = 0; i < 6; i++) {
    double sg = 1 / (1 + exp(-big[i])), th = tanh(big[i]);
    gb[i] = sg * (1 - sg) + 1 - th * th + (big[i] >= 0 && big[i] <= 1);
  }
  EXPECT("grad sigmoid tanh clamp", cg_grad(xb), gb, 6, 1e-6);
  /* matmul gradient: d sum(a @ b) / da = row sums of b broadcast */
  float bv[C * 2];
  for (int i = 0; i < C * 2; i++) bv[i] = (float)(i % 3) - 1;
  cg_tensor *a = tf(xv, 2, (int64_t[]){R, C});
  cg_set_requires_grad(a, true);
  CHECK(cg_backward(cg_sum(cg_matmul(a, tf(bv, 2, (int64_t[]){C, 2})), 0, NULL, false)) == CG_OK, "backward matmul");
  for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) g[r * C + c] = bv[c * 2] + bv[c * 2 + 1];
  EXPECT("grad matmul", cg_grad(a), g, R * C, 1e-6);
  /* gather gradient scatters ones */
  cg_tensor *x3 = tf(xv, 2, (int64_t[]){R, C});
  cg_set_requires_grad(x3, true);
  int32_t gi[R] = {1, 1, 4};
  CHECK(cg_backward(cg_sum(cg_gather(x3, 1, ti(gi, 2, (int64_t[]){R, 1})), 0, NULL, false)) == CG_OK, "backward gather");
  for (int i = 0; i < R * C; i++) g[i] = (i % C) == gi[i / C];
  EXPECT("grad gather", cg_grad(x3), g, R * C, 0);
  free(xv);
  cg_scope_pop();
}

/* ---- gradients by directional differences (float64) ---- */

typedef cg_tensor *(*fn1)(cg_tensor *x, cg_tensor *aux);

static cg_tensor *tdouble(int nd, const int64_t *s, double lo, double hi) {
  int64_t n = 1;
  for (int i = 0; i < nd; i++) n *= s[i];
  double *v = malloc((size_t)n * sizeof(double));
  for (int64_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * urand();
  cg_tensor *t = cg_from_data(v, CG_FLOAT64, nd, s);
  free(v);
  return t;
}

/* sum(f(x) * w) as a double */
static double loss_at(fn1 f, cg_tensor *x, cg_tensor *aux, cg_tensor *w) {
  cg_scope_push();
  double l = cg_item(cg_sum(cg_mul(f(x, aux), w), 0, NULL, false));
  cg_scope_pop();
  return l;
}

/* Compares <grad, v> with (L(x + hv) - L(x - hv)) / 2h for two random directions v. */
static void grad_check_at(int line, const char *name, fn1 f, cg_tensor *aux, int nd,
                          const int64_t *shape, double lo, double hi) {
  cg_scope_push();
  cg_tensor *x = tdouble(nd, shape, lo, hi);
  cg_tensor *y = f(x, aux);
  if (!y) { failures++; fprintf(stderr, "line %d: FAIL grad %s: %s\n", line, name, cg_last_error()); cg_scope_pop(); return; }
  cg_tensor *w = tdouble(cg_ndim(y), cg_shape(y), -1, 1);
  cg_set_requires_grad(x, true);
  cg_status st = cg_backward(cg_sum(cg_mul(f(x, aux), w), 0, NULL, false));
  double *g = st == CG_OK ? host(cg_grad(x)) : NULL;
  if (!g) { failures++; fprintf(stderr, "line %d: FAIL grad %s: %s\n", line, name, cg_last_error()); cg_scope_pop(); return; }
  for (int k = 0; k < 2; k++) {
    cg_tensor *v = tdouble(nd, shape, -1, 1), *xd = cg_detach(x);
    double *vv = host(v), an = 0, h = 1e-6;
    for (int64_t i = 0; i < cg_numel(x); i++) an += g[i] * vv[i];
    double fd = (loss_at(f, cg_add(xd, cg_muls(v, h)), aux, w) - loss_at(f, cg_sub(xd, cg_muls(v, h)), aux, w)) / (2 * h);
    if (getenv("FN_VERBOSE")) fprintf(stderr, "%s: %.9g %.9g\n", name, an, fd);
    if (!(fabs(an - fd) <= 1e-4 * (1 + fabs(fd)))) {
      failures++;
      fprintf(stderr, "line %d: FAIL grad %s: analytic %.9g, numeric %.9g\n", line, name, an, fd);
    }
    free(vv);
  }
  free(g);
  cg_scope_pop();
}
#define GRAD_CHECK(name, f, aux, lo, hi, nd, ...) \
  grad_check_at(__LINE__, name, f, aux, nd, (int64_t[]){__VA_ARGS__}, lo, hi)

static cg_tensor *g_conv(cg_tensor *x, cg_tensor *w) { return cg_conv2d_ex(x, w, NULL, 2, 1, 2, 2); }
static cg_tensor *g_conv_w(cg_tensor *w, cg_tensor *x) { return cg_conv2d_ex(x, w, NULL, 1, 1, 1, 1); }
static cg_tensor *g_maxpool(cg_tensor *x, cg_tensor *a) { return cg_max_pool2d(x, 3, 2); }
static cg_tensor *g_avgpool(cg_tensor *x, cg_tensor *a) { return cg_avg_pool2d(x, 2, 1); }
static cg_tensor *g_layernorm(cg_tensor *x, cg_tensor *w) { return cg_layernorm(x, 2, w, w, 1e-5); }
static cg_tensor *g_softmax(cg_tensor *x, cg_tensor *a) { return cg_softmax(x, 0); }
static cg_tensor *g_log_softmax(cg_tensor *x, cg_tensor *a) { return cg_log_softmax(x, 1); }
static cg_tensor *g_logsumexp(cg_tensor *x, cg_tensor *a) { return cg_logsumexp(x, 1, true); }
static cg_tensor *g_acts(cg_tensor *x, cg_tensor *a) {
  cg_tensor *y = cg_add(cg_gelu(x), cg_elu(x, 0.7));
  y = cg_add(y, cg_add(cg_softplus(x), cg_silu(x)));
  return cg_add(y, cg_add(cg_tan(x), cg_mul(cg_cos(x), cg_sigmoid(x))));
}
static cg_tensor *g_log_exp(cg_tensor *x, cg_tensor *a) { return cg_add(cg_log(x), cg_mul(cg_rsqrt(x), cg_exp(x))); }
static cg_tensor *g_slice(cg_tensor *x, cg_tensor *a) { return cg_slice(cg_slice(x, 1, -1, 0, -2), 0, 1, 5, 3); }
static cg_tensor *g_cat(cg_tensor *x, cg_tensor *a) {
  return cg_stack(2, (cg_tensor *[]){cg_cat(3, (cg_tensor *[]){x, cg_exp(x), x}, 1), cg_cat(3, (cg_tensor *[]){x, x, x}, 1)}, 0);
}
static cg_tensor *g_gather(cg_tensor *x, cg_tensor *idx) { return cg_gather(x, 1, idx); }
static cg_tensor *g_variance(cg_tensor *x, cg_tensor *a) { return cg_add(cg_variance(x, 1, (int[]){0}, false, 1), cg_std(x, 0, NULL, false, 0)); }
static cg_tensor *g_matmul(cg_tensor *x, cg_tensor *b) { return cg_matmul(x, b); }
static cg_tensor *g_ce(cg_tensor *x, cg_tensor *lab) { return cg_cross_entropy(x, lab); }
static cg_tensor *g_minmax(cg_tensor *x, cg_tensor *a) {
  return cg_add(cg_clamp(x, -0.5, 0.5), cg_minimum(x, cg_min(x, 1, (int[]){1}, true)));
}

static void test_grad_checks(void) {
  cg_scope_push();
  GRAD_CHECK("conv2d x", g_conv, tdouble(4, (int64_t[]){4, 2, 3, 3}, -1, 1), -1, 1, 4, 2, 4, 7, 6);
  GRAD_CHECK("conv2d w", g_conv_w, tdouble(4, (int64_t[]){2, 3, 5, 5}, -1, 1), -1, 1, 4, 4, 3, 3, 3);
  GRAD_CHECK("max_pool2d", g_maxpool, NULL, -1, 1, 4, 2, 2, 7, 7);
  GRAD_CHECK("avg_pool2d", g_avgpool, NULL, -1, 1, 3, 2, 4, 5);
  GRAD_CHECK("layernorm", g_layernorm, tdouble(2, (int64_t[]){3, 4}, 0.5, 1.5), -2, 2, 3, 2, 3, 4);
  GRAD_CHECK("softmax", g_softmax, NULL, -3, 3, 2, 5, 3);
  GRAD_CHECK("log_softmax", g_log_softmax, NULL, -3, 3, 2, 3, 5);
  GRAD_CHECK("logsumexp", g_logsumexp, NULL, -3, 3, 2, 3, 5);
  GRAD_CHECK("activations", g_acts, NULL, -1.2, 1.2, 1, 40);
  GRAD_CHECK("log exp rsqrt", g_log_exp, NULL, 0.2, 3, 1, 20);
  GRAD_CHECK("slice", g_slice, NULL, -1, 1, 2, 7, 9);
  GRAD_CHECK("cat stack", g_cat, NULL, -1, 1, 2, 3, 2);
  int32_t gi[6] = {0, 4, 4, 2, 1, 3};
  GRAD_CHECK("gather", g_gather, ti(gi, 2, (int64_t[]){2, 3}), -1, 1, 2, 3, 5);
  GRAD_CHECK("variance std", g_variance, NULL, -1, 1, 2, 4, 3);
  GRAD_CHECK("matmul", g_matmul, tdouble(3, (int64_t[]){2, 4, 3}, -1, 1), -1, 1, 2, 5, 4);
  int32_t lab[4] = {2, 0, 1, 2};
  GRAD_CHECK("cross_entropy", g_ce, ti(lab, 1, (int64_t[]){4}), -2, 2, 2, 4, 3);
  GRAD_CHECK("clamp minimum min", g_minmax, NULL, -1, 1, 2, 4, 6);
  cg_scope_pop();
}

/* ---- errors ---- */

static void test_errors(void) {
  cg_scope_push();
  /* NULL in -> NULL out, no crash */
  CHECK(!cg_exp(NULL) && !cg_softmax(NULL, 0) && !cg_matmul(NULL, NULL) && !cg_cat(1, (cg_tensor *[]){NULL}, 0) &&
            !cg_conv2d(NULL, NULL, NULL, 1, 0) && !cg_cross_entropy(NULL, NULL) && !cg_slice(NULL, 0, 0, 1, 1) &&
            !cg_gather(NULL, 0, NULL) && !cg_layernorm(NULL, 1, NULL, NULL, 1e-5) && !cg_full_like(NULL, 1),
        "NULL propagation");
  cg_tensor *x = cg_ones(CG_FLOAT32, 2, (int64_t[]){2, 3});
  CHECK(!cg_softmax(x, 2) && strstr(cg_last_error(), "softmax"), "softmax axis: %s", cg_last_error());
  CHECK(!cg_argmax(x, -3, false), "argmax axis");
  CHECK(!cg_unsqueeze(x, 4) && strstr(cg_last_error(), "unsqueeze"), "unsqueeze axis");
  CHECK(!cg_flatten(x, 1, 0), "flatten order");
  CHECK(!cg_max_pool2d(x, 3, 3) && strstr(cg_last_error(), "max_pool2d"), "pool too big");
  CHECK(!cg_bitwise_not(x), "bitwise_not float");
  CHECK(!cg_one_hot(x, 3), "one_hot float labels");
  CHECK(!cg_linear(x, cg_ones(CG_FLOAT32, 2, (int64_t[]){4, 2}), NULL) && strstr(cg_last_error(), "linear"), "linear shape");
  CHECK(!cg_dropout(x, 1.5, true), "dropout p");
  CHECK(!cg_arange(0, 1, 0, CG_FLOAT32), "arange step 0");
  int64_t no_dims[1] = {0}; /* 0-d tensors (a non-NULL shape pointer with ndim 0) */
  cg_tensor *z = cg_full(CG_FLOAT32, 0, no_dims, 2);
  CHECK(!cg_slice(z, 0, 0, 1, 1) && !cg_cat(1, &z, 0) && !cg_gather(z, 0, cg_full(CG_INT32, 0, no_dims, 0)),
        "0-d slice/cat/gather must fail");
  EXPECT_SHAPE(cg_squeeze(z, 0), 0, 0);
  double one = 1, zero = 0;
  EXPECT("softmax 0-d", cg_softmax(z, 0), &one, 1, 0);
  EXPECT("argmax 0-d", cg_argmax(z, 0, false), &zero, 1, 0);
  EXPECT_SHAPE(cg_stack(2, (cg_tensor *[]){z, z}, 0), 1, 2);
  CHECK(cg_print(x) == CG_OK, "print: %s", cg_last_error());
  cg_scope_pop();
}

int main(void) {
  if (test_open_backend(NULL)) return TEST_SKIP;
  printf("device %s\n", cg_default_device());
  test_creation();
  test_random();
  test_unary();
  test_binary();
  test_reduce();
  test_movement();
  test_matmul();
  test_conv();
  test_pool();
  test_norm_losses();
  test_grads();
  test_grad_checks();
  test_errors();
  if (failures) {
    fprintf(stderr, "test_fn: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_fn: all passed\n");
  return 0;
}
