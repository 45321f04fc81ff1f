/* Tensor-core matmul kernels: the TC opt (docs/internals.md, "Tensor cores").
 *
 *   pattern   the kernel AST without opts is STORE(out, f(KREDUCE ADD f32 over ONE
 *             reduce range of [CAST f32](MUL(x, y)))), x and y LOADs (optionally CAST to
 *             f32) of the same f16/bf16 type, ungated, f an elementwise epilogue of
 *             constants and ungated LOADs (casts, bias, relu, residual), every index
 *             affine in the loop ranges. N = the innermost output axis exactly one
 *             operand (B) depends on, M = the innermost other output axis only A depends
 *             on, K = the reduce axis; every other output axis is a batch axis.
 *   opt       {TC, K axis, 16}: the device's tensor-core shape 16 x 8 x 16 for the input
 *             type; M, N, K must divide by 16, 8, 16 (no leftover loop: else illegal).
 *             Fragments become the innermost part of M, N, K (cg_axis.frag); after it,
 *             UPCAST of M/N = fragments per warp, LOCAL of M/N = warps per work-group,
 *             UNROLL of K = 16-steps per loop iteration. Nothing else.
 *   lowering  straight to IR with the builder (no UOp AST): one warp per fragment tile,
 *             lanes hold the elements docs/ir.md's WMMA layout gives them. With an even
 *             UNROLL, k is permuted inside each 32-step (docs/ir.md, WMMA rules) so that
 *             a lane's 8 values of one row of A (column of B) are adjacent in k: one
 *             16-byte LOAD when that operand is contiguous in k and aligned, else scalar
 *             LOADs. Accumulators f32x4 in a DEFINE_REG; the epilogue f per element, stored.
 *
 * Hooks: opt.c calls these from plan init/apply, the GPU heuristics and lower/linearize. */
#include "cgrad/ir_util.h"
#include "runtime.h"
#include "schedule.h"
#include "symbolic.h"
#include "tc.h"

/* ---- pattern ---------------------------------------------------------------------- */

enum { OA, OB, OO }; /* operand A, B, the output */

typedef struct {
  int nr;                        /* ranges: the output axes, then the reduce axis */
  UOp *r[CG_MAX_AXES + 1];
  int64_t c[3][CG_MAX_AXES + 1]; /* stride of A's, B's, the output's index per range */
  int64_t c0[3];                 /* constant offsets */
  int param[3];                  /* param index of A, B, out */
  cg_dtype in;                   /* fragment input type */
  UOp *epi, *red;                /* the stored value, the KREDUCE inside it */
  int nload;                     /* epilogue LOADs (bias, residual) and their strides */
  UOp *load[8];
  int64_t lc[8][CG_MAX_AXES + 1], lc0[8];
  int m, n;                      /* output axes of M and N */
} tc_pat;

/* e * mult added to the affine form (c, c0) over p's ranges; false if not affine. */
static bool affine(UOp *e, const tc_pat *p, int64_t mult, int64_t *c, int64_t *c0) {
  switch (e->op) {
  case UOP_CONST: *c0 += mult * (int64_t)e->val; return true;
  case UOP_RANGE:
    for (int i = 0; i < p->nr; i++)
      if (p->r[i] == e) { c[i] += mult; return true; }
    return false;
  case UOP_ADD: return affine(e->src[0], p, mult, c, c0) && affine(e->src[1], p, mult, c, c0);
  case UOP_MUL:
    if (e->src[1]->op == UOP_CONST) return affine(e->src[0], p, mult * (int64_t)e->src[1]->val, c, c0);
    if (e->src[0]->op == UOP_CONST) return affine(e->src[1], p, mult * (int64_t)e->src[0]->val, c, c0);
    return false;
  default: return false;
  }
}

/* The IR op of an ALU uop (same names), or -1. */
static int ir_op(int uop) {
  for (int i = 0; i < CG_IR_OP_COUNT; i++)
    if (!strcmp(uop_names[uop], cg_ir_op_name(i))) return i;
  return -1;
}

static bool half(int dt) { return dt == CG_FLOAT16 || dt == CG_BFLOAT16; }

