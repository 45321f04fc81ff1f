/* Linearizer: kernel AST -> cg_ir_program. Emits PARAMs and SPECIALs first, opens the
 * output loops, then emits the STORE's expression in post-order with memoization.
 * UPCAST ranges are expanded: the STORE is emitted once per value of the upcast ranges
 * (substituted as constants), so a reduce gets one accumulator per tile element:
 *     acc = DEFINE_REG[n]; acc[i] = identity; RANGE r... { per unroll value j, per i:
 *       acc[i] = acc[i] op value(i, j) }  [GROUP: combine acc[i] over the work-group in
 *       DEFINE_LOCAL after a BARRIER]; LOAD acc[i]
 * Values first emitted inside a loop are forgotten when it closes, so nothing is used
 * outside the scope that defines it (renderers may declare SSA values block-locally). */
#include <math.h>

#include "cgrad/ir_util.h"
#include "schedule.h"
#include "stage.h"
#include "symbolic.h"

typedef struct { UOp *key; int32_t val; } slot;
typedef struct {
  cg_ir_builder *b;
  slot *map;
  size_t cap, len;
  UOp **undo;
  size_t nundo, undo_cap;
  double mult;     /* iterations of the current scope, for flop counting */
  double flops;
  int err;
  bool noopt;
  const cg_kernel *k;
  struct vmemo { UOp *e[16]; int w; int32_t val; } *vm; /* vector values of this loop body */
  int nvm, vm_cap;
  int32_t lds;     /* DEFINE_LOCAL of a GROUP reduce (declared at kernel scope) */
  const cg_stage *stage; /* loads staged through local memory (stage.c), or NULL */
} lstate;

/* Address space of a LOAD/STORE's buffer: a staged tile (stage.c) or global memory. */
static cg_ir_addrspace space_of(const UOp *buf) {
  return buf->nargs > 1 ? (cg_ir_addrspace)buf->args[1] : CG_IR_AS_GLOBAL;
}

static int ir_op_of[UOP_COUNT];

static void init_op_map(void) {
  if (ir_op_of[UOP_ADD]) return;
  for (int u = 0; u < UOP_COUNT; u++) {
    ir_op_of[u] = -1;
    for (int i = 0; i < CG_IR_OP_COUNT; i++)
      if (!strcmp(uop_names[u], cg_ir_op_name(i))) ir_op_of[u] = i;
  }
}

static size_t find(const lstate *s, const UOp *k) {
  size_t i = (size_t)(k->hash * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
  while (s->map[i].key && s->map[i].key != k) i = (i + 1) & (s->cap - 1);
  return i;
}

static int32_t get(const lstate *s, const UOp *k) {
  if (!s->cap) return -1;
  size_t i = find(s, k);
  return s->map[i].key ? s->map[i].val : -1;
}

static void put(lstate *s, UOp *k, int32_t v) {
  if ((s->len + 1) * 2 > s->cap) {
    slot *old = s->map;
    size_t oc = s->cap;
    s->cap = oc ? oc * 2 : 256;
    s->map = cg__xcalloc(s->cap, sizeof(slot));
    for (size_t i = 0; i < oc; i++)
      if (old[i].key) s->map[find(s, old[i].key)] = old[i];
    free(old);
  }
  size_t i = find(s, k);
  if (!s->map[i].key) s->len++;
  s->map[i] = (slot){k, v};
  if (s->nundo == s->undo_cap) {
    s->undo_cap = s->undo_cap ? s->undo_cap * 2 : 64;
    s->undo = cg__xrealloc(s->undo, s->undo_cap * sizeof(UOp *));
  }
  s->undo[s->nundo++] = k;
}

/* Forget values defined since mark (they live inside a loop that is closing). */
static void forget(lstate *s, size_t mark) {
  while (s->nundo > mark) s->map[find(s, s->undo[--s->nundo])].val = -1;
}

static int32_t emit1(lstate *s, int op, cg_dtype dt, int n, const int32_t *src, int64_t arg) {
  return cg_irb_emit(s->b, (cg_ir_op)op, cg_ir_t((cg_ir_scalar)dt), n, src, arg);
}

static int32_t cnst(lstate *s, cg_dtype dt, double v) {
  if (dt >= CG_FLOAT16) return cg_irb_const_f(s->b, (cg_ir_scalar)dt, v);
  return cg_irb_const_i(s->b, (cg_ir_scalar)dt, dt == CG_UINT64 ? (int64_t)(uint64_t)v : (int64_t)v);
}

static double identity(int op, cg_dtype dt) {
  if (op == UOP_ADD) return 0;
  if (op == UOP_MUL) return 1;
  switch (dt) {
  case CG_BOOL: case CG_UINT8: case CG_UINT16: case CG_UINT32: case CG_UINT64: return 0;
  case CG_INT8: return INT8_MIN;
  case CG_INT16: return INT16_MIN;
  case CG_INT32: return INT32_MIN;
  case CG_INT64: return (double)INT64_MIN;
  default: return -INFINITY;
  }
}

static int32_t emit(lstate *s, UOp *u);

static int32_t open_range(lstate *s, UOp *r) { /* src[1]: a symbolic loop end */
  int32_t se[2] = {cnst(s, CG_INT32, 0), r->nsrc > 1 ? emit(s, r->src[1]) : cnst(s, CG_INT32, r->src[0]->val)};
  int32_t i = cg_irb_emit(s->b, CG_IR_RANGE, cg_ir_t(CG_IR_INT32), 2, se, r->args[0]);
  put(s, r, i);
  s->mult *= r->src[0]->val;
  return i;
}

static void close_range(lstate *s, UOp *r, int32_t i) {
  cg_irb_emit(s->b, CG_IR_ENDRANGE, cg_ir_t(CG_IR_VOID), 1, &i, 0);
  s->mult /= r->src[0]->val;
}

typedef struct { int n; UOp *const *r; const int64_t *v; } subst_ctx;

static UOp *subst_rule(UOp *u, void *ctx) {
  const subst_ctx *c = ctx;
  for (int i = 0; i < c->n; i++)
    if (u == c->r[i]) return uop_const(u->dtype, (double)c->v[i]);
  return NULL;
}

/* root with ranges r[i] replaced by the values of combination `combo` (mixed radix over
 * the range sizes, last fastest), simplified. */
static UOp *subst(UOp *root, int n, UOp *const *r, int64_t combo) {
  static const uop_rule rules[] = {{UOP_RANGE, subst_rule, "range -> constant"}};
  int64_t v[CG_MAX_AXES];
  for (int i = n - 1; i >= 0; i--) {
    int64_t sz = (int64_t)r[i]->src[0]->val;
    v[i] = combo % sz;
    combo /= sz;
  }
  subst_ctx c = {n, r, v};
  return n ? sym_simplify(uop_rewrite(root, rules, 1, &c)) : root;
}

static int64_t combos(int n, UOp *const *r) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= (int64_t)r[i]->src[0]->val;
  return p;
}

