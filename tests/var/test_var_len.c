/* Symbolic lengths (cg_var_len / cg_slice_var_len, docs/symbolic.md): a KV-cache decode
 * loop whose attention runs over cache[:pos+1] (a length that is a variable expression),
 * reductions and softmax over a symbolic axis, gradients, and the errors a user can trigger.
 *
 * Every cache row past pos, and every element past a length, holds NaN: a kernel that
 * read one of them in a reduce would turn its result into NaN, so finite results equal
 * to the naive C loops show that only the valid prefix is visited. After the first step
 * (or value) the compile counter must not move (CG_NO_CACHE=1: a new IR would compile).
 * usage: test_var_len [-b BACKEND]. Exit 77 when the backend does not open. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

enum { D = 16, T = 128, STEPS = 100, R = 3 };

#include "../common/backend_arg.h"
#include "decode_ref.h"

/* One decode step: write k/v at row pos, attend over K[:pos+1], V[:pos+1]; win = the
 * column sums of V[max(pos-3, 0) : pos+1] (a variable start and a variable length). */
static cg_tensor *step(cg_tensor *K, cg_tensor *V, cg_tensor *p, const float *q, const float *k,
                       const float *v, cg_tensor **win) {
  int64_t rs[2] = {T, 1};
  cg_tensor *hit = cg_eq(cg_reshape(cg_arange(0, T, 1, CG_INT32), 2, rs), p); /* (T, 1) */
  if (cg_assign(K, cg_where(hit, input(k, 1, D), K)) || cg_assign(V, cg_where(hit, input(v, 1, D), V)))
    return NULL;
  cg_tensor *len = cg_adds(p, 1);
  cg_tensor *Kp = cg_slice_var_len(K, 0, NULL, len, T), *Vp = cg_slice_var_len(V, 0, NULL, len, T);
  cg_tensor *s = cg_muls(cg_matmul(input(q, 1, D), cg_transpose(Kp, 0, 1)), 1.0 / sqrt((double)D));
  cg_tensor *out = cg_matmul(cg_softmax(s, -1), Vp); /* (1, T) over pos+1 valid @ (T, D) */
  cg_tensor *w0 = cg_maximum(cg_adds(p, -3), cg_scalar(0, CG_INT32));
  cg_tensor *wl = cg_minimum(len, cg_scalar(4, CG_INT32));
  const int ax0[1] = {0};
  *win = cg_sum(cg_slice_var_len(V, 0, w0, wl, 4), 1, ax0, true);
  cg_tensor *both[2] = {out, *win};
  return out && *win && cg_realize_all(2, both) == CG_OK ? out : NULL;
}

