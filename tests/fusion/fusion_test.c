/* Fusion tests: the number of kernels one realize launches for standard expressions is
 * pinned (DESIGN.md §6), and the fused results match naive C loops.
 *
 * Each case builds its inputs, realizes them first, reads cg_get_counters(), realizes the
 * expression and takes the difference, so only the expression's kernels are counted.
 * usage: cg_fusion_test [-b BACKEND] (default: env CG_TEST_BACKENDS's first entry, else
 * the default device). Exit 77 when the backend does not open. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

#include "../common/backend_arg.h"
#include "../common/tally.h"

/* Deterministic data in [-1, 1). */
static void fill(float *v, int n, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (int i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = (float)((s >> 8) * (1.0 / 16777216.0)) * 2 - 1;
  }
}

/* Realized float32 input of the given 1-D or 2-D shape. */
static cg_tensor *input(const float *v, int ndim, int64_t d0, int64_t d1) {
  int64_t shape[2] = {d0, d1};
  cg_tensor *t = cg_from_data(v, CG_FLOAT32, ndim, shape);
  if (t && cg_realize(t) != CG_OK) {
    cg_release(t);
    return NULL;
  }
  return t;
}

/* Realizes out; returns the number of kernels launched (-1 on error). */
static long count_kernels(cg_tensor *out) {
  if (!out) return -1;
  cg_counters before = cg_get_counters();
  if (cg_realize(out) != CG_OK) return -1;
  return (long)(cg_get_counters().kernels - before.kernels);
}

/* Counts, then compares out (n floats) with ref at rtol 1e-4. */
static void expect(const char *name, cg_tensor *out, const float *ref, int n, long lo,
                   long hi) {
  long k = count_kernels(out);
  if (k < 0) {
    check(false, name, "realize failed");
    return;
  }
  check(k >= lo && k <= hi, name, "%ld kernels, expected %ld..%ld", k, lo, hi);
  check(count_kernels(out) == 0, name, "realizing a realized tensor launched kernels");
  float *got = calloc((size_t)n, sizeof(float));
  bool ok = got && cg_numel(out) == n && cg_to_host(out, got, (size_t)n * 4) == CG_OK;
  double worst = 0;
  int at = 0;
  for (int i = 0; ok && i < n; i++) {
    double e = fabs(got[i] - ref[i]) - 1e-4 * fabs(ref[i]);
    if (e > worst) worst = e, at = i;
  }
  check(ok && worst <= 1e-5, name, "values: worst excess %.3g at [%d] (got %g expected %g)",
        worst, at, ok ? got[at] : 0.0, ref[at]);
  free(got);
}

/* y[m][n] = sum_k x[m][k] * w[k][n] (+ b[n]), optional relu */
static void naive_linear(const float *x, const float *w, const float *b, float *y, int M,
                         int K, int N, bool relu) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = b ? b[n] : 0;
      for (int k = 0; k < K; k++) s += (double)x[m * K + k] * w[k * N + n];
      y[m * N + n] = (float)(relu && s < 0 ? 0 : s);
    }
}

enum { M = 8, K = 16, N = 12, H = 10 };

static void test_relu_linear(void) {
  float x[M * K], w[K * N], b[N], ref[M * N];
  fill(x, M * K, 1), fill(w, K * N, 2), fill(b, N, 3);
  naive_linear(x, w, b, ref, M, K, N, true);
  cg_scope_push();
  cg_tensor *tx = input(x, 2, M, K), *tw = input(w, 2, K, N), *tb = input(b, 1, N, 0);
  expect("relu(x@w+b)", cg_relu(cg_add(cg_matmul(tx, tw), tb)), ref, M * N, 1, 1);
  cg_scope_pop();
}

