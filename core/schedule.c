/* Scheduler: turn the lazy graph under a set of roots into an ordered list of kernels
 * and copies, and run them.
 *
 * Fusion rules (DESIGN.md §6): elementwise chains fuse; elementwise producers fuse into
 * the reduce that consumes them; a reduce fuses with the elementwise epilogue after it.
 * Kernel boundaries: roots, CONTIGUOUS, COPY, and a reduce that (a) is read through an
 * EXPAND that grows an axis (its value would be recomputed per broadcast element),
 * (b) sits inside another reduce's input, (c) is a second reduce of the same kernel,
 * or (d) is reached from two kernels. Equal kernels compile once (the program cache keys on
 * the IR bytes). */
#include "runtime.h"
#include "schedule.h"
#include "tensor.h"

typedef struct {
  UOp **order;      /* post-order (dependencies first) of unrealized nodes */
  int n, cap;
  UOp **keys;       /* open-addressing set: node -> index in order */
  int *idx;
  uint8_t *is_buf, *seen_state;
  int *owner;       /* kernel that fused a reduce, -1 = none yet */
  int kcap;
} graph;

static int gfind(const graph *g, const UOp *u) {
  size_t i = (size_t)(u->hash * 0x9e3779b97f4a7c15ull) & (size_t)(g->kcap - 1);
  while (g->keys[i] && g->keys[i] != u) i = (i + 1) & (size_t)(g->kcap - 1);
  return (int)i;
}

static int gindex(const graph *g, const UOp *u) {
  int s = gfind(g, u);
  return g->keys[s] ? g->idx[s] : -1;
}

static bool done(const UOp *u) { return u->op == UOP_BUFFER || u->realized; }

static void grow(graph *g) {
  int ocap = g->kcap;
  UOp **ok = g->keys;
  int *oi = g->idx;
  g->kcap = ocap ? ocap * 2 : 1024;
  g->keys = cg__xcalloc((size_t)g->kcap, sizeof(UOp *));
  g->idx = cg__xcalloc((size_t)g->kcap, sizeof(int));
  for (int i = 0; i < ocap; i++)
    if (ok[i]) { int s = gfind(g, ok[i]); g->keys[s] = ok[i]; g->idx[s] = oi[i]; }
  free(ok);
  free(oi);
}

/* Post-order walk with an explicit stack (graphs can be deep). */
static void collect(graph *g, UOp *root) {
  if (done(root)) return;
  UOp **stack = cg__xmalloc(sizeof(UOp *) * 64);
  int *child = cg__xmalloc(sizeof(int) * 64);
  int sp = 0, scap = 64;
  if ((g->n + 1) * 2 > g->kcap) grow(g);
  if (g->keys[gfind(g, root)]) { free(stack); free(child); return; }
  stack[sp] = root; child[sp++] = 0;
  g->keys[gfind(g, root)] = root; g->idx[gfind(g, root)] = -2; /* on stack */
  while (sp) {
    UOp *u = stack[sp - 1];
    if (child[sp - 1] < u->nsrc) {
      UOp *s = u->src[child[sp - 1]++];
      if (done(s)) continue;
      if ((g->n + sp + 2) * 2 > g->kcap) grow(g);
      int slot = gfind(g, s);
      if (g->keys[slot]) continue;
      g->keys[slot] = s; g->idx[slot] = -2;
      if (sp == scap) {
        scap *= 2;
        stack = cg__xrealloc(stack, sizeof(UOp *) * (size_t)scap);
        child = cg__xrealloc(child, sizeof(int) * (size_t)scap);
      }
      stack[sp] = s; child[sp++] = 0;
      continue;
    }
    sp--;
    if (g->n == g->cap) {
      g->cap = g->cap ? g->cap * 2 : 256;
      g->order = cg__xrealloc(g->order, sizeof(UOp *) * (size_t)g->cap);
    }
    g->idx[gfind(g, u)] = g->n;
    g->order[g->n++] = u;
  }
  free(stack);
  free(child);
}

static bool grows(const UOp *u) {
  for (int i = 0; i < u->ndim; i++)
    if (u->src[0]->shape[i] != u->shape[i]) return true;
  return false;
}

/* Walk one kernel from its root; mark reduces that must become their own kernels.
 * state bits: 1 = under a growing expand, 2 = inside the kernel's reduce input.
 * A reduce reached from two kernels would be computed twice: it gets its own. */