static int32_t reg_ptr(lstate *s, int32_t base, cg_ir_type pt, int64_t i) {
  int32_t ia[2] = {base, cnst(s, CG_INT32, (double)i)};
  return cg_irb_emit(s->b, CG_IR_INDEX, pt, 2, ia, 0);
}

static void store(lstate *s, int32_t ptr, int32_t v) {
  int32_t st[2] = {ptr, v};
  cg_irb_emit(s->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, st, 0);
}

/* acc = acc op v, as MULACC when v is a float product summed (same result as MUL, ADD). */
static void accumulate(lstate *s, int32_t ptr, int op, cg_dtype dt, UOp *v) {
  int32_t src[3];
  if (!s->noopt && op == UOP_ADD && v->op == UOP_MUL && (dt == CG_FLOAT32 || dt == CG_FLOAT64)) {
    src[0] = emit(s, v->src[0]);
    src[1] = emit(s, v->src[1]);
    src[2] = emit1(s, CG_IR_LOAD, dt, 1, &ptr, 0);
    store(s, ptr, emit1(s, CG_IR_MULACC, dt, 3, src, 0));
  } else {
    src[1] = emit(s, v);
    src[0] = emit1(s, CG_IR_LOAD, dt, 1, &ptr, 0);
    store(s, ptr, emit1(s, ir_op_of[op], dt, 2, src, 0));
  }
  s->flops += s->mult;
}

static int32_t emitv(lstate *s, int op, cg_dtype dt, int w, int n, const int32_t *src, int64_t arg) {
  cg_ir_type t = cg_ir_t((cg_ir_scalar)dt);
  t.vec = (uint8_t)w;
  return cg_irb_emit(s->b, (cg_ir_op)op, t, n, src, arg);
}

/* Vector of the w scalar expressions e[0..w): a broadcast when they are equal, a
 * contiguous vector LOAD when they load consecutive elements, the op on vectors of the
 * sources when they share an op, else the scalars gathered with VECTORIZE. */
