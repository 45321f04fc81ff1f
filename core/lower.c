/* Lowering one kernel: walk the tensor graph from the kernel's root with a vector of
 * index expressions (one per dim) and a validity condition, turning movement ops into
 * index math and realized nodes into gated LOADs; then simplify symbolically.
 *
 *   RESHAPE  idx -> unflatten(flatten(idx))      PERMUTE  idx -> idx[inverse order]
 *   EXPAND   idx_i -> 0 where the src dim is 1    PAD      idx_i - before, valid &= in range
 *   SHRINK   idx_i + start                        FLIP     n-1 - idx_i
 *   REDUCE   reduced axes -> new loop RANGEs, value = KREDUCE(src value, ranges)
 *
 * Output layout comes from the optimizer's plan (schedule.h): each output axis index is
 * composed of group-grid, local, loop and upcast RANGEs, each reduce axis of loop, group
 * (local) and unroll RANGEs; an axis whose parts overshoot its size is gated. */
#include "runtime.h"
#include "schedule.h"
#include "symbolic.h"

#define IDX CG_INT32

typedef struct memo_e {
  UOp *node, *valid, *idx[CG_MAX_DIMS], *val;
  struct memo_e *next;
} memo_e;

typedef struct {
  cg_kernel *k;
  int next_range;
  memo_e *buckets[1024];
  int err;
  bool reduce;
  const cg_plan *plan;
  int nlocal;          /* local (SPECIAL) axes used so far */
  int lslot;           /* >= 0: the local dim of the next output LOCAL range */
  UOp *group;          /* the GROUP range of the reduce, if any */
} lctx;

static UOp *ci(int64_t v) { return uop_const(IDX, (double)v); }
static UOp *add(UOp *a, UOp *b) { return uop_2(UOP_ADD, IDX, a, b); }
static UOp *mul(UOp *a, int64_t c) { return uop_2(UOP_MUL, IDX, a, ci(c)); }
static UOp *band(UOp *a, UOp *b) { return a ? uop_2(UOP_AND, CG_BOOL, a, b) : b; }
static UOp *lt(UOp *a, UOp *b) { return uop_2(UOP_CMPLT, CG_BOOL, a, b); }

/* RANGE [0, end); dyn: a runtime loop end <= end (a symbolic length), or NULL. */
static UOp *range_dyn(lctx *c, int64_t end, int kind, UOp *dyn) {
  int64_t args[3] = {c->next_range++, kind, 0};
  if (kind == CG_R_LOCAL) {
    args[2] = c->lslot >= 0 ? c->lslot : c->nlocal;
    c->nlocal++;
    c->k->local[args[2]] = (uint32_t)end;
  }
  UOp *e[2] = {ci(end), dyn};
  return uop_new(UOP_RANGE, IDX, dyn ? 2 : 1, e, 3, args, 0, NULL);
}
static UOp *range(lctx *c, int64_t end, int kind) { return range_dyn(c, end, kind, NULL); }

/* idx * n + RANGE(n) of the given kind (idx unchanged when n is 1). */
static UOp *part(lctx *c, UOp *idx, int64_t n, int kind, UOp **out) {
  if (n <= 1) return idx;
  UOp *r = range(c, n, kind);
  if (out) *out = r;
  return add(mul(idx, n), r);
}

/* Row-major flat index of idx in shape. */
static UOp *flatten(int ndim, const int64_t *shape, UOp *const *idx) {
  UOp *f = ci(0);
  int64_t stride = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    f = add(f, mul(idx[i], stride));
    stride *= shape[i];
  }
  return sym_simplify(f);
}

static void unflatten(UOp *flat, int ndim, const int64_t *shape, UOp **idx) {
  int64_t stride = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    UOp *q = stride == 1 ? flat : uop_2(UOP_IDIV, IDX, flat, ci(stride));
    idx[i] = sym_simplify(i == 0 ? q : uop_2(UOP_MOD, IDX, q, ci(shape[i])));
    stride *= shape[i];
  }
}

static int param_of(lctx *c, UOp *node) {
  for (int i = 0; i < c->k->nin; i++)
    if (c->k->in[i] == node) return i + 1;
  if (c->k->nin == CG_MAX_KERNEL_INPUTS) {
    c->err = cg__error(CG_ERR_INVALID, "kernel reads more than %d buffers", CG_MAX_KERNEL_INPUTS);
    return 1;
  }
  c->k->in[c->k->nin++] = node;
  return c->k->nin;
}

