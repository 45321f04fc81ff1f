/* Kernel optimizer (DESIGN.md §7): a kernel's iteration space as axes, opt lists
 * {op, axis, amount} checked against the device's limits, the default hand-written
 * heuristics, and BEAM search (compile + time candidates, cache the winner on disk).
 *
 *   cg__plan_init     axes of a kernel: the flattened output for elementwise kernels,
 *                     else the output dims > 1, then the reduced dims > 1
 *   cg__plan_apply    one opt, if legal (sizes divide, device limits, register budget)
 *   heuristics        CPU: register tile (UPCAST) of the output axes that some operand
 *                     does not depend on, loads contiguous along the wide one; otherwise
 *                     an inner LOOP of up to 1024 outputs. GPU: LOCAL over the output,
 *                     GROUP for long reduces with few outputs (GEMV, row sums); when a
 *                     load reads the reduce contiguously, UNROLL it by a 16-byte vector,
 *                     GROUP 32 and LOCAL of up to 4 rows per work-group; matmul-like
 *                     reduces: register tile, 2-D LOCAL, UNROLL (gpu_tile; then the
 *                     linearizer stages the shared operands in local memory, stage.c)
 *   BEAM=n            hill climb from the heuristic with the n best plans per round
 *
 * How the plan becomes index math is lower.c's job; the expansion of UPCAST/UNROLL and
 * the GROUP combine are linearize.c's. */
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgrad/ir_util.h"
#include "runtime.h"
#include "schedule.h"
#include "symbolic.h"
#include "tc.h"

static const char opt_letter[CG_OPT_COUNT] = {'U', 'R', 'L', 'W', 'G', 'T'};
static const char *const opt_names[CG_OPT_COUNT] = {"UPCAST", "UNROLL", "LOOP", "LOCAL", "GROUP", "TC"};

/* ---- axes ---------------------------------------------------------------------- */

static void find_reduces(UOp *u, UOp **red, int *n, uop_map *seen, bool top) {
  if (uop_map_get(seen, u) || (!top && (u->realized || u->op == UOP_BUFFER))) return;
  uop_map_put(seen, u, u);
  if (uop_is(u, G_R)) {
    if (*n == 0 || red[0] != u) red[(*n)++ > 0] = u;
  }
  for (int i = 0; i < u->nsrc; i++) find_reduces(u->src[i], red, n, seen, false);
}

void cg__plan_init(UOp *root, cg_plan *plan) {
  memset(plan, 0, sizeof *plan);
  UOp *red[2] = {NULL, NULL};
  int nred = 0;
  uop_map seen = {0};
  find_reduces(root, red, &nred, &seen, true);
  uop_map_free(&seen);
  if (nred == 0) {
    plan->flat = true;
    if (uop_numel(root) > 1) plan->ax[plan->naxes++] = (cg_axis){0, false, uop_numel(root), {uop_numel(root), 1, 1, 1}};
  } else {
    for (int d = 0; d < root->ndim && plan->naxes < CG_MAX_AXES; d++)
      if (root->shape[d] > 1) plan->ax[plan->naxes++] = (cg_axis){d, false, root->shape[d], {root->shape[d], 1, 1, 1}};
  }
  plan->nout = plan->naxes;
  if (nred != 1) return; /* several reduces: their loops stay plain */
  UOp *s = red[0]->src[0];
  for (int k = 0; k < red[0]->nargs && plan->naxes < CG_MAX_AXES; k++) {
    int d = (int)red[0]->args[k];
    if (s->shape[d] > 1 && s->slen_ax == d + 1) plan->symred |= 1u << plan->naxes;
    if (s->shape[d] > 1) plan->ax[plan->naxes++] = (cg_axis){d, true, s->shape[d], {s->shape[d], 1, 1, 1}};
  }
  cg__tc_init(root, plan);
}

/* ---- legality --------------------------------------------------------------------- */

static int64_t inner(const cg_axis *a) {  /* product of the parts but the outer one */
  return a->part[1] * a->part[2] * a->part[3] * (a->frag ? a->frag : 1);
}

static int64_t total(const cg_plan *p, bool reduce, int part) {
  int64_t t = 1;
  for (int i = 0; i < p->naxes; i++)
    if (p->ax[i].reduce == reduce) t *= p->ax[i].part[part];
  return t;
}

/* Local dims in SPECIAL order (output LOCAL parts from the last output axis, then GROUP;
 * lower.c) fit the device. */
static bool locals_fit(const cg_plan *p, const cg_device_props *props) {
  int n = 0;
  int64_t t = 1;
  for (int j = 0; j < p->naxes; j++) {
    int i = j < p->nout ? p->nout - 1 - j : j;
    int64_t l = p->ax[i].part[p->ax[i].reduce ? CG_P_GROUP : CG_P_LOCAL];
    if (l <= 1) continue;
    if (n == 3 || l > props->max_local[n]) return false;
    n++;
    t *= l;
  }
  return t <= props->max_local_size;
}

int cg__plan_apply(cg_plan *plan, cg_opt o, const cg_device_props *props) {
  if (o.axis >= plan->naxes || o.amt < 2 || plan->nopts == CG_MAX_OPTS || o.op >= CG_OPT_COUNT) return -1;
  if (plan->symred >> o.axis & 1) return -1; /* a symbolic-length reduce loop stays whole */
  if (o.op == CG_OPT_TC) return cg__tc_apply(plan, o, props);
  if (plan->tc_shape && !cg__tc_allows(plan, o, props)) return -1;
  cg_plan p = *plan;
  cg_axis *a = &p.ax[o.axis];
  static const int part_of[CG_OPT_COUNT] = {CG_P_UPCAST, CG_P_UNROLL, CG_P_LOOP, CG_P_LOCAL, CG_P_GROUP, 0};
  bool want_reduce = o.op == CG_OPT_UNROLL || o.op == CG_OPT_GROUP;
  if (a->reduce != want_reduce || a->part[part_of[o.op]] != 1) return -1;
  int64_t in = inner(a);
  if (a->size % in) return -1;                       /* an overshooting LOCAL ends the axis */
  int64_t rest = a->size / in;
  bool may_overshoot = o.op == CG_OPT_LOCAL;
  if (o.amt > rest || (!may_overshoot && rest % o.amt)) return -1;
  a->part[part_of[o.op]] = o.amt;
  a->part[0] = (a->size + inner(a) - 1) / inner(a);  /* global / reduce loop: the rest */
  int64_t up = total(&p, false, CG_P_UPCAST), un = total(&p, true, CG_P_UNROLL);
  if (up > 256 || up * un > 1024) return -1;         /* register tile and code size */
  if ((o.op == CG_OPT_LOCAL || o.op == CG_OPT_GROUP) && !p.tc_shape) {
    if (props->max_local_size <= 1 || !locals_fit(&p, props)) return -1;
  }
  if (o.op == CG_OPT_GROUP || total(&p, true, CG_P_GROUP) > 1) {
    int64_t nl = total(&p, false, CG_P_LOCAL) * total(&p, true, CG_P_GROUP);
    if (total(&p, true, CG_P_GROUP) != a->part[CG_P_GROUP] && o.op == CG_OPT_GROUP) return -1; /* one GROUP */
    if ((uint64_t)(up * nl * 8) > props->local_mem_bytes) return -1;
  }
  p.opts[p.nopts++] = o;
  *plan = p;
  return 0;
}