static int32_t vexpr(lstate *s, int w, UOp *const *e) {
  for (int i = 0; i < s->nvm; i++)
    if (s->vm[i].w == w && !memcmp(s->vm[i].e, e, sizeof(UOp *) * (size_t)w)) return s->vm[i].val;
  UOp *u = e[0];
  bool same = true, alike = true;
  for (int l = 1; l < w; l++) {
    same &= e[l] == u;
    alike &= e[l]->op == u->op && e[l]->nsrc == u->nsrc && e[l]->dtype == u->dtype && e[l]->nargs == u->nargs;
  }
  int32_t src[16], v = -1;
  if (!same && alike && u->op == UOP_LOAD && u->src[2]->op == UOP_CONST && u->src[2]->val) {
    bool contig = true;
    for (int l = 1; l < w && contig; l++) {
      UOp *d = sym_simplify(uop_2(UOP_ADD, CG_INT32, e[l]->src[1],
                                  uop_2(UOP_MUL, CG_INT32, u->src[1], uop_const(CG_INT32, -1))));
      contig = e[l]->src[0] == u->src[0] && e[l]->src[2] == u->src[2] && d->op == UOP_CONST && d->val == l;
    }
    if (contig) {
      cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)u->dtype, space_of(u->src[0]));
      pt.vec = (uint8_t)w;
      int32_t ia[2] = {emit(s, u->src[0]), emit(s, u->src[1])};
      int32_t ptr = cg_irb_emit(s->b, CG_IR_INDEX, pt, 2, ia, 0);
      v = emitv(s, CG_IR_LOAD, u->dtype, w, 1, &ptr, 0);
    }
  } else if (!same && alike && (uop_groups[u->op] & G_A) && ir_op_of[u->op] >= 0 && u->op != UOP_CONST) {
    UOp *sub[3][16];
    for (int k = 0; k < u->nsrc; k++) {
      for (int l = 0; l < w; l++) sub[k][l] = e[l]->src[k];
      src[k] = vexpr(s, w, sub[k]);
    }
    v = emitv(s, ir_op_of[u->op], u->dtype, w, u->nsrc, src, 0);
    s->flops += s->mult * w;
  }
  if (v < 0) {
    for (int l = 0; l < w; l++) src[l] = emit(s, e[l]);
    v = emitv(s, CG_IR_VECTORIZE, u->dtype, w, w, src, 0);
  }
  if (s->nvm == s->vm_cap) {
    s->vm_cap = s->vm_cap ? s->vm_cap * 2 : 64;
    s->vm = cg__xrealloc(s->vm, sizeof *s->vm * (size_t)s->vm_cap);
  }
  struct vmemo *m = &s->vm[s->nvm++];
  memcpy(m->e, e, sizeof(UOp *) * (size_t)w);
  m->w = w;
  m->val = v;
  return v;
}

/* acc[i..i+w) op= the vector of v[0..w) (MULACC for a float product summed). */
static void accumulate_vec(lstate *s, int32_t acc, int64_t i, int w, int op, cg_dtype dt, UOp *const *v) {
  cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)dt, CG_IR_AS_REG);
  pt.vec = (uint8_t)w;
  int32_t ia[2] = {acc, cnst(s, CG_INT32, (double)i)}, src[3];
  int32_t ptr = cg_irb_emit(s->b, CG_IR_INDEX, pt, 2, ia, 0);
  bool mac = op == UOP_ADD && v[0]->op == UOP_MUL;
  for (int l = 0; l < w; l++) mac &= v[l]->op == UOP_MUL;
  if (mac) {
    UOp *a[16], *b[16];
    for (int l = 0; l < w; l++) a[l] = v[l]->src[0], b[l] = v[l]->src[1];
    src[0] = vexpr(s, w, a);
    src[1] = vexpr(s, w, b);
    src[2] = emitv(s, CG_IR_LOAD, dt, w, 1, &ptr, 0);
    store(s, ptr, emitv(s, CG_IR_MULACC, dt, w, 3, src, 0));
  } else {
    src[1] = vexpr(s, w, v);
    src[0] = emitv(s, CG_IR_LOAD, dt, w, 1, &ptr, 0);
    store(s, ptr, emitv(s, ir_op_of[op], dt, w, 2, src, 0));
  }
  s->flops += s->mult * w;
}

/* Work-group combine of a GROUP reduce: every thread writes its partials to local
 * memory, then each reads its group's G partials back (the store is gated to g == 0). */