/* Symbolic variable: a bound tensor-level VAR (args {min, max, value}) becomes the
 * kernel-level VAR (args {min, max}) and its value goes to k->var_vals for the launch,
 * so the AST (and IR) is the same for every value. One value per name and kernel. */
static UOp *kernel_var(lctx *c, UOp *u) {
  cg_kernel *k = c->k;
  const char *name = u->ptr;
  if (u->nargs < 3) {
    c->err = cg__error(CG_ERR_INVALID, "realize: variable '%s' is not bound (use cg_var_bind)", name);
    return ci(0);
  }
  UOp *kv = uop_new(UOP_VAR, IDX, 0, NULL, 2, u->args, 0, u->ptr);
  for (int i = 0; i < k->nvars; i++) {
    if (strcmp(k->vars[i]->ptr, name)) continue;
    if (k->vars[i] != kv || k->var_vals[i] != u->args[2])
      c->err = cg__error(CG_ERR_INVALID, "realize: variable '%s' has two bindings or ranges in one kernel", name);
    return kv;
  }
  if (k->nvars == CG_MAX_KERNEL_VARS) {
    c->err = cg__error(CG_ERR_INVALID, "realize: kernel uses more than %d variables", CG_MAX_KERNEL_VARS);
    return kv;
  }
  k->vars[k->nvars] = kv;
  k->var_vals[k->nvars++] = u->args[2];
  return kv;
}

static uint64_t memo_hash(UOp *node, UOp *valid, UOp *const *idx) {
  uint64_t h = node->hash ^ (valid ? valid->hash * 31 : 7);
  for (int i = 0; i < node->ndim; i++) h = h * 0x100000001b3ull ^ idx[i]->hash;
  return h;
}

static UOp *lower(lctx *c, UOp *u, UOp *const *idx, UOp *valid);

/* The kernel expression of u's symbolic length if it is on axis ax, else NULL. */
static UOp *slen_of(lctx *c, const UOp *u, int ax) {
  UOp *none[1] = {NULL};
  return u->slen_ax == ax + 1 ? sym_simplify(lower(c, u->slen, none, NULL)) : NULL;
}

