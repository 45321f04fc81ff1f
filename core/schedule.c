/* Scheduler: turn the lazy graph under a set of roots into an ordered list of kernels
 * and copies, and run them.
 *
 * Fusion rules (DESIGN.md §6): elementwise chains fuse; elementwise producers fuse into
 * the reduce that consumes them; a reduce fuses with the elementwise epilogue after it.
 * Kernel boundaries: roots, CONTIGUOUS, COPY, and a reduce that (a) is read through an
 * EXPAND that grows an axis (its value would be recomputed per broadcast element),
 * (b) sits inside another reduce's input, (c) is a second reduce of the same kernel,
 * or (d) is reached from two kernels; and (e) an elementwise node two kernels read whose
 * region reads 3+ buffers (share_rule). Equal kernels compile once (the program cache
 * keys on the IR bytes). The memory planner (plan_*) then lets outputs nothing outside
 * the schedule can observe share buffers by lifetime. */
#include <time.h>

#include "runtime.h"
#include "schedule.h"
#include "tensor.h"

static cg_sched_stats stats;

static uint64_t clock_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static uint64_t cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

cg_sched_stats cg__sched_stats(void) { return stats; }

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

/* Kernel boundaries at reduces, consumers first, so a kernel decides which of its
 * reduces it keeps. */
static void mark_all(graph *g) {
  for (int i = 0; i < g->n; i++) g->owner[i] = -1;
  for (int i = g->n - 1; i >= 0; i--) {
    if (!g->is_buf[i]) continue;
    UOp *kr = NULL;
    if (g->order[i]->op == UOP_COPY) continue;
    memset(g->seen_state, 0, (size_t)g->n);
    mark(g, g->order[i], 0, i, &kr, true);
  }
}

/* Distinct buffers read by the fused region under node i and the largest of them in
 * elements; a region of 250 nodes or more counts as reading many. stamp marks nodes
 * seen (value tag). */
static int region_inputs(const graph *g, int i, int *stamp, int tag, int64_t *maxnumel) {
  int stack[256], sp = 0, nin = 0, visited = 0;
  stack[sp++] = i;
  stamp[i] = tag;
  *maxnumel = 0;
  while (sp) {
    UOp *u = g->order[stack[--sp]];
    for (int k = 0; k < u->nsrc; k++) {
      UOp *s = u->src[k];
      int si = gindex(g, s);
      if (si >= 0 && stamp[si] == tag) continue;
      if (si >= 0) stamp[si] = tag;
      if (si < 0 || g->is_buf[si]) { /* a realized node, BUFFER, or another kernel */
        if (si < 0 && s->op != UOP_BUFFER && !s->realized) continue;
        nin++;
        if (uop_numel(s) > *maxnumel) *maxnumel = uop_numel(s);
        continue;
      }
      if (++visited >= 250) return nin + 3; /* big region: surely worth a buffer */
      stack[sp++] = si;
    }
  }
  return nin;
}

/* Rule (e) (rule 5 in docs/internals.md): an elementwise node that two kernels read would be recomputed by each (and
 * a chain of them, like the residual stream's gradient, would fuse into ever larger
 * kernels). It becomes a buffer when its region reads 3 or more buffers and it is no
 * larger than its largest input (so a broadcast product is never materialized).
 * reach[i] is the one kernel that reads node i (-1 none, -2 several), pushed from
 * consumers to srcs in reverse post-order, so each node's value is final when visited.
 * Returns how many nodes became buffers. */