static void test_decode(void) {
  static float Kh[T * D], Vh[T * D];
  float q[D], k[D], v[D], ref[D], wref[D];
  for (int i = 0; i < T * D; i++) Kh[i] = Vh[i] = NAN; /* rows past pos are never read */
  cg_scope_push();
  cg_tensor *K = input(Kh, T, D), *V = input(Vh, T, D), *pv = cg_var("pos", 0, T - 1);
  uint64_t compiles0 = 0, kernels_per_step = 0;
  double worst = 0, wworst = 0;
  for (int pos = 0; pos < STEPS; pos++) {
    fill(q, D, 3 * pos + 1), fill(k, D, 3 * pos + 2), fill(v, D, 3 * pos + 3);
    memcpy(Kh + pos * D, k, sizeof k);
    memcpy(Vh + pos * D, v, sizeof v);
    naive_attend(Kh, Vh, q, pos, ref);
    for (int d = 0; d < D; d++) {
      wref[d] = 0;
      for (int t = pos < 3 ? 0 : pos - 3; t <= pos; t++) wref[d] += Vh[t * D + d];
    }
    cg_scope_push();
    cg_counters c0 = cg_get_counters();
    cg_tensor *win = NULL, *out = step(K, V, cg_var_bind(pv, pos), q, k, v, &win);
    cg_counters c1 = cg_get_counters();
    check(out != NULL, "len decode step", "pos %d: failed", pos);
    if (!out) { cg_scope_pop(); break; }
    worst = fmax(worst, max_err(out, ref, D));
    wworst = fmax(wworst, max_err(win, wref, D));
    cg_scope_pop();
    if (pos == 0) {
      compiles0 = c1.compiles;
      kernels_per_step = c1.kernels - c0.kernels;
    } else {
      check(c1.compiles == compiles0, "len decode compile once", "pos %d: %llu compiles after step 0, now %llu",
            pos, (unsigned long long)compiles0, (unsigned long long)c1.compiles);
      check(c1.kernels - c0.kernels == kernels_per_step, "len decode kernels", "pos %d: %llu kernels, step 0 %llu",
            pos, (unsigned long long)(c1.kernels - c0.kernels), (unsigned long long)kernels_per_step);
      if (c1.compiles != compiles0) break;
    }
  }
  check(worst < 1e-5, "len decode attention", "worst error %g", worst);
  check(wworst < 1e-5, "len decode window", "worst error %g", wworst);
  printf("decode over cache[:pos+1]: %d steps, %llu kernels per step, %llu compiles in all\n", STEPS,
         (unsigned long long)kernels_per_step, (unsigned long long)compiles0);
  cg_scope_pop();
}

/* Naive sum / max / softmax over the first n of each of R rows of T. */
static void naive_rows(const float *x, int n, float *sum, float *mx, float *sm) {
  for (int r = 0; r < R; r++) {
    double s = 0, m = -INFINITY, z = 0;
    for (int t = 0; t < n; t++) s += x[r * T + t], m = fmax(m, x[r * T + t]);
    for (int t = 0; t < n; t++) z += exp(x[r * T + t] - m);
    for (int t = 0; t < n; t++) sm[r * T + t] = (float)(exp(x[r * T + t] - m) / z);
    sum[r] = (float)s;
    mx[r] = (float)m;
  }
}

/* Largest error over the first n of each row of a (R, T) result. */
static double row_err(cg_tensor *t, const float *ref, int n) {
  static float got[R * T];
  if (!t || cg_to_host(t, got, sizeof got) != CG_OK) return INFINITY;
  double e = 0;
  for (int r = 0; r < R; r++)
    for (int i = 0; i < n; i++) e = fmax(e, fabs((double)got[r * T + i] - ref[r * T + i]));
  return e;
}

/* sum, max, softmax along a symbolic axis (axis 1 of (R, T), and axis 0 of the
 * transpose), a realized intermediate read by a later kernel, a reshape that keeps the
 * axis; the data past the length is NaN. */
