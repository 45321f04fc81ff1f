/* cuda plugin numerics on a real GPU, against naive C references: an elementwise f32
 * chain with gated loads/stores, row sums with a DEFINE_REG accumulator and a RANGE
 * loop bounded by a variable, a work-group tree reduction in local memory with
 * barriers, float16/bfloat16 arithmetic, integer division/modulo (by zero too), gated
 * loads with alternatives, plus copies (staged, with offsets, device-to-device),
 * kernel timing and compile errors. Without a device: prints SKIP, returns 77. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static th_plugin T;
static cg_ir_type f32t, i32t, boolt;

/* Finish and free the builder; build, launch once with the program's dims. */
static int run(cg_ir_builder *b, void **bufs, const int64_t *vars, double *time_s) {
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  if (!p) {
    CHECK(0, "cg_irb_finish failed");
    return 0;
  }
  void *h = th_build(&T, p);
  int ok = h != NULL;
  if (h) {
    ok = th_launch(&T, h, p, bufs, vars, time_s) == CG_P_OK;
    CHECK(ok, "launch %s: %s", p->name, th_last_error());
    CHECK(T.api->synchronize(T.dev) == CG_P_OK, "sync %s: %s", p->name, th_last_error());
    T.api->program_unload(T.dev, h);
  } else {
    CHECK(0, "building %s failed", p->name);
  }
  free(p);
  return ok;
}

static float frand(float lo, float hi) { return lo + (hi - lo) * (float)rand() / (float)RAND_MAX; }

static uint32_t launch1(cg_ir_builder *b, uint32_t groups, uint32_t local) {
  uint32_t g[3] = {groups, 1, 1}, l[3] = {local, 1, 1};
  cg_irb_set_launch(b, g, l);
  return groups * local;
}

static int32_t fc(cg_ir_builder *b, double v) { return cg_irb_const_f(b, CG_IR_FLOAT32, v); }
static int32_t ic(cg_ir_builder *b, int64_t v) { return cg_irb_const_i(b, CG_IR_INT32, v); }

/* out = (a<b ? exp2(a)*sin(b) : sqrt(b*b+1)/(a+3)) + max(a, trunc(b)) + log2(b*b+1)
 *       - 1/(a+3), then a*b + that (MULACC); i < n gates loads and the store. */
static void test_elementwise(void) {
  enum { N = 1000 };
  float a[N], bv[N], out[N];
  for (int i = 0; i < N; i++) a[i] = frand(-2, 2), bv[i] = frand(-3, 3), out[i] = -1;
  cg_ir_builder *b = cg_irb_new("elementwise_f32");
  int pa = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int pb = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  int vn = cg_irb_var(b, "n", 1, N);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL);
  int32_t A = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, pa), B = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, pb);
  int32_t O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, po);
  int32_t i = th_gid(b, 128), n = th_op(b, CG_IR_VAR, i32t, 0, 0, 0, 0, vn);
  int32_t gate = th_op(b, CG_IR_CMPLT, boolt, 2, i, n, 0, 0), zero = fc(b, 0);
  int32_t x = th_op(b, CG_IR_LOAD, f32t, 3, th_at(b, A, i), gate, zero, 0);
  int32_t y = th_op(b, CG_IR_LOAD, f32t, 3, th_at(b, B, i), gate, zero, 0);
  int32_t lt = th_op(b, CG_IR_CMPLT, boolt, 2, x, y, 0, 0);
  int32_t m1 = th_op(b, CG_IR_MUL, f32t, 2, th_op(b, CG_IR_EXP2, f32t, 1, x, 0, 0, 0),
                     th_op(b, CG_IR_SIN, f32t, 1, y, 0, 0, 0), 0, 0);
  int32_t yy1 = th_op(b, CG_IR_ADD, f32t, 2, th_op(b, CG_IR_MUL, f32t, 2, y, y, 0, 0), fc(b, 1), 0, 0);
  int32_t a3 = th_op(b, CG_IR_ADD, f32t, 2, x, fc(b, 3), 0, 0);
  int32_t q = th_op(b, CG_IR_FDIV, f32t, 2, th_op(b, CG_IR_SQRT, f32t, 1, yy1, 0, 0, 0), a3, 0, 0);
  int32_t w = th_op(b, CG_IR_WHERE, f32t, 3, lt, m1, q, 0);
  int32_t mx = th_op(b, CG_IR_MAX, f32t, 2, x, th_op(b, CG_IR_TRUNC, f32t, 1, y, 0, 0, 0), 0, 0);
  int32_t s = th_op(b, CG_IR_ADD, f32t, 2, w, mx, 0, 0);
  s = th_op(b, CG_IR_ADD, f32t, 2, s, th_op(b, CG_IR_LOG2, f32t, 1, yy1, 0, 0, 0), 0, 0);
  int32_t nr = th_op(b, CG_IR_NEG, f32t, 1, th_op(b, CG_IR_RECIP, f32t, 1, a3, 0, 0, 0), 0, 0, 0);
  s = th_op(b, CG_IR_SUB, f32t, 2, s, th_op(b, CG_IR_NEG, f32t, 1, nr, 0, 0, 0), 0, 0);
  s = th_op(b, CG_IR_MULACC, f32t, 3, x, y, s, 0);
  th_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 3, th_at(b, O, i), s, gate, 0);
  launch1(b, 8, 128); /* 1024 threads for 1000 elements */
  void *bufs[3] = {th_upload(&T, a, sizeof a), th_upload(&T, bv, sizeof bv), th_upload(&T, out, sizeof out)};
  int64_t vars[1] = {N};
  double t = -1;
  if (run(b, bufs, vars, &t)) {
    th_download(&T, out, bufs[2], sizeof out);
    CHECK(t > 0 && t < 1, "kernel time %g s", t);
    int bad = 0;
    for (int k = 0; k < N; k++) {
      double X = a[k], Y = bv[k], yy = Y * Y + 1;
      double want = (X < Y ? exp2(X) * sin(Y) : sqrt(yy) / (X + 3)) + fmax(X, trunc(Y)) +
                    log2(yy) - 1 / (X + 3);
      want = X * Y + want;
      if (!th_close(out[k], want, 1e-5, 1e-5) && bad++ < 5)
        CHECK(0, "elementwise[%d] = %.9g, want %.9g", k, out[k], want);
    }
    printf("elementwise f32: %d/%d mismatches, kernel %.1f us\n", bad, N, t * 1e6);
  }
  for (int k = 0; k < 3; k++) T.api->mem_free(T.dev, bufs[k]);
}