static int share_rule(graph *g) {
  int *reach = cg__xmalloc(sizeof(int) * (size_t)g->n), *stamp = cg__xcalloc((size_t)g->n, sizeof(int));
  int made = 0;
  for (int i = 0; i < g->n; i++) reach[i] = -1;
  for (int i = g->n - 1; i >= 0; i--) {
    UOp *u = g->order[i];
    if (!g->is_buf[i] && reach[i] == -2 && uop_is(u, G_A)) {
      int64_t big;
      if (region_inputs(g, i, stamp, i + 1, &big) >= 3 && big >= uop_numel(u)) {
        g->is_buf[i] = 1;
        made++;
      }
    }
    int r = g->is_buf[i] ? i : reach[i];
    for (int k = 0; k < u->nsrc; k++) {
      int si = gindex(g, u->src[k]);
      if (si < 0 || r == -1) continue;
      reach[si] = reach[si] == -1 || reach[si] == r ? r : -2;
    }
  }
  free(reach);
  free(stamp);
  return made;
}

/* Output buffer of a kernel or copy: the planner's shared slot, or a fresh buffer. */
static cg_buffer *out_buffer(cg_device *dev, size_t n, cg_buffer *slot) {
  return slot ? cg__buffer_retain(slot) : cg__buffer_new(dev, n);
}

static cg_status run_copy(UOp *u, cg_buffer *slot) {
  UOp *s = u->src[0];
  cg_buffer *src = s->op == UOP_BUFFER ? s->ptr : s->realized;
  size_t n = (size_t)uop_numel(u) * cg_dtype_size(u->dtype);
  cg_buffer *dst = out_buffer(u->ptr, n, slot);
  if (!dst) return CG_ERR_DEVICE;
  cg_status st = cg__buffer_copy(dst, 0, src, 0, n);
  if (st) { cg__buffer_release(dst); return st; }
  u->realized = dst;
  return CG_OK;
}

static cg_status run_kernel(UOp *u, cg_buffer *slot) {
  cg_device *dev = u->device ? u->device : cg__default_device();
  if (!dev) return CG_ERR_DEVICE;
  size_t n = (size_t)uop_numel(u) * cg_dtype_size(u->dtype);
  cg_buffer *out = out_buffer(dev, n, slot);
  if (!out) return CG_ERR_DEVICE;
  if (n == 0) { u->realized = out; return CG_OK; }
  cg_kernel k;
  memset(&k, 0, sizeof k);
  cg_status st = CG_ERR_INVALID;
  /* a packed copy of an operand first (CPU matmuls): its own kernel, freed after ours */
  UOp *pack = NULL, *root = cg__pack_operand(u, cg__device_props(dev), &pack);
  bool packed_here = root && !pack->realized;
  if (packed_here && (st = run_kernel(pack, NULL))) { packed_here = false; goto fail; }
  uint64_t t0 = now_ns(), c0 = cpu_ns();
  cg_ir_program *ir = cg__compile_kernel(root ? root : u, dev, &k); /* opts, lower, linearize */
  stats.lower_ns += now_ns() - t0;                    /* lowering and linearizing together */
  stats.core_cpu_ns += cpu_ns() - c0;
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
  st = cg__program_launch(prog, bufs, k.nvars ? k.var_vals : NULL); /* values of symbolic vars */
  if (st) goto fail;
  u->realized = out;
  if (packed_here) cg__buffer_release(pack->realized), pack->realized = NULL;
  return CG_OK;
fail:
  if (packed_here) cg__buffer_release(pack->realized), pack->realized = NULL;
  cg__buffer_release(out);
  return st;
}

/* ---- memory planner ----
 * Runs after the kernel boundaries are known and before any kernel runs. Kernels run in
 * g.order (dependencies first). An intermediate (a kernel output that is not a root) is
 * DROPPABLE when nothing outside this schedule can observe it: no reference to its node
 * comes from outside the schedule's graph, i.e. its refcount equals the number of src
 * slots of collected nodes that point at it (a tensor the user holds, a node outside the
 * graph, a pool of a caller all add references and keep it realized).
 * A held VIEW of an intermediate (movement ops, DETACH) keeps it too. A held node that
 * computes (an ALU op or a reduce fused into a kernel) does not keep its inputs:
 * realizing it later recomputes what it needs, like any lazy value.
 * A droppable intermediate gets a SLOT: one shared buffer, assigned greedily in kernel
 * order (best fit among slots whose last reader has run, else grow the largest free
 * one, else a new slot). Its node holds the slot while it lives and lets go after its
 * last reader, so the node reads as unrealized again (a later graph reaching it would
 * recompute it, which is correct since every value is a pure function of its srcs). */
