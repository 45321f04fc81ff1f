/* UOp interning, refcounts, node pools, the rewrite driver, the text printer and the
 * verifier. Every node of every level goes through uop_new.
 *
 * Hashes are structural (op, dtype, args, value, and the srcs' hashes), never pointer
 * based, so orderings derived from them are identical from run to run. */
#include <math.h>

#include "cgrad/ir_util.h"
#include "runtime.h"
#include "uop.h"

#define L G_L
#define U G_U
#define B G_B
#define T G_T
#define R G_R
#define M G_M
#define S G_S
#define K G_K
#define A G_A
const char *const uop_names[UOP_COUNT] = {
#define X(name, arity, groups) #name,
#include "ops.def"
#undef X
};
const int uop_groups[UOP_COUNT] = {
#define X(name, arity, groups) groups,
#include "ops.def"
#undef X
};
const int uop_arity[UOP_COUNT] = {
#define X(name, arity, groups) arity,
#include "ops.def"
#undef X
};
#undef L
#undef U
#undef B
#undef T
#undef R
#undef M
#undef S
#undef K
#undef A

/* ---- intern table ---- */
static UOp **table;
static size_t table_cap, table_len;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

static uint64_t node_hash(uop_op op, cg_dtype dt, int nsrc, UOp *const *src, int nargs,
                          const int64_t *args, double val, void *ptr, uint64_t ptr_id) {
  uint64_t h = mix((uint64_t)op, (uint64_t)dt);
  for (int i = 0; i < nsrc; i++) h = mix(h, src[i]->hash);
  for (int i = 0; i < nargs; i++) h = mix(h, (uint64_t)args[i]);
  uint64_t vb;
  memcpy(&vb, &val, sizeof vb);
  h = mix(h, vb);
  return mix(h, ptr ? ptr_id : 0);
}

static bool node_eq(const UOp *u, uop_op op, cg_dtype dt, int nsrc, UOp *const *src, int nargs,
                    const int64_t *args, double val, void *ptr) {
  if (u->op != op || u->dtype != dt || u->nsrc != nsrc || u->nargs != nargs) return false;
  /* symbolic variables are interned by name (each node keeps its own copy of it) */
  if (op == UOP_VAR && u->ptr && ptr ? strcmp(u->ptr, ptr) != 0 : u->ptr != ptr) return false;
  if (memcmp(&u->val, &val, sizeof val) != 0) return false;
  for (int i = 0; i < nsrc; i++)
    if (u->src[i] != src[i]) return false;
  return nargs == 0 || memcmp(u->args, args, sizeof(int64_t) * (size_t)nargs) == 0;
}

static void table_grow(void) {
  size_t ncap = table_cap ? table_cap * 2 : 4096;
  UOp **nt = cg__xcalloc(ncap, sizeof *nt);
  for (size_t i = 0; i < table_cap; i++) {
    for (UOp *u = table[i], *next; u; u = next) {
      next = u->next;
      u->next = nt[u->hash & (ncap - 1)];
      nt[u->hash & (ncap - 1)] = u;
    }
  }
  free(table);
  table = nt;
  table_cap = ncap;
}

size_t uop_live_count(void) { return table_len; }

/* ---- pools ---- */
static UOp **pool;
static size_t pool_len, pool_cap;
static size_t *marks;
static size_t nmarks, marks_cap;

void uop_pool_push(void) {
  if (nmarks == marks_cap) {
    marks_cap = marks_cap ? marks_cap * 2 : 64;
    marks = cg__xrealloc(marks, marks_cap * sizeof *marks);
  }
  marks[nmarks++] = pool_len;
}

void uop_pool_pop(void) {
  size_t m = nmarks ? marks[--nmarks] : 0;
  while (pool_len > m) uop_release(pool[--pool_len]);
  if (nmarks == 0) {
    free(pool); pool = NULL; pool_cap = 0;
    free(marks); marks = NULL; marks_cap = 0;
  }
}

static UOp *pool_add(UOp *u) {
  if (nmarks == 0) uop_pool_push(); /* a stray node outside any pool: keep it alive */
  if (pool_len == pool_cap) {
    pool_cap = pool_cap ? pool_cap * 2 : 1024;
    pool = cg__xrealloc(pool, pool_cap * sizeof *pool);
  }
  pool[pool_len++] = u;
  return u;
}