/* An ungated LOAD of a buffer, optionally CAST to f32; NULL otherwise. */
static UOp *operand(UOp *u) {
  if (u->op == UOP_CAST && u->dtype == CG_FLOAT32) u = u->src[0];
  if (u->op != UOP_LOAD || u->src[0]->op != UOP_PARAM || !half(u->dtype)) return NULL;
  return u->src[2]->op == UOP_CONST && u->src[2]->val != 0 ? u : NULL;
}

/* Epilogue: an elementwise tree over the reduce, constants and ungated LOADs (indexes set
 * after the ranges are known); false for anything else or a second reduce. */
static bool epilogue(UOp *u, tc_pat *p, int depth) {
  if (u->op == UOP_KREDUCE) return !p->red || p->red == u ? (p->red = u, true) : false;
  if (u->op == UOP_CONST) return true;
  if (u->op == UOP_LOAD) {
    for (int i = 0; i < p->nload; i++)
      if (p->load[i] == u) return true;
    if (p->nload == 8 || u->src[0]->op != UOP_PARAM || u->src[2]->op != UOP_CONST || !u->src[2]->val) return false;
    p->load[p->nload++] = u;
    return true;
  }
  if (!uop_is(u, G_A) || depth > 32 || ir_op(u->op) < 0) return false;
  for (int i = 0; i < u->nsrc; i++)
    if (!epilogue(u->src[i], p, depth + 1)) return false;
  return true;
}

/* The pattern of a kernel lowered without opts (every output axis a LOOP range). */
static bool match(const cg_kernel *k, const cg_plan *plan, tc_pat *p) {
  memset(p, 0, sizeof *p);
  if (plan->flat || plan->naxes != plan->nout + 1 || plan->nout < 2 || k->nvars || k->sink->nsrc != 1) return false;
  UOp *st = k->sink->src[0], *v;
  if (st->op != UOP_STORE || st->nsrc != 3 || st->src[0]->op != UOP_PARAM) return false;
  p->epi = st->src[2];
  if (!epilogue(p->epi, p, 0) || !(v = p->red)) return false;
  if (v->op != UOP_KREDUCE || v->args[0] != UOP_ADD || v->nsrc != 2 || v->dtype != CG_FLOAT32) return false;
  UOp *mul = v->src[0];
  if (mul->op == UOP_CAST && mul->dtype == CG_FLOAT32) mul = mul->src[0];
  if (mul->op != UOP_MUL) return false;
  UOp *x = operand(mul->src[0]), *y = operand(mul->src[1]);
  if (!x || !y || x->dtype != y->dtype || (mul->dtype != x->dtype && mul->dtype != CG_FLOAT32)) return false;
  p->in = (cg_dtype)x->dtype;
  p->nr = plan->nout + 1;
  for (int a = 0; a < plan->nout; a++) {
    p->r[a] = k->axis_range[a];
    if (!p->r[a] || p->r[a]->op != UOP_RANGE) return false;
  }
  p->r[plan->nout] = v->src[1];
  UOp *load[3] = {x, y, st};
  for (int o = 0; o < 3; o++)
    if (!affine(load[o]->src[1], p, 1, p->c[o], &p->c0[o])) return false;
  for (int i = 0; i < p->nload; i++)
    if (!affine(p->load[i]->src[1], p, 1, p->lc[i], &p->lc0[i]) || p->lc[i][plan->nout]) return false;
  int K = plan->nout, swap = -1;
  if (!p->c[OA][K] || !p->c[OB][K]) return false;
  p->m = p->n = -1;
  for (int a = plan->nout - 1; a >= 0 && p->n < 0; a--)
    if ((p->c[OA][a] != 0) != (p->c[OB][a] != 0)) p->n = a, swap = p->c[OA][a] != 0;
  if (p->n < 0) return false;
  if (swap) { /* B is the operand that depends on N */
    UOp *t = load[OA]; load[OA] = load[OB]; load[OB] = t;
    for (int i = 0; i < p->nr; i++) { int64_t s = p->c[OA][i]; p->c[OA][i] = p->c[OB][i]; p->c[OB][i] = s; }
    int64_t s = p->c0[OA]; p->c0[OA] = p->c0[OB]; p->c0[OB] = s;
  }
  for (int a = plan->nout - 1; a >= 0 && p->m < 0; a--)
    if (a != p->n && p->c[OA][a] && !p->c[OB][a]) p->m = a;
  for (int o = 0; o < 3; o++) p->param[o] = (int)load[o]->src[0]->args[0];
  return p->m >= 0 && p->c[OO][p->m] && p->c[OO][p->n];
}

