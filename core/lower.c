/* Lowering one kernel: walk the tensor graph from the kernel's root with a vector of
 * index expressions (one per dim) and a validity condition, turning movement ops into
 * index math and realized nodes into gated LOADs; then simplify symbolically.
 *
 *   RESHAPE  idx -> unflatten(flatten(idx))      PERMUTE  idx -> idx[inverse order]
 *   EXPAND   idx_i -> 0 where the src dim is 1    PAD      idx_i - before, valid &= in range
 *   SHRINK   idx_i + start                        FLIP     n-1 - idx_i
 *   REDUCE   reduced axes -> new loop RANGEs, value = KREDUCE(src value, ranges)
 *
 * Output layout: the output index is flattened; on CPUs (max_local_size 1) the last
 * chunk of the output (a divisor of the last dim, up to 1024) is an inner loop and the
 * rest is the group grid; on GPUs flat = group*local + lid, gated by flat < numel. */
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
} lctx;

static UOp *ci(int64_t v) { return uop_const(IDX, (double)v); }
static UOp *add(UOp *a, UOp *b) { return uop_2(UOP_ADD, IDX, a, b); }
static UOp *mul(UOp *a, int64_t c) { return uop_2(UOP_MUL, IDX, a, ci(c)); }
static UOp *band(UOp *a, UOp *b) { return a ? uop_2(UOP_AND, CG_BOOL, a, b) : b; }
static UOp *lt(UOp *a, UOp *b) { return uop_2(UOP_CMPLT, CG_BOOL, a, b); }

static UOp *range(lctx *c, int64_t end, int kind) {
  int64_t args[2] = {c->next_range++, kind};
  UOp *e = ci(end);
  return uop_new(UOP_RANGE, IDX, 1, &e, 2, args, 0, NULL);
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
    UOp *srcs[1 + CG_MAX_DIMS];
    int n = 1;
    for (int i = 0; i < u->ndim; i++) sidx[i] = idx[i];
    for (int k = 0; k < u->nargs; k++) {
      int ax = (int)a[k];
      if (s->shape[ax] == 1) { sidx[ax] = ci(0); continue; }
      sidx[ax] = srcs[n++] = range(c, s->shape[ax], 0);
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

/* Elements per CPU group: the largest product of trailing dims up to 1024, or a
 * divisor of the last big dim when that alone is larger. */
static int64_t inner_chunk(const UOp *root) {
  int64_t p = 1;
  for (int i = root->ndim - 1; i >= 0; i--) {
    int64_t d = root->shape[i];
    if (p * d <= 1024) { p *= d; continue; }
    if (p > 1) break;
    for (int64_t c = 1024; c >= 64; c--)
      if (d % c == 0) return c;
    return 1;
  }
  return p;
}

int cg__lower(UOp *root, const cg_device_props *props, cg_kernel *k) {
  lctx c = {.k = k};
  int64_t n = uop_numel(root);
  UOp *flat, *gate = NULL, *idx[CG_MAX_DIMS];
  k->out = root;
  k->nin = 0;
  k->nloops = 0;
  k->nvars = 0;
  for (int i = 0; i < 3; i++) k->global[i] = k->local[i] = 1;
  if (props->max_local_size > 1) {
    int64_t l = n < 128 ? n : 128;
    if (l < 1) l = 1;
    k->local[0] = (uint32_t)l;
    k->global[0] = (uint32_t)((n + l - 1) / l);
    flat = add(mul(k->global[0] > 1 ? range(&c, k->global[0], 1) : ci(0), l), range(&c, l, 2));
    if (k->global[0] * l != n) gate = lt(flat, ci(n));
  } else {
    int64_t in = inner_chunk(root);
    k->global[0] = (uint32_t)(n / in);
    flat = k->global[0] > 1 ? range(&c, k->global[0], 1) : ci(0);
    if (in > 1) {
      k->loops[k->nloops++] = range(&c, in, 0);
      flat = add(mul(flat, in), k->loops[0]);
    }
  }
  flat = sym_simplify(flat);
  unflatten(flat, root->ndim, root->shape, idx);
  UOp *val = lower(&c, root->op == UOP_CONTIGUOUS ? root->src[0] : root, idx, gate);
  int64_t p0 = 0;
  UOp *st[4] = {uop_new(UOP_PARAM, root->dtype, 0, NULL, 1, &p0, 0, NULL), flat, val, gate};
  UOp *store = uop_new(UOP_STORE, CG_BOOL, gate ? 4 : 3, st, 0, NULL, 0, NULL);
  k->sink = sym_simplify(uop_new(UOP_SINK, CG_BOOL, 1, &store, 0, NULL, 0, NULL));
  for (int i = 0; i < 1024; i++)
    for (memo_e *e = c.buckets[i], *nx; e; e = nx) { nx = e->next; free(e); }
  int w = snprintf(k->name, sizeof k->name, "%s", c.reduce ? "r" : "E");
  for (int i = 0; i < root->ndim && w > 0 && (size_t)w < sizeof k->name - 24; i++)
    w += snprintf(k->name + w, sizeof k->name - (size_t)w, "_%lld", (long long)root->shape[i]);
  return c.err ? -1 : 0;
}
