/* Sample IR kernels for the C-family backend tests (see kt.h for what each computes).
 * Built with the SDK's IR builder; every program passes cg_ir_verify. */
#include <stdlib.h>

#include "kt.h"

int32_t kt_op(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int n, int32_t a, int32_t c, int32_t d, int64_t arg) {
  int32_t s[3] = {a, c, d};
  return cg_irb_emit(b, op, t, n, n ? s : NULL, arg);
}
cg_ir_type kt_vec(cg_ir_scalar s, int vec) {
  cg_ir_type t = cg_ir_t(s);
  t.vec = (uint8_t)vec;
  return t;
}
cg_ir_type kt_gptr(cg_ir_scalar s, int vec) {
  cg_ir_type t = cg_ir_ptr(s, CG_IR_AS_GLOBAL);
  t.vec = (uint8_t)vec;
  return t;
}
int32_t kt_param(cg_ir_builder *b, cg_ir_scalar s, int flags, int64_t count) {
  int k = cg_irb_param(b, s, flags, count);
  return kt_op(b, CG_IR_PARAM, cg_ir_ptr(s, CG_IR_AS_GLOBAL), 0, 0, 0, 0, k);
}
int32_t kt_at(cg_ir_builder *b, int32_t ptr, int32_t idx, int vec) {
  cg_ir_type t = cg_irb_type(b, ptr);
  t.vec = (uint8_t)vec;
  return kt_op(b, CG_IR_INDEX, t, 2, ptr, idx, 0, 0);
}
int32_t kt_ld(cg_ir_builder *b, int32_t ptr, int32_t idx) {
  cg_ir_type t = cg_irb_type(b, ptr);
  return kt_op(b, CG_IR_LOAD, cg_ir_t((cg_ir_scalar)t.scalar), 1, kt_at(b, ptr, idx, 1), 0, 0, 0);
}
void kt_st(cg_ir_builder *b, int32_t ptr, int32_t idx, int32_t v) {
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, kt_at(b, ptr, idx, 1), v, 0, 0);
}
cg_ir_program *kt_finish(cg_ir_builder *b, uint32_t gx, uint32_t gy, uint32_t gz) {
  uint32_t g[3] = {gx, gy, gz}, l[3] = {1, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

static const cg_ir_type I32 = {CG_IR_INT32, 1, 0, 0};

static int32_t gid(cg_ir_builder *b, int axis) { return kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, axis); }
static int32_t ci(cg_ir_builder *b, int64_t v) { return cg_irb_const_i(b, CG_IR_INT32, v); }
/* k*n + i */
static int32_t slot(cg_ir_builder *b, int k, int n, int32_t i) {
  return kt_op(b, CG_IR_ADD, I32, 2, ci(b, (int64_t)k * n), i, 0, 0);
}

cg_ir_program *kt_unary(int n) {
  static const cg_ir_op ops[] = {CG_IR_EXP2, CG_IR_LOG2, CG_IR_SIN, CG_IR_SQRT, CG_IR_RECIP, CG_IR_NEG, CG_IR_TRUNC};
  cg_ir_builder *b = cg_irb_new("unary_f32");
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 7 * n);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  int32_t i = gid(b, 0), x = kt_ld(b, a, i);
  for (int k = 0; k < 7; k++) kt_st(b, out, slot(b, k, n, i), kt_op(b, ops[k], cg_ir_t(CG_IR_FLOAT32), 1, x, 0, 0, 0));
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_binop(cg_ir_scalar s, int n, const int *ops, int nops) {
  cg_ir_builder *b = cg_irb_new("binop");
  int32_t out = kt_param(b, s, CG_IR_PARAM_WRITE, (int64_t)nops * n);
  int32_t pa = kt_param(b, s, CG_IR_PARAM_READ, n), pb = kt_param(b, s, CG_IR_PARAM_READ, n);
  int32_t i = gid(b, 0), x = kt_ld(b, pa, i), y = kt_ld(b, pb, i);
  for (int k = 0; k < nops; k++) {
    int op = ops[k], cmp = op == CG_IR_CMPLT || op == CG_IR_CMPNE || op == CG_IR_CMPEQ;
    int32_t r = kt_op(b, (cg_ir_op)op, cg_ir_t(cmp ? CG_IR_BOOL : s), op == CG_IR_MULACC ? 3 : 2, x, y, x, 0);
    if (cmp) r = kt_op(b, CG_IR_CAST, cg_ir_t(s), 1, r, 0, 0, 0);
    kt_st(b, out, slot(b, k, n, i), r);
  }
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_reduce(int groups, int k) {
  cg_ir_builder *b = cg_irb_new("r_sum");
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, groups);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, (int64_t)groups * k);
  int32_t g = gid(b, 0), zero = ci(b, 0);
  int32_t acc = kt_op(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, 0, 0, 0, 1);
  kt_st(b, acc, zero, cg_irb_const_f(b, CG_IR_FLOAT32, 0.0));
  int32_t base = kt_op(b, CG_IR_MUL, I32, 2, g, ci(b, k), 0, 0);
  int32_t j = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, k), 0, 0);
  int32_t v = kt_ld(b, a, kt_op(b, CG_IR_ADD, I32, 2, base, j, 0, 0));
  kt_st(b, acc, zero, kt_op(b, CG_IR_ADD, F, 2, kt_ld(b, acc, zero), v, 0, 0));
  kt_op(b, CG_IR_ENDRANGE, cg_ir_t(CG_IR_VOID), 1, j, 0, 0, 0);
  kt_st(b, out, g, kt_ld(b, acc, zero));
  return kt_finish(b, (uint32_t)groups, 1, 1);
}