/* The plan's axes without opts, every output axis a LOOP: probe lowering of the pattern. */
static int probe(UOp *root, const cg_plan *plan, cg_kernel *k) {
  static const cg_device_props none;
  cg_plan pr = *plan;
  pr.nopts = 0;
  pr.tc_shape = 0;
  for (int a = 0; a < pr.naxes; a++) {
    cg_axis *x = &pr.ax[a];
    x->frag = 0;
    for (int i = 0; i < 4; i++) x->part[i] = 1;
    x->part[x->reduce ? CG_P_RLOOP : CG_P_LOOP] = x->size;
  }
  memset(k, 0, sizeof *k);
  return cg__lower(root, &none, &pr, k);
}

/* Cheap test on the tensor graph before a probe: a SUM of a 16-bit MUL (or of an f32 MUL
 * of two CASTs) under elementwise/movement ops of the kernel (at most 64 nodes looked at). */
static bool sum_of_half_mul(UOp *u) {
  if (u->op != UOP_REDUCE_SUM) return false;
  u = u->src[0];
  if (u->op == UOP_CAST && !u->realized) u = u->src[0];
  if (u->op != UOP_MUL || u->realized) return false;
  if (half(u->dtype)) return true;
  for (int i = 0; i < 2; i++) {
    UOp *s = u->src[i];
    while (uop_is(s, G_M) && !s->realized) s = s->src[0];
    if (s->op != UOP_CAST || !half(s->src[0]->dtype)) return false;
  }
  return u->dtype == CG_FLOAT32;
}

static bool looks_like(UOp *u, int *budget, bool top) {
  if (--*budget < 0 || (!top && u->realized) || u->op == UOP_BUFFER) return false;
  if (u->op == UOP_REDUCE_SUM) return sum_of_half_mul(u);
  if (!uop_is(u, G_A | G_M) && u->op != UOP_CONTIGUOUS) return false;
  for (int i = 0; i < u->nsrc; i++)
    if (looks_like(u->src[i], budget, false)) return true;
  return false;
}

void cg__tc_init(UOp *root, cg_plan *plan) {
  plan->tc_in = 0;
  plan->tc_m = plan->tc_n = -1;
  int budget = 64;
  if (plan->flat || plan->naxes != plan->nout + 1 || plan->nout < 2 || !looks_like(root, &budget, true)) return;
  cg_kernel k;
  tc_pat p;
  if (probe(root, plan, &k)) { cg__clear_error(); return; }
  if (!match(&k, plan, &p)) return;
  plan->tc_in = (uint8_t)p.in;
  plan->tc_m = (int8_t)p.m;
  plan->tc_n = (int8_t)p.n;
}

/* ---- legality and heuristic ---------------------------------------------------------- */

static int shape_id(const cg_device_props *props, int in, int k) {
  for (uint32_t i = 0; i < props->n_tc_shapes && i < 8; i++) {
    const uint16_t *s = props->tc_shapes[i];
    if (s[0] == 16 && s[1] == 8 && s[2] == k && s[3] == in) return (int)i;
  }
  return -1;
}

int cg__tc_apply(cg_plan *plan, cg_opt o, const cg_device_props *props) {
  if (!plan->tc_in || plan->tc_shape || plan->nopts || o.axis != plan->nout || o.amt != 16) return -1;
  if (props->max_local_size < 32 || (props->warp_size && props->warp_size != 32)) return -1;
  int id = shape_id(props, plan->tc_in, o.amt);
  cg_plan p = *plan;
  cg_axis *m = &p.ax[p.tc_m], *n = &p.ax[p.tc_n], *k = &p.ax[p.nout];
  if (id < 0 || m->size % 16 || n->size % 8 || k->size % 16) return -1;
  m->frag = 16, n->frag = 8, k->frag = 16;
  m->part[0] = m->size / 16, n->part[0] = n->size / 8, k->part[0] = k->size / 16;
  p.tc_shape = (int8_t)(id + 1);
  p.opts[p.nopts++] = o;
  *plan = p;
  return 0;
}

