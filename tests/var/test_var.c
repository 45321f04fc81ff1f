/* Symbolic variables (cg_var, docs/symbolic.md): a toy KV-cache decode loop whose kernels
 * compile once for every position, checked against a naive C implementation; slices at
 * a variable offset (values and gradient); and the errors a user can trigger.
 *
 * The decode loop: single-head attention, d = 16, cache of T = 128 positions. For
 * pos = 0..99: write the new token's k/v into the caches at pos (where(row == pos)),
 * attend over positions <= pos (mask arange < pos + 1), read back the cache row at pos
 * and a 4-row window ending at pos (cg_slice_var). After the first step the compile
 * counter must not move: every later step reuses the same programs (CG_NO_CACHE=1 so
 * every new IR really compiles).
 * usage: test_var [-b BACKEND]. Exit 77 when the backend does not open. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

#include "../common/backend_arg.h"

enum { D = 16, T = 128, STEPS = 100, WIN = 4 };

#include "decode_ref.h"

/* One decode step's graph: writes the caches (assign), returns {attention out, K row at
 * pos, window sum} unrealized. */
static cg_status step(cg_tensor *K, cg_tensor *V, cg_tensor *p, const float *q, const float *k,
                      const float *v, cg_tensor **res) {
  int64_t rs[2] = {T, 1};
  cg_tensor *rows = cg_reshape(cg_arange(0, T, 1, CG_INT32), 2, rs);
  cg_tensor *hit = cg_eq(rows, p); /* (T, 1): the row at pos */
  cg_status st = cg_assign(K, cg_where(hit, input(k, 1, D), K));
  if (!st) st = cg_assign(V, cg_where(hit, input(v, 1, D), V));
  if (st) return st;
  cg_tensor *s = cg_muls(cg_matmul(input(q, 1, D), cg_transpose(K, 0, 1)), 1.0 / sqrt((double)D));
  cg_tensor *mask = cg_lt(cg_arange(0, T, 1, CG_INT32), cg_adds(p, 1)); /* (T,): t <= pos */
  cg_tensor *att = cg_softmax(cg_where(mask, s, cg_full_like(s, -1e30)), -1);
  res[0] = cg_matmul(att, V);
  res[1] = cg_slice_var(K, 0, p, 1);
  cg_tensor *wstart = cg_maximum(cg_adds(p, 1 - WIN), cg_scalar(0, CG_INT32)); /* max(pos-3, 0) */
  const int ax0[1] = {0};
  res[2] = cg_sum(cg_slice_var(V, 0, wstart, WIN), 1, ax0, true);
  return cg_realize_all(3, res);
}

static void test_decode(void) {
  static float Kh[T * D], Vh[T * D];
  float q[D], k[D], v[D], ref[D], win[D];
  memset(Kh, 0, sizeof Kh);
  memset(Vh, 0, sizeof Vh);
  cg_scope_push();
  cg_tensor *K = input(Kh, T, D), *V = input(Vh, T, D), *pv = cg_var("pos", 0, T - 1);
  uint64_t compiles0 = 0, kernels_per_step = 0;
  double worst[3] = {0, 0, 0};
  for (int pos = 0; pos < STEPS; pos++) {
    fill(q, D, 3 * pos + 1), fill(k, D, 3 * pos + 2), fill(v, D, 3 * pos + 3);
    memcpy(Kh + pos * D, k, sizeof k);
    memcpy(Vh + pos * D, v, sizeof v);
    naive_attend(Kh, Vh, q, pos, ref);
    int w0 = pos + 1 - WIN < 0 ? 0 : pos + 1 - WIN;
    for (int d = 0; d < D; d++) {
      win[d] = 0;
      for (int t = w0; t < w0 + WIN; t++) win[d] += Vh[t * D + d];
    }
    cg_scope_push();
    cg_counters c0 = cg_get_counters();
    cg_tensor *res[3] = {NULL, NULL, NULL};
    cg_status st = step(K, V, cg_var_bind(pv, pos), q, k, v, res);
    cg_counters c1 = cg_get_counters();
    check(st == CG_OK, "decode step", "pos %d: realize failed", pos);
    if (st) { cg_scope_pop(); break; }
    worst[0] = fmax(worst[0], max_err(res[0], ref, D));
    worst[1] = fmax(worst[1], max_err(res[1], k, D));
    worst[2] = fmax(worst[2], max_err(res[2], win, D));
    cg_scope_pop();
    if (pos == 0) {
      compiles0 = c1.compiles;
      kernels_per_step = c1.kernels - c0.kernels;
      check(c1.compiles > c0.compiles, "decode compiles", "first step compiled nothing");
    } else {
      check(c1.compiles == compiles0, "decode compile once", "pos %d: %llu compiles after step 0, now %llu",
            pos, (unsigned long long)compiles0, (unsigned long long)c1.compiles);
      check(c1.kernels - c0.kernels == kernels_per_step, "decode kernels", "pos %d: %llu kernels, step 0 had %llu",
            pos, (unsigned long long)(c1.kernels - c0.kernels), (unsigned long long)kernels_per_step);
      if (c1.compiles != compiles0) break;
    }
  }
  check(worst[0] < 1e-5, "decode attention", "worst error %g", worst[0]);
  check(worst[1] == 0, "decode slice_var row", "worst error %g", worst[1]);
  check(worst[2] < 1e-5, "decode slice_var window", "worst error %g", worst[2]);
  printf("decode: %d steps, %llu kernels per step, %llu compiles in all\n", STEPS,
         (unsigned long long)kernels_per_step, (unsigned long long)compiles0);
  cg_scope_pop();
}