cg_ir_program *kt_gated(int n) {
  cg_ir_builder *b = cg_irb_new("gated");
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32), B = cg_ir_t(CG_IR_BOOL);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  int32_t out2 = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  cg_irb_var(b, "n", 0, n);
  int32_t i = gid(b, 0), vn = kt_op(b, CG_IR_VAR, I32, 0, 0, 0, 0, 0);
  int32_t gate = kt_op(b, CG_IR_CMPLT, B, 2, i, vn, 0, 0);
  int32_t v = kt_op(b, CG_IR_LOAD, F, 3, kt_at(b, a, i, 1), gate, cg_irb_const_f(b, CG_IR_FLOAT32, -1.0), 0);
  kt_st(b, out, i, v);
  int32_t even = kt_op(b, CG_IR_CMPEQ, B, 2, kt_op(b, CG_IR_MOD, I32, 2, i, ci(b, 2), 0, 0), ci(b, 0), 0, 0);
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 3, kt_at(b, out2, i, 1), kt_ld(b, a, i), even, 0);
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_casts(int n) {
  static const cg_ir_scalar to[] = {CG_IR_INT32, CG_IR_UINT8, CG_IR_INT8, CG_IR_UINT64, CG_IR_BOOL,
                                    CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_FLOAT64, CG_IR_INT64};
  cg_ir_builder *b = cg_irb_new("casts");
  int32_t outs[9];
  for (int k = 0; k < 9; k++) outs[k] = kt_param(b, to[k], CG_IR_PARAM_WRITE, n);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  int32_t i = gid(b, 0), x = kt_ld(b, a, i);
  for (int k = 0; k < 9; k++) kt_st(b, outs[k], i, kt_op(b, CG_IR_CAST, cg_ir_t(to[k]), 1, x, 0, 0, 0));
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_half(cg_ir_scalar s, int n) {
  static const cg_ir_op ops[] = {CG_IR_ADD, CG_IR_MUL, CG_IR_FDIV, CG_IR_SQRT, CG_IR_MULACC, CG_IR_MAX};
  cg_ir_builder *b = cg_irb_new(s == CG_IR_FLOAT16 ? "half_f16" : "half_bf16");
  const cg_ir_type H = cg_ir_t(s);
  int32_t out = kt_param(b, s, CG_IR_PARAM_WRITE, 6 * n);
  int32_t pa = kt_param(b, s, CG_IR_PARAM_READ, n), pb = kt_param(b, s, CG_IR_PARAM_READ, n);
  int32_t i = gid(b, 0), x = kt_ld(b, pa, i), y = kt_ld(b, pb, i);
  for (int k = 0; k < 6; k++) {
    int nsrc = ops[k] == CG_IR_SQRT ? 1 : ops[k] == CG_IR_MULACC ? 3 : 2;
    kt_st(b, out, slot(b, k, n, i), kt_op(b, ops[k], H, nsrc, x, y, x, 0));
  }
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_vector(int n) {
  cg_ir_builder *b = cg_irb_new("vec4");
  const cg_ir_type F4 = kt_vec(CG_IR_FLOAT32, 4), I4 = kt_vec(CG_IR_INT32, 4), B4 = kt_vec(CG_IR_BOOL, 4);
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 4 * n);
  int32_t iout = kt_param(b, CG_IR_INT32, CG_IR_PARAM_WRITE, 4 * n);
  int32_t wout = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 4 * n);
  int32_t pa = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 4 * n);
  int32_t pb = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 4 * n);
  int32_t pi = kt_param(b, CG_IR_INT32, CG_IR_PARAM_READ, 4 * n);
  int32_t i = gid(b, 0), i4 = kt_op(b, CG_IR_MUL, I32, 2, i, ci(b, 4), 0, 0);
  int32_t x = kt_op(b, CG_IR_LOAD, F4, 1, kt_at(b, pa, i4, 4), 0, 0, 0);
  int32_t y = kt_op(b, CG_IR_LOAD, F4, 1, kt_at(b, pb, i4, 4), 0, 0, 0);
  int32_t m = kt_op(b, CG_IR_MULACC, F4, 3, x, y, x, 0);
  int32_t l[4];
  for (int k = 0; k < 4; k++) l[k] = kt_op(b, CG_IR_GEP, F, 1, m, 0, 0, 3 - k);
  int32_t srcs[4] = {l[0], l[1], l[2], l[3]};
  int32_t rev = cg_irb_emit(b, CG_IR_VECTORIZE, F4, 4, srcs, 0);
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, kt_at(b, out, i4, 4), rev, 0, 0);
  /* int4: a / (b - 3) with some zero divisors */
  int32_t xi = kt_op(b, CG_IR_LOAD, I4, 1, kt_at(b, pi, i4, 4), 0, 0, 0);
  int32_t three = ci(b, 3);
  int32_t s3[4] = {three, three, three, three};
  int32_t d = kt_op(b, CG_IR_SUB, I4, 2, xi, cg_irb_emit(b, CG_IR_VECTORIZE, I4, 4, s3, 0), 0, 0);
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, kt_at(b, iout, i4, 4), kt_op(b, CG_IR_IDIV, I4, 2, xi, d, 0, 0), 0, 0);
  /* bool4: where(a < b, a, b) */
  int32_t lt = kt_op(b, CG_IR_CMPLT, B4, 2, x, y, 0, 0);
  kt_op(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, kt_at(b, wout, i4, 4), kt_op(b, CG_IR_WHERE, F4, 3, lt, x, y, 0), 0, 0);
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_grid3(int gx, int gy, int gz) {
  cg_ir_builder *b = cg_irb_new("grid3");
  int32_t out = kt_param(b, CG_IR_INT32, CG_IR_PARAM_WRITE, (int64_t)gx * gy * gz);
  int32_t x = gid(b, 0), y = gid(b, 1), z = gid(b, 2);
  int32_t idx = kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2,
                      kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, z, ci(b, gy), 0, 0), y, 0, 0), ci(b, gx), 0, 0), x, 0, 0);
  int32_t v = kt_op(b, CG_IR_ADD, I32, 2, x, kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, y, ci(b, 100), 0, 0),
                    kt_op(b, CG_IR_MUL, I32, 2, z, ci(b, 10000), 0, 0), 0, 0), 0, 0);
  kt_st(b, out, idx, v);
  return kt_finish(b, (uint32_t)gx, (uint32_t)gy, (uint32_t)gz);
}