bool cg__tc_allows(const cg_plan *p, cg_opt o, const cg_device_props *props) {
  const cg_axis *a = &p->ax[o.axis], *m = &p->ax[p->tc_m], *n = &p->ax[p->tc_n];
  bool mn = o.axis == p->tc_m || o.axis == p->tc_n;
  switch (o.op) {
  case CG_OPT_UPCAST: return mn && m->part[CG_P_UPCAST] * n->part[CG_P_UPCAST] * o.amt <= 32;
  case CG_OPT_UNROLL: return o.axis == p->nout && o.amt <= 8;
  case CG_OPT_LOCAL: {
    if (!mn || a->part[CG_P_LOCAL] != 1) return false;
    int64_t rest = a->size / (a->part[1] * a->part[2] * a->part[3] * a->frag), warps;
    warps = m->part[CG_P_LOCAL] * n->part[CG_P_LOCAL] * o.amt;
    return rest % o.amt == 0 && warps <= 16 && 32 * warps <= (int64_t)props->max_local_size;
  }
  default: return false;
  }
}

static void try_opt(cg_plan *p, int op, int axis, int64_t amt, const cg_device_props *props) {
  cg__plan_apply(p, (cg_opt){(uint8_t)op, (uint8_t)axis, (uint16_t)amt}, props);
}

/* Applies {UPCAST M um, UPCAST N un, LOCAL M wm, LOCAL N wn} (amounts 1 skipped); all or nothing. */
static bool tile(cg_plan *p, const int *c, const cg_device_props *props) {
  cg_plan q = *p;
  static const int ops[4] = {CG_OPT_UPCAST, CG_OPT_UPCAST, CG_OPT_LOCAL, CG_OPT_LOCAL};
  for (int i = 0; i < 4; i++)
    if (c[i] > 1 && cg__plan_apply(&q, (cg_opt){(uint8_t)ops[i], (uint8_t)(i % 2 ? p->tc_n : p->tc_m), (uint16_t)c[i]}, props))
      return false;
  *p = q;
  return true;
}

/* TC, UNROLL K 2, then the first tile {um, un, wm, wn} of the list that fits and leaves
 * at least one work-group per compute unit (else the last that fits). First: 4 warps
 * (2 x 2) of 4 x 8 fragments, a 128 x 128 output tile per work-group: the best of a sweep
 * on the H100 at 4096 (tests/opt/tc_sweep.c, docs/performance.md). */
bool cg__tc_heuristic(cg_plan *p, const cg_device_props *props) {
  static const int tiles[][4] = {{4, 8, 2, 2}, {4, 4, 2, 2}, {2, 4, 2, 2}, {2, 2, 2, 2}, {2, 2, 1, 2},
                                 {2, 2, 1, 1}, {1, 2, 1, 1}, {1, 1, 1, 1}};
  if (!p->tc_in || !props->n_tc_shapes) return false;
  if (cg__plan_apply(p, (cg_opt){CG_OPT_TC, (uint8_t)p->nout, 16}, props)) return false;
  try_opt(p, CG_OPT_UNROLL, p->nout, 2, props);
  cg_plan best = *p, q;
  for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
    q = *p;
    if (!tile(&q, tiles[i], props)) continue;
    int64_t ng = 1;
    for (int a = 0; a < q.nout; a++) ng *= q.ax[a].part[CG_P_GLOBAL];
    best = q;
    if (ng >= (int64_t)props->compute_units) break;
  }
  *p = best;
  return true;
}

int cg__tc_lower(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k) {
  (void)props;
  tc_pat p;
  if (probe(root, plan, k)) return -1;
  if (!match(k, plan, &p) || p.m != plan->tc_m || p.n != plan->tc_n || p.in != plan->tc_in) {
    cg__error(CG_ERR_INVALID, "TC: kernel %s is not a tensor-core matmul", k->name);
    return -1;
  }
  k->plan = *plan;
  int64_t ng = 1;
  for (int a = 0; a < plan->nout; a++) ng *= plan->ax[a].part[CG_P_GLOBAL];
  k->global[0] = (uint32_t)ng;
  k->local[0] = (uint32_t)(32 * plan->ax[plan->tc_m].part[CG_P_LOCAL] * plan->ax[plan->tc_n].part[CG_P_LOCAL]);
  return 0;
}