static void group_combine(lstate *s, int n, const int32_t *ptr, UOp *g, int op, cg_dtype dt) {
  const uint32_t *L = s->k->local;
  int64_t nl = (int64_t)L[0] * L[1] * L[2], gs = 1, G = (int64_t)g->src[0]->val;
  for (int a = 0; a < g->args[2]; a++) gs *= L[a];
  int32_t lid = cnst(s, CG_INT32, 0);
  for (int a = 2; a >= 0; a--) {
    if (L[a] <= 1) continue;
    int32_t ab[2] = {emit1(s, CG_IR_MUL, CG_INT32, 2, (int32_t[]){lid, cnst(s, CG_INT32, L[a])}, 0),
                     emit1(s, CG_IR_SPECIAL, CG_INT32, 0, NULL, a + 3)};
    lid = emit1(s, CG_IR_ADD, CG_INT32, 2, ab, 0);
  }
  cg_ir_type lt = cg_ir_ptr((cg_ir_scalar)dt, CG_IR_AS_LOCAL);
  int32_t lds = s->lds;
  for (int i = 0; i < n; i++) {
    int32_t ia[2] = {lds, emit1(s, CG_IR_ADD, CG_INT32, 2, (int32_t[]){lid, cnst(s, CG_INT32, (double)(i * nl))}, 0)};
    store(s, cg_irb_emit(s->b, CG_IR_INDEX, lt, 2, ia, 0), emit1(s, CG_IR_LOAD, dt, 1, &ptr[i], 0));
  }
  cg_irb_emit(s->b, CG_IR_BARRIER, cg_ir_t(CG_IR_VOID), 0, NULL, 0);
  int32_t gl = emit1(s, CG_IR_MUL, CG_INT32, 2, (int32_t[]){emit(s, g), cnst(s, CG_INT32, (double)gs)}, 0);
  int32_t base = emit1(s, CG_IR_SUB, CG_INT32, 2, (int32_t[]){lid, gl}, 0);
  for (int i = 0; i < n; i++) {
    store(s, ptr[i], cnst(s, dt, identity(op, dt)));
    int32_t se[2] = {cnst(s, CG_INT32, 0), cnst(s, CG_INT32, (double)G)};
    int32_t r = cg_irb_emit(s->b, CG_IR_RANGE, cg_ir_t(CG_IR_INT32), 2, se, 1000 + i);
    int32_t off = emit1(s, CG_IR_MUL, CG_INT32, 2, (int32_t[]){r, cnst(s, CG_INT32, (double)gs)}, 0);
    off = emit1(s, CG_IR_ADD, CG_INT32, 2, (int32_t[]){off, base}, 0);
    int32_t ia[2] = {lds, emit1(s, CG_IR_ADD, CG_INT32, 2, (int32_t[]){off, cnst(s, CG_INT32, (double)(i * nl))}, 0)};
    int32_t ab[2] = {emit1(s, CG_IR_LOAD, dt, 1, &ptr[i], 0),
                     emit1(s, CG_IR_LOAD, dt, 1, (int32_t[]){cg_irb_emit(s->b, CG_IR_INDEX, lt, 2, ia, 0)}, 0)};
    store(s, ptr[i], emit1(s, ir_op_of[op], dt, 2, ab, 0));
    cg_irb_emit(s->b, CG_IR_ENDRANGE, cg_ir_t(CG_IR_VOID), 1, &r, 0);
  }
  cg_irb_emit(s->b, CG_IR_BARRIER, cg_ir_t(CG_IR_VOID), 0, NULL, 0); /* before a reuse in a loop */
}

/* Staged tiles of this reduce-loop iteration: after every thread is done reading the
 * previous ones, each copies its share from global memory; a barrier, then the reads. */
static void stage_fill(lstate *s, const int32_t *pf) {
  const cg_stage *st = s->stage;
  if (!st || !st->nfill) return;
  cg_irb_emit(s->b, CG_IR_BARRIER, cg_ir_t(CG_IR_VOID), 0, NULL, 0);
  for (int i = 0; i < st->nfill && !pf; i++) emit(s, st->fill[i]);
  for (int i = 0; i < st->nfill && pf; i++) { /* prefetched: registers -> tile */
    UOp *f = st->fill[i];
    int32_t ia[2] = {emit(s, f->src[0]), emit(s, f->src[1])}, v[3];
    cg_ir_type lt = cg_ir_ptr((cg_ir_scalar)f->src[2]->dtype, CG_IR_AS_LOCAL);
    v[0] = cg_irb_emit(s->b, CG_IR_INDEX, lt, 2, ia, 0);
    v[1] = emit1(s, CG_IR_LOAD, f->src[2]->dtype, 1, &pf[i], 0);
    if (f->nsrc > 3) v[2] = emit(s, f->src[3]);
    cg_irb_emit(s->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), f->nsrc > 3 ? 3 : 2, v, 0);
  }
  cg_irb_emit(s->b, CG_IR_BARRIER, cg_ir_t(CG_IR_VOID), 0, NULL, 0);
  if (!pf) return;
  put(s, st->alias, get(s, st->loop)); /* then the next iteration's values */
  for (int i = 0; i < st->nfill; i++) store(s, pf[i], emit(s, st->next[i]));
}

/* Registers for the prefetched copies (CG_STAGE=3: no gain on the H100's f32 matmul
 * 4096, so off by default), holding iteration 0's values; NULL when the tiles are
 * filled straight from global memory. */