cg_ir_program *kt_local(int n) {
  cg_ir_builder *b = cg_irb_new("local_mem");
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  int32_t sm = kt_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, 4);
  int32_t i = gid(b, 0), lid = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 3);
  kt_st(b, sm, lid, kt_op(b, CG_IR_MUL, F, 2, kt_ld(b, a, i), cg_irb_const_f(b, CG_IR_FLOAT32, 2.0), 0, 0));
  kt_op(b, CG_IR_BARRIER, cg_ir_t(CG_IR_VOID), 0, 0, 0, 0, 0);
  kt_st(b, out, i, kt_ld(b, sm, lid));
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_bitcast(int n) {
  cg_ir_builder *b = cg_irb_new("bitcast");
  int32_t ou = kt_param(b, CG_IR_UINT32, CG_IR_PARAM_WRITE, n);
  int32_t of = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, n);
  int32_t oh = kt_param(b, CG_IR_UINT16, CG_IR_PARAM_WRITE, n);
  int32_t pf = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, n);
  int32_t ph = kt_param(b, CG_IR_FLOAT16, CG_IR_PARAM_READ, n);
  int32_t i = gid(b, 0), x = kt_ld(b, pf, i), h = kt_ld(b, ph, i);
  int32_t u = kt_op(b, CG_IR_BITCAST, cg_ir_t(CG_IR_UINT32), 1, x, 0, 0, 0);
  kt_st(b, ou, i, u);
  kt_st(b, of, i, kt_op(b, CG_IR_BITCAST, cg_ir_t(CG_IR_FLOAT32), 1,
                        kt_op(b, CG_IR_XOR, cg_ir_t(CG_IR_UINT32), 2, u, cg_irb_const_i(b, CG_IR_UINT32, 0x80000000u), 0, 0), 0, 0, 0));
  kt_st(b, oh, i, kt_op(b, CG_IR_BITCAST, cg_ir_t(CG_IR_UINT16), 1, h, 0, 0, 0));
  return kt_finish(b, (uint32_t)n, 1, 1);
}