/* out[r] = sum_k x[r*K + k]: one thread per row, accumulator in a DEFINE_REG, loop end
 * is the variable K. */
static void test_rowsum(void) {
  enum { R = 256, K = 77 };
  float *x = malloc(sizeof(float) * R * K), out[R];
  for (int k = 0; k < R * K; k++) x[k] = frand(-1, 1);
  cg_ir_builder *b = cg_irb_new("rowsum_reg");
  int px = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, R * K);
  int po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, R);
  int vk = cg_irb_var(b, "K", 1, 1024);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), vt = cg_ir_t(CG_IR_VOID);
  int32_t X = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, px), O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, po);
  int32_t r = th_gid(b, 64), kv = th_op(b, CG_IR_VAR, i32t, 0, 0, 0, 0, vk);
  int32_t acc = th_op(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, 0, 0, 0, 1);
  int32_t z = ic(b, 0), ap = th_at(b, acc, z);
  th_op(b, CG_IR_STORE, vt, 2, ap, fc(b, 0), 0, 0);
  int32_t k = th_op(b, CG_IR_RANGE, i32t, 2, z, kv, 0, 0);
  int32_t idx = th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, r, kv, 0, 0), k, 0, 0);
  int32_t v = th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, X, idx), 0, 0, 0);
  int32_t cur = th_op(b, CG_IR_LOAD, f32t, 1, ap, 0, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, ap, th_op(b, CG_IR_ADD, f32t, 2, cur, v, 0, 0), 0, 0);
  th_op(b, CG_IR_ENDRANGE, vt, 1, k, 0, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, O, r), th_op(b, CG_IR_LOAD, f32t, 1, ap, 0, 0, 0), 0, 0);
  launch1(b, R / 64, 64);
  void *bufs[2] = {th_upload(&T, x, sizeof(float) * R * K), th_upload(&T, NULL, sizeof out)};
  int64_t vars[1] = {K};
  if (run(b, bufs, vars, NULL)) {
    th_download(&T, out, bufs[1], sizeof out);
    int bad = 0;
    for (int i = 0; i < R; i++) {
      float want = 0;
      for (int j = 0; j < K; j++) want += x[i * K + j];
      if (!th_close(out[i], want, 1e-5, 1e-5) && bad++ < 5)
        CHECK(0, "rowsum[%d] = %.9g, want %.9g", i, out[i], want);
    }
    printf("rowsum (DEFINE_REG + RANGE): %d/%d mismatches\n", bad, R);
  }
  for (int i = 0; i < 2; i++) T.api->mem_free(T.dev, bufs[i]);
  free(x);
}

/* out[g] = sum of x[g*256 .. g*256+255]: each group loads into local memory, then a
 * tree reduction with a barrier after every level; local id 0 stores. */