/* ---- shapes ---- */
static void derive_shape(UOp *u) {
  UOp *s = u->nsrc ? u->src[0] : NULL;
  int g = uop_groups[u->op];
  if (u->op == UOP_BUFFER || u->op == UOP_RESHAPE || u->op == UOP_EXPAND) {
    u->ndim = u->nargs;
    if (u->nargs) memcpy(u->shape, u->args, sizeof(int64_t) * u->nargs);
  } else if (g & G_K || u->op == UOP_CONST || u->op == UOP_VAR || !s) {
    u->ndim = 0;
  } else {
    u->ndim = s->ndim;
    if (s->ndim) memcpy(u->shape, s->shape, sizeof(int64_t) * s->ndim);
    for (int i = 0; i < s->ndim; i++) {
      switch (u->op) {
      case UOP_PERMUTE: u->shape[i] = s->shape[u->args[i]]; break;
      case UOP_PAD: u->shape[i] += u->args[2 * i] + u->args[2 * i + 1]; break;
      case UOP_SHRINK: u->shape[i] = u->args[2 * i + 1] - u->args[2 * i]; break;
      case UOP_VSHRINK: if (i == u->args[0]) u->shape[i] = u->args[1]; break; /* symbolic start */
      default:
        if (g & G_R) {
          for (int k = 0; k < u->nargs; k++)
            if (u->args[k] == i) u->shape[i] = 1;
        }
      }
    }
  }
}

/* Symbolic length (docs/symbolic.md): VLEN sets it; elementwise ops need every operand
 * with one to agree; PERMUTE and RESHAPE move it when the axis survives whole; a reduce
 * over it drops it. Anything that would mix valid and undefined elements (PAD, SHRINK,
 * FLIP, VSHRINK or EXPAND along it, RESHAPE merging it) marks the node bad, and the
 * tensor op returning it fails (tensor.c: wrap_end). */
static void set_slen(UOp *u, int ax, UOp *len) {
  u->slen_ax = (uint8_t)(ax + 1);
  u->slen = len;
}

static void derive_slen(UOp *u) {
  int n = u->op == UOP_VSHRINK || u->op == UOP_VLEN ? 1 : u->nsrc, ax = -1;
  UOp *len = NULL;
  if (uop_groups[u->op] & G_K) return;
  for (int i = 0; i < n; i++) {
    UOp *s = u->src[i];
    if (s->slen_bad) { u->slen_bad = s->slen_bad; return; }
    if (!s->slen_ax) continue;
    if (len && (len != s->slen || ax != s->slen_ax - 1)) { u->slen_bad = (uint16_t)(u->op + 1); return; }
    len = s->slen;
    ax = s->slen_ax - 1;
  }
  if (u->op == UOP_VLEN && u->nargs > 1) { /* zero past the length: defined everywhere */
    if (len && ax != u->args[0]) u->slen_bad = (uint16_t)(u->op + 1);
    return;
  }
  if (u->op == UOP_VLEN) {
    if (len) u->slen_bad = (uint16_t)(u->op + 1);
    else set_slen(u, (int)u->args[0], u->src[1]);
    return;
  }
  if (!len) return;
  UOp *s = u->src[0];
  bool bad = false;
  switch (u->op) {
  case UOP_PERMUTE:
    for (int i = 0; i < u->ndim; i++)
      if (u->args[i] == ax) set_slen(u, i, len);
    return;
  case UOP_RESHAPE: { /* the axis must survive whole: same size, same elements before it */
    int64_t before = 1, b2 = 1;
    for (int i = 0; i < ax; i++) before *= s->shape[i];
    for (int i = 0; i < u->ndim; b2 *= u->shape[i++])
      if (b2 == before && u->shape[i] == s->shape[ax]) { set_slen(u, i, len); return; }
    bad = true;
    break;
  }
  case UOP_EXPAND: bad = u->shape[ax] != s->shape[ax]; break;
  case UOP_PAD: bad = u->args[2 * ax] || u->args[2 * ax + 1]; break;
  case UOP_SHRINK: bad = u->args[2 * ax] || u->args[2 * ax + 1] != s->shape[ax]; break;
  case UOP_FLIP: bad = u->args[ax] != 0; break;
  case UOP_VSHRINK: bad = u->args[0] == ax; break;
  case UOP_REDUCE_SUM: case UOP_REDUCE_PROD: case UOP_REDUCE_MAX:
    for (int k = 0; k < u->nargs; k++)
      if (u->args[k] == ax) return; /* reduced over the valid elements only */
    break;
  default: break;
  }
  if (bad) u->slen_bad = (uint16_t)(u->op + 1);
  else set_slen(u, ax, len);
}