static const int32_t *stage_prefetch(lstate *s, int32_t *pf) {
  const cg_stage *st = s->stage;
  if (!st || !st->loop || cg__env_int("CG_STAGE", 2) < 3) return NULL;
  for (int i = 0; i < st->nfill; i++) {
    cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)st->first[i]->dtype, CG_IR_AS_REG);
    pf[i] = reg_ptr(s, cg_irb_emit(s->b, CG_IR_DEFINE_REG, pt, 0, NULL, 1), pt, 0);
    store(s, pf[i], emit(s, st->first[i]));
  }
  return pf;
}

/* idx = base + c with c a constant (base NULL when idx is one). */
static void split_const(UOp *idx, UOp **base, int64_t *c) {
  *base = idx, *c = 0;
  if (idx->op == UOP_CONST) *base = NULL, *c = (int64_t)idx->val;
  for (int i = 0; i < 2 && idx->op == UOP_ADD; i++)
    if (idx->src[i]->op == UOP_CONST) *base = idx->src[1 - i], *c = (int64_t)idx->src[i]->val;
}

static void tile_loads(UOp *u, UOp **l, int *n, uop_map *seen) {
  if (uop_map_get(seen, u)) return;
  uop_map_put(seen, u, u);
  if (u->op == UOP_LOAD) {
    if (space_of(u->src[0]) == CG_IR_AS_LOCAL && *n < 256) l[(*n)++] = u;
    return;
  }
  for (int i = 0; i < u->nsrc; i++) tile_loads(u->src[i], l, n, seen);
}

/* Scalar reads of a staged tile at consecutive indices c..c+W-1 (W lanes = 16 bytes, c a
 * multiple of W: a matmul's A values for the rows of the register tile) become one vector
 * read whose lanes are registered as the values of the scalar LOADs, so the body finds
 * them emitted. CG_STAGE=1 keeps them scalar. */
static void stage_vector_reads(lstate *s, UOp *const *e, int n) {
  if (!s->stage || cg__env_int("CG_STAGE", 2) < 2) return;
  UOp *l[256];
  int nl = 0;
  uop_map seen = {0};
  for (int i = 0; i < n; i++) tile_loads(e[i], l, &nl, &seen);
  uop_map_free(&seen);
  for (int a = 0; a < nl; a++) {
    UOp *b0, *lane[8] = {l[a]}, *bq;
    int64_t c0, cq, W = 16 / (int64_t)cg_dtype_size(l[a]->dtype);
    split_const(l[a]->src[1], &b0, &c0);
    if (W < 2 || W > 8 || c0 % W || get(s, l[a]) >= 0) continue;
    int found = 1;
    for (int k = 1; k < W; k++) {
      lane[k] = NULL;
      for (int q = 0; q < nl && !lane[k]; q++) {
        split_const(l[q]->src[1], &bq, &cq);
        if (l[q]->src[0] == l[a]->src[0] && bq == b0 && cq == c0 + k && get(s, l[q]) < 0) lane[k] = l[q];
      }
      found += lane[k] != NULL;
    }
    if (found < W) continue;
    cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)l[a]->dtype, CG_IR_AS_LOCAL);
    pt.vec = (uint8_t)W;
    int32_t ia[2] = {emit(s, l[a]->src[0]), emit(s, l[a]->src[1])};
    int32_t ptr = cg_irb_emit(s->b, CG_IR_INDEX, pt, 2, ia, 0);
    int32_t v = emitv(s, CG_IR_LOAD, l[a]->dtype, (int)W, 1, &ptr, 0);
    for (int k = 0; k < W; k++) put(s, lane[k], emit1(s, CG_IR_GEP, l[a]->dtype, 1, &v, k));
  }
}

/* n reduces that differ only in their upcast constants (same ranges): one accumulator
 * each; loops over the LOOP ranges, UNROLL ranges expanded, GROUP combined. Runs of w
 * consecutive accumulators (the innermost upcast range) are updated as IR vectors. */
