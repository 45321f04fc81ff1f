/* Memory planner tests (schedule.c): intermediates of one schedule share storage by
 * lifetime, values still match naive C loops, and tensors the user holds stay valid.
 *
 * The planner's numbers come from the internal hook cg__sched_stats() (schedule.h),
 * so this links cgrad_static. Cases:
 *   chain   y = relu(...relu(relu(x@W0)@W1)...@W7): every matmul result is its own
 *           kernel; with the intermediate tensors released before realizing, the peak
 *           two shared buffers (not eight buffers), values match.
 *   held    the same chain, with one intermediate matmul result (a view of a kernel
 *           output) and one relu (a fused node) still held: the matmul stays realized
 *           (reading it back does not recompute the chain) and both read back right.
 *   mlp     forward + backward of a 2-layer MLP with a squared loss, both weight
 *           gradients realized in one schedule: peak below the sum of all outputs,
 *           gradients match a naive C backward.
 * usage: cg_plan_test [-b BACKEND]. Exit 77 when the backend does not open. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgrad/cgrad.h"
#include "../common/backend_arg.h"
#include "../common/tally.h"
#include "schedule.h"
#include "uop.h"

#define N 48     /* chain: square matrices */
#define DEPTH 8  /* chain: matmuls */
#define B 32     /* mlp: batch, in, hidden, out */
#define I 40
#define HID 64
#define O 24

/* Deterministic data in [-scale, scale). */
static void fill(float *v, int n, uint32_t seed, float scale) {
  uint32_t s = seed * 2654435761u + 1;
  for (int i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = ((float)((s >> 8) * (1.0 / 16777216.0)) * 2 - 1) * scale;
  }
}

static cg_tensor *input(const float *v, int64_t d0, int64_t d1) {
  int64_t shape[2] = {d0, d1};
  cg_tensor *t = cg_from_data(v, CG_FLOAT32, 2, shape);
  if (t && cg_realize(t) != CG_OK) return NULL;
  return t;
}

/* c[m][n] = sum_k a[m][k] b[k][n] */
static void naive_mm(const float *a, const float *b, float *c, int m, int k, int n) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int t = 0; t < k; t++) s += (double)a[i * k + t] * b[t * n + j];
      c[i * n + j] = (float)s;
    }
}