/* d/dx sum(slice_var(x, p, 4) * w) puts w at rows p..p+3, zero elsewhere. */
static void test_slice_grad(void) {
  float xh[T], wh[WIN], g[T];
  fill(xh, T, 7), fill(wh, WIN, 8);
  cg_scope_push();
  int64_t sx[1] = {T}, sw[1] = {WIN};
  cg_tensor *x = cg_from_data(xh, CG_FLOAT32, 1, sx), *w = cg_from_data(wh, CG_FLOAT32, 1, sw);
  cg_set_requires_grad(x, true);
  cg_tensor *pv = cg_var("start", 0, T - WIN);
  for (int pos = 0; pos <= T - WIN; pos += 41) {
    cg_zero_grad(x);
    cg_tensor *loss = cg_sum(cg_mul(cg_slice_var(x, 0, cg_var_bind(pv, pos), WIN), w), 0, NULL, false);
    double want = 0;
    for (int i = 0; i < WIN; i++) want += (double)xh[pos + i] * wh[i];
    check(fabs(cg_item(loss) - want) < 1e-5, "slice_var value", "pos %d: %g vs %g", pos, cg_item(loss), want);
    bool ok = cg_backward(loss) == CG_OK && cg_grad(x) && cg_to_host(cg_grad(x), g, sizeof g) == CG_OK;
    for (int t = 0; ok && t < T; t++) ok = g[t] == (t >= pos && t < pos + WIN ? wh[t - pos] : 0.0f);
    check(ok, "slice_var grad", "pos %d: gradient is not w placed at pos", pos);
  }
  cg_scope_pop();
}

static bool err_has(const char *s) { return strstr(cg_last_error(), s) != NULL; }

static void test_errors(void) {
  cg_scope_push();
  cg_tensor *pv = cg_var("pos", 0, T - 1);
  cg_tensor *b = cg_var_bind(pv, T);
  check(!b && err_has("out of range") && err_has("'pos'"), "bind out of range", "value %d accepted", T);
  b = cg_var_bind(pv, -1);
  check(!b && err_has("out of range"), "bind below range", "value -1 accepted");
  check(!cg_var_bind(cg_scalar(1, CG_INT32), 0) && err_has("not a variable"), "bind non-var", "accepted");
  check(!cg_var("", 0, 1) && !cg_var("a b", 0, 1) && !cg_var("x", 2, 1) && !cg_var(NULL, 0, 1),
        "var arguments", "bad name or range accepted");

  /* unbound at realize: a clear error naming the variable, no crash */
  cg_tensor *m = cg_lt(cg_arange(0, T, 1, CG_INT32), pv);
  cg_status st = cg_realize(m);
  check(st != CG_OK && err_has("'pos' is not bound"), "unbound at realize", "status %d", st);
  check(isnan(cg_item(cg_add(pv, cg_scalar(1, CG_INT32)))) && err_has("not bound"), "unbound item", "got a value");

  /* two values of one variable in one kernel */
  cg_tensor *two = cg_add(cg_var_bind(pv, 1), cg_var_bind(pv, 2));
  st = cg_realize(two);
  check(st != CG_OK && err_has("two bindings"), "two bindings", "status %d", st);

  /* slices whose start range does not fit */
  int64_t sh[2] = {T, D};
  cg_tensor *K = cg_zeros(CG_FLOAT32, 2, sh), *p = cg_var_bind(pv, 3);
  check(!cg_slice_var(K, 0, p, 2) && err_has("does not fit"), "slice_var range", "start up to 127 + 2 accepted");
  check(!cg_slice_var(K, 1, p, 1) && err_has("does not fit"), "slice_var axis", "start up to 127 on 16 accepted");
  check(!cg_slice_var(K, 0, cg_scalar(1, CG_FLOAT32), 1) && err_has("int32"), "slice_var dtype", "float start accepted");
  check(!cg_slice_var(K, 0, cg_sum(cg_ones(CG_INT32, 1, sh), 0, NULL, false), 1) && err_has("expression"),
        "slice_var buffer start", "reduce as start accepted");

  /* a bound variable realizes to its value; one kernel serves both values */
  cg_tensor *e1 = cg_muls(cg_var_bind(pv, 5), 3), *e2 = cg_muls(cg_var_bind(pv, 9), 3);
  check(cg_item(e1) == 15, "bound value", "3*pos at pos 5 = %g", cg_item(e1));
  uint64_t c = cg_get_counters().compiles;
  check(cg_item(e2) == 27 && cg_get_counters().compiles == c, "bound value reuse", "3*pos at pos 9 = %g",
        cg_item(e2));
  cg_scope_pop();
}

int main(int argc, char **argv) {
  setenv("CG_NO_CACHE", "1", 1); /* every new IR compiles: the counter sees it */
  const char *be = test_backend_arg(argc, argv);
  if (test_open_backend(be)) return TEST_SKIP;
  test_decode();
  test_slice_grad();
  test_errors();
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