typedef struct {
  cg_device *dev;
  size_t size;
  int first, end;      /* kernel positions of first write and last read */
  cg_buffer *buf;      /* allocated at the first write, released after `end` */
} slot;

typedef struct {
  int *kern, nk;       /* node indices of the kernels to run, in order */
  int *ins, *in_at;    /* inputs of kernel j: ins[in_at[j] .. in_at[j+1]) (node indices) */
  int *last;           /* node -> position of its last reader, -1 if none */
  int *slot_of;        /* node -> slot, -1 = own buffer */
  slot *slots;
  int nslots;
  uint64_t peak, naive;
} plan;

static size_t node_bytes(const UOp *u) { return (size_t)uop_numel(u) * cg_dtype_size(u->dtype); }

static cg_device *node_device(const UOp *u) {
  if (u->op == UOP_COPY) return u->ptr;
  return u->device ? u->device : cg__default_device();
}

/* Inputs of kernel j (root node index r): buffered in-schedule nodes reached through
 * fused nodes. stamp[] marks nodes seen by this kernel (value j + 1). */
static void kernel_inputs(const graph *g, plan *p, int j, int r, int *stamp, int **stack, int *scap) {
  int sp = 0, n = p->in_at[j];
  (*stack)[sp++] = r;
  stamp[r] = j + 1;
  while (sp) {
    UOp *u = g->order[(*stack)[--sp]];
    int nsrc = u->op == UOP_COPY ? 1 : u->nsrc;
    for (int k = 0; k < nsrc; k++) {
      int si = gindex(g, u->src[k]);
      if (si < 0 || stamp[si] == j + 1) continue;
      stamp[si] = j + 1;
      if (g->is_buf[si]) { p->ins[n++] = si; continue; }
      if (sp == *scap) { *scap *= 2; *stack = cg__xrealloc(*stack, sizeof(int) * (size_t)*scap); }
      (*stack)[sp++] = si;
    }
  }
  p->in_at[j + 1] = n;
}

/* keep[i] = 1 for the kernel outputs that must stay realized after the schedule: the
 * roots, nodes referenced from outside the schedule's graph (refcount above the number
 * of src slots of collected nodes pointing at them: a tensor, a node outside the graph,
 * or a caller's pool holds them), and what a held view of them (a chain of movement ops
 * or DETACH, like the reshape cg_matmul returns) looks at. */
static void find_kept(const graph *g, int nroots, UOp *const *roots, uint8_t *keep) {
  int32_t *inref = cg__xcalloc((size_t)g->n, sizeof(int32_t));
  for (int i = 0; i < g->n; i++) {
    UOp *u = g->order[i];
    for (int k = 0; k < u->nsrc; k++) {
      int si = gindex(g, u->src[k]);
      if (si >= 0) inref[si]++;
    }
  }
  for (int r = 0; r < nroots; r++) {
    int i = gindex(g, roots[r]);
    if (i >= 0) keep[i] = 1;
  }
  /* consumers first: a held view (movement op, DETACH) holds what it views */
  for (int i = g->n - 1; i >= 0; i--) {
    UOp *u = g->order[i];
    if (!keep[i] && u->rc <= inref[i]) continue;
    keep[i] = 1;
    int si = uop_is(u, G_M) || u->op == UOP_DETACH ? gindex(g, u->src[0]) : -1;
    if (si >= 0 && !g->is_buf[i]) keep[si] = 1;
  }
  for (int i = 0; i < g->n; i++) keep[i] &= g->is_buf[i];
  free(inref);
}