static UOp *lower_uncached(lctx *c, UOp *u, UOp *const *idx, UOp *valid) {
  UOp *sidx[CG_MAX_DIMS], *s = u->nsrc ? u->src[0] : NULL;
  int64_t *a = u->args;
  if (u->realized || u->op == UOP_BUFFER) {
    int64_t p = param_of(c, u);
    UOp *param = uop_new(UOP_PARAM, u->dtype, 0, NULL, 1, &p, 0, NULL);
    UOp *srcs[3] = {param, flatten(u->ndim, u->shape, idx), valid ? valid : uop_const(CG_BOOL, 1)};
    return uop_new(UOP_LOAD, u->dtype, 3, srcs, 0, NULL, 0, NULL);
  }
  switch (u->op) {
  case UOP_CONST: return u;
  case UOP_CONTIGUOUS: case UOP_DETACH: return lower(c, s, idx, valid);
  case UOP_VLEN: { /* a marker; {axis, 1}: zero past the length, like a PAD */
    if (u->nargs < 2) return lower(c, s, idx, valid);
    UOp *none[1] = {NULL}, *in = lt(idx[a[0]], sym_simplify(lower(c, u->src[1], none, NULL)));
    in = sym_simplify(in);
    return uop_3(UOP_WHERE, u->dtype, in, lower(c, s, idx, sym_simplify(band(valid, in))), uop_const(u->dtype, 0));
  }
  case UOP_RESHAPE:
    unflatten(flatten(u->ndim, u->shape, idx), s->ndim, s->shape, sidx);
    return lower(c, s, sidx, valid);
  case UOP_PERMUTE:
    for (int i = 0; i < u->ndim; i++) sidx[a[i]] = idx[i];
    return lower(c, s, sidx, valid);
  case UOP_EXPAND:
    for (int i = 0; i < u->ndim; i++) sidx[i] = s->shape[i] == 1 ? ci(0) : idx[i];
    return lower(c, s, sidx, valid);
  case UOP_SHRINK:
    for (int i = 0; i < u->ndim; i++) sidx[i] = sym_simplify(add(idx[i], ci(a[2 * i])));
    return lower(c, s, sidx, valid);
  case UOP_VAR: return kernel_var(c, u);
  case UOP_VSHRINK: { /* idx_axis + start, start a scalar expression of variables */
    UOp *none[1] = {NULL};
    for (int i = 0; i < u->ndim; i++) sidx[i] = idx[i];
    sidx[a[0]] = sym_simplify(add(idx[a[0]], lower(c, u->src[1], none, NULL)));
    return lower(c, s, sidx, valid);
  }
  case UOP_FLIP:
    for (int i = 0; i < u->ndim; i++)
      sidx[i] = a[i] ? sym_simplify(add(ci(s->shape[i] - 1), mul(idx[i], -1))) : idx[i];
    return lower(c, s, sidx, valid);
  case UOP_PAD: {
    UOp *pv = NULL;
    for (int i = 0; i < u->ndim; i++) {
      sidx[i] = sym_simplify(add(idx[i], ci(-a[2 * i])));
      if (a[2 * i]) pv = band(pv, uop_1(UOP_NEG, CG_BOOL, lt(sidx[i], ci(0))));
      if (a[2 * i + 1]) pv = band(pv, lt(sidx[i], ci(s->shape[i])));
    }
    if (!pv) return lower(c, s, sidx, valid);
    pv = sym_simplify(pv);
    UOp *inner = lower(c, s, sidx, sym_simplify(band(valid, pv)));
    return uop_3(UOP_WHERE, u->dtype, pv, inner, uop_const(u->dtype, 0));
  }
  case UOP_REDUCE_SUM: case UOP_REDUCE_PROD: case UOP_REDUCE_MAX: {
    UOp *srcs[1 + 3 * CG_MAX_DIMS]; /* value, then loop/group/unroll ranges per axis */
    int n = 1;
    for (int i = 0; i < u->ndim; i++) sidx[i] = idx[i];
    for (int k = 0; k < u->nargs; k++) {
      int ax = (int)a[k];
      UOp *dyn = slen_of(c, s, ax); /* symbolic length: the loop ends there (opt.c: no split) */
      if (s->shape[ax] == 1 && !dyn) { sidx[ax] = ci(0); continue; }
      const cg_axis *pa = NULL;
      for (int j = c->plan->nout; j < c->plan->naxes; j++)
        if (c->plan->ax[j].dim == ax && c->plan->ax[j].size == s->shape[ax]) pa = &c->plan->ax[j];
      if (!pa || dyn) { sidx[ax] = srcs[n++] = range_dyn(c, s->shape[ax], CG_R_LOOP, dyn); continue; }
      UOp *r = ci(0);
      if (pa->part[CG_P_RLOOP] > 1) r = srcs[n++] = range(c, pa->part[CG_P_RLOOP], CG_R_LOOP);
      r = part(c, r, pa->part[CG_P_GROUP], CG_R_LOCAL, &srcs[n]);
      if (pa->part[CG_P_GROUP] > 1) c->group = srcs[n++];
      r = part(c, r, pa->part[CG_P_UNROLL], CG_R_UNROLL, &srcs[n]);
      if (pa->part[CG_P_UNROLL] > 1) n++;
      sidx[ax] = sym_simplify(r);
    }
    srcs[0] = lower(c, s, sidx, valid);
    c->reduce = true;
    int64_t op = u->op == UOP_REDUCE_SUM ? UOP_ADD : u->op == UOP_REDUCE_PROD ? UOP_MUL : UOP_MAX;
    if (n == 1) return srcs[0];
    return uop_new(UOP_KREDUCE, u->dtype, n, srcs, 1, &op, 0, NULL);
  }
  default:
    if (uop_groups[u->op] & G_A) {
      UOp *srcs[3];
      for (int i = 0; i < u->nsrc; i++) srcs[i] = lower(c, u->src[i], idx, valid);
      return uop_new(u->op, u->dtype, u->nsrc, srcs, 0, NULL, 0, NULL);
    }
    c->err = cg__error(CG_ERR_INVALID, "lower: cannot lower %s", uop_names[u->op]);
    return uop_const(u->dtype, 0);
  }
}

static UOp *lower(lctx *c, UOp *u, UOp *const *idx, UOp *valid) {
  uint64_t h = memo_hash(u, valid, idx);
  memo_e **b = &c->buckets[h & 1023];
  for (memo_e *e = *b; e; e = e->next)
    if (e->node == u && e->valid == valid && !memcmp(e->idx, idx, sizeof(UOp *) * u->ndim)) return e->val;
  UOp *v = lower_uncached(c, u, idx, valid);
  memo_e *e = cg__xcalloc(1, sizeof *e);
  e->node = u;
  e->valid = valid;
  memcpy(e->idx, idx, sizeof(UOp *) * u->ndim);
  e->val = v;
  e->next = *b;
  *b = e;
  return v;
}