static void test_group_reduce(void) {
  enum { G = 16, L = 256 };
  float x[G * L], out[G];
  for (int k = 0; k < G * L; k++) x[k] = frand(-1, 1);
  cg_ir_builder *b = cg_irb_new("group_reduce_local");
  int px = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, G * L);
  int po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, G);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), vt = cg_ir_t(CG_IR_VOID);
  int32_t X = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, px), O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, po);
  int32_t g = th_op(b, CG_IR_SPECIAL, i32t, 0, 0, 0, 0, 3 * CG_IR_SPECIAL_GROUP);
  int32_t l = th_op(b, CG_IR_SPECIAL, i32t, 0, 0, 0, 0, 3 * CG_IR_SPECIAL_LOCAL);
  int32_t sh = th_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, L);
  int32_t gi = th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, g, ic(b, L), 0, 0), l, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, sh, l), th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, X, gi), 0, 0, 0), 0, 0);
  th_op(b, CG_IR_BARRIER, vt, 0, 0, 0, 0, 0);
  for (int s = L / 2; s >= 1; s /= 2) {
    int32_t c = th_op(b, CG_IR_CMPLT, boolt, 2, l, ic(b, s), 0, 0);
    int32_t iff = th_op(b, CG_IR_IF, vt, 1, c, 0, 0, 0);
    int32_t u = th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, sh, l), 0, 0, 0);
    int32_t w = th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, sh, th_op(b, CG_IR_ADD, i32t, 2, l, ic(b, s), 0, 0)), 0, 0, 0);
    th_op(b, CG_IR_STORE, vt, 2, th_at(b, sh, l), th_op(b, CG_IR_ADD, f32t, 2, u, w, 0, 0), 0, 0);
    th_op(b, CG_IR_ENDIF, vt, 1, iff, 0, 0, 0);
    th_op(b, CG_IR_BARRIER, vt, 0, 0, 0, 0, 0);
  }
  int32_t first = th_op(b, CG_IR_CMPEQ, boolt, 2, l, ic(b, 0), 0, 0);
  int32_t iff = th_op(b, CG_IR_IF, vt, 1, first, 0, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, O, g), th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, sh, ic(b, 0)), 0, 0, 0), 0, 0);
  th_op(b, CG_IR_ENDIF, vt, 1, iff, 0, 0, 0);
  launch1(b, G, L);
  void *bufs[2] = {th_upload(&T, x, sizeof x), th_upload(&T, NULL, sizeof out)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, out, bufs[1], sizeof out);
    int bad = 0;
    for (int i = 0; i < G; i++) {
      double want = 0;
      for (int j = 0; j < L; j++) want += x[i * L + j];
      if (!th_close(out[i], want, 1e-5, 1e-4) && bad++ < 5)
        CHECK(0, "group_reduce[%d] = %.9g, want %.9g", i, out[i], want);
    }
    printf("group reduce (local memory + barrier): %d/%d mismatches\n", bad, G);
  }
  for (int i = 0; i < 2; i++) T.api->mem_free(T.dev, bufs[i]);
}

/* 16-bit floats: o = a*b + a, e = exp2(a) (16-bit), f = (float)o. Tolerance is one
 * unit in the last place (FMA contraction may round once instead of twice). */
static void test_half(cg_ir_scalar dt) {
  enum { N = 512 };
  int bf = dt == CG_IR_BFLOAT16;
  uint16_t a[N], bv[N], o[N], e[N];
  float f[N];
  for (int i = 0; i < N; i++) {
    a[i] = bf ? th_f2b(frand(-4, 4)) : th_f2h(frand(-4, 4));
    bv[i] = bf ? th_f2b(frand(-4, 4)) : th_f2h(frand(-4, 4));
  }
  cg_ir_builder *b = cg_irb_new(bf ? "arith_bf16" : "arith_f16");
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, N), pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, N);
  int po = cg_irb_param(b, dt, CG_IR_PARAM_WRITE, N), pe = cg_irb_param(b, dt, CG_IR_PARAM_WRITE, N);
  int pf = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  cg_ir_type ht = cg_ir_t(dt), hp = cg_ir_ptr(dt, CG_IR_AS_GLOBAL), vt = cg_ir_t(CG_IR_VOID);
  int32_t A = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, pa), B = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, pb);
  int32_t O = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, po), E = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, pe);
  int32_t F = th_op(b, CG_IR_PARAM, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 0, 0, 0, pf);
  int32_t i = th_gid(b, 128);
  int32_t x = th_op(b, CG_IR_LOAD, ht, 1, th_at(b, A, i), 0, 0, 0);
  int32_t y = th_op(b, CG_IR_LOAD, ht, 1, th_at(b, B, i), 0, 0, 0);
  int32_t s = th_op(b, CG_IR_ADD, ht, 2, th_op(b, CG_IR_MUL, ht, 2, x, y, 0, 0), x, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, O, i), s, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, E, i), th_op(b, CG_IR_EXP2, ht, 1, x, 0, 0, 0), 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, F, i), th_op(b, CG_IR_CAST, f32t, 1, s, 0, 0, 0), 0, 0);
  launch1(b, N / 128, 128);
  void *bufs[5] = {th_upload(&T, a, sizeof a), th_upload(&T, bv, sizeof bv), th_upload(&T, NULL, sizeof o),
                   th_upload(&T, NULL, sizeof e), th_upload(&T, NULL, sizeof f)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, o, bufs[2], sizeof o);
    th_download(&T, e, bufs[3], sizeof e);
    th_download(&T, f, bufs[4], sizeof f);
    double ulp = bf ? 1.0 / 128 : 1.0 / 1024;
    int bad = 0;
    for (int k = 0; k < N; k++) {
      float X = bf ? th_b2f(a[k]) : th_h2f(a[k]), Y = bf ? th_b2f(bv[k]) : th_h2f(bv[k]);
      float p = bf ? th_b2f(th_f2b(X * Y)) : th_h2f(th_f2h(X * Y));
      float want = bf ? th_b2f(th_f2b(p + X)) : th_h2f(th_f2h(p + X));
      float got = bf ? th_b2f(o[k]) : th_h2f(o[k]);
      float ge = bf ? th_b2f(e[k]) : th_h2f(e[k]);
      int ok = th_close(got, want, ulp, 1e-3) && th_close(ge, exp2(X), ulp, 1e-6) &&
               f[k] == got;
      if (!ok && bad++ < 5)
        CHECK(0, "%s[%d]: a*b+a = %g (want %g), exp2 = %g (want %g), cast %g",
              bf ? "bf16" : "f16", k, got, want, ge, exp2(X), f[k]);
    }
    printf("%s arithmetic: %d/%d mismatches\n", bf ? "bf16" : "f16", bad, N);
  }
  for (int k = 0; k < 5; k++) T.api->mem_free(T.dev, bufs[k]);
}

