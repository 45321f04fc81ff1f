/* Reverse-mode autograd on the lazy graph: walk from the loss in reverse topological
 * order and apply one gradient rule per primitive op. Broadcasts (EXPAND) are summed
 * back to the source shape by the EXPAND rule. Gradients are lazy graph themselves, so
 * the backward pass fuses and schedules like the forward. */
#include <math.h>

#include "tensor.h"

#define LN2 0.69314718055994530942

static UOp *cfull(const UOp *like, double v) { return uop_full(like->dtype, v, like->ndim, like->shape); }
static UOp *mul(UOp *a, UOp *b) { return uop_2(UOP_MUL, a->dtype, a, b); }
static UOp *neg(UOp *a) { return uop_1(UOP_NEG, a->dtype, a); }
static UOp *gdiv(UOp *a, UOp *b) { return uop_2(UOP_FDIV, a->dtype, a, b); }
static UOp *where(UOp *c, UOp *a, UOp *b) { return uop_3(UOP_WHERE, a->dtype, c, a, b); }

typedef struct {
  uop_map needs; /* node -> node if a gradient target is reachable from it */
  uop_map grads; /* node -> accumulated gradient */
  UOp **order;
  int n, cap;
  uop_map seen;
} bw;

/* Post-order; returns whether u leads to a target (a BUFFER with requires_grad). */
static bool visit(bw *b, UOp *u, const uop_map *targets) {
  if (uop_map_get(&b->seen, u)) return uop_map_get(&b->needs, u) != NULL;
  uop_map_put(&b->seen, u, u);
  bool need = uop_map_get(targets, u) != NULL;
  if (u->op != UOP_DETACH)
    for (int i = 0; i < u->nsrc; i++) need |= visit(b, u->src[i], targets);
  if (!need) return false;
  uop_map_put(&b->needs, u, u);
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 256;
    b->order = cg__xrealloc(b->order, sizeof(UOp *) * (size_t)b->cap);
  }
  b->order[b->n++] = u;
  return true;
}

static void accum(bw *b, UOp *src, UOp *g) {
  if (!g || !uop_map_get(&b->needs, src)) return;
  UOp *old = uop_map_get(&b->grads, src);
  uop_map_put(&b->grads, src, old ? uop_2(UOP_ADD, g->dtype, old, g) : g);
}