cg_ir_program *kt_groupsum(int groups, int l) {
  cg_ir_builder *b = cg_irb_new("groupsum");
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32), V = cg_ir_t(CG_IR_VOID);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, groups);
  int32_t a = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, (int64_t)groups * l);
  int32_t sm = kt_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, l);
  int32_t acc = kt_op(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, 0, 0, 0, 1);
  int32_t g = gid(b, 0), lid = kt_op(b, CG_IR_SPECIAL, I32, 0, 0, 0, 0, 3), zero = ci(b, 0);
  int32_t at = kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, g, ci(b, l), 0, 0), lid, 0, 0);
  kt_st(b, sm, lid, kt_ld(b, a, at));
  kt_op(b, CG_IR_BARRIER, V, 0, 0, 0, 0, 0);
  int32_t first = kt_op(b, CG_IR_IF, V, 1, kt_op(b, CG_IR_CMPEQ, cg_ir_t(CG_IR_BOOL), 2, lid, zero, 0, 0), 0, 0, 0);
  kt_st(b, acc, zero, cg_irb_const_f(b, CG_IR_FLOAT32, 0.0));
  int32_t j = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, l), 0, 0);
  kt_st(b, acc, zero, kt_op(b, CG_IR_ADD, F, 2, kt_ld(b, acc, zero), kt_ld(b, sm, j), 0, 0));
  kt_op(b, CG_IR_ENDRANGE, V, 1, j, 0, 0, 0);
  kt_st(b, out, g, kt_ld(b, acc, zero));
  kt_op(b, CG_IR_ENDIF, V, 1, first, 0, 0, 0);
  uint32_t gl[3] = {(uint32_t)groups, 1, 1}, lo[3] = {(uint32_t)l, 1, 1};
  cg_irb_set_launch(b, gl, lo);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

cg_ir_program *kt_regacc(void) {
  cg_ir_builder *b = cg_irb_new("r_5_4");
  const cg_ir_type F = cg_ir_t(CG_IR_FLOAT32), V = cg_ir_t(CG_IR_VOID);
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 20);
  int32_t x = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 30), y = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 24);
  int32_t acc = kt_op(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, 0, 0, 0, 20);
  int32_t zero = ci(b, 0), i = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, 20), 0, 0);
  kt_st(b, acc, i, cg_irb_const_f(b, CG_IR_FLOAT32, 0.0));
  kt_op(b, CG_IR_ENDRANGE, V, 1, i, 0, 0, 0);
  int32_t ra = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, 2), 0, 0), rb = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, 3), 0, 0);
  int32_t r = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, 20), 0, 0), four = ci(b, 4);
  int32_t xi = kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_IDIV, I32, 2, r, four, 0, 0),
                     kt_op(b, CG_IR_MUL, I32, 2, ra, ci(b, 15), 0, 0), 0, 0), kt_op(b, CG_IR_MUL, I32, 2, rb, ci(b, 5), 0, 0), 0, 0);
  int32_t yi = kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_ADD, I32, 2, kt_op(b, CG_IR_MUL, I32, 2, ra, ci(b, 12), 0, 0),
                     kt_op(b, CG_IR_MOD, I32, 2, r, four, 0, 0), 0, 0), kt_op(b, CG_IR_MUL, I32, 2, rb, four, 0, 0), 0, 0);
  int32_t prod = kt_op(b, CG_IR_MUL, F, 2, kt_ld(b, x, xi), kt_ld(b, y, yi), 0, 0);
  kt_st(b, acc, r, kt_op(b, CG_IR_ADD, F, 2, kt_ld(b, acc, r), prod, 0, 0));
  kt_op(b, CG_IR_ENDRANGE, V, 1, r, 0, 0, 0);
  kt_op(b, CG_IR_ENDRANGE, V, 1, rb, 0, 0, 0);
  kt_op(b, CG_IR_ENDRANGE, V, 1, ra, 0, 0, 0);
  int32_t o = kt_op(b, CG_IR_RANGE, I32, 2, zero, ci(b, 20), 0, 0);
  kt_st(b, out, o, kt_ld(b, acc, o));
  kt_op(b, CG_IR_ENDRANGE, V, 1, o, 0, 0, 0);
  return kt_finish(b, 1, 1, 1);
}