static void emit_reduces(lstate *s, int n, UOp *const *red, int w) {
  cg_dtype dt = red[0]->dtype;
  int op = (int)red[0]->args[0], nu = 0;
  cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)dt, CG_IR_AS_REG);
  int32_t acc = cg_irb_emit(s->b, CG_IR_DEFINE_REG, pt, 0, NULL, n), ptr[256], rs[1 + 3 * CG_MAX_DIMS];
  UOp *unroll[CG_MAX_DIMS], *group = NULL;
  for (int i = 0; i < n; i++) {
    ptr[i] = reg_ptr(s, acc, pt, i);
    store(s, ptr[i], cnst(s, dt, identity(op, dt)));
  }
  int32_t pfr[CG_STAGE_PREFETCH];
  const int32_t *pf = stage_prefetch(s, pfr);
  size_t mark = s->nundo;
  for (int i = 1; i < red[0]->nsrc; i++) {
    UOp *r = red[0]->src[i];
    if (r->args[1] == CG_R_LOOP) rs[i] = open_range(s, r);
    else if (r->args[1] == CG_R_UNROLL) unroll[nu++] = r;
    else group = r;
  }
  stage_fill(s, pf);
  int64_t nj = combos(nu, unroll);
  int vu = 1; /* one accumulator: the innermost UNROLL range as vectors (wide loads) */
  if (!s->noopt && n == 1 && nu)
    for (vu = 16; vu > 1 && (int64_t)unroll[nu - 1]->src[0]->val % vu; vu /= 2) {}
  for (int64_t j = 0; j < nj && vu > 1; j += vu) {
    UOp *v[16];
    for (int l = 0; l < vu; l++) v[l] = subst(red[0]->src[0], nu, unroll, j + l);
    int32_t x = vexpr(s, vu, v);
    s->flops += s->mult * vu;
    for (int l = 0; l < vu; l++) {
      int32_t src[2] = {emit1(s, CG_IR_LOAD, dt, 1, &ptr[0], 0), emit1(s, CG_IR_GEP, dt, 1, &x, l)};
      store(s, ptr[0], emit1(s, ir_op_of[op], dt, 2, src, 0));
    }
  }
  for (int64_t j = 0; j < nj && vu == 1; j++) {
    UOp *vj[256];
    for (int i = 0; i < n; i++) vj[i] = subst(red[i]->src[0], nu, unroll, j);
    stage_vector_reads(s, vj, n);
    for (int i = 0; i < n; i += w) {
      if (w == 1) accumulate(s, ptr[i], op, dt, vj[i]);
      else accumulate_vec(s, acc, i, w, op, dt, vj + i);
    }
  }
  s->nvm = 0;
  for (int i = red[0]->nsrc - 1; i >= 1; i--)
    if (red[0]->src[i]->args[1] == CG_R_LOOP) close_range(s, red[0]->src[i], rs[i]);
  forget(s, mark);
  if (group) group_combine(s, n, ptr, group, op, dt);
  for (int i = 0; i < n; i++) put(s, red[i], emit1(s, CG_IR_LOAD, dt, 1, &ptr[i], 0));
}

static int32_t emit_reduce(lstate *s, UOp *u) {
  emit_reduces(s, 1, &u, 1);
  return get(s, u);
}

/* Distinct KREDUCE nodes under u (one of them in *one). */
static int count_reduces(UOp *u, UOp **one, uop_map *seen) {
  if (uop_map_get(seen, u)) return 0;
  uop_map_put(seen, u, u);
  int n = u->op == UOP_KREDUCE;
  if (n && one) *one = u;
  for (int i = 0; i < u->nsrc; i++) n += count_reduces(u->src[i], one, seen);
  return n;
}

/* A kernel with an inner output loop i and one reduce is emitted with the output loop
 * inside the reduce loops, so consecutive outputs share each loaded operand and the
 * inner loop runs over contiguous memory (the "ikj" order of a matmul):
 *     acc[I]; for i: acc[i] = id;  for r...: for i: acc[i] op= f(i, r);  for i: store(g(acc[i])) */
static void emit_tiled(lstate *s, UOp *loop, UOp *store, UOp *red) {
  cg_dtype dt = red->dtype;
  int op = (int)red->args[0];
  cg_ir_type pt = cg_ir_ptr((cg_ir_scalar)dt, CG_IR_AS_REG);
  int32_t acc = cg_irb_emit(s->b, CG_IR_DEFINE_REG, pt, 0, NULL, (int64_t)loop->src[0]->val);
  for (int phase = 0; phase < 3; phase++) {
    size_t mark = s->nundo;
    int32_t rs[CG_MAX_DIMS];
    if (phase == 1)
      for (int i = 1; i < red->nsrc; i++) rs[i] = open_range(s, red->src[i]);
    int32_t li = open_range(s, loop), ia[2] = {acc, li};
    int32_t ptr = cg_irb_emit(s->b, CG_IR_INDEX, pt, 2, ia, 0), st[2] = {ptr, 0};
    if (phase == 0) {
      st[1] = cnst(s, dt, identity(op, dt));
      cg_irb_emit(s->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, st, 0);
    } else if (phase == 1) {
      int32_t ab[2] = {emit1(s, CG_IR_LOAD, dt, 1, &ptr, 0), emit(s, red->src[0])};
      st[1] = emit1(s, ir_op_of[op], dt, 2, ab, 0);
      s->flops += s->mult;
      cg_irb_emit(s->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, st, 0);
    } else {
      put(s, red, emit1(s, CG_IR_LOAD, dt, 1, &ptr, 0));
      emit(s, store);
    }
    close_range(s, loop, li);
    if (phase == 1)
      for (int i = red->nsrc - 1; i >= 1; i--) close_range(s, red->src[i], rs[i]);
    forget(s, mark);
  }
}