static struct cg_device *derive_device(const UOp *u) {
  if (u->op == UOP_BUFFER) return cg__buffer_device(u->ptr);
  if (u->op == UOP_COPY) return u->ptr;
  for (int i = 0; i < u->nsrc; i++)
    if (u->src[i]->device) return u->src[i]->device;
  return NULL;
}

UOp *uop_new(uop_op op, cg_dtype dt, int nsrc, UOp *const *src, int nargs, const int64_t *args,
             double val, void *ptr) {
  uint64_t pid = 0;
  if (ptr && op == UOP_VAR) pid = cg_hash64(ptr, strlen(ptr), 1);
  else if (ptr) pid = (uint64_t)(uintptr_t)ptr; /* buffers/devices: identity */
  uint64_t h = node_hash(op, dt, nsrc, src, nargs, args, val, ptr, pid);
  if (table_cap) {
    for (UOp *u = table[h & (table_cap - 1)]; u; u = u->next)
      if (u->hash == h && node_eq(u, op, dt, nsrc, src, nargs, args, val, ptr))
        return pool_add(uop_retain(u));
  }
  if (table_len * 2 >= table_cap) table_grow();
  UOp *u = cg__xcalloc(1, sizeof *u);
  u->op = (uint16_t)op;
  u->dtype = (uint8_t)dt;
  u->nsrc = (uint8_t)nsrc;
  u->nargs = (uint8_t)nargs;
  u->rc = 1;
  u->hash = h;
  u->val = val;
  u->ptr = op == UOP_VAR && ptr ? cg__xstrdup(ptr) : ptr;
  if (nsrc) {
    u->src = cg__xmalloc(sizeof(UOp *) * (size_t)nsrc);
    for (int i = 0; i < nsrc; i++) u->src[i] = uop_retain(src[i]);
  }
  if (nargs) {
    u->args = cg__xmalloc(sizeof(int64_t) * (size_t)nargs);
    memcpy(u->args, args, sizeof(int64_t) * (size_t)nargs);
  }
  if (op == UOP_BUFFER) cg__buffer_retain(ptr);
  derive_shape(u);
  derive_slen(u);
  u->device = derive_device(u);
  u->next = table[h & (table_cap - 1)];
  table[h & (table_cap - 1)] = u;
  table_len++;
  return pool_add(u);
}

UOp *uop_retain(UOp *u) {
  if (u) u->rc++;
  return u;
}

static void unlink_node(UOp *u) {
  UOp **pp = &table[u->hash & (table_cap - 1)];
  while (*pp != u) pp = &(*pp)->next;
  *pp = u->next;
  table_len--;
}

void uop_release(UOp *u) {
  if (!u || --u->rc > 0) return;
  unlink_node(u);
  for (int i = 0; i < u->nsrc; i++) uop_release(u->src[i]);
  if (u->op == UOP_BUFFER) cg__buffer_release(u->ptr);
  if (u->op == UOP_VAR) free(u->ptr);
  if (u->realized) cg__buffer_release(u->realized);
  if (u->rw_res) uop_release(u->rw_res);
  free(u->src);
  free(u->args);
  free(u);
  if (table_len == 0) { free(table); table = NULL; table_cap = 0; }
}

UOp *uop_const(cg_dtype dt, double v) { return uop_new(UOP_CONST, dt, 0, NULL, 0, NULL, v, NULL); }
UOp *uop_1(uop_op op, cg_dtype dt, UOp *a) { return uop_new(op, dt, 1, &a, 0, NULL, 0, NULL); }
UOp *uop_2(uop_op op, cg_dtype dt, UOp *a, UOp *b) {
  UOp *s[2] = {a, b};
  return uop_new(op, dt, 2, s, 0, NULL, 0, NULL);
}
UOp *uop_3(uop_op op, cg_dtype dt, UOp *a, UOp *b, UOp *c) {
  UOp *s[3] = {a, b, c};
  return uop_new(op, dt, 3, s, 0, NULL, 0, NULL);
}