/* Gradient of node u w.r.t. its src i, given the output gradient g. NULL = none. */
static UOp *rule(UOp *u, int i, UOp *g) {
  UOp *a = u->src[0], *b = u->nsrc > 1 ? u->src[1] : NULL;
  int64_t args[2 * CG_MAX_DIMS];
  switch (u->op) {
  case UOP_ADD: return g;                                       /* d(a+b) = g, g */
  case UOP_SUB: return i ? neg(g) : g;                          /* d(a-b) = g, -g */
  case UOP_MUL: return mul(g, i ? a : b);                       /* d(ab) = gb, ga */
  case UOP_FDIV: return i ? neg(gdiv(mul(g, u), b)) : gdiv(g, b); /* d(a/b) = g/b, -g(a/b)/b */
  case UOP_MAX: {                                               /* ties split evenly */
    UOp *win = where(uop_2(UOP_CMPLT, CG_BOOL, b, a), cfull(u, 1),
                     where(uop_2(UOP_CMPEQ, CG_BOOL, a, b), cfull(u, 0.5), cfull(u, 0)));
    return mul(g, i ? uop_2(UOP_SUB, u->dtype, cfull(u, 1), win) : win);
  }
  case UOP_POW:
    if (!i) /* d a^b/da = b a^(b-1) */
      return mul(g, mul(b, uop_2(UOP_POW, u->dtype, a, uop_2(UOP_SUB, u->dtype, b, cfull(b, 1)))));
    /* d a^b/db = a^b ln a (0 where a == 0) */
    return where(uop_2(UOP_CMPEQ, CG_BOOL, a, cfull(a, 0)), cfull(u, 0),
                 mul(g, mul(u, mul(uop_1(UOP_LOG2, u->dtype, a), cfull(u, LN2)))));
  case UOP_NEG: return neg(g);
  case UOP_RECIP: return neg(mul(g, mul(u, u)));                 /* d(1/a) = -g/a^2 */
  case UOP_SQRT: return gdiv(mul(g, cfull(u, 0.5)), u);          /* g / (2 sqrt a) */
  case UOP_EXP2: return mul(g, mul(u, cfull(u, LN2)));           /* g 2^a ln2 */
  case UOP_LOG2: return gdiv(g, mul(a, cfull(a, LN2)));          /* g / (a ln2) */
  case UOP_SIN:                                                 /* g cos a = g sin(pi/2 - a) */
    return mul(g, uop_1(UOP_SIN, u->dtype, uop_2(UOP_SUB, u->dtype, cfull(a, M_PI / 2), a)));
  case UOP_WHERE:
    if (i == 0) return NULL;
    return i == 1 ? where(a, g, cfull(g, 0)) : where(a, cfull(g, 0), g);
  case UOP_CAST:
    return cg__is_float((cg_dtype)a->dtype) ? uop_cast(g, (cg_dtype)a->dtype) : NULL;
  case UOP_REDUCE_SUM: return uop_expand(g, a->ndim, a->shape);
  case UOP_REDUCE_PROD: { /* product of the others: prod/a, or prod of nonzeros at a lone zero */
    UOp *zero = uop_2(UOP_CMPEQ, CG_BOOL, a, cfull(a, 0));
    UOp *cnt = uop_expand(uop_reduce(UOP_REDUCE_SUM, uop_cast(zero, CG_INT32), u->nargs, u->args), a->ndim, a->shape);
    UOp *pnz = uop_expand(uop_reduce(UOP_REDUCE_PROD, where(zero, cfull(a, 1), a), u->nargs, u->args), a->ndim, a->shape);
    UOp *lone = uop_2(UOP_CMPEQ, CG_BOOL, cnt, uop_full(CG_INT32, 1, a->ndim, a->shape));
    UOp *others = where(zero, where(lone, pnz, cfull(a, 0)), gdiv(uop_expand(u, a->ndim, a->shape), a));
    return mul(uop_expand(g, a->ndim, a->shape), others);
  }
  case UOP_REDUCE_MAX: {                                        /* split among the maxima */
    UOp *hit = uop_cast(uop_2(UOP_CMPEQ, CG_BOOL, a, uop_expand(u, a->ndim, a->shape)), (cg_dtype)u->dtype);
    UOp *cnt = uop_expand(uop_reduce(UOP_REDUCE_SUM, hit, u->nargs, u->args), a->ndim, a->shape);
    return mul(gdiv(hit, cnt), uop_expand(g, a->ndim, a->shape));
  }
  case UOP_RESHAPE: return uop_reshape(g, a->ndim, a->shape);
  case UOP_PERMUTE:
    for (int k = 0; k < u->ndim; k++) args[u->args[k]] = k;
    return uop_mv(UOP_PERMUTE, g, u->ndim, args);
  case UOP_EXPAND: {
    int n = 0;
    for (int k = 0; k < u->ndim; k++)
      if (a->shape[k] != u->shape[k]) args[n++] = k;
    return uop_reduce(UOP_REDUCE_SUM, g, n, args);
  }
  case UOP_PAD:
    for (int k = 0; k < u->ndim; k++) { args[2 * k] = u->args[2 * k]; args[2 * k + 1] = u->args[2 * k] + a->shape[k]; }
    return uop_mv(UOP_SHRINK, g, 2 * u->ndim, args);
  case UOP_SHRINK:
    for (int k = 0; k < u->ndim; k++) { args[2 * k] = u->args[2 * k]; args[2 * k + 1] = a->shape[k] - u->args[2 * k + 1]; }
    return uop_mv(UOP_PAD, g, 2 * u->ndim, args);
  case UOP_VSHRINK: { /* symbolic pad: VSHRINK(PAD(g, n-len each side), (n-len) - start, n) */
    if (i) return NULL;
    int64_t ax = u->args[0], m = a->shape[ax] - u->args[1], sa[2] = {ax, a->shape[ax]};
    for (int k = 0; k < u->ndim; k++) args[2 * k] = args[2 * k + 1] = k == ax ? m : 0;
    UOp *srcs[2] = {uop_mv(UOP_PAD, g, 2 * u->ndim, args), uop_2(UOP_SUB, CG_INT32, uop_const(CG_INT32, (double)m), b)};
    return uop_new(UOP_VSHRINK, g->dtype, 2, srcs, 2, sa, 0, NULL);
  }
  case UOP_VLEN: return i ? NULL : g; /* the tail is zeroed where x has no length (below) */
  case UOP_FLIP: return uop_mv(UOP_FLIP, g, u->nargs, u->args);
  case UOP_CONTIGUOUS: return g;
  case UOP_COPY: return a->device ? uop_new(UOP_COPY, g->dtype, 1, &g, 0, NULL, 0, a->device) : g;
  default: return NULL; /* comparisons, bitwise, integer ops, trunc: no gradient */
  }
}

