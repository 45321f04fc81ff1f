/* Local-memory staging (GPU): the loads of a reduce that are shared by the threads of a
 * work-group (their index does not depend on some LOCAL dim, like A's rows and B's
 * columns of a matmul) are copied once per reduce-loop iteration into a local tile by
 * all threads together, then read from there.
 *
 * A staged load's tile has one coordinate per range its index depends on among the
 * LOCAL, UPCAST and UNROLL ranges (GLOBAL and LOOP ranges are the same for the whole
 * group in one iteration). Two orders of those coordinates:
 *   layout  (the tile's row-major shape): UNROLL ranges, LOCAL ranges (dim 0 inner),
 *           UPCAST ranges: a warp's reads at one unroll value spread over banks, and
 *           the innermost upcast is contiguous (vector reads, like the global ones)
 *   copy    (thread t copies elements t, t + P, ... in this order): by the range's
 *           stride in global memory, largest first, so consecutive threads read
 *           consecutive addresses. Where the copy's innermost coordinate is not the
 *           layout's, its layout stride gets 16 bytes of padding (fewer bank conflicts
 *           on the stores of a transposed tile; vector reads stay aligned).
 * With one reduce-loop range and few copies, the copies are prefetched: their values for
 * the next iteration are loaded into registers before the body computes (prefetch).
 * Legality: one reduce, no GROUP, at least one UNROLL range (the linearizer's tiled
 * reduce path), tiles within k->stage_bytes (the device's local memory), at most
 * CG_STAGE_FILL copies per thread. The ref semantics are unchanged: the same values are
 * loaded (out-of-range reads gated to 0 as before), only from a different place. */
#include <stdlib.h>

#include "stage.h"
#include "symbolic.h"

#define MAXR (CG_MAX_AXES * 2)

static UOp *ci(int64_t v) { return uop_const(CG_INT32, (double)v); }
static UOp *add(UOp *a, UOp *b) { return uop_2(UOP_ADD, CG_INT32, a, b); }
static UOp *mul(UOp *a, int64_t c) { return uop_2(UOP_MUL, CG_INT32, a, ci(c)); }
static int64_t rsize(const UOp *r) { return (int64_t)r->src[0]->val; }

typedef struct { int n; UOp *from[MAXR], *to[MAXR]; } rmap;

static UOp *rmap_rule(UOp *u, void *ctx) {
  const rmap *m = ctx;
  for (int i = 0; i < m->n; i++)
    if (u == m->from[i]) return m->to[i];
  return NULL;
}

/* root with the nodes m->from replaced by m->to (which must not contain them), simplified. */
static UOp *replace(UOp *root, rmap *m) {
  static const uop_rule rules[] = {{-1, rmap_rule, "node -> node"}};
  return m->n ? sym_simplify(uop_rewrite(root, rules, 1, m)) : root;
}

/* RANGE nodes under u (and whether a LOAD is: an index read from memory). */
static void ranges_in(UOp *u, UOp **r, int *n, bool *load, uop_map *seen) {
  if (uop_map_get(seen, u)) return;
  uop_map_put(seen, u, u);
  if (u->op == UOP_RANGE) {
    if (*n < MAXR) r[(*n)++] = u;
    return;
  }
  *load |= u->op == UOP_LOAD;
  for (int i = 0; i < u->nsrc; i++) ranges_in(u->src[i], r, n, load, seen);
}

static void loads_in(UOp *u, UOp **l, int *n, uop_map *seen) {
  if (uop_map_get(seen, u)) return;
  uop_map_put(seen, u, u);
  if (u->op == UOP_LOAD) {
    if (*n < 64) l[(*n)++] = u;
    return;
  }
  for (int i = 0; i < u->nsrc; i++) loads_in(u->src[i], l, n, seen);
}

/* |stride| of idx along range r; a large value when it is not a constant. */
static int64_t stride_in(UOp *idx, UOp *r) {
  rmap m = {1, {r}, {ci(0)}};
  UOp *a = replace(idx, &m);
  m.to[0] = ci(1);
  UOp *d = sym_simplify(add(replace(idx, &m), uop_2(UOP_MUL, CG_INT32, a, ci(-1))));
  if (d->op != UOP_CONST) return INT32_MAX;
  return d->val < 0 ? (int64_t)-d->val : (int64_t)d->val;
}

static bool has(UOp *const *r, int n, const UOp *x) {
  for (int i = 0; i < n; i++)
    if (r[i] == x) return true;
  return false;
}