/* q = a / b, r = a % b, lt = a < b for int32 or int64, b == 0 and MIN / -1 included. */
static void test_intdiv(cg_ir_scalar dt) {
  enum { N = 256 };
  int wide = dt == CG_IR_INT64;
  int64_t a[N], bv[N];
  unsigned char lt[N];
  int64_t mn = wide ? INT64_MIN : INT32_MIN;
  for (int i = 0; i < N; i++) {
    a[i] = (rand() % 2001) - 1000;
    bv[i] = i % 5 == 0 ? 0 : (rand() % 41) - 20;
  }
  a[1] = mn, bv[1] = -1, a[2] = mn, bv[2] = 0, a[3] = mn, bv[3] = 7, a[4] = 7, bv[4] = mn;
  size_t es = wide ? 8 : 4;
  char ha[N * 8], hb[N * 8], hq[N * 8], hr[N * 8];
  for (int i = 0; i < N; i++) {
    int32_t a32 = (int32_t)a[i], b32 = (int32_t)bv[i];
    memcpy(ha + i * es, wide ? (void *)&a[i] : (void *)&a32, es);
    memcpy(hb + i * es, wide ? (void *)&bv[i] : (void *)&b32, es);
  }
  cg_ir_builder *b = cg_irb_new(wide ? "intdiv_i64" : "intdiv_i32");
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, N), pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, N);
  int pq = cg_irb_param(b, dt, CG_IR_PARAM_WRITE, N), pr = cg_irb_param(b, dt, CG_IR_PARAM_WRITE, N);
  int pl = cg_irb_param(b, CG_IR_BOOL, CG_IR_PARAM_WRITE, N);
  cg_ir_type t = cg_ir_t(dt), p = cg_ir_ptr(dt, CG_IR_AS_GLOBAL), vt = cg_ir_t(CG_IR_VOID);
  int32_t A = th_op(b, CG_IR_PARAM, p, 0, 0, 0, 0, pa), B = th_op(b, CG_IR_PARAM, p, 0, 0, 0, 0, pb);
  int32_t Q = th_op(b, CG_IR_PARAM, p, 0, 0, 0, 0, pq), R = th_op(b, CG_IR_PARAM, p, 0, 0, 0, 0, pr);
  int32_t L = th_op(b, CG_IR_PARAM, cg_ir_ptr(CG_IR_BOOL, CG_IR_AS_GLOBAL), 0, 0, 0, 0, pl);
  int32_t i = th_gid(b, 64);
  int32_t x = th_op(b, CG_IR_LOAD, t, 1, th_at(b, A, i), 0, 0, 0);
  int32_t y = th_op(b, CG_IR_LOAD, t, 1, th_at(b, B, i), 0, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, Q, i), th_op(b, CG_IR_IDIV, t, 2, x, y, 0, 0), 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, R, i), th_op(b, CG_IR_MOD, t, 2, x, y, 0, 0), 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, L, i), th_op(b, CG_IR_CMPLT, boolt, 2, x, y, 0, 0), 0, 0);
  launch1(b, N / 64, 64);
  void *bufs[5] = {th_upload(&T, ha, N * es), th_upload(&T, hb, N * es), th_upload(&T, NULL, N * es),
                   th_upload(&T, NULL, N * es), th_upload(&T, NULL, N)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, hq, bufs[2], N * es);
    th_download(&T, hr, bufs[3], N * es);
    th_download(&T, lt, bufs[4], N);
    int bad = 0;
    for (int k = 0; k < N; k++) {
      int64_t gq = 0, gr = 0;
      int32_t q32, r32;
      if (wide) memcpy(&gq, hq + k * 8, 8), memcpy(&gr, hr + k * 8, 8);
      else memcpy(&q32, hq + k * 4, 4), memcpy(&r32, hr + k * 4, 4), gq = q32, gr = r32;
      int64_t wq = 0, wr = 0;
      if (bv[k] == -1 && a[k] == mn) wq = mn, wr = 0; /* wraps */
      else if (bv[k] != 0) wq = a[k] / bv[k], wr = a[k] % bv[k];
      if ((gq != wq || gr != wr || lt[k] != (a[k] < bv[k])) && bad++ < 5)
        CHECK(0, "%s: %lld / %lld = %lld r %lld (want %lld r %lld), lt %d", wide ? "i64" : "i32",
              (long long)a[k], (long long)bv[k], (long long)gq, (long long)gr, (long long)wq,
              (long long)wr, lt[k]);
    }
    printf("%s div/mod (incl. by zero): %d/%d mismatches\n", wide ? "i64" : "i32", bad, N);
  }
  for (int k = 0; k < 5; k++) T.api->mem_free(T.dev, bufs[k]);
}

