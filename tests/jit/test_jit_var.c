/* JIT with symbolic variables (docs/jit.md, docs/symbolic.md): a toy KV-cache decode step
 * decode(pos, q, k, v) -> (attention out, K row at pos) captured once by cg_jit and
 * replayed for 100 positions with a new bound `pos` each call, checked against a naive C
 * attention at every position; after the capture nothing may compile or schedule. Then
 * the replay errors for variable inputs (not a variable, another name, out of the
 * captured range, unbound, a variable where a tensor was captured).
 *
 * The step: single-head attention, d = 16, cache of T = 128. It writes k/v into the
 * caches at row pos (where(row == pos), cg_assign: state), attends over rows <= pos
 * (mask arange < pos + 1), and reads back the K row at pos with cg_slice_var. A second
 * run attends over the symbolic-length prefixes K[:pos+1], V[:pos+1] (cg_slice_var_len)
 * instead of the mask: the replay then binds the reduce loop ends too.
 * usage: test_jit_var [-b BACKEND]. Exit 77 when the backend does not open. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

#include "../common/backend_arg.h"

enum { D = 16, T = 128, STEPS = 100 };

#include "../var/decode_ref.h"

typedef struct {
  cg_tensor *K, *V; /* (T, D) caches: state changed with cg_assign */
  bool symlen;      /* attend over cg_slice_var_len prefixes instead of a mask */
} cache;

/* in: pos (bound variable), q, k, v (1, D); out: attention (1, D), K[pos] (1, D). */
static cg_status decode(int nin, cg_tensor *const *in, int nout, cg_tensor **out, void *user) {
  cache *c = user;
  if (nin != 4 || nout != 2) return CG_ERR_INVALID;
  cg_tensor *p = in[0];
  int64_t rs[2] = {T, 1};
  cg_tensor *hit = cg_eq(cg_reshape(cg_arange(0, T, 1, CG_INT32), 2, rs), p); /* (T, 1): row pos */
  cg_status st = cg_assign(c->K, cg_where(hit, in[2], c->K));
  if (!st) st = cg_assign(c->V, cg_where(hit, in[3], c->V));
  if (st) return st;
  if (c->symlen) { /* rows 0..pos only: a symbolic length */
    cg_tensor *Kp = cg_slice_var_len(c->K, 0, NULL, cg_adds(p, 1), T);
    cg_tensor *Vp = cg_slice_var_len(c->V, 0, NULL, cg_adds(p, 1), T);
    cg_tensor *s = cg_muls(cg_matmul(in[1], cg_transpose(Kp, 0, 1)), 1.0 / sqrt((double)D));
    out[0] = cg_matmul(cg_softmax(s, -1), Vp);
  } else {
    cg_tensor *s = cg_muls(cg_matmul(in[1], cg_transpose(c->K, 0, 1)), 1.0 / sqrt((double)D));
    cg_tensor *mask = cg_lt(cg_arange(0, T, 1, CG_INT32), cg_adds(p, 1)); /* (T,): t <= pos */
    out[0] = cg_matmul(cg_softmax(cg_where(mask, s, cg_full_like(s, -1e30)), -1), c->V);
  }
  out[1] = cg_slice_var(c->K, 0, p, 1);
  return out[0] && out[1] ? CG_OK : CG_ERR_INVALID;
}

static void test_decode(bool graph_slot, bool symlen) {
  static float Kh[T * D], Vh[T * D];
  float q[D], k[D], v[D], ref[D];
  memset(Kh, 0, sizeof Kh);
  memset(Vh, 0, sizeof Vh);
  cg_scope_push();
  cache c = {input(Kh, T, D), input(Vh, T, D), symlen};
  cg_tensor *pv = cg_var("pos", 0, T - 1);
  cg_jit *jit = cg_jit_new(decode, &c);
  cg_counters after_capture = {0}, c_end = {0};
  double worst[2] = {0, 0};
  int replays = 0;
  for (int pos = 0; pos < STEPS; pos++) {
    fill(q, D, 3 * pos + 1), fill(k, D, 3 * pos + 2), fill(v, D, 3 * pos + 3);
    memcpy(Kh + pos * D, k, sizeof k);
    memcpy(Vh + pos * D, v, sizeof v);
    naive_attend(Kh, Vh, q, pos, ref);
    cg_scope_push();
    cg_tensor *in[4] = {cg_var_bind(pv, pos), input(q, 1, D), input(k, 1, D), input(v, 1, D)}, *out[2] = {0};
    /* a host read of pos caches a buffer on the (interned) VAR node: the capture must
     * still take pos as a variable, not as that buffer */
    check(cg_item(in[0]) == pos, "pos item", "pos %d: item %g", pos, cg_item(in[0]));
    bool replay = cg_jit_captured(jit);
    cg_counters before = cg_get_counters();
    cg_status st = cg_jit_run(jit, 4, in, 2, out);
    cg_counters now = cg_get_counters();
    check(st == CG_OK, "decode run", "pos %d: cg_jit_run failed", pos);
    if (st) { cg_scope_pop(); break; }
    if (pos == 1) after_capture = now;
    if (replay) {
      replays++;
      check(now.compiles == before.compiles && now.schedules == before.schedules, "replay compiles nothing",
            "pos %d: the replay compiled %llu and scheduled %llu times", pos,
            (unsigned long long)(now.compiles - before.compiles), (unsigned long long)(now.schedules - before.schedules));
      check(now.compiles == after_capture.compiles, "no compile after capture", "pos %d: %llu compiles, %llu at capture",
            pos, (unsigned long long)now.compiles, (unsigned long long)after_capture.compiles);
    }
    double e0 = max_err(out[0], ref, D), e1 = max_err(out[1], k, D);
    check(e0 < 1e-5 && e1 == 0, "decode values", "pos %d: attention error %g, K row error %g", pos, e0, e1);
    worst[0] = fmax(worst[0], e0), worst[1] = fmax(worst[1], e1);
    c_end = cg_get_counters();
    cg_scope_pop();
  }
  check(replays == STEPS - 2, "decode replays", "%d of %d calls replayed", replays, STEPS - 2);
  check(c_end.jit_replays - after_capture.jit_replays == (uint64_t)(STEPS - 2), "replay counter", "%llu",
        (unsigned long long)(c_end.jit_replays - after_capture.jit_replays));
  if (graph_slot)
    check(c_end.graph_launches > after_capture.graph_launches, "graph slot used", "no graph launches");
  /* the caches hold every written row (state copy-backs ran) */
  double ek = max_err(c.K, Kh, T * D), ev = max_err(c.V, Vh, T * D);
  check(ek == 0 && ev == 0, "cache state", "K error %g, V error %g", ek, ev);
  printf("decode%s: %d positions, %d replays, %llu graph launches, worst errors %g / %g\n", symlen ? " over K[:pos+1]" : "", STEPS, replays,
         (unsigned long long)(c_end.graph_launches - after_capture.graph_launches), worst[0], worst[1]);
  cg_jit_free(jit);
  cg_scope_pop();
}