/* ---- IR ------------------------------------------------------------------------- */

typedef struct {
  cg_ir_builder *b;
  tc_pat p;
  cg_ir_scalar in;
  int32_t ptr[3];        /* PARAM instructions of A, B, out */
  int32_t off[3];        /* batch part + constant of each index */
  int vw[3];             /* vector width each may use (alignment of its offsets) */
  int32_t lptr[8], loff[8]; /* epilogue loads: PARAM, batch part + constant */
} tb;

static int32_t ci(tb *t, int64_t v) { return cg_irb_const_i(t->b, CG_IR_INT32, v); }
static int32_t op2(tb *t, cg_ir_op op, int32_t x, int32_t y) {
  int32_t s[2] = {x, y};
  return cg_irb_emit(t->b, op, cg_ir_t(CG_IR_INT32), 2, s, 0);
}
static int32_t addc(tb *t, int32_t x, int64_t c) { return c ? op2(t, CG_IR_ADD, x, ci(t, c)) : x; }
static int32_t mulc(tb *t, int32_t x, int64_t c) { return c == 1 ? x : op2(t, CG_IR_MUL, x, ci(t, c)); }
static int32_t gep(tb *t, int32_t v, cg_ir_scalar s, int lane) {
  return cg_irb_emit(t->b, CG_IR_GEP, cg_ir_t(s), 1, &v, lane);
}
static int32_t vec(tb *t, cg_ir_scalar s, int n, const int32_t *e) {
  cg_ir_type ty = cg_ir_t(s);
  ty.vec = (uint8_t)n;
  return cg_irb_emit(t->b, CG_IR_VECTORIZE, ty, n, e, 0);
}
static int32_t index_of(tb *t, int32_t ptr, cg_ir_scalar s, cg_ir_addrspace sp, int n, int32_t i) {
  cg_ir_type ty = cg_ir_ptr(s, sp);
  ty.vec = (uint8_t)n;
  int32_t src[2] = {ptr, i};
  return cg_irb_emit(t->b, CG_IR_INDEX, ty, 2, src, 0);
}
static int32_t load(tb *t, int32_t ptr, cg_ir_scalar s, int n) {
  cg_ir_type ty = cg_ir_t(s);
  ty.vec = (uint8_t)n;
  return cg_irb_emit(t->b, CG_IR_LOAD, ty, 1, &ptr, 0);
}
static void store(tb *t, int32_t ptr, int32_t v) {
  int32_t s[2] = {ptr, v};
  cg_irb_emit(t->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, s, 0);
}

/* n values of operand o at row offset `row` and k = kx + dk[i] (IR kx): runs of w
 * consecutive dk as one vector LOAD when o is contiguous in k and aligned, else scalars. */
static void fetch(tb *t, int o, int32_t row, int32_t kx, const int *dk, int n, int w, int32_t *out) {
  int64_t ck = t->p.c[o][t->p.nr - 1];
  if (ck != 1 || t->vw[o] < w) w = 1;
  for (int i = 0; i < n; i += w) {
    int32_t k = addc(t, kx, dk[i]);
    int32_t ix = op2(t, CG_IR_ADD, row, mulc(t, k, ck));
    int32_t v = load(t, index_of(t, t->ptr[o], t->in, CG_IR_AS_GLOBAL, w, ix), t->in, w);
    for (int j = 0; j < w; j++) out[i + j] = w == 1 ? v : gep(t, v, t->in, j);
  }
}

#define EPI_MEMO 64
typedef struct { UOp *u; int32_t v; } memo;

