/* The node of every level (tensor graph, kernel AST): UOp, immutable and hash-consed.
 *
 * Building a node that already exists returns the existing one, so structural equality
 * is pointer equality. Ownership: nodes are refcounted. uop_new() returns a node whose
 * new reference belongs to the innermost node POOL (uop_pool_push/pop): callers may use
 * it freely until the pool is popped, and anything that keeps a node beyond that
 * (a tensor, another node's src, a cache) takes its own reference with uop_retain.
 * A node dies when its last reference goes; it then releases its srcs and its buffer. */
#ifndef CG_UOP_H
#define CG_UOP_H

#include "base.h"

enum {
  G_L = 1, G_U = 2, G_B = 4, G_T = 8, G_R = 16, G_M = 32, G_S = 64, G_K = 128, G_A = 256
};

typedef enum {
#define X(name, arity, groups) UOP_##name,
#include "ops.def"
#undef X
  UOP_COUNT
} uop_op;

struct cg_buffer;
struct cg_device;

typedef struct UOp UOp;
struct UOp {
  uint16_t op;            /* uop_op */
  uint8_t dtype;          /* cg_dtype */
  uint8_t nsrc;
  uint8_t nargs;
  uint8_t ndim;           /* tensor-level shape rank (0 for kernel-level nodes) */
  int32_t rc;
  uint64_t hash;
  UOp *next;              /* intern table chain */
  UOp **src;
  int64_t *args;          /* op-specific ints (axes, shapes, pads) */
  double val;             /* CONST value */
  void *ptr;              /* BUFFER: cg_buffer*; COPY: cg_device*; VAR: name */
  int64_t shape[CG_MAX_DIMS]; /* tensor-level shape, derived (not part of identity) */
  struct cg_device *device;   /* tensor-level device, derived; NULL = any (consts) */
  struct cg_buffer *realized; /* value computed into this buffer (retained), or NULL */
  /* caches of pure functions of the node (not part of its identity) */
  const void *rw_rules;       /* rule table of the last context-free uop_rewrite ... */
  UOp *rw_res;                /* ... and its result (retained; NULL = the node itself) */
  int64_t vmin, vmax;         /* sym_range, valid when vrange is set */
  bool vrange;
  /* symbolic length (tensor level, derived; docs/symbolic.md): axis slen_ax - 1 holds only
   * `slen` valid elements (a 0-d int32 expression of VARs, reachable through src so not
   * retained here); 0 = none. slen_bad: op + 1 of the node that broke it (an error). */
  uint8_t slen_ax;
  uint16_t slen_bad;
  UOp *slen;
};

extern const char *const uop_names[UOP_COUNT];
extern const int uop_groups[UOP_COUNT];
extern const int uop_arity[UOP_COUNT];
static inline bool uop_is(const UOp *u, int group) { return (uop_groups[u->op] & group) != 0; }

/* Intern a node. shape may be NULL for kernel-level nodes. */
UOp *uop_new(uop_op op, cg_dtype dtype, int nsrc, UOp *const *src, int nargs,
             const int64_t *args, double val, void *ptr);
UOp *uop_const(cg_dtype dtype, double v);          /* 0-d constant */
UOp *uop_1(uop_op op, cg_dtype dtype, UOp *a);
UOp *uop_2(uop_op op, cg_dtype dtype, UOp *a, UOp *b);
UOp *uop_3(uop_op op, cg_dtype dtype, UOp *a, UOp *b, UOp *c);
UOp *uop_retain(UOp *u);
void uop_release(UOp *u);
void uop_pool_push(void);
void uop_pool_pop(void);
int64_t uop_numel(const UOp *u);
size_t uop_live_count(void);          /* for leak tests */

/* Rewrite engine: rules are tried in order on each node (bottom-up, memoized) until
 * none applies; a rule returns a replacement node or NULL. ctx is passed through.
 * With ctx NULL the rules must be pure functions of the node: the result is then cached
 * on each node visited (keyed by the rules pointer) and reused by later calls. */
typedef UOp *(*uop_rule_fn)(UOp *u, void *ctx);
typedef struct { int op; uop_rule_fn fn; const char *doc; } uop_rule; /* op -1 = any */
UOp *uop_rewrite(UOp *root, const uop_rule *rules, int nrules, void *ctx);

/* Pointer map (node -> node), for memo tables of passes. Zero-init; free with uop_map_free. */
typedef struct { struct uop_map_e *e; size_t cap, len; } uop_map;
UOp *uop_map_get(const uop_map *m, const UOp *k);
void uop_map_put(uop_map *m, UOp *k, UOp *v);
void uop_map_free(uop_map *m);

/* Text form of a graph / kernel AST: one node per line, shared nodes printed once. */
char *uop_print(UOp *root);
/* Verifier (debug/test builds): arity, dtypes, shapes; returns 0 or -1 with error set. */
int uop_verify(UOp *root);



/* Tensor-level node helpers (no validation; callers check shapes). Same node back when
 * nothing changes. */
UOp *uop_mv(uop_op op, UOp *u, int nargs, const int64_t *args);
UOp *uop_reshape(UOp *u, int ndim, const int64_t *shape);
UOp *uop_expand(UOp *u, int ndim, const int64_t *shape); /* same rank */
UOp *uop_cast(UOp *u, cg_dtype dt);
UOp *uop_full(cg_dtype dt, double v, int ndim, const int64_t *shape); /* const, expanded */
UOp *uop_reduce(uop_op op, UOp *u, int naxes, const int64_t *axes);  /* keepdim */
#endif