static bool err_has(const char *s) { return strstr(cg_last_error(), s) != NULL; }

/* One run with in[0] = p0 and in[1] = p1; expects an error containing msg. */
static void expect_error(cg_jit *jit, cg_tensor *p0, cg_tensor *p1, const char *msg, const char *name) {
  float z[D] = {0};
  cg_tensor *in[4] = {p0, p1 ? p1 : input(z, 1, D), input(z, 1, D), input(z, 1, D)};
  cg_tensor *out[2] = {NULL, NULL};
  cg_status st = cg_jit_run(jit, 4, in, 2, out);
  if (getenv("VERBOSE")) printf("%s: %s\n", name, cg_last_error());
  check(st != CG_OK && err_has(msg) && !out[0], name, "status %d, wanted an error with \"%s\"", st, msg);
}

static void test_errors(void) {
  static float Kh[T * D], Vh[T * D];
  float q[D], k[D], v[D], ref[D];
  memset(Kh, 0, sizeof Kh), memset(Vh, 0, sizeof Vh);
  fill(q, D, 11), fill(k, D, 12), fill(v, D, 13);
  cg_scope_push();
  cache c = {input(Kh, T, D), input(Vh, T, D), false};
  cg_tensor *pv = cg_var("pos", 0, T - 1);
  cg_jit *jit = cg_jit_new(decode, &c);
  for (int pos = 0; pos < 2; pos++) { /* eager + capture */
    cg_tensor *in[4] = {cg_var_bind(pv, pos), input(q, 1, D), input(k, 1, D), input(v, 1, D)}, *out[2];
    check(cg_jit_run(jit, 4, in, 2, out) == CG_OK, "errors setup", "pos %d", pos);
    memcpy(Kh + pos * D, k, sizeof k), memcpy(Vh + pos * D, v, sizeof v);
  }
  check(cg_jit_captured(jit), "errors captured", "not captured");

  expect_error(jit, cg_scalar(5, CG_INT32), NULL, "captured as variable 'pos'", "tensor for variable");
  expect_error(jit, cg_var_bind(cg_var("other", 0, T - 1), 2), NULL, "captured as variable 'pos'",
               "other variable name");
  expect_error(jit, cg_var_bind(cg_var("pos", 0, 1000), 500), NULL, "outside [0, 127]", "out of captured range");
  expect_error(jit, cg_var("pos", 0, T - 1), NULL, "not bound", "unbound variable");
  expect_error(jit, cg_var_bind(pv, 2), cg_var_bind(pv, 2), "captured as a tensor", "variable for tensor");

  /* after the errors, a replay at pos 2 is still right (nothing ran, state unchanged) */
  memcpy(Kh + 2 * D, k, sizeof k), memcpy(Vh + 2 * D, v, sizeof v);
  naive_attend(Kh, Vh, q, 2, ref);
  cg_tensor *in[4] = {cg_var_bind(pv, 2), input(q, 1, D), input(k, 1, D), input(v, 1, D)}, *out[2] = {0};
  cg_status st = cg_jit_run(jit, 4, in, 2, out);
  double e = st == CG_OK ? max_err(out[0], ref, D) : INFINITY;
  check(e < 1e-5, "replay after errors", "status %d, error %g", st, e);
  cg_jit_free(jit);
  cg_scope_pop();
}

int main(int argc, char **argv) {
  setenv("CG_NO_CACHE", "1", 1); /* every new IR compiles: the counter sees it */
  const char *be = test_backend_arg(argc, argv);
  if (test_open_backend(be)) return TEST_SKIP;
  const char *g = getenv("JIT_GRAPH");
  bool graph = be && (!strcmp(be, "REF") || !strcmp(be, "CUDA")) && !(g && !strcmp(g, "0"));
  test_decode(graph, false);
  test_decode(graph, true);
  test_errors();
  printf("%d passed, %d failed\n", n_pass, n_fail);
  return n_fail ? 1 : 0;
}