/* out[i] = (i % 3 != 0) ? a[i] : -7, through a gated LOAD with an alternative. */
static void test_gated_load(void) {
  enum { N = 384 };
  float a[N], out[N];
  for (int i = 0; i < N; i++) a[i] = frand(0, 1);
  cg_ir_builder *b = cg_irb_new("gated_load");
  int pa = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL);
  int32_t A = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, pa), O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, po);
  int32_t i = th_gid(b, 128);
  int32_t gate = th_op(b, CG_IR_CMPNE, boolt, 2, th_op(b, CG_IR_MOD, i32t, 2, i, ic(b, 3), 0, 0), ic(b, 0), 0, 0);
  int32_t v = th_op(b, CG_IR_LOAD, f32t, 3, th_at(b, A, i), gate, fc(b, -7), 0);
  th_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, th_at(b, O, i), v, 0, 0);
  launch1(b, N / 128, 128);
  void *bufs[2] = {th_upload(&T, a, sizeof a), th_upload(&T, NULL, sizeof out)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, out, bufs[1], sizeof out);
    int bad = 0;
    for (int k = 0; k < N; k++)
      if (out[k] != (k % 3 ? a[k] : -7.0f) && bad++ < 5) CHECK(0, "gated[%d] = %g", k, out[k]);
    printf("gated load: %d/%d mismatches\n", bad, N);
  }
  for (int k = 0; k < 2; k++) T.api->mem_free(T.dev, bufs[k]);
}

/* Copies: > 2 staging chunks with odd size and offset, device-to-device with offsets,
 * zero-byte buffers, and out-of-range requests refused with CG_P_ERR_INVALID. */
static void test_copies(void) {
  size_t n = ((size_t)20 << 20) + 3, off = 5;
  unsigned char *h = malloc(n), *back = malloc(n);
  for (size_t i = 0; i < n; i++) h[i] = (unsigned char)(i * 131 + 7);
  void *b1 = th_upload(&T, NULL, n + off), *b2 = th_upload(&T, NULL, n), *z = NULL;
  CHECK(T.api->copy_in(T.dev, b1, off, h, n) == CG_P_OK, "copy_in: %s", th_last_error());
  CHECK(T.api->copy_d2d(T.dev, b2, 0, b1, off, n) == CG_P_OK, "d2d: %s", th_last_error());
  memset(back, 0, n);
  CHECK(T.api->copy_out(T.dev, back, b2, 0, n) == CG_P_OK, "copy_out: %s", th_last_error());
  CHECK(memcmp(h, back, n) == 0, "20 MiB round trip through d2d differs");
  memset(back, 0, n);
  CHECK(T.api->copy_out(T.dev, back, b1, off + 1000, 4096) == CG_P_OK, "copy_out offset");
  CHECK(memcmp(h + 1000, back, 4096) == 0, "offset read differs");
  CHECK(T.api->copy_in(T.dev, b2, n - 2, h, 3) == CG_P_ERR_INVALID, "out-of-range copy_in accepted");
  CHECK(T.api->copy_out(T.dev, back, b2, n + 1, 0) == CG_P_ERR_INVALID, "offset past end accepted");
  CHECK(T.api->mem_alloc(T.dev, 0, &z) == CG_P_OK, "zero-byte alloc: %s", th_last_error());
  CHECK(T.api->copy_in(T.dev, z, 0, h, 0) == CG_P_OK, "zero-byte copy");
  T.api->mem_free(T.dev, z);
  T.api->mem_free(T.dev, b1);
  T.api->mem_free(T.dev, b2);
  free(h);
  free(back);
  printf("copies: done\n");
}

/* Row-major element (r, c) of a matrix with `stride` columns, as IR. */
static int32_t lin(cg_ir_builder *b, int32_t r, int32_t c, int stride) {
  return th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, r, ic(b, stride), 0, 0), c, 0, 0);
}

/* One warp computes D (16x8, f32) = A (16x16) * B (16x8) with one WMMA (shape id 0 =
 * f16, 1 = bf16), each lane loading its fragments as documented in plugins/cuda/render.c. */