void cg__opts_str(const cg_plan *plan, char *buf, size_t n) {
  size_t w = 0;
  buf[0] = 0;
  for (int i = 0; i < plan->nopts && w < n; i++)
    w += (size_t)snprintf(buf + w, n - w, "%s%s%d:%d", i ? " " : "", opt_names[plan->opts[i].op],
                          plan->opts[i].axis, plan->opts[i].amt);
  if (!plan->nopts) snprintf(buf, n, "none");
}

/* ---- heuristics ------------------------------------------------------------------- */

static UOp *at_rule(UOp *u, void *ctx) {
  UOp **c = ctx;
  return u == c[0] ? c[1] : NULL;
}

/* idx with range r set to v, simplified. */
static UOp *at(UOp *idx, UOp *r, int64_t v) {
  static const uop_rule rules[] = {{UOP_RANGE, at_rule, "range -> value"}};
  UOp *c[2] = {r, uop_const(CG_INT32, (double)v)};
  return sym_simplify(uop_rewrite(idx, rules, 1, c));
}

static void collect_loads(UOp *u, UOp **loads, int *n, uop_map *seen) {
  if (uop_map_get(seen, u)) return;
  uop_map_put(seen, u, u);
  if (u->op == UOP_LOAD && *n < 64) loads[(*n)++] = u;
  for (int i = 0; i < u->nsrc; i++) collect_loads(u->src[i], loads, n, seen);
}

/* Element stride of a load's index along range r (0 = independent), or -1 if unknown. */
static int64_t stride_of(UOp *load, UOp *r) {
  UOp *i0 = at(load->src[1], r, 0), *i1 = at(load->src[1], r, 1);
  UOp *d = sym_simplify(uop_2(UOP_ADD, CG_INT32, i1, uop_2(UOP_MUL, CG_INT32, i0, uop_const(CG_INT32, -1))));
  if (d->op != UOP_CONST) return -1;
  return i0 == at(load->src[1], r, 2) ? 0 : (int64_t)d->val;
}

static int64_t pick(int64_t size, const int *amts) {
  for (int i = 0; amts[i]; i++)
    if (size % amts[i] == 0) return amts[i];
  return 1;
}

static void try_opt(cg_plan *p, int op, int axis, int64_t amt, const cg_device_props *props) {
  if (amt > 1) cg__plan_apply(p, (cg_opt){(uint8_t)op, (uint8_t)axis, (uint16_t)amt}, props);
}

static UOp *find_kreduce(UOp *u, uop_map *seen) {
  if (uop_map_get(seen, u)) return NULL;
  uop_map_put(seen, u, u);
  if (u->op == UOP_KREDUCE) return u;
  for (int i = 0; i < u->nsrc; i++) {
    UOp *r = find_kreduce(u->src[i], seen);
    if (r) return r;
  }
  return NULL;
}

#define PACK_W 64 /* columns of a packed operand's panel (cg__pack_operand), elements */

/* Probe lowering of a reduce kernel with every output axis a loop: its loads and its
 * (single) reduce, for the stride analysis of the CPU heuristics. 0, or -1 if it has none. */
typedef struct { cg_kernel k; UOp *loads[64], *red; int nl; } cpu_probe;

static int probe_lower(UOp *root, const cg_plan *p, const cg_device_props *props, cpu_probe *pr) {
  cg_plan pl = *p;
  for (int a = 0; a < pl.nout; a++) pl.ax[a].part[CG_P_LOOP] = pl.ax[a].size, pl.ax[a].part[0] = 1;
  memset(&pr->k, 0, sizeof pr->k);
  if (cg__lower(root, props, &pl, &pr->k)) { cg__clear_error(); return -1; }
  uop_map seen = {0};
  pr->nl = 0;
  collect_loads(pr->k.sink, pr->loads, &pr->nl, &seen);
  uop_map_free(&seen);
  pr->red = find_kreduce(pr->k.sink, &seen);
  uop_map_free(&seen);
  return pr->red && pr->red->nsrc >= 2 ? 0 : -1;
}

/* CPU reduce kernels, from a probe lowering (every output axis a loop) and the strides of
 * its loads: a register tile over the output axes that some operand does not depend on
 * (the matmul case), the wide side where a load is contiguous -> 1. A reduce reading
 * contiguous memory that no output axis streams through (row sums) stays one output per
 * group -> 2. Else 0: an inner output loop (the "ikj" form). */