static void test_reduce(void) {
  static float x[R * T], sum[R], mx[R], sm[R * T];
  cg_scope_push();
  cg_tensor *lv = cg_var("n", 1, T);
  uint64_t compiles0 = 0;
  double worst[6] = {0};
  int ax1[1] = {1}, ax0[1] = {0};
  int64_t sh3[3] = {R, 1, T};
  for (int it = 0, n = 1; n <= T; it++, n += 1 + 13 * (it % 3)) {
    fill(x, R * T, (uint32_t)n);
    for (int r = 0; r < R; r++)
      for (int t = n; t < T; t++) x[r * T + t] = NAN;
    naive_rows(x, n, sum, mx, sm);
    cg_scope_push();
    cg_tensor *len = cg_var_bind(lv, n), *xs = cg_var_len(input(x, R, T), 1, len);
    cg_tensor *e = cg_contiguous(cg_exp(xs));                       /* realized on its own */
    cg_tensor *res[6] = {
        cg_sum(xs, 1, ax1, false), cg_max(xs, 1, ax1, false), cg_softmax(xs, 1),
        cg_sum(cg_transpose(xs, 0, 1), 1, ax0, false),               /* axis 0 after transpose */
        cg_sum(cg_reshape(cg_adds(xs, 1), 3, sh3), 1, (int[]){2}, false), /* reshape keeps it */
        NULL};
    cg_status st = cg_realize(e);
    res[5] = cg_log(cg_sum(e, 1, ax1, false));                       /* log-sum-exp from a buffer */
    st = st ? st : cg_realize_all(6, res);
    check(st == CG_OK, "len reduce", "n %d: realize failed", n);
    float ref1[R * T], lse[R];
    for (int r = 0; r < R; r++) {
      double z = 0;
      for (int t = 0; t < n; t++) z += exp(x[r * T + t]);
      lse[r] = (float)log(z);
      ref1[r] = sum[r] + (float)n;
    }
    if (!st) {
      worst[0] = fmax(worst[0], max_err(res[0], sum, R));
      worst[1] = fmax(worst[1], max_err(res[1], mx, R));
      worst[2] = fmax(worst[2], row_err(res[2], sm, n));
      worst[3] = fmax(worst[3], max_err(res[3], sum, R));
      worst[4] = fmax(worst[4], max_err(res[4], ref1, R));
      worst[5] = fmax(worst[5], max_err(res[5], lse, R));
    }
    cg_scope_pop();
    if (it == 0) compiles0 = cg_get_counters().compiles;
    else check(cg_get_counters().compiles == compiles0, "len reduce compile once", "n %d: recompiled", n);
  }
  static const char *const what[6] = {"sum", "max", "softmax", "sum axis 0", "sum after reshape", "logsumexp"};
  for (int i = 0; i < 6; i++) check(worst[i] < 1e-4, "len reduce value", "%s: worst error %g", what[i], worst[i]);
  cg_scope_pop();
}

/* d/dx, d/dw of sum(softmax(x[:, :n], 1) * w): dw = softmax on the first n columns, 0
 * past them; dx = s * (w - sum(s * w)) on the first n, 0 past them (x is NaN there). */
static void test_grad(void) {
  static float x[R * T], w[R * T], gx[R * T], gw[R * T];
  cg_scope_push();
  cg_tensor *lv = cg_var("n", 1, T);
  for (int n = 1; n <= T; n += 63) {
    fill(x, R * T, (uint32_t)n + 100), fill(w, R * T, (uint32_t)n + 200);
    for (int r = 0; r < R; r++)
      for (int t = n; t < T; t++) x[r * T + t] = NAN;
    cg_scope_push();
    cg_tensor *xt = input(x, R, T), *wt = input(w, R, T);
    cg_set_requires_grad(xt, true), cg_set_requires_grad(wt, true);
    cg_tensor *sm = cg_softmax(cg_var_len(xt, 1, cg_var_bind(lv, n)), 1);
    cg_tensor *loss = cg_sum(cg_mul(sm, wt), 0, NULL, false);
    bool ok = loss && cg_backward(loss) == CG_OK && cg_to_host(cg_grad(xt), gx, sizeof gx) == CG_OK &&
              cg_to_host(cg_grad(wt), gw, sizeof gw) == CG_OK;
    check(ok, "len grad", "n %d: backward failed", n);
    double ex = 0, ew = 0;
    for (int r = 0; ok && r < R; r++) {
      double m = -INFINITY, z = 0, sw = 0, p[T];
      for (int t = 0; t < n; t++) m = fmax(m, x[r * T + t]);
      for (int t = 0; t < n; t++) z += p[t] = exp(x[r * T + t] - m);
      for (int t = 0; t < n; t++) sw += (p[t] /= z) * w[r * T + t];
      for (int t = 0; t < T; t++) {
        double wx = t < n ? p[t] * (w[r * T + t] - sw) : 0, ww = t < n ? p[t] : 0;
        ex = fmax(ex, t < n ? fabs(gx[r * T + t] - wx) : gx[r * T + t] == 0 ? 0 : INFINITY);
        ew = fmax(ew, t < n ? fabs(gw[r * T + t] - ww) : gw[r * T + t] == 0 ? 0 : INFINITY);
      }
    }
    check(ok && ex < 1e-5 && ew < 1e-5, "len grad values", "n %d: dx error %g, dw error %g", n, ex, ew);
    cg_scope_pop();
  }
  cg_scope_pop();
}