static void test_wmma(int shape) {
  cg_device_props pr = {.struct_size = sizeof pr};
  T.api->device_props(T.ctx, 0, &pr);
  if ((uint32_t)shape >= pr.n_tc_shapes) {
    printf("wmma shape %d: not offered by this device, skipped\n", shape);
    return;
  }
  cg_ir_scalar dt = (cg_ir_scalar)pr.tc_shapes[shape][3];
  int bf = dt == CG_IR_BFLOAT16;
  uint16_t a[16 * 16], bm[16 * 8];
  float d[16 * 8];
  for (int i = 0; i < 16 * 16; i++) a[i] = bf ? th_f2b(frand(-1, 1)) : th_f2h(frand(-1, 1));
  for (int i = 0; i < 16 * 8; i++) bm[i] = bf ? th_f2b(frand(-1, 1)) : th_f2h(frand(-1, 1));
  cg_ir_builder *b = cg_irb_new(bf ? "wmma_bf16" : "wmma_f16");
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, 256), pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, 128);
  int pd = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 128);
  cg_ir_type hp = cg_ir_ptr(dt, CG_IR_AS_GLOBAL), ht = cg_ir_t(dt), vt = cg_ir_t(CG_IR_VOID);
  int32_t A = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, pa), B = th_op(b, CG_IR_PARAM, hp, 0, 0, 0, 0, pb);
  int32_t D = th_op(b, CG_IR_PARAM, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), 0, 0, 0, 0, pd);
  int32_t l = th_op(b, CG_IR_SPECIAL, i32t, 0, 0, 0, 0, 3 * CG_IR_SPECIAL_LOCAL);
  int32_t g = th_op(b, CG_IR_IDIV, i32t, 2, l, ic(b, 4), 0, 0);
  int32_t t2 = th_op(b, CG_IR_MUL, i32t, 2, th_op(b, CG_IR_MOD, i32t, 2, l, ic(b, 4), 0, 0), ic(b, 2), 0, 0);
  int32_t rows[2] = {g, th_op(b, CG_IR_ADD, i32t, 2, g, ic(b, 8), 0, 0)}, cols[4];
  for (int k = 0; k < 4; k++) cols[k] = th_op(b, CG_IR_ADD, i32t, 2, t2, ic(b, (k / 2) * 8 + k % 2), 0, 0);
  int32_t fa[8], fb[4], fc0[4];
  for (int k = 0; k < 8; k++) /* a[2j+e]: row (j&1 ? g+8 : g), col 2t + e + (j&2 ? 8 : 0) */
    fa[k] = th_op(b, CG_IR_LOAD, ht, 1, th_at(b, A, lin(b, rows[(k / 2) & 1], cols[(k / 4) * 2 + k % 2], 16)), 0, 0, 0);
  for (int k = 0; k < 4; k++) /* b[2j+e]: row 2t + e + 8j, col g */
    fb[k] = th_op(b, CG_IR_LOAD, ht, 1, th_at(b, B, lin(b, cols[k], g, 8)), 0, 0, 0);
  for (int k = 0; k < 4; k++) fc0[k] = fc(b, 0);
  cg_ir_type va = {(uint8_t)dt, 8, 0, 0}, vb = {(uint8_t)dt, 4, 0, 0}, vc = {CG_IR_FLOAT32, 4, 0, 0};
  int32_t VA = cg_irb_emit(b, CG_IR_VECTORIZE, va, 8, fa, 0), VB = cg_irb_emit(b, CG_IR_VECTORIZE, vb, 4, fb, 0);
  int32_t VC = cg_irb_emit(b, CG_IR_VECTORIZE, vc, 4, fc0, 0);
  int32_t W = th_op(b, CG_IR_WMMA, vc, 3, VA, VB, VC, shape);
  for (int k = 0; k < 4; k++) /* d[2j+e]: row (j ? g+8 : g), col 2t + e */
    th_op(b, CG_IR_STORE, vt, 2, th_at(b, D, lin(b, rows[k / 2], cols[k % 2], 8)),
          th_op(b, CG_IR_GEP, f32t, 1, W, 0, 0, k), 0, 0);
  launch1(b, 1, 32);
  void *bufs[3] = {th_upload(&T, a, sizeof a), th_upload(&T, bm, sizeof bm), th_upload(&T, NULL, sizeof d)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, d, bufs[2], sizeof d);
    int bad = 0;
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 8; j++) {
        double want = 0;
        for (int k = 0; k < 16; k++)
          want += (double)(bf ? th_b2f(a[i * 16 + k]) : th_h2f(a[i * 16 + k])) *
                  (bf ? th_b2f(bm[k * 8 + j]) : th_h2f(bm[k * 8 + j]));
        if (!th_close(d[i * 8 + j], want, 1e-3, 1e-4) && bad++ < 5)
          CHECK(0, "wmma %s D[%d][%d] = %g, want %g", bf ? "bf16" : "f16", i, j, d[i * 8 + j], want);
      }
    printf("wmma m16n8k16 %s: %d/128 mismatches\n", bf ? "bf16" : "f16", bad);
  }
  for (int k = 0; k < 3; k++) T.api->mem_free(T.dev, bufs[k]);
}

/* Launch prog (built) with buffers and byte offsets; returns 0 on success. */
static int launch_off(const cg_ir_program *p, void *h, void **bufs, size_t *offs) {
  cg_launch_args a = {sizeof a, p->nparams, bufs, offs, 0, 0, NULL, {0}, {0}, NULL};
  memcpy(a.global, p->global, sizeof a.global);
  memcpy(a.local, p->local, sizeof a.local);
  int ok = T.api->launch(T.dev, h, &a) == CG_P_OK && T.api->synchronize(T.dev) == CG_P_OK;
  CHECK(ok, "launch %s: %s", p->name, th_last_error());
  return ok ? 0 : -1;
}

/* Vector memory: out[4i..+3] = 2*in[4i..+3] (f32x4 LOAD/STORE) and, for float16,
 * o[8i..+7] = i < n ? h[8i..+7] + h[8i..+7] : 1.5 (gated f16x8 LOAD), each at aligned
 * and misaligned byte offsets: the renderer's wide accesses must fall back. */