static int cpu_reduce(UOp *root, cg_plan *p, const cg_device_props *props) {
  cpu_probe pr;
  if (p->nout == 0 || p->naxes == p->nout || probe_lower(root, p, props, &pr)) return 0;
  UOp **loads = pr.loads, *red = pr.red;
  int nl = pr.nl, reuse[CG_MAX_AXES] = {0}, contig[CG_MAX_AXES] = {0}, rcontig = 0, ocontig = 0;
  int64_t panel[CG_MAX_AXES] = {0}; /* reduce stride of a load contiguous along the axis */
  for (int i = 0; i < nl; i++) {
    int64_t sr = stride_of(loads[i], red->src[red->nsrc - 1]);
    rcontig |= sr == 1;
    for (int a = 0; a < p->nout; a++) {
      int64_t st = stride_of(loads[i], pr.k.axis_range[a]);
      reuse[a] += st == 0;
      contig[a] |= st == 1;
      ocontig |= st == 1 && sr != 0;
      if (st == 1) panel[a] = sr;
    }
  }
  int col = -1, row = -1;
  for (int a = p->nout - 1; a >= 0 && nl >= 2; a--)
    if (reuse[a] && (col < 0 || (contig[a] && !contig[col]))) col = a;
  if (col < 0) return rcontig && !ocontig ? 2 : 0;
  for (int a = p->nout - 1; a >= 0; a--)
    if (a != col && reuse[a] && row < 0) row = a;
  /* 8x16 measured best up to k = 1024, 8x32 at 2048 (bench/cpu_bench.py on the 2-core VM) */
  static const int wide[] = {32, 16, 8, 4, 2, 0}, tall[] = {8, 6, 4, 3, 2, 0};
  int64_t rsize = 1;
  for (int a = p->nout; a < p->naxes; a++) rsize *= p->ax[a].size;
  const int *w = rsize >= 2048 ? wide : wide + 1;
  if (panel[col] == PACK_W && p->ax[col].size % PACK_W == 0 && row >= 0) {
    /* a packed operand (cpu_pack): the tile spans its panel, 4 rows x 64 (4 vectors):
     * fewer broadcasts of A per multiply than 8 x 32, now that B streams from L1/L2 */
    try_opt(p, CG_OPT_UPCAST, col, PACK_W, props);
    try_opt(p, CG_OPT_UPCAST, row, pick(p->ax[row].size, tall + 2), props);
    return p->nopts > 0;
  }
  try_opt(p, CG_OPT_UPCAST, col, pick(p->ax[col].size, contig[col] ? w : tall), props);
  if (row >= 0) try_opt(p, CG_OPT_UPCAST, row, pick(p->ax[row].size, tall), props);
  /* long k: a group walks 16 column tiles with the same rows of A (BEAM's pick at 2048) */
  if (rsize >= 2048 && row >= 0 && p->nopts == 2) try_opt(p, CG_OPT_LOOP, col, 16, props);
  return p->nopts > 0;
}

/* ---- CPU operand packing ------------------------------------------------------------ */

/* u with node `from` replaced by `to`, below u down to realized nodes (other kernels). */
static UOp *subst(UOp *u, UOp *from, UOp *to, uop_map *memo) {
  if (u == from) return to;
  if (u->realized || u->op == UOP_BUFFER || !u->nsrc) return u;
  UOp *m = uop_map_get(memo, u);
  if (m) return m;
  UOp **src = cg__xmalloc(sizeof(UOp *) * u->nsrc);
  bool changed = false;
  for (int i = 0; i < u->nsrc; i++) changed |= (src[i] = subst(u->src[i], from, to, memo)) != u->src[i];
  UOp *r = changed ? uop_new((uop_op)u->op, (cg_dtype)u->dtype, u->nsrc, src, u->nargs, u->args, u->val, u->ptr) : u;
  free(src);
  uop_map_put(memo, u, r);
  return r;
}

/* A matmul-like CPU reduce kernel reading a 4-byte operand (B) contiguously along one output
 * axis, not at all along another (reused by every row of A) and with a power-of-two stride
 * of >= 8 KiB along the reduce: B's rows then map onto the same few L1/L2 sets and each
 * step of the reduce touches a new page, so its column strip cannot stay cached. Returns
 * that operand (a kernel input) and its reduce stride, or NULL. From a probe lowering.
 * (At 4 KiB, matmul 1024, the packed kernel was only as fast as the plain one plus the
 * copy: single-thread CPU time 29 vs 30 ms, + 1-2 ms to pack.) */
static UOp *cpu_pack(UOp *root, const cg_device_props *props, int64_t *stride) {
  cg_plan p;
  cpu_probe pr;
  if (props->max_local_size > 1) return NULL;
  cg__plan_init(root, &p);
  if (p.flat || p.nout < 2 || p.naxes == p.nout) return NULL;
  int64_t rsize = 1;
  for (int a = p.nout; a < p.naxes; a++) rsize *= p.ax[a].size;
  if (rsize < 256 || probe_lower(root, &p, props, &pr)) return NULL;
  for (int i = 0; i < pr.nl; i++) {
    UOp *ld = pr.loads[i], *par = ld->src[0];
    int64_t sr = stride_of(ld, pr.red->src[pr.red->nsrc - 1]);
    if (cg_dtype_size(ld->dtype) != 4 || par->op != UOP_PARAM || sr < 2048 || (sr & (sr - 1))) continue;
    UOp *leaf = pr.k.in[par->args[0] - 1];
    bool col = false, row = false;
    for (int a = 0; a < p.nout; a++) {
      int64_t st = stride_of(ld, pr.k.axis_range[a]);
      col |= st == 1 && p.ax[a].size % PACK_W == 0;
      row |= st == 0 && p.ax[a].size >= 64; /* reuse: the copy costs one pass over B */
    }
    if (col && row && uop_numel(leaf) % sr == 0) { *stride = sr; return leaf; }
  }
  return NULL;
}

UOp *cg__pack_operand(UOp *root, const cg_device_props *props, UOp **packed) {
  int64_t sr = 0;
  if (cg__env_int("NOOPT", 0) || cg__env_int("CG_NO_PACK", 0)) return NULL;
  UOp *leaf = cpu_pack(root, props, &sr);
  if (!leaf) return NULL;
  /* leaf as rows of sr: [rows, sr/W, W] -> [sr/W, rows, W] (panels of W columns), dense */
  int64_t rows = uop_numel(leaf) / sr, sh[3] = {rows, sr / PACK_W, PACK_W}, swap[3] = {1, 0, 2};
  UOp *flat = uop_mv(UOP_RESHAPE, leaf, 3, sh);
  *packed = uop_1(UOP_CONTIGUOUS, (cg_dtype)leaf->dtype, uop_mv(UOP_PERMUTE, flat, 3, swap));
  UOp *view = uop_mv(UOP_RESHAPE, uop_mv(UOP_PERMUTE, *packed, 3, swap), leaf->ndim, leaf->shape);
  uop_map memo = {0};
  UOp *r = subst(root, leaf, view, &memo);
  uop_map_free(&memo);
  return r;
}

static int64_t chunk(int64_t n, int64_t max) {
  if (n <= max) return n;
  for (int64_t c = max; c >= 64; c--)
    if (n % c == 0) return c;
  return 1;
}