/* The STORE once per upcast value; with one reduce, its tile of accumulators first. */
static void emit_upcast(lstate *s, const cg_kernel *k, UOp *st, bool one_reduce) {
  int64_t n = combos(k->nupcast, k->upcast);
  UOp **var = cg__xmalloc(sizeof(UOp *) * (size_t)n * 2), **red = var + n;
  for (int64_t c = 0; c < n; c++) {
    var[c] = subst(st, k->nupcast, k->upcast, c);
    uop_map seen = {0};
    red[c] = NULL;
    if (one_reduce && n <= 256) count_reduces(var[c], &red[c], &seen);
    uop_map_free(&seen);
  }
  for (int64_t c = 0; c < n; c++) /* a copy whose reduce folded away: no shared tile */
    if (!red[c]) red[0] = NULL;
  int w = 1; /* vector width: the innermost upcast, up to 16 lanes, float accumulators */
  if (!s->noopt && k->nupcast && red[0] && cg_dtype_size(red[0]->dtype) >= 4 && red[0]->dtype >= CG_FLOAT16) {
    int64_t last = (int64_t)k->upcast[k->nupcast - 1]->src[0]->val;
    for (w = 16; w > 1 && last % w; w /= 2) {}
  }
  if (one_reduce && n <= 256 && red[0]) emit_reduces(s, (int)n, red, w);
  for (int64_t c = 0; c < n; c++) emit(s, var[c]);
  free(var);
}

static int32_t emit_uncached(lstate *s, UOp *u) {
  int32_t src[4];
  switch (u->op) {
  case UOP_CONST: return cnst(s, u->dtype, u->val);
  case UOP_PARAM:
    return cg_irb_emit(s->b, CG_IR_PARAM, cg_ir_ptr((cg_ir_scalar)u->dtype, CG_IR_AS_GLOBAL), 0, NULL, u->args[0]);
  case UOP_RANGE:
    if (u->args[1] == 0) {
      s->err = cg__error(CG_ERR_INVALID, "linearize: loop range %lld used outside its loop", (long long)u->args[0]);
      return cnst(s, CG_INT32, 0);
    }
    if (u->args[1] != CG_R_GLOBAL && u->args[1] != CG_R_LOCAL) {
      s->err = cg__error(CG_ERR_INVALID, "linearize: range %lld not expanded", (long long)u->args[0]);
      return cnst(s, CG_INT32, 0);
    }
    return emit1(s, CG_IR_SPECIAL, CG_INT32, 0, NULL, u->args[1] == CG_R_GLOBAL ? 0 : 3 + u->args[2]);
  case UOP_LOAD: case UOP_STORE: {
    int32_t ia[2] = {emit(s, u->src[0]), emit(s, u->src[1])};
    int32_t ptr = cg_irb_emit(s->b, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)u->src[0]->dtype, space_of(u->src[0])), 2, ia, 0);
    src[0] = ptr;
    if (u->op == UOP_STORE) {
      src[1] = emit(s, u->src[2]);
      int n = 2;
      if (u->nsrc > 3) src[n++] = emit(s, u->src[3]);
      return cg_irb_emit(s->b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), n, src, 0);
    }
    UOp *g = u->src[2];
    if (g->op == UOP_CONST && g->val) return emit1(s, CG_IR_LOAD, u->dtype, 1, src, 0);
    src[1] = emit(s, g);
    src[2] = cnst(s, u->dtype, 0);
    return emit1(s, CG_IR_LOAD, u->dtype, 3, src, 0);
  }
  case UOP_KREDUCE: return emit_reduce(s, u);
  default:
    if (!(uop_groups[u->op] & G_A) || ir_op_of[u->op] < 0) {
      s->err = cg__error(CG_ERR_INVALID, "linearize: unexpected %s", uop_names[u->op]);
      return cnst(s, u->dtype, 0);
    }
    for (int i = 0; i < u->nsrc; i++) src[i] = emit(s, u->src[i]);
    s->flops += s->mult;
    return emit1(s, ir_op_of[u->op], u->dtype, u->nsrc, src, 0);
  }
}

static int32_t emit(lstate *s, UOp *u) {
  int32_t i = get(s, u);
  if (i >= 0) return i;
  i = emit_uncached(s, u);
  put(s, u, i);
  return i;
}

/* Symbolic length of the output: IF (the tile's first element is inside it), so a tile
 * past the length does no work at all (its stores are gated anyway). Only where the
 * axis index grows with the upcast ranges (not a flattened output, whose index wraps)
 * and no work-group barrier could be skipped by part of a group (GROUP). -1: none. */