/* Index of output axis a: global | local | loop | upcast parts; gated past its size. */
static UOp *axis_index(lctx *c, const cg_axis *ax, UOp *g, UOp **gate, UOp **inner) {
  cg_kernel *k = c->k;
  UOp *idx = g, *r = g;
  idx = part(c, idx, ax->part[CG_P_LOCAL], CG_R_LOCAL, &r);
  UOp *lp = NULL;
  idx = part(c, idx, ax->part[CG_P_LOOP], CG_R_LOOP, &lp);
  if (lp) k->loops[k->nloops++] = r = lp;
  UOp *up = NULL;
  idx = part(c, idx, ax->part[CG_P_UPCAST], CG_R_UPCAST, &up);
  if (up) k->upcast[k->nupcast++] = r = up;
  *inner = r;
  int64_t span = 1;
  for (int i = 0; i < 4; i++) span *= ax->part[i];
  idx = sym_simplify(idx);
  if (span > ax->size) *gate = band(*gate, lt(idx, ci(ax->size)));
  return idx;
}

int cg__lower(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k) {
  lctx c = {.k = k, .plan = plan};
  k->stage_bytes = props->max_local_size > 1 ? props->local_mem_bytes : 0;
  UOp *gate = NULL, *idx[CG_MAX_DIMS], *flat = NULL;
  k->out = root;
  k->nin = k->nloops = k->nupcast = k->nvars = 0;
  k->plan = *plan;
  for (int i = 0; i < 3; i++) k->global[i] = k->local[i] = 1;
  int64_t ng = 1;
  for (int a = 0; a < plan->nout; a++) ng *= plan->ax[a].part[CG_P_GLOBAL];
  UOp *gid = ng > 1 ? range(&c, ng, CG_R_GLOBAL) : ci(0);
  k->global[0] = (uint32_t)ng;
  for (int d = 0; d < root->ndim; d++) idx[d] = ci(0);
  int64_t stride = 1;
  int nlo = 0; /* output LOCALs: the last axis is local dim 0 (x), the one a warp spans */
  for (int a = 0; a < plan->nout; a++) nlo += plan->ax[a].part[CG_P_LOCAL] > 1;
  for (int a = 0; a < plan->nout; a++) { /* axis 0 fastest in the group grid */
    const cg_axis *ax = &plan->ax[a];
    c.lslot = nlo - 1 - c.nlocal;
    int64_t g = ax->part[CG_P_GLOBAL];
    UOp *ga = g == 1 ? ci(0) : stride == 1 ? gid : uop_2(UOP_IDIV, IDX, gid, ci(stride));
    if (g > 1 && stride * g < ng) ga = uop_2(UOP_MOD, IDX, ga, ci(g));
    stride *= g;
    UOp *v = axis_index(&c, ax, sym_simplify(ga), &gate, &k->axis_range[a]);
    if (plan->flat) flat = v;
    else idx[ax->dim] = v;
  }
  c.lslot = -1; /* a GROUP takes the next local dim */
  if (plan->flat) unflatten(flat ? flat : ci(0), root->ndim, root->shape, idx);
  k->len_gate = NULL;
  if (root->slen_ax) { /* symbolic length: elements past it are not computed nor stored */
    int ax = root->slen_ax - 1;
    k->len_gate = sym_simplify(lt(idx[ax], slen_of(&c, root, ax)));
    gate = band(gate, k->len_gate);
  }
  if (gate) gate = sym_simplify(gate);
  UOp *val = lower(&c, root->op == UOP_CONTIGUOUS ? root->src[0] : root, idx, gate);
  if (c.group) gate = sym_simplify(band(gate, lt(c.group, ci(1)))); /* one thread stores */
  int64_t p0 = 0;
  UOp *st[4] = {uop_new(UOP_PARAM, root->dtype, 0, NULL, 1, &p0, 0, NULL),
                flat ? flat : flatten(root->ndim, root->shape, idx), val, gate};
  UOp *store = uop_new(UOP_STORE, CG_BOOL, gate ? 4 : 3, st, 0, NULL, 0, NULL);
  k->sink = sym_simplify(uop_new(UOP_SINK, CG_BOOL, 1, &store, 0, NULL, 0, NULL));
  for (int i = 0; i < 1024; i++)
    for (memo_e *e = c.buckets[i], *nx; e; e = nx) { nx = e->next; free(e); }
  int w = snprintf(k->name, sizeof k->name, "%s", c.reduce ? "r" : "E");
  for (int i = 0; i < root->ndim && w > 0 && (size_t)w < sizeof k->name - 24; i++)
    w += snprintf(k->name + w, sizeof k->name - (size_t)w, "_%lld", (long long)root->shape[i]);
  return c.err ? -1 : 0;
}