static void mark(graph *g, UOp *u, int state, int kid, UOp **kreduce, bool is_root) {
  int i = gindex(g, u);
  if (i < 0 || (g->is_buf[i] && !is_root)) return;
  if (g->seen_state[i] & (1 << state)) return;
  g->seen_state[i] |= (uint8_t)(1 << state);
  if (uop_is(u, G_R) && !is_root) {
    if (state || (g->owner[i] >= 0 && g->owner[i] != kid) || (*kreduce && *kreduce != u)) {
      g->is_buf[i] = 1;
      return;
    }
    *kreduce = u;
    g->owner[i] = kid;
  }
  if (uop_is(u, G_R)) state |= 2;
  if (u->op == UOP_EXPAND && grows(u)) state |= 1;
  for (int k = 0; k < u->nsrc; k++) mark(g, u->src[k], state, kid, kreduce, false);
}

static cg_status run_copy(UOp *u) {
  UOp *s = u->src[0];
  cg_buffer *src = s->op == UOP_BUFFER ? s->ptr : s->realized;
  size_t n = (size_t)uop_numel(u) * cg_dtype_size(u->dtype);
  cg_buffer *dst = cg__buffer_new(u->ptr, n);
  if (!dst) return CG_ERR_DEVICE;
  cg_status st = cg__buffer_copy(dst, 0, src, 0, n);
  if (st) { cg__buffer_release(dst); return st; }
  u->realized = dst;
  return CG_OK;
}

static cg_status run_kernel(UOp *u) {
  cg_device *dev = u->device ? u->device : cg__default_device();
  if (!dev) return CG_ERR_DEVICE;
  size_t n = (size_t)uop_numel(u) * cg_dtype_size(u->dtype);
  cg_buffer *out = cg__buffer_new(dev, n);
  if (!out) return CG_ERR_DEVICE;
  if (n == 0) { u->realized = out; return CG_OK; }
  cg_kernel k;
  memset(&k, 0, sizeof k);
  cg_status st = CG_ERR_INVALID;
  cg_ir_program *ir = cg__compile_kernel(u, dev, &k); /* opts, lower, linearize */
  if (!ir) goto fail;
  cg_program *prog = cg__program_get(dev, ir);
  free(ir);
  if (!prog) { st = CG_ERR_PLUGIN; goto fail; }
  cg_buffer *bufs[CG_MAX_KERNEL_INPUTS + 1] = {out};
  for (int i = 0; i < k.nin; i++) {
    UOp *in = k.in[i];
    bufs[i + 1] = in->op == UOP_BUFFER ? in->ptr : in->realized;
    if (cg__buffer_device(bufs[i + 1]) != dev) {
      st = cg__error(CG_ERR_DEVICE, "kernel %s: input on %s, kernel on %s (use cg_to_device)", k.name,
                     cg__device_name(cg__buffer_device(bufs[i + 1])), cg__device_name(dev));
      goto fail;
    }
  }
  st = cg__program_launch(prog, bufs, NULL);
  if (st) goto fail;
  u->realized = out;
  return CG_OK;
fail:
  cg__buffer_release(out);
  return st;
}

cg_status cg__realize(int nroots, UOp *const *roots) {
  graph g = {0};
  cg_status st = CG_OK;
  uop_pool_push();
  for (int r = 0; r < nroots; r++) collect(&g, roots[r]);
  if (g.n == 0) goto out;
  g.is_buf = cg__xcalloc((size_t)g.n, 1);
  g.seen_state = cg__xcalloc((size_t)g.n, 1);
  g.owner = cg__xmalloc(sizeof(int) * (size_t)g.n);
  for (int i = 0; i < g.n; i++) g.owner[i] = -1;
  for (int i = 0; i < g.n; i++) {
    UOp *u = g.order[i];
    if (u->op == UOP_CONTIGUOUS || u->op == UOP_COPY) g.is_buf[i] = 1;
    int si = u->op == UOP_COPY ? gindex(&g, u->src[0]) : -1;
    if (si >= 0) g.is_buf[si] = 1; /* a copy reads a realized buffer */
  }
  for (int r = 0; r < nroots; r++) {
    int i = gindex(&g, roots[r]);
    if (i >= 0) g.is_buf[i] = 1;
  }
  /* consumers first, so a kernel decides which of its reduces it keeps */
  for (int i = g.n - 1; i >= 0; i--) {
    if (!g.is_buf[i]) continue;
    UOp *kr = NULL;
    if (g.order[i]->op == UOP_COPY) continue;
    memset(g.seen_state, 0, (size_t)g.n);
    mark(&g, g.order[i], 0, i, &kr, true);
  }
  int nk = 0;
  for (int i = 0; i < g.n && !st; i++) {
    if (!g.is_buf[i] || g.order[i]->realized) continue;
    st = g.order[i]->op == UOP_COPY ? run_copy(g.order[i]) : run_kernel(g.order[i]);
    nk++;
  }
  cg__counters.schedules++;
  if (cg__debug() >= 1) cg__log(2, "realize: %d nodes, %d kernels/copies", g.n, nk);
out:
  free(g.order); free(g.keys); free(g.idx); free(g.is_buf); free(g.seen_state); free(g.owner);
  uop_pool_pop();
  return st;
}