static int64_t pow2_at_most(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/* Lanes of a 16-byte vector load along the (last) reduce axis when some load of the
 * kernel walks it contiguously (GEMV rows, row sums), else 1. From a probe lowering. */
static int64_t reduce_vector(UOp *root, const cg_plan *p, const cg_device_props *props) {
  cg_kernel k;
  memset(&k, 0, sizeof k);
  if (cg__lower(root, props, p, &k)) { cg__clear_error(); return 1; }
  UOp *loads[64], *red;
  int nl = 0;
  uop_map seen = {0};
  collect_loads(k.sink, loads, &nl, &seen);
  uop_map_free(&seen);
  red = find_kreduce(k.sink, &seen);
  uop_map_free(&seen);
  if (!red || red->nsrc < 2) return 1;
  int64_t vec = 1;
  for (int i = 0; i < nl; i++) {
    size_t es = cg_dtype_size(loads[i]->dtype);
    if (es && es <= 8 && stride_of(loads[i], red->src[red->nsrc - 1]) == 1 && (int64_t)(16 / es) > vec)
      vec = (int64_t)(16 / es);
  }
  return vec;
}

/* Flat CPU kernels: W when a load reads runs of W (64/32/16) contiguous elements that do
 * not continue into each other (a transposing copy: the packed operand of cpu_pack), so
 * an UPCAST does the index math once per run instead of once per element; else 1. */
static int64_t cpu_copy_run(UOp *root, const cg_plan *p, const cg_device_props *props) {
  static const int runs[] = {64, 32, 16, 0};
  cg_plan pl = *p;
  cg_kernel k;
  pl.ax[0].part[CG_P_LOOP] = pl.ax[0].size, pl.ax[0].part[0] = 1;
  memset(&k, 0, sizeof k);
  if (cg__lower(root, props, &pl, &k)) { cg__clear_error(); return 1; }
  UOp *loads[64], *r = k.axis_range[0];
  int nl = 0;
  uop_map seen = {0};
  collect_loads(k.sink, loads, &nl, &seen);
  uop_map_free(&seen);
  for (int i = 0; i < nl; i++) {
    if (stride_of(loads[i], r) != 1) continue;
    UOp *i0 = at(loads[i]->src[1], r, 0);
    for (int w = 0; runs[w]; w++) {
      if (p->ax[0].size % runs[w]) continue;
      UOp *end = at(loads[i]->src[1], r, runs[w] - 1), *next = at(loads[i]->src[1], r, runs[w]);
      UOp *one = sym_simplify(uop_2(UOP_ADD, CG_INT32, i0, uop_const(CG_INT32, runs[w] - 1)));
      UOp *two = sym_simplify(uop_2(UOP_ADD, CG_INT32, i0, uop_const(CG_INT32, runs[w])));
      if (end == one && next != two) return runs[w];
    }
  }
  return 1;
}

/* GPU reduces where some operands do not depend on two output axes (matmul, conv): a
 * register tile (UPCAST) of both, the wider one along the contiguous axis (vector
 * loads), a 2-D work-group (LOCAL, the contiguous axis = local dim 0) and an UNROLL of
 * the last reduce axis, which makes the linearizer stage the shared operands through
 * local memory (stage.c). Tile sizes shrink with the output so small kernels still fill
 * the GPU; the best of bench/gpu_opts_sweep.py's lists on the H100 at 4096 was
 * UPCAST 8x8, LOCAL 8x16, UNROLL 8 (docs/performance.md). 1 if applied. */
static int gpu_tile(UOp *root, cg_plan *p, const cg_device_props *props) {
  if (p->nout < 2 || p->naxes == p->nout) return 0;
  cg_plan probe = *p, save = *p;
  for (int a = 0; a < probe.nout; a++) probe.ax[a].part[CG_P_LOOP] = probe.ax[a].size, probe.ax[a].part[0] = 1;
  cg_kernel k;
  memset(&k, 0, sizeof k);
  if (cg__lower(root, props, &probe, &k)) { cg__clear_error(); return 0; }
  UOp *loads[64];
  int nl = 0, reuse[CG_MAX_AXES] = {0}, contig[CG_MAX_AXES] = {0}, col = -1, row = -1;
  uop_map seen = {0};
  collect_loads(k.sink, loads, &nl, &seen);
  uop_map_free(&seen);
  for (int i = 0; i < nl; i++)
    for (int a = 0; a < p->nout; a++) {
      int64_t st = stride_of(loads[i], k.axis_range[a]);
      reuse[a] += st == 0;
      contig[a] |= st == 1;
    }
  for (int a = p->nout - 1; a >= 0 && nl >= 2; a--)
    if (reuse[a] && (col < 0 || (contig[a] && !contig[col]))) col = a;
  for (int a = p->nout - 1; a >= 0 && col >= 0; a--)
    if (a != col && reuse[a] && row < 0) row = a;
  if (row < 0) return 0;
  int64_t outn = 1;
  for (int a = 0; a < p->nout; a++) outn *= p->ax[a].size;
  static const int up8[] = {8, 4, 2, 0}, up4[] = {4, 2, 0}, up2[] = {2, 0}, lc[] = {16, 8, 4, 2, 0},
                   lr[] = {8, 4, 2, 0};
  const int *u = outn >= (1 << 22) ? up8 : outn >= (1 << 16) ? up4 : up2;
  try_opt(p, CG_OPT_UPCAST, row, pick(p->ax[row].size, u), props);
  try_opt(p, CG_OPT_UPCAST, col, pick(p->ax[col].size, u), props);
  try_opt(p, CG_OPT_UNROLL, p->naxes - 1, pick(p->ax[p->naxes - 1].size, up8), props);
  int before = p->nopts;
  try_opt(p, CG_OPT_LOCAL, col, pick(p->ax[col].size / p->ax[col].part[CG_P_UPCAST], lc), props);
  try_opt(p, CG_OPT_LOCAL, row, pick(p->ax[row].size / p->ax[row].part[CG_P_UPCAST], lr), props);
  if (p->nopts == before) *p = save; /* no work-group: the plain LOCAL plan below */
  return p->nopts > 0;
}

static void heuristics(UOp *root, cg_plan *p, const cg_device_props *props) {
  if (props->max_local_size <= 1) {
    if (p->flat) {
      int64_t run = p->nout && p->ax[0].size >= 65536 ? cpu_copy_run(root, p, props) : 1;
      if (run > 1) try_opt(p, CG_OPT_UPCAST, 0, run, props);
      else if (p->nout) try_opt(p, CG_OPT_LOOP, 0, chunk(p->ax[0].size, 1024), props);
      return;
    }
    if (cpu_reduce(root, p, props) || !p->nout) return;
    /* the inner loop of outputs, inside the reduce loop (linearize.c's "ikj" order) */
    try_opt(p, CG_OPT_LOOP, p->nout - 1, chunk(p->ax[p->nout - 1].size, 1024), props);
    return;
  }
  if (cg__tc_heuristic(p, props)) return; /* f16/bf16 matmul on tensor cores */
  int64_t outn = 1, rn = 1;
  for (int a = 0; a < p->nout; a++) outn *= p->ax[a].size;
  for (int a = p->nout; a < p->naxes; a++) rn *= p->ax[a].size;
  int64_t lmax = props->max_local_size < 128 ? props->max_local_size : 128;
  /* a long reduce with few outputs (GEMV, row sums): split it over a work-group */
  if (p->naxes > p->nout && rn >= 256 && (outn <= 65536 || rn >= outn)) {
    int r = p->naxes - 1;
    int64_t vec = reduce_vector(root, p, props), rest = p->ax[r].size;
    /* contiguous rows: each thread loads 16 bytes, 32 threads per row, 4 rows per group */
    if (vec > 1 && rest % vec == 0 && rest / vec >= 4 * 32) try_opt(p, CG_OPT_UNROLL, r, vec, props);
    rest /= p->ax[r].part[CG_P_UNROLL];
    int64_t gmax = p->nopts ? 32 : pow2_at_most(lmax);
    for (int64_t g = gmax; g >= 16; g /= 2)
      if (rest % g == 0 && rest >= 4 * g) { try_opt(p, CG_OPT_GROUP, r, g, props); break; }
    int64_t rows = lmax / p->ax[r].part[CG_P_GROUP];
    if (p->ax[r].part[CG_P_UNROLL] > 1 && p->nout && rows >= 2) {
      int o = p->nout - 1;
      while (rows > 1 && (p->ax[o].size % rows || p->ax[o].size / rows < 264)) rows /= 2;
      try_opt(p, CG_OPT_LOCAL, o, rows, props); /* >= 264 groups: two per SM of a big GPU */
    }
    if (p->nopts) return;
  }
  if (gpu_tile(root, p, props)) return;
  int64_t left = lmax;
  for (int a = p->nout - 1; a >= 0 && left > 1; a--) {
    int64_t l = pow2_at_most(p->ax[a].size < left ? p->ax[a].size : left);
    if (l < 2) continue;
    if (p->ax[a].size % l) l = p->ax[a].size <= left ? p->ax[a].size : l; /* gated */
    int before = p->nopts;
    try_opt(p, CG_OPT_LOCAL, a, l, props);
    if (p->nopts > before) left /= l;
    if (p->ax[a].size % l) break; /* overshooting axis: keep the others global */
  }
}

/* ---- building one candidate --------------------------------------------------------- */

static int count_kreduce(UOp *u, uop_map *seen) {
  if (uop_map_get(seen, u)) return 0;
  uop_map_put(seen, u, u);
  int n = u->op == UOP_KREDUCE;
  for (int i = 0; i < u->nsrc; i++) n += count_kreduce(u->src[i], seen);
  return n;
}

/* Lower with the plan; a reduce lowered twice (read at two index sets) keeps no
 * UNROLL/GROUP (their combine assumes one reduce): then the plan falls back to none. */
static int lower_plan(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k) {
  memset(k, 0, sizeof *k);
  if (plan->tc_shape ? cg__tc_lower(root, props, plan, k) : cg__lower(root, props, plan, k)) return -1;
  uop_map seen = {0};
  int nred = count_kreduce(k->sink, &seen);
  uop_map_free(&seen);
  if (nred > 1 && (total(plan, true, CG_P_GROUP) > 1 || total(plan, true, CG_P_UNROLL) > 1)) {
    cg_plan base;
    cg__plan_init(root, &base);
    memset(k, 0, sizeof *k);
    return cg__lower(root, props, &base, k);
  }
  /* opts in the kernel name, so DEBUG=2 launch lines show them: _U0x8_U1x32 */
  size_t w = strlen(k->name);
  for (int i = 0; i < k->plan.nopts && w + 12 < sizeof k->name; i++) {
    cg_opt o = k->plan.opts[i];
    w += (size_t)snprintf(k->name + w, sizeof k->name - w, "_%c%dx%d", opt_letter[o.op], o.axis, o.amt);
  }
  return 0;
}

/* Linearized IR of the last kernels, keyed by the lowered AST's structural hash, the plan,
 * the device's props and what else the linearizer reads (params, dims, name). Every kernel
 * (realize and BEAM candidates) is linearized here, so an eager loop realizing the same
 * kernel again, and BEAM's rematch, skip the linearizer (expanding a big register tile x
 * UNROLL costs milliseconds per call, more than a 512 matmul's kernel). Entries are
 * copies; callers free theirs. */
enum { IR_CACHE = 64 };
static struct { uint64_t key; cg_ir_program *ir; } ir_cache[IR_CACHE];
static unsigned ir_cache_next;

static cg_ir_program *linearize_cached(const cg_kernel *k, const cg_device_props *props) {
  uint64_t key = cg_hash64(&k->plan, sizeof k->plan, k->sink->hash ^ cg_hash64(props, sizeof *props, 7));
  int64_t v[12 + 2 * CG_MAX_KERNEL_INPUTS] = {k->out->dtype, uop_numel(k->out), k->nin, k->nvars, k->stage_bytes,
                                              k->len_gate ? (int64_t)k->len_gate->hash : 0,
                                              k->global[0], k->global[1], k->global[2], k->local[0], k->local[1], k->local[2]};
  for (int i = 0; i < k->nin; i++) v[12 + 2 * i] = k->in[i]->dtype, v[13 + 2 * i] = uop_numel(k->in[i]);
  key = cg_hash64(v, sizeof v, cg_hash64(k->name, strlen(k->name), key));
  cg_ir_program *ir = NULL;
  for (int i = 0; i < IR_CACHE; i++)
    if (ir_cache[i].ir && ir_cache[i].key == key)
      return memcpy(cg__xmalloc(ir_cache[i].ir->total_size), ir_cache[i].ir, ir_cache[i].ir->total_size);
  if (!(ir = k->plan.tc_shape ? cg__tc_linearize(k) : cg__linearize(k))) return NULL;
  unsigned i = ir_cache_next++ % IR_CACHE;
  free(ir_cache[i].ir);
  ir_cache[i].key = key;
  ir_cache[i].ir = memcpy(cg__xmalloc(ir->total_size), ir, ir->total_size);
  return ir;
}

static cg_ir_program *build(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k) {
  if (lower_plan(root, props, plan, k)) return NULL;
  return linearize_cached(k, props);
}

/* ---- BEAM ------------------------------------------------------------------------ */

typedef struct {
  cg_device *dev;
  UOp *root;
  const cg_device_props *props;
  cg_buffer *bufs[CG_MAX_KERNEL_INPUTS + 1];
  int tried;
  int jobs;                    /* compile threads (beam_jobs) */
  double t_build, t_compile;   /* seconds lowering candidates, compiling + loading them */
  int parallel;                /* programs built by cg__program_prefetch */
} beam_ctx;

#define BEAM_MAX 16
typedef struct { cg_plan p; double t; } cand;
static void keep(cand *beam, int *n, int width, const cg_plan *p, double t);

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Zero-filled scratch buffer of the node's size (candidates never touch real data). */
static cg_buffer *scratch(beam_ctx *b, int i, UOp *node) {
  size_t n = (size_t)uop_numel(node) * cg_dtype_size(node->dtype);
  if (b->bufs[i] && cg__buffer_size(b->bufs[i]) >= n) return b->bufs[i];
  if (b->bufs[i]) cg__buffer_release(b->bufs[i]);
  b->bufs[i] = cg__buffer_new(b->dev, n ? n : 1);
  if (b->bufs[i] && n) {
    void *z = cg__xcalloc(1, n);
    cg__buffer_write(b->bufs[i], 0, z, n);
    free(z);
  }
  return b->bufs[i];
}

/* Best of up to 3 runs of a built kernel (seconds); INFINITY if it does not load or run.
 * The program usually comes from the cache (cg__program_prefetch compiled it). */
static double time_kernel(beam_ctx *b, const cg_kernel *k, const cg_ir_program *ir, double best) {
  double tc = now_s();
  cg_program *prog = ir ? cg__program_get(b->dev, ir) : NULL;
  b->t_compile += now_s() - tc;
  b->tried++;
  cg_buffer *bufs[CG_MAX_KERNEL_INPUTS + 1];
  bufs[0] = prog ? scratch(b, 0, k->out) : NULL;
  for (int i = 0; i < k->nin && bufs[0]; i++)
    if (!(bufs[i + 1] = scratch(b, i + 1, k->in[i]))) bufs[0] = NULL;
  if (!bufs[0]) { cg__clear_error(); return INFINITY; }
  double t = INFINITY;
  for (int r = 0; r < 3 && (r == 0 || t < 3 * best); r++) { /* a slow one stops after one run */
    double t0 = now_s();
    if (cg__program_launch(prog, bufs, k->nvars ? k->var_vals : NULL) || cg__device_sync(b->dev)) {
      cg__clear_error();
      return INFINITY;
    }
    double dt = now_s() - t0;
    t = dt < t ? dt : t;
  }
  return t;
}

/* Kernels + IRs of plans[0..n) built here (lowering and UOp interning are not
 * thread-safe), compiled together on b->jobs threads when the plugin allows it
 * (cg__program_prefetch), then timed one by one (timing is never concurrent) and kept
 * in the beam. Stops timing past the deadline. */
static void time_batch(beam_ctx *b, const cg_plan *plans, int n, cand *beam, int *nb, int width, double deadline) {
  cg_kernel *ks = cg__xcalloc((size_t)n, sizeof *ks);
  cg_ir_program **irs = cg__xcalloc((size_t)n, sizeof *irs);
  double t0 = now_s();
  for (int i = 0; i < n; i++)
    if (!(irs[i] = build(b->root, b->props, &plans[i], &ks[i]))) cg__clear_error();
  double t1 = now_s();
  b->parallel += cg__program_prefetch(b->dev, (const cg_ir_program *const *)irs, n, b->jobs);
  b->t_build += t1 - t0, b->t_compile += now_s() - t1;
  for (int i = 0; i < n && now_s() < deadline; i++)
    keep(beam, nb, width, &plans[i], time_kernel(b, &ks[i], irs[i], *nb ? beam[0].t : INFINITY));
  for (int i = 0; i < n; i++) free(irs[i]);
  free(irs);
  free(ks);
}

/* Compile threads for BEAM: CG_BEAM_JOBS, else the online CPUs (at most 16); 1 = serial. */
static int beam_jobs(void) {
  long n = cg__env_int("CG_BEAM_JOBS", 0);
  if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN), n = n > 16 ? 16 : n;
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Plan from a table amt[axis][op], applied in a fixed order (LOCAL last: it may gate). */
static bool plan_from(const cg_plan *base, uint16_t (*amt)[CG_OPT_COUNT], cg_plan *out,
                      const cg_device_props *props) {
  static const int order[CG_OPT_COUNT] = {CG_OPT_TC, CG_OPT_UPCAST, CG_OPT_UNROLL, CG_OPT_LOOP, CG_OPT_GROUP,
                                          CG_OPT_LOCAL};
  *out = *base;
  for (int i = 0; i < CG_OPT_COUNT; i++)
    for (int a = 0; a < base->naxes; a++)
      if (amt[a][order[i]] > 1 &&
          cg__plan_apply(out, (cg_opt){(uint8_t)order[i], (uint8_t)a, amt[a][order[i]]}, props))
        return false;
  return true;
}

static void table_of(const cg_plan *p, uint16_t (*amt)[CG_OPT_COUNT]) {
  memset(amt, 0, sizeof(uint16_t) * CG_MAX_AXES * CG_OPT_COUNT);
  for (int i = 0; i < p->nopts; i++) amt[p->opts[i].axis][p->opts[i].op] = p->opts[i].amt;
}

static bool same_plan(const cg_plan *a, const cg_plan *b) {
  uint16_t ta[CG_MAX_AXES][CG_OPT_COUNT], tb[CG_MAX_AXES][CG_OPT_COUNT];
  table_of(a, ta);
  table_of(b, tb);
  return !memcmp(ta, tb, sizeof ta);
}

static void keep(cand *beam, int *n, int width, const cg_plan *p, double t) {
  for (int i = 0; i < *n; i++)
    if (same_plan(&beam[i].p, p)) return;
  int i;
  if (*n < width) i = (*n)++;
  else if (beam[width - 1].t > t) i = width - 1; /* full: replaces the worst */
  else return;
  beam[i] = (cand){*p, t};
  for (; i > 0 && beam[i].t < beam[i - 1].t; i--) {
    cand c = beam[i]; beam[i] = beam[i - 1]; beam[i - 1] = c;
  }
}

/* Plans of one round: each varies one (axis, op) amount of a plan in the beam; none
 * twice, none already in the beam. Returns the count (grows *out). */
static int round_plans(const cand *beam, int nb, const cg_plan *base, const cg_device_props *props, cg_plan **out) {
  static const uint16_t amts[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  int n = 0, cap = 0;
  for (int c = 0; c < nb; c++) {
    uint16_t tab[CG_MAX_AXES][CG_OPT_COUNT];
    table_of(&beam[c].p, tab);
    for (int a = 0; a < base->naxes; a++)
      for (int op = 0; op < CG_OPT_COUNT; op++)
        for (size_t v = 0; v < CG_ARRAY_LEN(amts); v++) {
          bool wide = op == CG_OPT_LOCAL || op == CG_OPT_GROUP || op == CG_OPT_LOOP;
          if (tab[a][op] == amts[v] || (amts[v] == 1 && !tab[a][op]) || (amts[v] > 32 && !wide)) continue;
          uint16_t old = tab[a][op];
          tab[a][op] = amts[v];
          cg_plan p;
          bool ok = plan_from(base, tab, &p, props);
          tab[a][op] = old;
          for (int i = 0; ok && i < nb; i++) ok = !same_plan(&beam[i].p, &p);
          for (int i = 0; ok && i < n; i++) ok = !same_plan(&(*out)[i], &p);
          if (!ok) continue;
          if (n == cap) *out = cg__xrealloc(*out, sizeof **out * (size_t)(cap = cap ? cap * 2 : 64));
          (*out)[n++] = p;
        }
  }
  return n;
}

/* Hill climb: each round tries round_plans of the beam, in batches compiled together;
 * stops when a round gains < 2%, after 4 rounds, or past CG_BEAM_BUDGET seconds
 * (default 120). */
/* The search's pick must beat the heuristic's plan in a rematch (timed in turn, best of 5
 * rounds each): a candidate that won on one noisy timing (a shared machine) is not kept. */
static void rematch(beam_ctx *b, const cg_plan *start, cg_plan *best) {
  if (same_plan(start, best)) return;
  cg_plan two[2] = {*start, *best};
  double t[2] = {INFINITY, INFINITY};
  for (int r = 0; r < 5; r++) {
    cand got[2];
    int n = 0;
    time_batch(b, two, 2, got, &n, 2, INFINITY);
    for (int i = 0; i < n; i++) {
      int w = !same_plan(&got[i].p, start);
      if (got[i].t < t[w]) t[w] = got[i].t;
    }
  }
  if (!(t[1] < t[0] * 0.97)) *best = *start;
}

static void beam_search(beam_ctx *b, const cg_plan *base, cg_plan *best, int width) {
  enum { BATCH = 64 };         /* candidates built and compiled together (bounds memory) */
  double t0 = now_s(), deadline = t0 + (double)cg__env_int("CG_BEAM_BUDGET", 120);
  cand beam[BEAM_MAX], next[BEAM_MAX];
  cg_plan first[2] = {*best, *base}, *plans = NULL;
  int nb = 0;
  time_batch(b, first, best->nopts == 0 || width > 1 ? 2 : 1, beam, &nb, width, INFINITY);
  for (int round = 0; round < 4 && nb; round++) {
    int nn = nb, np = round_plans(beam, nb, base, b->props, &plans);
    memcpy(next, beam, sizeof(cand) * (size_t)nb);
    for (int i = 0; i < np && now_s() < deadline; i += BATCH)
      time_batch(b, plans + i, np - i < BATCH ? np - i : BATCH, next, &nn, width, deadline);
    bool better = next[0].t < beam[0].t * 0.98;
    memcpy(beam, next, sizeof(cand) * (size_t)nn);
    nb = nn;
    if (!better || now_s() >= deadline) break;
  }
  free(plans);
  cg_plan start = *best;
  if (nb) *best = beam[0].p;
  rematch(b, &start, best);
}

/* ---- BEAM cache: memory, then CG_CACHE_DIR|XDG_CACHE_HOME/cgrad|~/.cache/cgrad/beam ---- */

typedef struct { uint64_t key; cg_plan plan; } beam_entry;
static beam_entry *beam_mem;
static size_t beam_mem_n;

static bool beam_path(uint64_t key, char *buf, size_t n) {
  const char *v;
  int w;
  if (cg__env_int("CG_NO_CACHE", 0) > 0) return false;
  if ((v = getenv("CG_CACHE_DIR")) && *v) w = snprintf(buf, n, "%s/beam", v);
  else if ((v = getenv("XDG_CACHE_HOME")) && *v) w = snprintf(buf, n, "%s/cgrad/beam", v);
  else if ((v = getenv("HOME")) && *v) w = snprintf(buf, n, "%s/.cache/cgrad/beam", v);
  else return false;
  if (w < 0 || (size_t)w + 24 >= n) return false;
  for (char *s = buf + 1; *s; s++) /* mkdir -p */
    if (*s == '/') { *s = 0; mkdir(buf, 0755); *s = '/'; }
  if (mkdir(buf, 0755) && errno != EEXIST) return false;
  snprintf(buf + w, n - (size_t)w, "/%016llx.txt", (unsigned long long)key);
  return true;
}

/* 1: in memory, 2: read from disk (then kept in memory), 0: none. */
static void beam_remember(uint64_t key, const cg_plan *p) {
  beam_mem = cg__xrealloc(beam_mem, sizeof *beam_mem * (beam_mem_n + 1));
  beam_mem[beam_mem_n++] = (beam_entry){key, *p};
}

static int beam_load(uint64_t key, const cg_plan *base, cg_plan *out, const cg_device_props *props) {
  for (size_t i = 0; i < beam_mem_n; i++)
    if (beam_mem[i].key == key) { *out = beam_mem[i].plan; return 1; }
  char path[4096];
  FILE *f = beam_path(key, path, sizeof path) ? fopen(path, "r") : NULL;
  if (!f) return false;
  int op, ax, amt, ok = fscanf(f, "cgrad-beam-1") == 0;
  *out = *base;
  while (ok && fscanf(f, " %d %d %d", &op, &ax, &amt) == 3)
    ok = op >= 0 && op < CG_OPT_COUNT && ax >= 0 && amt > 0 && amt < 65536 &&
         !cg__plan_apply(out, (cg_opt){(uint8_t)op, (uint8_t)ax, (uint16_t)amt}, props);
  fclose(f);
  if (ok) beam_remember(key, out);
  return ok ? 2 : 0;
}

static void beam_store(uint64_t key, const cg_plan *p) {
  beam_remember(key, p);
  char path[4096], tmp[4200];
  if (!beam_path(key, path, sizeof path)) return;
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fprintf(f, "cgrad-beam-1");
  for (int i = 0; i < p->nopts; i++) fprintf(f, " %d %d %d", p->opts[i].op, p->opts[i].axis, p->opts[i].amt);
  fprintf(f, "\n");
  if (fclose(f) == 0) rename(tmp, path);
  else remove(tmp);
}

/* Key: the kernel without opts (its AST text) + the device's name and arch. */
static uint64_t beam_key(UOp *root, cg_device *dev, const cg_plan *base, int width) {
  cg_kernel k;
  if (lower_plan(root, cg__device_props(dev), base, &k)) { cg__clear_error(); return 0; }
  char *txt = uop_print(k.sink), id[256];
  const cg_device_props *pr = cg__device_props(dev);
  snprintf(id, sizeof id, "%s|%s|%s|%s|beam%d", cg__device_plugin_id(dev), cg__device_name(dev), pr->name,
           pr->arch, width);
  uint64_t h = cg_hash64(txt, strlen(txt), cg_hash64(id, strlen(id), 0));
  free(txt);
  return h;
}

static void choose_beam(UOp *root, cg_device *dev, const cg_plan *base, cg_plan *plan, int width) {
  uint64_t key = beam_key(root, dev, base, width);
  char s[160];
  int hit = key ? beam_load(key, base, plan, cg__device_props(dev)) : 0;
  if (hit == 2 && cg__debug() >= 2) cg__opts_str(plan, s, sizeof s), cg__log(2, "beam: cached opts %s", s);
  if (hit) return;
  beam_ctx b = {.dev = dev, .root = root, .props = cg__device_props(dev), .jobs = beam_jobs()};
  double t0 = now_s();
  beam_search(&b, base, plan, width > BEAM_MAX ? BEAM_MAX : width);
  for (int i = 0; i <= CG_MAX_KERNEL_INPUTS; i++)
    if (b.bufs[i]) cg__buffer_release(b.bufs[i]);
  if (key) beam_store(key, plan);
  if (cg__debug() >= 2) {
    cg__opts_str(plan, s, sizeof s);
    int jobs = cg__device_concurrent_compile(dev) ? b.jobs : 1;
    cg__log(2, "beam: searched %d candidates in %.1f s (lowering %.1f s, compiling %.1f s on %d compile thread%s, "
            "%d built in parallel), opts %s", b.tried, now_s() - t0, b.t_build, b.t_compile, jobs, jobs > 1 ? "s" : "",
            b.parallel, s);
  }
}

/* ---- testing hooks ------------------------------------------------------------------ */

/* CG_OPTS="UPCAST0:8 UNROLL2:4 ..." for every kernel; opts that are not legal are skipped. */
static void parse_opts(const char *txt, cg_plan *plan, const cg_device_props *props) {
  char name[16];
  int ax, amt, len;
  while (sscanf(txt, " %15[A-Z]%d:%d%n", name, &ax, &amt, &len) == 3) {
    for (int op = 0; op < CG_OPT_COUNT; op++)
      if (!strcmp(name, opt_names[op]) && ax >= 0 && amt > 1 && amt < 65536)
        cg__plan_apply(plan, (cg_opt){(uint8_t)op, (uint8_t)ax, (uint16_t)amt}, props);
    txt += len;
  }
}

/* CG_OPT_FUZZ=seed: a random legal opt list per kernel (tests/opt compares with NOOPT). */
static void random_opts(cg_plan *plan, const cg_device_props *props, uint64_t seed) {
  static uint64_t calls;
  uint64_t x = (seed + ++calls) * 0x9e3779b97f4a7c15ull;
  static const uint16_t amts[] = {2, 3, 4, 5, 8, 16, 32, 64};
  for (int t = 0; t < 12 && plan->naxes; t++) {
    x ^= x >> 29, x *= 0xbf58476d1ce4e5b9ull, x ^= x >> 32;
    cg_opt o = {(uint8_t)(x % CG_OPT_COUNT), (uint8_t)((x >> 8) % (uint64_t)plan->naxes),
                amts[(x >> 16) % CG_ARRAY_LEN(amts)]};
    cg__plan_apply(plan, o, props);
  }
}

/* ---- entry ------------------------------------------------------------------------ */

cg_ir_program *cg__compile_kernel(UOp *root, cg_device *dev, cg_kernel *k) {
  const cg_device_props *props = cg__device_props(dev);
  cg_plan base, plan;
  cg__plan_init(root, &base);
  plan = base;
  const char *forced = getenv("CG_OPTS");
  long fuzz = cg__env_int("CG_OPT_FUZZ", 0);
  if (cg__env_int("NOOPT", 0)) {
  } else if (forced && *forced) {
    parse_opts(forced, &plan, props);
  } else if (fuzz) {
    random_opts(&plan, props, (uint64_t)fuzz);
  } else {
    heuristics(root, &plan, props);
    int width = (int)cg__env_int("BEAM", 0);
    if (width > 0) choose_beam(root, dev, &base, &plan, width);
  }
  if (lower_plan(root, props, &plan, k)) return NULL;
  if (cg__debug() >= 3) {
    char s[160], *txt = uop_print(k->sink);
    cg__opts_str(&k->plan, s, sizeof s);
    cg__log(2, "kernel %s opts: %s\nAST:\n%s", k->name, s, txt);
    free(txt);
  }
  return linearize_cached(k, props);
}