static void test_vecmem(void) {
  enum { NV = 256, F = 4 * NV, H = 8 * NV, NH = 200 };
  float in[F + 8], out[F + 8];
  uint16_t hin[H + 8], hout[H + 8];
  for (int k = 0; k < F + 8; k++) in[k] = frand(-10, 10);
  for (int k = 0; k < H + 8; k++) hin[k] = th_f2h(frand(-10, 10));
  cg_ir_builder *b = cg_irb_new("vec_f32x4_f16x8");
  int po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, F), pi = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, F);
  int pho = cg_irb_param(b, CG_IR_FLOAT16, CG_IR_PARAM_WRITE, H), phi = cg_irb_param(b, CG_IR_FLOAT16, CG_IR_PARAM_READ, H);
  cg_ir_type p4 = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), v4 = f32t, h8p = cg_ir_ptr(CG_IR_FLOAT16, CG_IR_AS_GLOBAL), h8 = cg_ir_t(CG_IR_FLOAT16);
  cg_ir_type vt = cg_ir_t(CG_IR_VOID);
  int32_t O = th_op(b, CG_IR_PARAM, p4, 0, 0, 0, 0, po), I = th_op(b, CG_IR_PARAM, p4, 0, 0, 0, 0, pi);
  int32_t HO = th_op(b, CG_IR_PARAM, h8p, 0, 0, 0, 0, pho), HI = th_op(b, CG_IR_PARAM, h8p, 0, 0, 0, 0, phi);
  p4.vec = 4, v4.vec = 4, h8p.vec = 8, h8.vec = 8;
  int32_t i = th_gid(b, 64), i4 = th_op(b, CG_IR_MUL, i32t, 2, i, ic(b, 4), 0, 0), i8 = th_op(b, CG_IR_MUL, i32t, 2, i, ic(b, 8), 0, 0);
  int32_t x = th_op(b, CG_IR_LOAD, v4, 1, th_op(b, CG_IR_INDEX, p4, 2, I, i4, 0, 0), 0, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_op(b, CG_IR_INDEX, p4, 2, O, i4, 0, 0), th_op(b, CG_IR_ADD, v4, 2, x, x, 0, 0), 0, 0);
  int32_t gate = th_op(b, CG_IR_CMPLT, boolt, 2, i, ic(b, NH), 0, 0);
  int32_t c15 = cg_irb_const_f(b, CG_IR_FLOAT16, 1.5), c8[8];
  for (int k = 0; k < 8; k++) c8[k] = c15;
  int32_t alt = cg_irb_emit(b, CG_IR_VECTORIZE, h8, 8, c8, 0);
  int32_t hx = th_op(b, CG_IR_LOAD, h8, 3, th_op(b, CG_IR_INDEX, h8p, 2, HI, i8, 0, 0), gate, alt, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_op(b, CG_IR_INDEX, h8p, 2, HO, i8, 0, 0), th_op(b, CG_IR_ADD, h8, 2, hx, hx, 0, 0), 0, 0);
  launch1(b, NV / 64, 64);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  void *h = th_build(&T, p);
  CHECK(h != NULL, "building the vector kernel failed");
  void *bufs[4] = {th_upload(&T, NULL, sizeof out), th_upload(&T, in, sizeof in), th_upload(&T, NULL, sizeof hout), th_upload(&T, hin, sizeof hin)};
  size_t offs[3][4] = {{0, 0, 0, 0}, {16, 32, 16, 32}, {4, 12, 2, 6}}; /* aligned, aligned, misaligned */
  int bad = 0;
  for (int c = 0; c < 3 && h; c++) {
    if (launch_off(p, h, bufs, offs[c]) != 0) break;
    th_download(&T, out, bufs[0], sizeof out);
    th_download(&T, hout, bufs[2], sizeof hout);
    for (int k = 0; k < F; k++)
      if (out[k + offs[c][0] / 4] != 2 * in[k + offs[c][1] / 4] && bad++ < 5)
        CHECK(0, "vec f32x4 (offsets %zu/%zu) [%d] = %g, want %g", offs[c][0], offs[c][1], k, out[k + offs[c][0] / 4],
              2 * in[k + offs[c][1] / 4]);
    for (int k = 0; k < H; k++) {
      float want = k / 8 < NH ? th_h2f(th_f2h(2 * th_h2f(hin[k + offs[c][3] / 2]))) : 3.0f;
      float got = th_h2f(hout[k + offs[c][2] / 2]);
      if (got != want && bad++ < 5) CHECK(0, "vec f16x8 (offsets %zu/%zu) [%d] = %g, want %g", offs[c][2], offs[c][3], k, got, want);
    }
  }
  printf("vector memory f32x4 / gated f16x8, aligned and misaligned offsets: %d mismatches\n", bad);
  for (int k = 0; k < 4; k++) T.api->mem_free(T.dev, bufs[k]);
  if (h) T.api->program_unload(T.dev, h);
  free(p);
}

/* Shared memory above 48 KB: a 64 KB float array and a 4 KB int array (dynamic shared
 * memory); each of 256 work-items fills 64 floats and 4 ints, then reads back the
 * mirrored position after a barrier: out[g][j] = x[g][16383 - j] + (16383 - j) % 1000. */