static int32_t tile_gate(lstate *s, const cg_kernel *k) {
  if (!k->len_gate || k->plan.flat || s->lds || s->noopt) return -1;
  UOp *g = subst(k->len_gate, k->nupcast, k->upcast, 0);
  if (g->op == UOP_CONST) return -1;
  int32_t c = emit(s, g);
  return cg_irb_emit(s->b, CG_IR_IF, cg_ir_t(CG_IR_VOID), 1, &c, 0);
}

cg_ir_program *cg__linearize(const cg_kernel *k) {
  init_op_map();
  lstate s = {.b = cg_irb_new(k->name), .mult = 1, .k = k};
  s.mult = (double)k->global[0] * k->local[0] * k->local[1] * k->local[2];
  cg_irb_param(s.b, (cg_ir_scalar)k->out->dtype, CG_IR_PARAM_WRITE, uop_numel(k->out));
  double bytes = (double)uop_numel(k->out) * (double)cg_dtype_size(k->out->dtype);
  for (int i = 0; i < k->nin; i++) {
    cg_irb_param(s.b, (cg_ir_scalar)k->in[i]->dtype, CG_IR_PARAM_READ, uop_numel(k->in[i]));
    bytes += (double)uop_numel(k->in[i]) * (double)cg_dtype_size(k->in[i]->dtype);
  }
  for (int i = 0; i <= k->nin; i++) {
    int64_t p = i;
    emit(&s, uop_new(UOP_PARAM, i ? k->in[i - 1]->dtype : k->out->dtype, 0, NULL, 1, &p, 0, NULL));
  }
  for (int i = 0; i < k->nvars; i++) { /* symbolic variables: IR var i, value given at launch */
    UOp *v = k->vars[i];
    cg_irb_var(s.b, v->ptr, v->args[0], v->args[1]);
    put(&s, v, emit1(&s, CG_IR_VAR, CG_INT32, 0, NULL, i));
  }
  UOp *store = k->sink->src[0], *red = NULL;
  uop_map seen = {0};
  int nred = count_reduces(store, &red, &seen);
  uop_map_free(&seen);
  s.noopt = cg__env_int("NOOPT", 0) != 0; /* plain nested loops, no interchange, no MULACC */
  bool one = nred == 1 && !count_reduces(red->src[0], NULL, &seen);
  for (int i = 1; one && i < red->nsrc; i++)
    if (red->src[i]->args[1] == CG_R_LOCAL) { /* GROUP: local memory for every tile partial */
      int64_t n = combos(k->nupcast, k->upcast) * k->local[0] * k->local[1] * k->local[2];
      s.lds = cg_irb_emit(s.b, CG_IR_DEFINE_LOCAL, cg_ir_ptr((cg_ir_scalar)red->dtype, CG_IR_AS_LOCAL), 0, NULL, n);
    }
  cg_stage stage;
  if (one && !s.noopt && cg__env_int("CG_STAGE", 1)) { /* GPU: shared operands via local memory */
    store = cg__stage(k, store, red, &stage);
    for (int i = 0; i < stage.n; i++) {
      cg_ir_type lt = cg_ir_ptr((cg_ir_scalar)stage.lbuf[i]->dtype, CG_IR_AS_LOCAL);
      put(&s, stage.lbuf[i], cg_irb_emit(s.b, CG_IR_DEFINE_LOCAL, lt, 0, NULL, stage.size[i]));
    }
    s.stage = stage.n ? &stage : NULL;
  }
  bool plain_red = one && red->nsrc == 2 && red->src[1]->args[1] == CG_R_LOOP;
  if (!s.noopt && k->nloops == 1 && !k->nupcast && plain_red) {
    emit_tiled(&s, k->loops[0], store, red);
  } else {
    int32_t loops[CG_MAX_AXES];
    for (int i = 0; i < k->nloops; i++) loops[i] = open_range(&s, k->loops[i]);
    size_t mark = s.nundo;
    int32_t skip = tile_gate(&s, k);
    emit_upcast(&s, k, store, one);
    if (skip >= 0) {
      cg_irb_emit(s.b, CG_IR_ENDIF, cg_ir_t(CG_IR_VOID), 1, &skip, 0);
      forget(&s, mark);
    }
    for (int i = k->nloops - 1; i >= 0; i--) close_range(&s, k->loops[i], loops[i]);
  }
  uop_map_free(&seen);
  cg_irb_set_launch(s.b, k->global, k->local);
  cg_irb_set_cost(s.b, (uint64_t)s.flops, (uint64_t)bytes);
  cg_ir_program *p = s.err ? NULL : cg_irb_finish(s.b);
  if (p && s.stage && strlen(p->name) + 2 < sizeof p->name) strcat(p->name, "_S"); /* staged */
  cg_irb_free(s.b);
  free(s.map);
  free(s.undo);
  free(s.vm);
  return p;
}