/* The gradient g of u, zeroed past its symbolic length when u itself has none (docs/
 * symbolic.md): u's elements there exist and do not reach the loss, so their gradient is
 * 0, while g (computed along the valid prefix only) leaves them undefined. */
static UOp *defined(const UOp *u, UOp *g) {
  if (!g || !g->slen_ax || u->slen_ax) return g;
  int64_t args[2] = {g->slen_ax - 1, 1};
  UOp *srcs[2] = {g, g->slen};
  return uop_new(UOP_VLEN, g->dtype, 2, srcs, 2, args, 0, NULL);
}

cg_status cg_backward(cg_tensor *loss) {
  if (!loss) return cg__error(CG_ERR_INVALID, "backward: NULL loss");
  if (uop_numel(loss->u) != 1)
    return cg__error(CG_ERR_SHAPE, "backward: loss must be a scalar, got shape %s", cg__shape_str(loss));
  if (!cg__is_float((cg_dtype)loss->u->dtype))
    return cg__error(CG_ERR_DTYPE, "backward: loss must be float, got %s", cg_dtype_name((cg_dtype)loss->u->dtype));
  cg_tensor **ts;
  int nt = cg__grad_tensors(&ts);
  uop_map targets = {0};
  bw b = {0};
  uop_pool_push();
  for (int i = 0; i < nt; i++) uop_map_put(&targets, ts[i]->u, ts[i]->u);
  if (!visit(&b, loss->u, &targets)) {
    uop_pool_pop();
    uop_map_free(&targets); uop_map_free(&b.seen); uop_map_free(&b.needs);
    free(b.order);
    return cg__error(CG_ERR_INVALID, "backward: the loss does not depend on any tensor that requires grad");
  }
  uop_map_put(&b.grads, loss->u, cfull(loss->u, 1));
  for (int k = b.n - 1; k >= 0; k--) {
    UOp *u = b.order[k], *g = defined(u, uop_map_get(&b.grads, u));
    if (!g || uop_map_get(&targets, u)) continue;
    for (int i = 0; i < u->nsrc; i++)
      if (uop_map_get(&b.needs, u->src[i])) accum(&b, u->src[i], rule(u, i, g));
  }
  for (int i = 0; i < nt; i++) {
    UOp *g = defined(ts[i]->u, uop_map_get(&b.grads, ts[i]->u));
    if (!g) continue;
    cg_tensor *old = ts[i]->grad;
    ts[i]->grad = cg__wrap_owned(old ? uop_2(UOP_ADD, g->dtype, old->u, g) : g);
    cg_release(old);
  }
  uop_pool_pop();
  uop_map_free(&targets); uop_map_free(&b.seen); uop_map_free(&b.needs); uop_map_free(&b.grads);
  free(b.order);
  return CG_OK;
}