static void test_mul_add_sum(void) {
  float a[M * K], b[M * K], c[M * K], ref[M];
  fill(a, M * K, 4), fill(b, M * K, 5), fill(c, M * K, 6);
  for (int m = 0; m < M; m++) {
    double s = 0;
    for (int k = 0; k < K; k++) s += (double)a[m * K + k] * b[m * K + k] + c[m * K + k];
    ref[m] = (float)s;
  }
  cg_scope_push();
  cg_tensor *ta = input(a, 2, M, K), *tb = input(b, 2, M, K), *tc = input(c, 2, M, K);
  const int ax[] = {1};
  expect("(a*b+c).sum(1)", cg_sum(cg_add(cg_mul(ta, tb), tc), 1, ax, false), ref, M, 1, 1);
  cg_scope_pop();
}

/* ten elementwise ops on two inputs */
static void test_chain10(void) {
  float a[M * K], b[M * K], ref[M * K];
  fill(a, M * K, 7), fill(b, M * K, 8);
  for (int i = 0; i < M * K; i++) {
    double v = a[i] + b[i];       /* 1 add */
    v = v * 2.0;                  /* 2 muls */
    v = v - b[i];                 /* 3 sub */
    v = exp(v * 0.25);            /* 4 muls, 5 exp */
    v = v / (1.0 + b[i] * b[i]);  /* 6 mul, 7 adds, 8 div */
    v = tanh(v);                  /* 9 tanh */
    v = v > a[i] ? v : a[i];      /* 10 maximum */
    ref[i] = (float)v;
  }
  cg_scope_push();
  cg_tensor *ta = input(a, 2, M, K), *tb = input(b, 2, M, K);
  cg_tensor *v = cg_add(ta, tb);
  v = cg_muls(v, 2.0);
  v = cg_sub(v, tb);
  v = cg_exp(cg_muls(v, 0.25));
  v = cg_div(v, cg_adds(cg_mul(tb, tb), 1.0));
  v = cg_tanh(v);
  v = cg_maximum(v, ta);
  expect("elementwise x10", v, ref, M * K, 1, 1);
  cg_scope_pop();
}

static void test_mlp2(void) {
  float x[M * K], w1[K * H], b1[H], w2[H * N], b2[N], h[M * H], ref[M * N];
  fill(x, M * K, 9), fill(w1, K * H, 10), fill(b1, H, 11), fill(w2, H * N, 12);
  fill(b2, N, 13);
  naive_linear(x, w1, b1, h, M, K, H, true);
  naive_linear(h, w2, b2, ref, M, H, N, false);
  cg_scope_push();
  cg_tensor *tx = input(x, 2, M, K), *tw1 = input(w1, 2, K, H), *tb1 = input(b1, 1, H, 0);
  cg_tensor *tw2 = input(w2, 2, H, N), *tb2 = input(b2, 1, N, 0);
  cg_tensor *y = cg_add(cg_matmul(cg_relu(cg_add(cg_matmul(tx, tw1), tb1)), tw2), tb2);
  expect("mlp2", y, ref, M * N, 2, 2);
  cg_scope_pop();
}

static void test_softmax(void) {
  float x[M * K], ref[M * K];
  fill(x, M * K, 14);
  for (int m = 0; m < M; m++) {
    double mx = -INFINITY, s = 0;
    for (int k = 0; k < K; k++) mx = fmax(mx, x[m * K + k] * 3.0);
    for (int k = 0; k < K; k++) s += exp(x[m * K + k] * 3.0 - mx);
    for (int k = 0; k < K; k++) ref[m * K + k] = (float)(exp(x[m * K + k] * 3.0 - mx) / s);
  }
  cg_scope_push();
  cg_tensor *tx = input(x, 2, M, K);
  expect("softmax(3x,-1)", cg_softmax(cg_muls(tx, 3.0), -1), ref, M * K, 1, 3);
  cg_scope_pop();
}

int main(int argc, char **argv) {
  const char *be = test_backend_arg(argc, argv);
  char first[64] = "";
  const char *env = getenv("CG_TEST_BACKENDS");
  if (!be && env && *env) {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ","), env);
    be = first;
  }
  if (test_open_backend(be)) return TEST_SKIP;
  test_relu_linear();
  test_mul_add_sum();
  test_chain10();
  test_mlp2();
  test_softmax();
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