/* The epilogue's value for the output element at (row, col) whose f32 sum is `sum`. */
static int32_t emit_epi(tb *t, UOp *u, int32_t sum, int32_t row, int32_t col, memo *m, int *nm) {
  for (int i = 0; i < *nm; i++)
    if (m[i].u == u) return m[i].v;
  const tc_pat *p = &t->p;
  cg_ir_scalar s = (cg_ir_scalar)u->dtype;
  int32_t v, src[3];
  if (u == p->red) {
    v = sum;
  } else if (u->op == UOP_CONST) {
    v = cg_ir_is_float(s) ? cg_irb_const_f(t->b, s, u->val) : cg_irb_const_i(t->b, s, (int64_t)u->val);
  } else if (u->op == UOP_LOAD) {
    int l = 0;
    while (p->load[l] != u) l++;
    int32_t ix = op2(t, CG_IR_ADD, t->loff[l], op2(t, CG_IR_ADD, mulc(t, row, p->lc[l][p->m]), mulc(t, col, p->lc[l][p->n])));
    v = load(t, index_of(t, t->lptr[l], s, CG_IR_AS_GLOBAL, 1, ix), s, 1);
  } else {
    for (int i = 0; i < u->nsrc; i++) src[i] = emit_epi(t, u->src[i], sum, row, col, m, nm);
    v = cg_irb_emit(t->b, (cg_ir_op)ir_op(u->op), cg_ir_t(s), u->nsrc, src, 0);
  }
  if (*nm < EPI_MEMO) m[(*nm)++] = (memo){u, v};
  return v;
}

/* Largest of 8, 2, 1 dividing every stride but k's and the constant of operand o. */
static int align_of(const tc_pat *p, int o) {
  int w = 8;
  for (int i = 0; i < p->nr - (o != OO); i++) {
    if (o == OO && i == p->n) continue;                /* the output's column: 2t, even */
    while (w > 1 && p->c[o][i] % w) w = w > 2 ? 2 : 1;
  }
  while (w > 1 && p->c0[o] % w) w = w > 2 ? 2 : 1;
  return w;
}