static void test_big_smem(void) {
  enum { G = 4, L = 256, S = 16384, PER = S / L, SI = 1024 };
  cg_device_props pr = {.struct_size = sizeof pr};
  T.api->device_props(T.ctx, 0, &pr);
  if (pr.local_mem_bytes < S * 4 + SI * 4) {
    printf("big shared memory: device offers %u bytes, skipped\n", pr.local_mem_bytes);
    return;
  }
  float *x = malloc(sizeof(float) * G * S), *out = malloc(sizeof(float) * G * S);
  for (int k = 0; k < G * S; k++) x[k] = frand(-1, 1);
  cg_ir_builder *b = cg_irb_new("big_smem");
  int px = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, G * S), po = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, G * S);
  cg_ir_type gp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), vt = cg_ir_t(CG_IR_VOID);
  int32_t X = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, px), O = th_op(b, CG_IR_PARAM, gp, 0, 0, 0, 0, po);
  int32_t g = th_op(b, CG_IR_SPECIAL, i32t, 0, 0, 0, 0, 3 * CG_IR_SPECIAL_GROUP);
  int32_t l = th_op(b, CG_IR_SPECIAL, i32t, 0, 0, 0, 0, 3 * CG_IR_SPECIAL_LOCAL);
  int32_t sf = th_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, S);
  int32_t si = th_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_INT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, SI);
  int32_t base = th_op(b, CG_IR_MUL, i32t, 2, g, ic(b, S), 0, 0);
  int32_t j = th_op(b, CG_IR_RANGE, i32t, 2, ic(b, 0), ic(b, PER), 0, 0);
  int32_t e = th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, l, ic(b, PER), 0, 0), j, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, sf, e), th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, X, th_op(b, CG_IR_ADD, i32t, 2, base, e, 0, 0)), 0, 0, 0), 0, 0);
  th_op(b, CG_IR_ENDRANGE, vt, 1, j, 0, 0, 0);
  int32_t j2 = th_op(b, CG_IR_RANGE, i32t, 2, ic(b, 0), ic(b, SI / L), 0, 0);
  int32_t e2 = th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, l, ic(b, SI / L), 0, 0), j2, 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, si, e2), th_op(b, CG_IR_MOD, i32t, 2, e2, ic(b, 1000), 0, 0), 0, 0);
  th_op(b, CG_IR_ENDRANGE, vt, 1, j2, 0, 0, 0);
  th_op(b, CG_IR_BARRIER, vt, 0, 0, 0, 0, 0);
  int32_t j3 = th_op(b, CG_IR_RANGE, i32t, 2, ic(b, 0), ic(b, PER), 0, 0);
  int32_t e3 = th_op(b, CG_IR_ADD, i32t, 2, th_op(b, CG_IR_MUL, i32t, 2, l, ic(b, PER), 0, 0), j3, 0, 0);
  int32_t m = th_op(b, CG_IR_SUB, i32t, 2, ic(b, S - 1), e3, 0, 0);
  int32_t v = th_op(b, CG_IR_LOAD, f32t, 1, th_at(b, sf, m), 0, 0, 0);
  int32_t w = th_op(b, CG_IR_LOAD, i32t, 1, th_at(b, si, th_op(b, CG_IR_MOD, i32t, 2, m, ic(b, SI), 0, 0)), 0, 0, 0);
  int32_t r = th_op(b, CG_IR_ADD, f32t, 2, v, th_op(b, CG_IR_CAST, f32t, 1, w, 0, 0, 0), 0, 0);
  th_op(b, CG_IR_STORE, vt, 2, th_at(b, O, th_op(b, CG_IR_ADD, i32t, 2, base, e3, 0, 0)), r, 0, 0);
  th_op(b, CG_IR_ENDRANGE, vt, 1, j3, 0, 0, 0);
  launch1(b, G, L);
  void *bufs[2] = {th_upload(&T, x, sizeof(float) * G * S), th_upload(&T, NULL, sizeof(float) * G * S)};
  if (run(b, bufs, NULL, NULL)) {
    th_download(&T, out, bufs[1], sizeof(float) * G * S);
    int bad = 0;
    for (int gg = 0; gg < G; gg++)
      for (int k = 0; k < S; k++) {
        int mm = S - 1 - k;
        float want = x[gg * S + mm] + (float)((mm % SI) % 1000);
        if (out[gg * S + k] != want && bad++ < 5) CHECK(0, "big smem [%d][%d] = %g, want %g", gg, k, out[gg * S + k], want);
      }
    printf("shared memory 68 KB (dynamic, above the 48 KB static limit): %d mismatches\n", bad);
  }
  for (int k = 0; k < 2; k++) T.api->mem_free(T.dev, bufs[k]);
  free(x);
  free(out);
}

/* A compile error comes back as CG_P_ERR_COMPILE with the NVRTC log. */
static void test_compile_error(void) {
  cg_ir_builder *b = cg_irb_new("broken");
  cg_ir_program *p = cg_irb_finish(b);
  void *blob = NULL;
  size_t size = 0;
  th_clear_error();
  CHECK(T.api->compile(T.dev, p, "extern \"C\" __global__ void broken() { undeclared_x = 1; }",
                       &blob, &size) == CG_P_ERR_COMPILE, "bad source compiled");
  CHECK(strstr(th_last_error(), "undeclared_x") != NULL, "log missing: %s", th_last_error());
  printf("compile error reported as: %.200s\n", th_last_error());
  free(p);
  cg_irb_free(b);
}

int main(int argc, char **argv) {
  int rc = th_start(&T, argc, argv);
  if (rc) return rc;
  srand(42);
  f32t = cg_ir_t(CG_IR_FLOAT32), i32t = cg_ir_t(CG_IR_INT32), boolt = cg_ir_t(CG_IR_BOOL);
  test_copies();
  test_elementwise();
  test_rowsum();
  test_group_reduce();
  test_half(CG_IR_FLOAT16);
  test_half(CG_IR_BFLOAT16);
  test_intdiv(CG_IR_INT32);
  test_intdiv(CG_IR_INT64);
  test_gated_load();
  test_wmma(0);
  test_wmma(1);
  test_vecmem();
  test_big_smem();
  test_compile_error();
  return th_finish(&T);
}