int64_t uop_numel(const UOp *u) {
  int64_t n = 1;
  for (int i = 0; i < u->ndim; i++) n *= u->shape[i];
  return n;
}

/* ---- pointer maps (memo tables of passes) ---- */
typedef struct uop_map_e { UOp *key, *val; } pm_entry;
typedef uop_map ptrmap;

static size_t pm_slot(const ptrmap *m, const UOp *k) {
  size_t i = ((uintptr_t)k >> 4) * 0x9e3779b97f4a7c15ull & (m->cap - 1);
  while (m->e[i].key && m->e[i].key != k) i = (i + 1) & (m->cap - 1);
  return i;
}
static UOp *pm_get(const ptrmap *m, const UOp *k) {
  return m->cap ? m->e[pm_slot(m, k)].val : NULL;
}
static void pm_put(ptrmap *m, UOp *k, UOp *v) {
  if ((m->len + 1) * 2 > m->cap) {
    ptrmap n = {cg__xcalloc(m->cap ? m->cap * 2 : 256, sizeof(pm_entry)), m->cap ? m->cap * 2 : 256, 0};
    for (size_t i = 0; i < m->cap; i++)
      if (m->e[i].key) { n.e[pm_slot(&n, m->e[i].key)] = m->e[i]; n.len++; }
    free(m->e);
    *m = n;
  }
  size_t i = pm_slot(m, k);
  if (!m->e[i].key) m->len++;
  m->e[i].key = k;
  m->e[i].val = v;
}

UOp *uop_map_get(const uop_map *m, const UOp *k) { return pm_get(m, k); }
void uop_map_put(uop_map *m, UOp *k, UOp *v) { pm_put(m, k, v); }
void uop_map_free(uop_map *m) { free(m->e); memset(m, 0, sizeof *m); }

/* ---- rewrite driver ---- */
typedef struct { const uop_rule *rules; int n; void *ctx; ptrmap memo; } rw_state;

/* Context-free rewrites remember their result on the node (retained unless it is the
 * node itself, so a cached result never keeps its own source alive in a cycle). */
static void rw_cache(const uop_rule *rules, UOp *u, UOp *res) {
  if (u->rw_res) uop_release(u->rw_res);
  u->rw_rules = rules;
  u->rw_res = res == u ? NULL : uop_retain(res);
}

static UOp *rw(rw_state *st, UOp *u, int depth) {
  if (!st->ctx && u->rw_rules == st->rules) return u->rw_res ? u->rw_res : u;
  UOp *done = pm_get(&st->memo, u);
  if (done) return done;
  UOp *cur = u;
  for (int iter = 0; iter < 1000; iter++) {
    UOp *srcs[64];
    bool changed = false;
    for (int i = 0; i < cur->nsrc; i++) {
      srcs[i] = rw(st, cur->src[i], depth + 1);
      changed |= srcs[i] != cur->src[i];
    }
    if (changed)
      cur = uop_new(cur->op, cur->dtype, cur->nsrc, srcs, cur->nargs, cur->args, cur->val, cur->ptr);
    UOp *next = NULL;
    for (int r = 0; r < st->n && !next; r++)
      if (st->rules[r].op < 0 || st->rules[r].op == cur->op) next = st->rules[r].fn(cur, st->ctx);
    if (!next || next == cur) break;
    cur = next;
  }
  if (st->ctx) pm_put(&st->memo, u, cur);
  else rw_cache(st->rules, u, cur);
  return cur;
}

UOp *uop_rewrite(UOp *root, const uop_rule *rules, int nrules, void *ctx) {
  rw_state st = {rules, nrules, ctx, {0}};
  UOp *r = rw(&st, root, 0);
  free(st.memo.e);
  return r;
}