/* The tile layout of a load depending on ranges dep[0..nd): see the file comment. */
static int layout(const cg_kernel *k, UOp *red, UOp *const *loc, UOp *const *dep, int nd, UOp **lay) {
  int n = 0;
  for (int i = 1; i < red->nsrc; i++)
    if (red->src[i]->args[1] == CG_R_UNROLL && has(dep, nd, red->src[i])) lay[n++] = red->src[i];
  for (int s = 2; s >= 0; s--)
    if (loc[s] && has(dep, nd, loc[s])) lay[n++] = loc[s];
  for (int i = 0; i < k->nupcast; i++)
    if (has(dep, nd, k->upcast[i])) lay[n++] = k->upcast[i];
  return n;
}

/* Cooperative copies of one tile: thread lid copies elements lid + m * P in copy order. */
static void add_fills(cg_stage *st, const cg_kernel *k, UOp *ld, UOp *lbuf, UOp *const *ord,
                      UOp *const *lay, const int64_t *ls, int nd, int64_t T) {
  int64_t P = (int64_t)k->local[0] * k->local[1] * k->local[2], M = (T + P - 1) / P;
  UOp *lid = ci(0);
  for (int s = 2; s >= 0; s--) { /* placeholders for the local ids (not the ranges replaced) */
    if (k->local[s] <= 1) continue;
    int64_t a[3] = {100000 + s, CG_R_LOCAL, s};
    UOp *e = ci(k->local[s]);
    lid = add(mul(lid, k->local[s]), uop_new(UOP_RANGE, CG_INT32, 1, &e, 3, a, 0, NULL));
  }
  for (int64_t m = 0; m < M; m++) {
    UOp *e = add(lid, ci(m * P)), *gate = NULL;
    if (M * P > T) gate = uop_2(UOP_CMPLT, CG_BOOL, e, ci(T));
    rmap fm = {nd, {0}, {0}};
    int64_t inner = 1;
    for (int j = nd - 1; j >= 0; j--) {
      UOp *c = inner == 1 ? e : uop_2(UOP_IDIV, CG_INT32, e, ci(inner));
      if (j > 0) c = uop_2(UOP_MOD, CG_INT32, c, ci(rsize(ord[j])));
      fm.from[j] = ord[j];
      fm.to[j] = sym_simplify(c);
      inner *= rsize(ord[j]);
    }
    UOp *li = ci(0);
    for (int j = 0; j < nd; j++) li = add(li, mul(lay[j], ls[j]));
    UOp *valid = replace(ld->src[2], &fm);
    if (gate) valid = sym_simplify(uop_2(UOP_AND, CG_BOOL, valid, gate));
    UOp *src[3] = {ld->src[0], replace(ld->src[1], &fm), valid};
    UOp *val = uop_new(UOP_LOAD, ld->dtype, 3, src, 0, NULL, 0, NULL);
    UOp *ss[4] = {lbuf, replace(li, &fm), val, gate};
    st->fill[st->nfill++] = uop_new(UOP_STORE, CG_BOOL, gate ? 4 : 3, ss, 0, NULL, 0, NULL);
  }
}

/* With one LOOP range in the reduce, the copies' global values for iteration 0 and for
 * the next iteration (loop + 1, gated at the end), so the linearizer can load them into
 * registers one iteration ahead (global latency hidden behind the compute). */
static void prefetch(cg_stage *st, UOp *red) {
  UOp *loop = NULL;
  for (int i = 1; i < red->nsrc; i++) {
    if (red->src[i]->args[1] != CG_R_LOOP) continue;
    if (loop) return;
    loop = red->src[i];
  }
  if (!loop || st->nfill > CG_STAGE_PREFETCH) return;
  int64_t a[3] = {200000, CG_R_LOOP, 0};
  UOp *alias = uop_new(UOP_RANGE, CG_INT32, 1, loop->src, 3, a, 0, NULL), *nx = add(alias, ci(1));
  UOp *more = uop_2(UOP_CMPLT, CG_BOOL, nx, ci(rsize(loop)));
  for (int i = 0; i < st->nfill; i++) {
    UOp *v = st->fill[i]->src[2];
    rmap m0 = {1, {loop}, {ci(0)}}, m1 = {1, {loop}, {nx}};
    UOp *f = replace(v, &m0), *n = replace(v, &m1);
    if (n->op != UOP_LOAD) return;
    UOp *src[3] = {n->src[0], n->src[1], sym_simplify(uop_2(UOP_AND, CG_BOOL, n->src[2], more))};
    st->first[i] = f;
    st->next[i] = uop_new(UOP_LOAD, n->dtype, 3, src, 0, NULL, 0, NULL);
  }
  st->loop = loop;
  st->alias = alias;
}