cg_ir_program *cg__tc_linearize(const cg_kernel *k) {
  const cg_plan *pl = &k->plan;
  tb t = {.b = cg_irb_new(k->name)};
  if (!match(k, pl, &t.p)) {
    cg_irb_free(t.b);
    cg__error(CG_ERR_INVALID, "TC: kernel %s is not a tensor-core matmul", k->name);
    return NULL;
  }
  tc_pat *p = &t.p;
  t.in = (cg_ir_scalar)p->in;
  const cg_axis *ax = pl->ax, *am = &ax[p->m], *an = &ax[p->n], *ak = &ax[pl->nout];
  int64_t um = am->part[CG_P_UPCAST], un = an->part[CG_P_UPCAST], wm = am->part[CG_P_LOCAL];
  int64_t uk = ak->part[CG_P_UNROLL], nk = ak->part[CG_P_RLOOP];
  int shape = pl->tc_shape - 1;
  bool perm = uk % 2 == 0;
  cg_irb_param(t.b, (cg_ir_scalar)k->out->dtype, CG_IR_PARAM_WRITE, uop_numel(k->out));
  double bytes = (double)uop_numel(k->out) * (double)cg_dtype_size(k->out->dtype);
  for (int i = 0; i < k->nin; i++) {
    cg_irb_param(t.b, (cg_ir_scalar)k->in[i]->dtype, CG_IR_PARAM_READ, uop_numel(k->in[i]));
    bytes += (double)uop_numel(k->in[i]) * (double)cg_dtype_size(k->in[i]->dtype);
  }
  for (int o = 0; o < 3; o++) {
    cg_ir_scalar s = o == OO ? (cg_ir_scalar)k->out->dtype : t.in;
    t.ptr[o] = cg_irb_emit(t.b, CG_IR_PARAM, cg_ir_ptr(s, CG_IR_AS_GLOBAL), 0, NULL, p->param[o]);
    t.vw[o] = align_of(p, o);
  }
  /* group id -> per output axis (axis 0 fastest, as lower.c), lane -> warp, g, t */
  int64_t ng = k->global[0], stride = 1;
  int32_t gid = ng > 1 ? cg_irb_emit(t.b, CG_IR_SPECIAL, cg_ir_t(CG_IR_INT32), 0, NULL, 0) : ci(&t, 0);
  int32_t lid = cg_irb_emit(t.b, CG_IR_SPECIAL, cg_ir_t(CG_IR_INT32), 0, NULL, 3 * CG_IR_SPECIAL_LOCAL);
  int32_t gm = 0, gn = 0;
  for (int o = 0; o < 3; o++) t.off[o] = ci(&t, p->c0[o]);
  for (int i = 0; i < p->nload; i++) {
    UOp *l = p->load[i];
    t.lptr[i] = cg_irb_emit(t.b, CG_IR_PARAM, cg_ir_ptr((cg_ir_scalar)l->dtype, CG_IR_AS_GLOBAL), 0, NULL, l->src[0]->args[0]);
    t.loff[i] = ci(&t, p->lc0[i]);
  }
  for (int a = 0; a < pl->nout; a++) {
    int64_t g = ax[a].part[CG_P_GLOBAL];
    int32_t ga = stride == 1 ? gid : op2(&t, CG_IR_IDIV, gid, ci(&t, stride));
    if (stride * g < ng) ga = op2(&t, CG_IR_MOD, ga, ci(&t, g));
    stride *= g;
    if (a == p->m) gm = ga;
    else if (a == p->n) gn = ga;
    else
      for (int o = 0; o < 3 + p->nload; o++) {
        int64_t c = o < 3 ? p->c[o][a] : p->lc[o - 3][a];
        int32_t *off = o < 3 ? &t.off[o] : &t.loff[o - 3];
        if (c) *off = op2(&t, CG_IR_ADD, *off, mulc(&t, ga, c));
      }
  }
  int32_t warp = op2(&t, CG_IR_IDIV, lid, ci(&t, 32)), lane = op2(&t, CG_IR_MOD, lid, ci(&t, 32));
  int32_t g = op2(&t, CG_IR_IDIV, lane, ci(&t, 4)), tt = op2(&t, CG_IR_MOD, lane, ci(&t, 4));
  int32_t wmi = op2(&t, CG_IR_MOD, warp, ci(&t, wm)), wni = op2(&t, CG_IR_IDIV, warp, ci(&t, wm));
  /* first row (M) and column (N) of the warp's tile */
  int32_t mb = mulc(&t, op2(&t, CG_IR_ADD, mulc(&t, gm, wm), wmi), um * 16);
  int32_t nb = mulc(&t, op2(&t, CG_IR_ADD, mulc(&t, gn, an->part[CG_P_LOCAL]), wni), un * 8);
  int32_t mg = op2(&t, CG_IR_ADD, mb, g), ng8 = op2(&t, CG_IR_ADD, nb, g);
  int32_t rowa[32][2], colb[32];
  for (int i = 0; i < um; i++)
    for (int h = 0; h < 2; h++)
      rowa[i][h] = op2(&t, CG_IR_ADD, t.off[OA], mulc(&t, addc(&t, mg, 16 * i + 8 * h), p->c[OA][p->m]));
  for (int j = 0; j < un; j++)
    colb[j] = op2(&t, CG_IR_ADD, t.off[OB], mulc(&t, addc(&t, ng8, 8 * j), p->c[OB][p->n]));
  /* accumulators: fragment (i, j) at acc[4 * (un * i + j)] */
  cg_ir_type f4 = cg_ir_t(CG_IR_FLOAT32);
  f4.vec = 4;
  int32_t acc = cg_irb_emit(t.b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, NULL, 4 * um * un);
  int32_t z = cg_irb_const_f(t.b, CG_IR_FLOAT32, 0), zs[4] = {z, z, z, z}, zero4 = vec(&t, CG_IR_FLOAT32, 4, zs);
  for (int f = 0; f < um * un; f++) store(&t, index_of(&t, acc, CG_IR_FLOAT32, CG_IR_AS_REG, 4, ci(&t, 4 * f)), zero4);
  int32_t rs[2] = {ci(&t, 0), ci(&t, nk)}, kk = 0, kbase = ci(&t, 0);
  if (nk > 1) {
    kk = cg_irb_emit(t.b, CG_IR_RANGE, cg_ir_t(CG_IR_INT32), 2, rs, 0);
    kbase = mulc(&t, kk, 16 * uk);
  }
  static const int d8[8] = {0, 1, 2, 3, 4, 5, 6, 7}, d4[4] = {0, 1, 8, 9};
  /* one round: a 32-step (perm: 8 adjacent k per row) or a 16-step (k 2t, 2t+1, 2t+8, 2t+9) */
  for (int64_t u = 0; u < uk; u += perm ? 2 : 1) {
    int32_t k0 = addc(&t, kbase, 16 * u), av[32][2][8], bv[32][8];
    int32_t kx = perm ? op2(&t, CG_IR_ADD, k0, mulc(&t, tt, 8)) : op2(&t, CG_IR_ADD, k0, mulc(&t, tt, 2));
    for (int i = 0; i < um; i++)
      for (int h = 0; h < 2; h++) fetch(&t, OA, rowa[i][h], kx, perm ? d8 : d4, perm ? 8 : 4, perm ? 8 : 2, av[i][h]);
    for (int j = 0; j < un; j++) fetch(&t, OB, colb[j], kx, perm ? d8 : d4, perm ? 8 : 4, perm ? 8 : 2, bv[j]);
    for (int s = 0; s < (perm ? 2 : 1); s++) {
      int32_t fa[32], fb[32], e[8];
      for (int i = 0; i < um; i++) { /* A: row g | g+8 alternating by pairs, k halves */
        for (int x = 0; x < 8; x++)
          e[x] = av[i][(x / 2) & 1][perm ? 4 * s + 2 * (x / 4) + x % 2 : 2 * (x / 4) + x % 2];
        fa[i] = vec(&t, t.in, 8, e);
      }
      for (int j = 0; j < un; j++) {
        for (int x = 0; x < 4; x++) e[x] = bv[j][perm ? 4 * s + x : x];
        fb[j] = vec(&t, t.in, 4, e);
      }
      for (int i = 0; i < um; i++)
        for (int j = 0; j < un; j++) {
          int32_t ap = index_of(&t, acc, CG_IR_FLOAT32, CG_IR_AS_REG, 4, ci(&t, 4 * (un * i + j)));
          int32_t w[3] = {fa[i], fb[j], load(&t, ap, CG_IR_FLOAT32, 4)};
          store(&t, ap, cg_irb_emit(t.b, CG_IR_WMMA, f4, 3, w, shape));
        }
    }
  }
  if (nk > 1) cg_irb_emit(t.b, CG_IR_ENDRANGE, cg_ir_t(CG_IR_VOID), 1, &kk, 0);
  /* epilogue: lane holds D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1] of each fragment */
  cg_ir_scalar os = (cg_ir_scalar)k->out->dtype;
  int64_t com = p->c[OO][p->m], con = p->c[OO][p->n];
  bool pair = con == 1 && t.vw[OO] >= 2;
  int32_t col0 = op2(&t, CG_IR_ADD, nb, mulc(&t, tt, 2));
  for (int i = 0; i < um; i++)
    for (int j = 0; j < un; j++) {
      int32_t ap = index_of(&t, acc, CG_IR_FLOAT32, CG_IR_AS_REG, 4, ci(&t, 4 * (un * i + j)));
      int32_t d = load(&t, ap, CG_IR_FLOAT32, 4);
      for (int h = 0; h < 2; h++) {
        int32_t row = addc(&t, mg, 16 * i + 8 * h), v[2], cl[2];
        for (int x = 0; x < 2; x++) {
          cl[x] = addc(&t, col0, 8 * j + x);
          memo m[EPI_MEMO];
          int nm = 0;
          v[x] = emit_epi(&t, p->epi, gep(&t, d, CG_IR_FLOAT32, 2 * h + x), row, cl[x], m, &nm);
        }
        int32_t ix = op2(&t, CG_IR_ADD, t.off[OO], op2(&t, CG_IR_ADD, mulc(&t, row, com), mulc(&t, cl[0], con)));
        if (pair) {
          store(&t, index_of(&t, t.ptr[OO], os, CG_IR_AS_GLOBAL, 2, ix), vec(&t, os, 2, v));
        } else {
          store(&t, index_of(&t, t.ptr[OO], os, CG_IR_AS_GLOBAL, 1, ix), v[0]);
          store(&t, index_of(&t, t.ptr[OO], os, CG_IR_AS_GLOBAL, 1, addc(&t, ix, con)), v[1]);
        }
      }
    }
  double flops = 2.0 * (double)uop_numel(k->out) * (double)ak->size;
  cg_irb_set_launch(t.b, k->global, k->local);
  cg_irb_set_cost(t.b, (uint64_t)flops, (uint64_t)bytes);
  cg_ir_program *prog = cg_irb_finish(t.b);
  cg_irb_free(t.b);
  if (!prog) cg__error(CG_ERR_INVALID, "TC: kernel %s: IR builder failed", k->name);
  return prog;
}