/* ---- printer ---- */
static void print_node(cg_str *b, UOp *u, ptrmap *ids, int *next) {
  if (pm_get(ids, u)) return;
  for (int i = 0; i < u->nsrc; i++) print_node(b, u->src[i], ids, next);
  int id = ++*next;
  pm_put(ids, u, (UOp *)(intptr_t)id);
  cg__str_printf(b, "%%%d = %s %s", id - 1, uop_names[u->op], cg_dtype_name(u->dtype));
  for (int i = 0; i < u->nsrc; i++)
    cg__str_printf(b, " %%%d", (int)(intptr_t)pm_get(ids, u->src[i]) - 1);
  if (u->nargs) {
    cg__str_printf(b, " [");
    for (int i = 0; i < u->nargs; i++) cg__str_printf(b, "%s%lld", i ? "," : "", (long long)u->args[i]);
    cg__str_printf(b, "]");
  }
  if (u->op == UOP_CONST) cg__str_printf(b, " %.9g", u->val);
  if (u->op == UOP_VAR) cg__str_printf(b, " %s", (char *)u->ptr);
  if (u->ndim && !(uop_groups[u->op] & G_K)) {
    cg__str_printf(b, " (");
    for (int i = 0; i < u->ndim; i++) cg__str_printf(b, "%s%lld", i ? "," : "", (long long)u->shape[i]);
    cg__str_printf(b, ")");
  }
  if (u->realized) cg__str_printf(b, " realized");
  cg__str_printf(b, "\n");
}

char *uop_print(UOp *root) {
  cg_str b = {0};
  ptrmap ids = {0};
  int next = 0;
  print_node(&b, root, &ids, &next);
  free(ids.e);
  if (!b.s) return cg__xstrdup("");
  return b.s;
}

/* ---- verifier ---- */
static int verify_node(UOp *u, ptrmap *seen) {
  if (pm_get(seen, u)) return 0;
  pm_put(seen, u, u);
  if (uop_arity[u->op] >= 0 && u->nsrc != uop_arity[u->op])
    return cg__error(CG_ERR_INVALID, "verify: %s has %d srcs, wants %d", uop_names[u->op], u->nsrc,
                     uop_arity[u->op]), -1;
  for (int i = 0; i < u->nsrc; i++)
    if (verify_node(u->src[i], seen)) return -1;
  int g = uop_groups[u->op];
  if ((g & (G_B | G_T)) && !(g & G_K)) {
    for (int i = 1; i < u->nsrc; i++) {
      UOp *a = u->src[u->op == UOP_WHERE ? 1 : 0], *s = u->src[i];
      if (s->ndim != a->ndim || memcmp(s->shape, a->shape, sizeof(int64_t) * a->ndim))
        return cg__error(CG_ERR_SHAPE, "verify: %s srcs differ in shape", uop_names[u->op]), -1;
    }
  }
  return 0;
}

int uop_verify(UOp *root) {
  ptrmap seen = {0};
  int r = verify_node(root, &seen);
  free(seen.e);
  return r;
}

/* ---- tensor-level helpers ---- */
UOp *uop_mv(uop_op op, UOp *u, int nargs, const int64_t *args) {
  return uop_new(op, (cg_dtype)u->dtype, 1, &u, nargs, args, 0, NULL);
}

static bool same_shape(const UOp *u, int ndim, const int64_t *shape) {
  return ndim == u->ndim && (!ndim || !memcmp(shape, u->shape, sizeof(int64_t) * (size_t)ndim));
}

UOp *uop_reshape(UOp *u, int ndim, const int64_t *shape) {
  if (same_shape(u, ndim, shape)) return u;
  if (u->op == UOP_RESHAPE) u = u->src[0]; /* reshape(reshape(x)) -> reshape(x) */
  if (same_shape(u, ndim, shape)) return u;
  return uop_mv(UOP_RESHAPE, u, ndim, shape);
}

UOp *uop_expand(UOp *u, int ndim, const int64_t *shape) {
  if (same_shape(u, ndim, shape)) return u;
  return uop_mv(UOP_EXPAND, u, ndim, shape);
}

UOp *uop_cast(UOp *u, cg_dtype dt) { return u->dtype == dt ? u : uop_1(UOP_CAST, dt, u); }

UOp *uop_full(cg_dtype dt, double v, int ndim, const int64_t *shape) {
  int64_t ones[CG_MAX_DIMS];
  for (int i = 0; i < ndim; i++) ones[i] = 1;
  return uop_expand(uop_reshape(uop_const(dt, v), ndim, ones), ndim, shape);
}

UOp *uop_reduce(uop_op op, UOp *u, int naxes, const int64_t *axes) {
  int64_t ax[CG_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < naxes; i++)
    if (u->shape[axes[i]] != 1) ax[n++] = axes[i];
  if (n == 0) return u;
  return uop_mv(op, u, n, ax);
}