/* Best free slot on dev for `size` bytes at kernel position j, or a new one. */
static int pick_slot(plan *p, cg_device *dev, size_t size, int j) {
  int best = -1, big = -1;
  for (int s = 0; s < p->nslots; s++) {
    slot *sl = &p->slots[s];
    if (sl->dev != dev || sl->end >= j) continue;
    if (sl->size >= size && (best < 0 || sl->size < p->slots[best].size)) best = s;
    if (big < 0 || sl->size > p->slots[big].size) big = s;
  }
  if (best < 0) best = big;
  if (best < 0) {
    if (p->nslots % 16 == 0) p->slots = cg__xrealloc(p->slots, sizeof(slot) * (size_t)(p->nslots + 16));
    best = p->nslots++;
    p->slots[best] = (slot){.dev = dev, .first = j};
  }
  if (p->slots[best].size < size) p->slots[best].size = size;
  return best;
}

/* Peak of live bytes over the kernel sequence: a slot lives from its first write to its
 * last read, any other output from its kernel to the end of the schedule. */
static void plan_peak(const graph *g, plan *p) {
  uint64_t live = 0;
  p->peak = p->naive = 0;
  for (int j = 0; j < p->nk; j++) {
    int i = p->kern[j], s = p->slot_of[i];
    p->naive += node_bytes(g->order[i]);
    if (s < 0) live += node_bytes(g->order[i]);
    else if (p->slots[s].first == j) live += p->slots[s].size;
    if (live > p->peak) p->peak = live;
    for (int t = 0; t < p->nslots; t++)
      if (p->slots[t].end == j) live -= p->slots[t].size;
  }
}

static void plan_build(const graph *g, int nroots, UOp *const *roots, plan *p) {
  int n = g->n;
  p->kern = cg__xmalloc(sizeof(int) * (size_t)n);
  p->last = cg__xmalloc(sizeof(int) * (size_t)n);
  p->slot_of = cg__xmalloc(sizeof(int) * (size_t)n);
  for (int i = 0; i < n; i++) {
    p->last[i] = p->slot_of[i] = -1;
    if (g->is_buf[i] && !g->order[i]->realized) p->kern[p->nk++] = i;
  }
  /* inputs: a kernel lists each node at most once, so room for n more before each */
  int cap = n + 16, scap = 64;
  p->ins = cg__xmalloc(sizeof(int) * (size_t)cap);
  p->in_at = cg__xcalloc((size_t)p->nk + 1, sizeof(int));
  int *stamp = cg__xcalloc((size_t)n, sizeof(int)), *stack = cg__xmalloc(sizeof(int) * (size_t)scap);
  for (int j = 0; j < p->nk; j++) {
    if (p->in_at[j] + n > cap) { cap = 2 * cap + n; p->ins = cg__xrealloc(p->ins, sizeof(int) * (size_t)cap); }
    kernel_inputs(g, p, j, p->kern[j], stamp, &stack, &scap);
    for (int k = p->in_at[j]; k < p->in_at[j + 1]; k++) p->last[p->ins[k]] = j;
  }
  free(stamp);
  free(stack);
  uint8_t *keep = cg__xcalloc((size_t)n, 1);
  find_kept(g, nroots, roots, keep);
  static int noplan = -1; /* CG_NO_PLAN=1: every output keeps its own buffer (debugging) */
  if (noplan < 0) noplan = cg__env_int("CG_NO_PLAN", 0) != 0;
  for (int j = 0; j < p->nk && !noplan; j++) {
    int i = p->kern[j];
    UOp *u = g->order[i];
    size_t bytes = node_bytes(u);
    cg_device *dev = keep[i] || !bytes ? NULL : node_device(u);
    if (!dev) continue;
    int s = pick_slot(p, dev, bytes, j);
    p->slot_of[i] = s;
    p->slots[s].end = p->last[i] > j ? p->last[i] : j;
  }
  free(keep);
  plan_peak(g, p);
}

static void plan_free(plan *p) {
  for (int s = 0; s < p->nslots; s++) cg__buffer_release(p->slots[s].buf);
  free(p->kern); free(p->ins); free(p->in_at); free(p->last); free(p->slot_of);
  free(p->slots);
}