static void relu_inplace(float *v, int n) {
  for (int i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : 0;
}

/* Reads t back and compares with ref (relative 1e-4); names the first mismatch. */
static void expect_values(const char *name, cg_tensor *t, const float *ref, int n) {
  float *got = malloc(sizeof(float) * (size_t)n);
  cg_status st = cg_to_host(t, got, sizeof(float) * (size_t)n);
  int bad = -1;
  for (int i = 0; st == CG_OK && i < n && bad < 0; i++)
    if (!(fabsf(got[i] - ref[i]) <= 1e-4f * (1 + fabsf(ref[i])))) bad = i;
  check(st == CG_OK && bad < 0, name, "values: status %d, first mismatch at %d (got %g want %g)", st, bad,
        bad >= 0 ? got[bad] : 0, bad >= 0 ? ref[bad] : 0);
  free(got);
}

static float xs[N * N], ws[DEPTH][N * N], chain_ref[DEPTH + 1][N * N], mm_ref[DEPTH][N * N];

static void chain_reference(void) {
  fill(xs, N * N, 1, 1.0f);
  memcpy(chain_ref[0], xs, sizeof xs);
  for (int k = 0; k < DEPTH; k++) {
    fill(ws[k], N * N, 10 + (uint32_t)k, 0.25f);
    naive_mm(chain_ref[k], ws[k], mm_ref[k], N, N, N);
    memcpy(chain_ref[k + 1], mm_ref[k], sizeof mm_ref[k]);
    relu_inplace(chain_ref[k + 1], N * N);
  }
}

/* Builds the chain in the current scope; mm[k] = y_k @ W_k, out = relu(mm[DEPTH-1]). */
static cg_tensor *build_chain(cg_tensor **w, cg_tensor *x, cg_tensor **mm, cg_tensor **relu) {
  cg_tensor *y = x;
  for (int k = 0; k < DEPTH; k++) {
    mm[k] = cg_matmul(y, w[k]);
    y = relu[k] = cg_relu(mm[k]);
  }
  return y;
}

static void test_chain(cg_tensor **w, cg_tensor *x) {
  cg_tensor *mm[DEPTH], *relu[DEPTH];
  cg_scope_push();
  cg_scope_push();
  cg_tensor *out = cg_keep(build_chain(w, x, mm, relu));
  cg_scope_pop(); /* intermediate tensors released: only the graph refers to them */
  cg_status st = cg_realize(out);
  cg_sched_stats s = cg__sched_stats();
  uint64_t one = (uint64_t)N * N * sizeof(float);
  check(st == CG_OK, "chain", "realize failed");
  check(s.last_kernels == DEPTH, "chain", "%d kernels, expected %d", s.last_kernels, DEPTH);
  check(s.last_naive_bytes == DEPTH * one, "chain", "unplanned %llu bytes, expected %llu",
        (unsigned long long)s.last_naive_bytes, (unsigned long long)(DEPTH * one));
  /* two slots alternate along the chain; the root's buffer replaces one at the end */
  check(s.last_peak_bytes == 2 * one, "chain", "planned peak %llu bytes, expected 2 x %llu",
        (unsigned long long)s.last_peak_bytes, (unsigned long long)one);
  check(s.last_slots == 2, "chain", "%d shared buffers, expected 2", s.last_slots);
  printf("chain: %d kernels, peak %llu bytes planned, %llu unplanned\n", s.last_kernels,
         (unsigned long long)s.last_peak_bytes, (unsigned long long)s.last_naive_bytes);
  expect_values("chain", out, chain_ref[DEPTH], N * N);
  cg_scope_pop();
}

static void test_held(cg_tensor **w, cg_tensor *x) {
  cg_tensor *mm[DEPTH], *relu[DEPTH];
  cg_scope_push();
  cg_tensor *held_mm, *held_relu, *out;
  cg_scope_push();
  out = cg_keep(build_chain(w, x, mm, relu));
  held_mm = cg_keep(mm[3]);     /* a view (reshape) of a kernel output */
  held_relu = cg_keep(relu[5]); /* fused into kernel 6, never a kernel of its own */
  cg_scope_pop();
  check(cg_realize(out) == CG_OK, "held", "realize failed");
  cg_sched_stats s = cg__sched_stats();
  check(s.last_peak_bytes < s.last_naive_bytes, "held", "planned peak %llu not below %llu",
        (unsigned long long)s.last_peak_bytes, (unsigned long long)s.last_naive_bytes);
  cg_counters c0 = cg_get_counters();
  expect_values("held", held_mm, mm_ref[3], N * N);
  cg_counters c1 = cg_get_counters();
  /* one copy kernel turns the view into a buffer of its own; a dropped value would
   * take the four matmuls again */
  check(c1.kernels - c0.kernels <= 1, "held", "reading a held intermediate launched %llu kernels",
        (unsigned long long)(c1.kernels - c0.kernels));
  expect_values("held", held_relu, chain_ref[6], N * N); /* recomputed: still right */
  expect_values("held", out, chain_ref[DEPTH], N * N);
  cg_scope_pop();
}

/* loss = sum((relu(x@W1) @ W2)^2) / 2; dW2 = h^T y, dW1 = x^T ((y W2^T) * [x W1 > 0]). */
static void test_mlp(void) {
  static float x[B * I], w1[I * HID], w2[HID * O], a[B * HID], h[B * HID], y[B * O];
  static float dh[B * HID], dw1[I * HID], dw2[HID * O], t1[HID * B], t2[O * HID], t3[I * B];
  fill(x, B * I, 3, 1.0f), fill(w1, I * HID, 4, 0.3f), fill(w2, HID * O, 5, 0.3f);
  naive_mm(x, w1, a, B, I, HID);
  memcpy(h, a, sizeof h);
  relu_inplace(h, B * HID);
  naive_mm(h, w2, y, B, HID, O);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < HID; j++) t1[j * B + i] = h[i * HID + j];
  naive_mm(t1, y, dw2, HID, B, O);
  for (int i = 0; i < HID; i++)
    for (int j = 0; j < O; j++) t2[j * HID + i] = w2[i * O + j];
  naive_mm(y, t2, dh, B, O, HID);
  for (int i = 0; i < B * HID; i++) dh[i] = a[i] > 0 ? dh[i] : 0;
  for (int i = 0; i < B; i++)
    for (int j = 0; j < I; j++) t3[j * B + i] = x[i * I + j];
  naive_mm(t3, dh, dw1, I, B, HID);

  cg_scope_push();
  cg_tensor *tx = input(x, B, I), *tw1 = input(w1, I, HID), *tw2 = input(w2, HID, O);
  cg_set_requires_grad(tw1, true);
  cg_set_requires_grad(tw2, true);
  cg_scope_push();
  cg_tensor *out = cg_matmul(cg_relu(cg_matmul(tx, tw1)), tw2);
  cg_tensor *loss = cg_muls(cg_sum(cg_mul(out, out), 0, NULL, false), 0.5);
  check(cg_backward(loss) == CG_OK, "mlp", "backward failed");
  cg_tensor *roots[2] = {cg_keep(cg_contiguous(cg_grad(tw1))), cg_keep(cg_contiguous(cg_grad(tw2)))};
  cg_scope_pop();
  cg_zero_grad(tw1); /* only the roots refer to the gradient graph now */
  cg_zero_grad(tw2);
  check(cg_realize_all(2, roots) == CG_OK, "mlp", "realize failed");
  cg_sched_stats s = cg__sched_stats();
  check(s.last_peak_bytes < s.last_naive_bytes, "mlp", "planned peak %llu not below %llu",
        (unsigned long long)s.last_peak_bytes, (unsigned long long)s.last_naive_bytes);
  check(s.last_slots >= 1, "mlp", "no intermediate shared storage");
  printf("mlp: %d kernels, peak %llu bytes planned, %llu unplanned, %d shared buffers\n", s.last_kernels,
         (unsigned long long)s.last_peak_bytes, (unsigned long long)s.last_naive_bytes, s.last_slots);
  expect_values("mlp", roots[0], dw1, I * HID);
  expect_values("mlp", roots[1], dw2, HID * O);
  cg_scope_pop();
}

int main(int argc, char **argv) {
  const char *be = test_backend_arg(argc, argv);
  if (test_open_backend(be)) return TEST_SKIP;
  chain_reference();
  cg_scope_push();
  cg_tensor *w[DEPTH], *x = input(xs, N, N);
  for (int k = 0; k < DEPTH; k++) w[k] = input(ws[k], N, N);
  test_chain(w, x);
  test_held(w, x);
  cg_scope_pop();
  test_mlp();
  check(uop_live_count() == 0, "leaks", "%zu graph nodes still alive", uop_live_count());
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