UOp *cg__stage(const cg_kernel *k, UOp *store, UOp *red, cg_stage *st) {
  memset(st, 0, sizeof *st);
  int64_t P = (int64_t)k->local[0] * k->local[1] * k->local[2];
  bool unroll = false;
  for (int i = 1; i < red->nsrc; i++) {
    if (red->src[i]->args[1] == CG_R_LOCAL) return store; /* GROUP: its own local memory */
    unroll |= red->src[i]->args[1] == CG_R_UNROLL;
  }
  if (!k->stage_bytes || P < 2 || !unroll) return store;
  UOp *all[MAXR], *loc[3] = {NULL, NULL, NULL}, *loads[64];
  int na = 0, nl = 0;
  bool any_load = false;
  uop_map seen = {0};
  ranges_in(store, all, &na, &any_load, &seen);
  uop_map_free(&seen);
  for (int i = 0; i < na; i++)
    if (all[i]->args[1] == CG_R_LOCAL && all[i]->args[2] < 3) loc[all[i]->args[2]] = all[i];
  loads_in(red->src[0], loads, &nl, &seen);
  uop_map_free(&seen);
  rmap cm = {0};
  uint64_t bytes = 0;
  for (int i = 0; i < nl && st->n < CG_STAGE_MAX; i++) {
    UOp *ld = loads[i], *dep[MAXR], *lay[MAXR], *ord[MAXR];
    int nd = 0, ntile = 0;
    bool inner_load = false, shared = false;
    if (ld->dtype == CG_BOOL) continue;
    ranges_in(ld->src[1], dep, &nd, &inner_load, &seen);
    ranges_in(ld->src[2], dep, &nd, &inner_load, &seen);
    uop_map_free(&seen);
    if (inner_load || nd >= MAXR) continue;
    for (int s = 0; s < 3; s++) shared |= loc[s] && rsize(loc[s]) > 1 && !has(dep, nd, loc[s]);
    ntile = layout(k, red, loc, dep, nd, lay);
    if (!shared || ntile == 0) continue;
    /* copy order: by global stride, largest first (stable: layout order on ties) */
    int64_t str[MAXR], T = 1;
    for (int j = 0; j < ntile; j++) {
      ord[j] = lay[j];
      str[j] = stride_in(ld->src[1], lay[j]);
      T *= rsize(lay[j]);
      for (int q = j; q > 0 && str[q] > str[q - 1]; q--) {
        int64_t t = str[q]; str[q] = str[q - 1]; str[q - 1] = t;
        UOp *u = ord[q]; ord[q] = ord[q - 1]; ord[q - 1] = u;
      }
    }
    size_t es = cg_dtype_size(ld->dtype);
    int64_t ls[MAXR], run = 1, pad = es < 16 ? 16 / (int64_t)es : 1; /* 16 bytes: vector reads stay aligned */
    for (int j = ntile - 1; j >= 0; j--) {
      ls[j] = run + (lay[j] == ord[ntile - 1] && j != ntile - 1 ? pad : 0);
      run = ls[j] * rsize(lay[j]);
    }
    if (bytes + (uint64_t)run * es > k->stage_bytes || st->nfill + (T + P - 1) / P > CG_STAGE_FILL) continue;
    bytes += (uint64_t)run * es;
    int64_t a[2] = {1000 + st->n, CG_IR_AS_LOCAL};
    UOp *lbuf = uop_new(UOP_PARAM, ld->dtype, 0, NULL, 2, a, 0, NULL), *li = ci(0);
    for (int j = 0; j < ntile; j++) li = add(li, mul(lay[j], ls[j]));
    UOp *src[3] = {lbuf, sym_simplify(li), uop_const(CG_BOOL, 1)};
    cm.from[cm.n] = ld;
    cm.to[cm.n++] = uop_new(UOP_LOAD, ld->dtype, 3, src, 0, NULL, 0, NULL);
    add_fills(st, k, ld, lbuf, ord, lay, ls, ntile, T);
    st->lbuf[st->n] = lbuf;
    st->size[st->n++] = run;
  }
  if (!st->n) return store;
  prefetch(st, red);
  UOp *rs[1 + 3 * CG_MAX_DIMS];
  for (int i = 0; i < red->nsrc; i++) rs[i] = red->src[i];
  rs[0] = replace(red->src[0], &cm);
  rmap rr = {1, {red}, {uop_new(UOP_KREDUCE, red->dtype, red->nsrc, rs, red->nargs, red->args, 0, NULL)}};
  return replace(store, &rr);
}