/* After kernel j: planned inputs read for the last time let go of their slot, and
 * slots nobody reads any more go back to the device's buffer cache. */
static void plan_after(const graph *g, plan *p, int j) {
  for (int k = p->in_at[j]; k < p->in_at[j + 1]; k++) {
    int i = p->ins[k];
    UOp *u = g->order[i];
    if (p->slot_of[i] < 0 || p->last[i] != j || !u->realized) continue;
    cg__buffer_release(u->realized);
    u->realized = NULL;
  }
  int i = p->kern[j];
  if (p->slot_of[i] >= 0 && p->last[i] < 0 && g->order[i]->realized) { /* nobody reads it */
    cg__buffer_release(g->order[i]->realized);
    g->order[i]->realized = NULL;
  }
  for (int s = 0; s < p->nslots; s++)
    if (p->slots[s].end == j && p->slots[s].buf) {
      cg__buffer_release(p->slots[s].buf);
      p->slots[s].buf = NULL;
    }
}

/* Slot buffer for kernel j's output (allocated at the slot's first write), or NULL. */
static cg_status plan_slot(const graph *g, plan *p, int j, cg_buffer **out) {
  *out = NULL;
  int s = p->slot_of[p->kern[j]];
  if (s < 0) return CG_OK;
  slot *sl = &p->slots[s];
  if (!sl->buf && !(sl->buf = cg__buffer_new(sl->dev, sl->size))) return CG_ERR_DEVICE;
  *out = sl->buf;
  return CG_OK;
}

static const char *mib(uint64_t b, char *buf, size_t n) {
  snprintf(buf, n, "%.2f MiB", (double)b / (1024.0 * 1024.0));
  return buf;
}

cg_status cg__realize(int nroots, UOp *const *roots) {
  graph g = {0};
  plan p = {0};
  cg_status st = CG_OK;
  uint64_t t0 = now_ns(), c0 = cpu_ns(), cg0 = stats.lower_ns + stats.linearize_ns;
  uop_pool_push();
  for (int r = 0; r < nroots; r++) collect(&g, roots[r]);
  if (g.n == 0) goto out;
  g.is_buf = cg__xcalloc((size_t)g.n, 1);
  g.seen_state = cg__xcalloc((size_t)g.n, 1);
  g.owner = cg__xmalloc(sizeof(int) * (size_t)g.n);
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
  mark_all(&g);
  if (share_rule(&g)) mark_all(&g); /* new kernel roots: decide their reduces again */
  plan_build(&g, nroots, roots, &p);
  uint64_t t1 = now_ns();
  stats.sched_ns += t1 - t0;
  stats.core_cpu_ns += cpu_ns() - c0;
  for (int j = 0; j < p.nk && !st; j++) {
    UOp *u = g.order[p.kern[j]];
    cg_buffer *slot_buf;
    st = plan_slot(&g, &p, j, &slot_buf);
    if (!st) st = u->op == UOP_COPY ? run_copy(u, slot_buf) : run_kernel(u, slot_buf);
    if (!st) plan_after(&g, &p, j);
  }
  stats.backend_ns += now_ns() - t1 - (stats.lower_ns + stats.linearize_ns - cg0);
  stats.kernels += (uint64_t)p.nk;
  stats.last_kernels = p.nk;
  stats.last_slots = p.nslots;
  stats.last_peak_bytes = p.peak;
  stats.last_naive_bytes = p.naive;
  cg__counters.schedules++;
  if (cg__debug() >= 1) {
    char a[32], b[32];
    cg__log(2, "realize: %d nodes, %d kernels/copies, peak memory %s planned (%s unplanned, %d shared buffers)",
            g.n, p.nk, mib(p.peak, a, sizeof a), mib(p.naive, b, sizeof b), p.nslots);
  }
  plan_free(&p);
out:
  free(g.order); free(g.keys); free(g.idx); free(g.is_buf); free(g.seen_state); free(g.owner);
  uop_pool_pop();
  return st;
}