static bool err_has(const char *s) { return strstr(cg_last_error(), s) != NULL; }

static void test_errors(void) {
  cg_scope_push();
  int64_t sh[2] = {R, T}, flat[1] = {R * T}, pads[4] = {0, 0, 0, 1};
  cg_tensor *x = cg_ones(CG_FLOAT32, 2, sh), *lv = cg_var("n", 1, T), *mv = cg_var("m", 1, T);
  cg_tensor *n = cg_var_bind(lv, 5), *m = cg_var_bind(mv, 5);
  cg_tensor *xs = cg_var_len(x, 1, n);
  int ax1[1] = {1};
  check(xs != NULL, "var_len", "refused: %s", cg_last_error());
  check(!cg_var_len(x, 1, cg_adds(n, 1)) && err_has("does not fit"), "var_len range", "length up to T+1 accepted");
  check(!cg_var_len(x, 0, n) && err_has("does not fit"), "var_len axis", "length up to T on %d rows accepted", R);
  check(!cg_var_len(x, 1, cg_scalar(3, CG_FLOAT32)) && err_has("int32"), "var_len dtype", "float accepted");
  check(!cg_var_len(x, 1, cg_sum(cg_ones(CG_INT32, 1, flat), 0, NULL, false)) && err_has("expression"),
        "var_len buffer", "a reduce as length accepted");
  check(!cg_var_len(x, 2, n), "var_len bad axis", "accepted");
  check(!cg_var_len(xs, 1, n) && err_has("already has"), "var_len twice", "accepted");
  check(!cg_reshape(xs, 1, flat) && err_has("reshape"), "len reshape merge", "accepted");
  check(!cg_pad(xs, pads, 0) && err_has("along the symbolic axis"), "len pad", "accepted");
  check(!cg_flip(xs, 1, ax1) && err_has("along the symbolic axis"), "len flip", "accepted");
  check(!cg_slice(xs, 1, 0, 4, 1) && err_has("along the symbolic axis"), "len shrink", "accepted");
  check(!cg_add(xs, cg_var_len(x, 1, m)) && err_has("different symbolic lengths"), "len two lengths", "accepted");
  check(cg_add(xs, cg_var_len(x, 1, n)) != NULL, "len same length", "refused: %s", cg_last_error());
  check(cg_add(xs, x) != NULL && cg_pad(xs, (int64_t[]){1, 0, 0, 0}, 0) != NULL, "len other axis ok",
        "refused: %s", cg_last_error());
  check(cg_assign(x, xs) != CG_OK && err_has("symbolic length"), "len assign", "accepted");
  check(!cg_slice_var_len(x, 1, NULL, n, T + 1) && err_has("max_length"), "slice_var_len max", "accepted");
  check(!cg_slice_var_len(x, 1, NULL, n, 4) && err_has("does not fit"), "slice_var_len len", "length up to T in 4");
  cg_tensor *w = cg_slice_var_len(x, 1, cg_adds(n, -1), cg_scalar(2, CG_INT32), 4); /* start range [0, T-1] */
  check(!w && err_has("does not fit"), "slice_var_len start", "start up to T-1 with 4 accepted");
  cg_scope_pop();
}

int main(int argc, char **argv) {
  setenv("CG_NO_CACHE", "1", 1); /* every new IR compiles: the counter sees it */
  if (test_open_backend(test_backend_arg(argc, argv))) return TEST_SKIP;
  test_decode();
  test_reduce();
  test_grad();
  test_errors();
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
