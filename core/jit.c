/* JIT: capture the kernel launches and buffer copies that one call of a step function
 * makes, then replay them on later calls with the new inputs' buffers substituted, so a
 * replay builds no graph, schedules nothing and compiles nothing (docs/jit.md).
 *
 * Call 1 runs fn eagerly (first-call work such as compiling happens there), call 2 runs
 * it while device.c reports every launch and copy to the recording JIT, calls 3.. replay.
 * Every buffer a recording touches goes into the JIT's buffer table and is retained
 * from its first use, so no buffer is reused for two roles inside one recording and
 * substituting by buffer identity is safe. Runs of launches on a device whose plugin has
 * the graph slot replay as one graph; the rest launch one by one.
 *
 * State: cg_assign inside the recorded call reports (tensor, old buffer, new buffer);
 * the recorded kernels read the old buffer ("in") and write the new one ("out"), and the
 * tensor stays on "out". The recording ends with a copy out -> in per state tensor,
 * which every replay repeats, so the next replay reads the latest value. A cg_assign
 * outside the recording to a state tensor (or to a tensor whose buffer the step reads,
 * e.g. a learning rate) retargets the table entry, and the state's "in" is refreshed
 * before the next replay.
 *
 * Symbolic variables: an input that is a bound variable (cg_var_bind) has no buffer. At
 * capture, each launch's variable slot whose IR name and value are those of a variable
 * input is tied to that input; a replay writes the new inputs' bound values into those
 * slots (after checking name and the captured range), so one capture serves every value.
 * Slots not tied to an input keep their captured value.
 *
 * Not thread-safe across threads sharing one cg_jit; recording is per thread. */
#include "runtime.h"
#include "tensor.h"

enum { R_LAUNCH, R_COPY };

typedef struct {
  int kind;                /* R_LAUNCH or R_COPY */
  cg_program *prog;        /* R_LAUNCH: borrowed from the device's program cache */
  int nb;                  /* buffers: one per IR param, or 2 (dst, src) for a copy */
  int *bi;                 /* [nb] indices into the buffer table */
  int64_t *vars;           /* [IR nvars] values: at capture, refreshed per replay; NULL if none */
  int16_t *vsrc;            /* [IR nvars] input index each value comes from, -1 = fixed; NULL if none */
  size_t dst_off, src_off, n; /* R_COPY: byte offsets and count */
  int seg;                 /* graph segment starting here, -1 if launched alone */
} jrec;

/* A state tensor: recorded kernels read buffer `in`, write `out`; t lives on `out`. */
typedef struct {
  cg_tensor *t;            /* retained */
  int in, out;             /* buffer table indices */
  bool dirty;              /* `out` was retargeted: copy out -> in before replaying */
} jstate;

/* Launches [first, first+n) of the records, replayed as one plugin graph. */
typedef struct {
  int first, n;
  cg_graph *g;
  cg_buffer **flat;        /* every launch's buffers, concatenated (refilled per replay) */
  cg_buffer ***bufs;       /* [n] pointers into flat */
  const int64_t **vars;    /* [n] each launch's variable values (the records' arrays) */
} jseg;

/* What a replay checks its inputs against, and how outputs are rebuilt. */
typedef struct {
  int ndim;
  int64_t shape[CG_MAX_DIMS];
  cg_dtype dtype;
  cg_device *dev;
  bool var;                /* a bound symbolic variable (inputs only): no buffer */
  char name[32];           /* var: its name */
  int64_t vmin, vmax, val; /* var: range and value at capture */
} jsig;

/* Buffer table flags: how the recording used a buffer. */
enum { B_READ_FIRST = 1, B_WRITTEN = 2, B_INPUT = 4, B_STATE_IN = 8, B_STATE_OUT = 16 };

struct cg_jit {
  cg_jit_fn fn;
  void *user;
  bool eager_only;         /* JIT=0, or a capture did something a replay cannot repeat */
  bool graphs;             /* JIT_GRAPH != 0: use plugin graph slots */
  bool captured;           /* calls replay */
  int calls;               /* calls that ran fn */
  int host_reads;          /* device -> host reads seen while recording */
  int nin, nout;
  jsig *isig, *osig;       /* [nin], [nout] */
  int *in_tab, *out_tab;   /* buffer table index of each input / output */
  cg_buffer **tab;         /* [ntab] retained */
  uint8_t *flags;          /* [ntab] B_* */
  int ntab, ctab;
  jrec *recs;
  int nrecs, crecs;
  jstate *st;
  int nst, cst;
  jseg *segs;
  int nsegs;
  cg_jit *next;            /* live list, for the assign hook */
};

static _Thread_local cg_jit *recording;
static cg_jit *live;

static cg_buffer *buffer_of(const UOp *u) { return u->op == UOP_BUFFER ? u->ptr : u->realized; }
static bool is_bound_var(const cg_tensor *t) { return t->u->op == UOP_VAR && t->u->nargs >= 3; }
static cg_device *device_of(const UOp *u) { return u->device ? u->device : cg__default_device(); }

/* ---- buffer table ---- */

static int tab_find(const cg_jit *j, const cg_buffer *b) {
  for (int i = 0; i < j->ntab; i++)
    if (j->tab[i] == b) return i;
  return -1;
}

/* Index of b, added (and retained) on first sight. */
static int tab_add(cg_jit *j, cg_buffer *b) {
  int i = tab_find(j, b);
  if (i >= 0) return i;
  if (j->ntab == j->ctab) {
    j->ctab = j->ctab ? j->ctab * 2 : 64;
    j->tab = cg__xrealloc(j->tab, sizeof *j->tab * (size_t)j->ctab);
    j->flags = cg__xrealloc(j->flags, (size_t)j->ctab);
  }
  j->tab[j->ntab] = cg__buffer_retain(b);
  j->flags[j->ntab] = 0;
  return j->ntab++;
}

/* Marks a use: a read of a buffer nothing in the recording wrote yet reads outside state. */
static int tab_use(cg_jit *j, cg_buffer *b, bool write) {
  int i = tab_add(j, b);
  if (write) j->flags[i] |= B_WRITTEN;
  else if (!(j->flags[i] & B_WRITTEN)) j->flags[i] |= B_READ_FIRST;
  return i;
}

/* ---- recording hooks (called by device.c and tensor.c) ---- */

static jrec *rec_push(cg_jit *j) {
  if (j->nrecs == j->crecs) {
    j->crecs = j->crecs ? j->crecs * 2 : 256;
    j->recs = cg__xrealloc(j->recs, sizeof *j->recs * (size_t)j->crecs);
  }
  jrec *r = &j->recs[j->nrecs++];
  memset(r, 0, sizeof *r);
  r->seg = -1;
  return r;
}

/* For each IR variable of a launch: the variable input with its name and value, or -1
 * (a variable the step binds itself keeps its captured value). NULL when none is tied. */
static int16_t *var_sources(const cg_jit *j, const cg_ir_program *ir, const int64_t *vars) {
  int16_t *src = NULL;
  for (uint32_t k = 0; k < ir->nvars; k++) {
    const cg_ir_var *v = &cg_ir_vars(ir)[k];
    for (int i = 0; i < j->nin; i++) {
      const jsig *s = &j->isig[i];
      if (!s->var || strncmp(s->name, v->name, sizeof v->name) || s->val != vars[k]) continue;
      if (!src) {
        src = cg__xmalloc(sizeof *src * ir->nvars);
        for (uint32_t m = 0; m < ir->nvars; m++) src[m] = -1;
      }
      src[k] = (int16_t)i;
      break;
    }
  }
  return src;
}

void cg__jit_on_launch(cg_program *p, cg_buffer *const *bufs, const int64_t *vars) {
  cg_jit *j = recording;
  if (!j) return;
  const cg_ir_program *ir = cg__program_ir(p);
  jrec *r = rec_push(j);
  r->kind = R_LAUNCH;
  r->prog = p;
  r->nb = (int)ir->nparams;
  r->bi = cg__xmalloc(sizeof *r->bi * (size_t)(r->nb ? r->nb : 1));
  /* reads first: a kernel that reads and writes one buffer reads its old value */
  for (int k = 0; k < r->nb; k++)
    if (cg_ir_params(ir)[k].flags & CG_IR_PARAM_READ) r->bi[k] = tab_use(j, bufs[k], false);
  for (int k = 0; k < r->nb; k++)
    if (!(cg_ir_params(ir)[k].flags & CG_IR_PARAM_READ) || (cg_ir_params(ir)[k].flags & CG_IR_PARAM_WRITE))
      r->bi[k] = tab_use(j, bufs[k], (cg_ir_params(ir)[k].flags & CG_IR_PARAM_WRITE) != 0);
  if (ir->nvars && vars) {
    r->vars = memcpy(cg__xmalloc(sizeof *vars * ir->nvars), vars, sizeof *vars * ir->nvars);
    r->vsrc = var_sources(j, ir, vars);
  }
}

void cg__jit_on_copy(cg_buffer *dst, size_t dst_off, cg_buffer *src, size_t src_off, size_t n) {
  cg_jit *j = recording;
  if (!j) return;
  jrec *r = rec_push(j);
  r->kind = R_COPY;
  r->nb = 2;
  r->bi = cg__xmalloc(sizeof *r->bi * 2);
  r->bi[1] = tab_use(j, src, false);
  r->bi[0] = tab_use(j, dst, true);
  r->dst_off = dst_off, r->src_off = src_off, r->n = n;
}

void cg__jit_on_read(void) {
  if (recording) recording->host_reads++;
}

/* Inside a recording: dst's old buffer is a state input, the new one its output. */
static void note_state(cg_jit *j, cg_tensor *dst, cg_buffer *old, cg_buffer *nw) {
  int oi = tab_add(j, old), ni = tab_add(j, nw);
  for (int s = 0; s < j->nst; s++) {
    if (j->st[s].out != oi) continue;  /* assigned twice in one call: keep the first input */
    j->st[s].out = ni;
    j->flags[ni] |= B_STATE_OUT;
    return;
  }
  if (j->nst == j->cst) {
    j->cst = j->cst ? j->cst * 2 : 32;
    j->st = cg__xrealloc(j->st, sizeof *j->st * (size_t)j->cst);
  }
  j->st[j->nst++] = (jstate){.t = cg_retain(dst), .in = oi, .out = ni};
  j->flags[oi] |= B_STATE_IN;
  j->flags[ni] |= B_STATE_OUT;
}

/* Outside a recording: a tensor the captured step reads (or a state tensor) moved from
 * buffer old to nw; follow it. Buffers private to the recording are left alone. */
static void retarget(cg_jit *j, cg_buffer *old, cg_buffer *nw) {
  int i = tab_find(j, old);
  if (i < 0 || tab_find(j, nw) == i) return;
  uint8_t f = j->flags[i];
  bool state_out = (f & B_STATE_OUT) != 0;
  bool ext = (f & B_READ_FIRST) && !(f & (B_INPUT | B_STATE_IN | B_WRITTEN));
  if (!state_out && !ext) return;
  if (cg__buffer_size(nw) != cg__buffer_size(old) || cg__buffer_device(nw) != cg__buffer_device(old)) return;
  j->tab[i] = cg__buffer_retain(nw);
  cg__buffer_release(old);
  for (int s = 0; s < j->nst; s++)
    if (j->st[s].out == i) j->st[s].dirty = true;
}

void cg__jit_on_assign(cg_tensor *dst, cg_buffer *old, cg_buffer *nw) {
  if (!old || !nw || old == nw) return;
  if (recording) note_state(recording, dst, old, nw);
  for (cg_jit *j = live; j; j = j->next)
    if (j->captured && j != recording) retarget(j, old, nw);
}

/* ---- lifecycle ---- */

/* Drops a recording (after a failed capture, or at free). */
static void capture_reset(cg_jit *j) {
  for (int i = 0; i < j->nsegs; i++) {
    cg__graph_free(j->segs[i].g);
    free(j->segs[i].flat);
    free(j->segs[i].bufs);
    free(j->segs[i].vars);
  }
  for (int i = 0; i < j->nrecs; i++) {
    free(j->recs[i].bi);
    free(j->recs[i].vars);
    free(j->recs[i].vsrc);
  }
  for (int i = 0; i < j->nst; i++) cg_release(j->st[i].t);
  for (int i = 0; i < j->ntab; i++) cg__buffer_release(j->tab[i]);
  free(j->segs), free(j->recs), free(j->st), free(j->tab), free(j->flags);
  free(j->isig), free(j->osig), free(j->in_tab), free(j->out_tab);
  cg_jit_fn fn = j->fn;
  void *user = j->user;
  bool eager = j->eager_only, graphs = j->graphs;
  int calls = j->calls;
  cg_jit *next = j->next;
  *j = (cg_jit){.fn = fn, .user = user, .eager_only = eager, .graphs = graphs, .calls = calls, .next = next};
}

cg_jit *cg_jit_new(cg_jit_fn fn, void *user) {
  if (!fn) {
    cg__error(CG_ERR_INVALID, "cg_jit_new: NULL step function");
    return NULL;
  }
  cg_jit *j = cg__xcalloc(1, sizeof *j);
  j->fn = fn;
  j->user = user;
  j->eager_only = cg__env_int("JIT", 1) == 0;
  j->graphs = cg__env_int("JIT_GRAPH", 1) != 0;
  j->next = live;
  live = j;
  return j;
}

void cg_jit_free(cg_jit *j) {
  if (!j) return;
  for (cg_jit **p = &live; *p; p = &(*p)->next)
    if (*p == j) { *p = j->next; break; }
  if (recording == j) recording = NULL;
  capture_reset(j);
  free(j);
}

bool cg_jit_captured(const cg_jit *j) { return j && j->captured; }

/* ---- signatures ---- */

static void sig_of(const cg_tensor *t, jsig *s) {
  s->ndim = t->u->ndim;
  memcpy(s->shape, t->u->shape, sizeof s->shape);
  s->dtype = (cg_dtype)t->u->dtype;
  s->dev = device_of(t->u);
  s->var = is_bound_var(t);
  if (s->var) {
    snprintf(s->name, sizeof s->name, "%s", (const char *)t->u->ptr);
    s->vmin = t->u->args[0], s->vmax = t->u->args[1], s->val = t->u->args[2];
  }
}

/* Input i was a bound variable at capture: it must be the same variable, bound, with a
 * value in the captured range (the kernels were simplified for that range). */
static cg_status var_check(int i, const cg_tensor *t, const jsig *s) {
  const UOp *u = t->u;
  if (u->op != UOP_VAR)
    return cg__error(CG_ERR_INVALID, "cg_jit_run: input %d is a tensor %s, captured as variable '%s' (pass "
                     "cg_var_bind of '%s')", i, cg__shape_str(t), s->name, s->name);
  if (strcmp((const char *)u->ptr, s->name))
    return cg__error(CG_ERR_INVALID, "cg_jit_run: input %d is variable '%s', captured as variable '%s'", i,
                     (const char *)u->ptr, s->name);
  if (u->nargs < 3)
    return cg__error(CG_ERR_INVALID, "cg_jit_run: input %d: variable '%s' is not bound (use cg_var_bind)", i,
                     s->name);
  if (u->args[2] < s->vmin || u->args[2] > s->vmax)
    return cg__error(CG_ERR_INVALID, "cg_jit_run: input %d: variable '%s' = %lld outside [%lld, %lld], its "
                     "range at capture", i, s->name, (long long)u->args[2], (long long)s->vmin, (long long)s->vmax);
  return CG_OK;
}

/* Whether input i matches its capture; an error naming what differs if not. */
static cg_status sig_check(int i, const cg_tensor *t, const jsig *s) {
  if (s->var) return var_check(i, t, s);
  if (t->u->op == UOP_VAR)
    return cg__error(CG_ERR_INVALID, "cg_jit_run: input %d is variable '%s', captured as a tensor (only "
                     "inputs that were variables at capture take new values)", i, (const char *)t->u->ptr);
  bool same_shape = t->u->ndim == s->ndim;
  for (int k = 0; same_shape && k < s->ndim; k++) same_shape = t->u->shape[k] == s->shape[k];
  if (!same_shape)
    return cg__error(CG_ERR_SHAPE, "cg_jit_run: input %d has shape %s, captured with %s (a captured step "
                     "replays fixed shapes: use another cg_jit per shape)", i, cg__shape_str(t),
                     cg__dims_str(s->ndim, s->shape));
  if ((cg_dtype)t->u->dtype != s->dtype)
    return cg__error(CG_ERR_DTYPE, "cg_jit_run: input %d is %s, captured as %s", i,
                     cg_dtype_name((cg_dtype)t->u->dtype), cg_dtype_name(s->dtype));
  if (device_of(t->u) != s->dev)
    return cg__error(CG_ERR_DEVICE, "cg_jit_run: input %d is on %s, captured on %s", i,
                     cg__device_name(device_of(t->u)), cg__device_name(s->dev));
  return CG_OK;
}

/* A new tensor (current scope) on buffer b with signature s. */
static cg_tensor *wrap_buffer(cg_buffer *b, const jsig *s) {
  uop_pool_push();
  cg_tensor *t = cg__wrap(uop_new(UOP_BUFFER, s->dtype, 0, NULL, s->ndim, s->shape, 0, b));
  uop_pool_pop();
  return t;
}

/* ---- capture ---- */

static void capture_begin(cg_jit *j, int nin, cg_tensor *const *in) {
  capture_reset(j);
  j->nin = nin;
  j->isig = cg__xcalloc((size_t)(nin ? nin : 1), sizeof *j->isig);
  j->in_tab = cg__xcalloc((size_t)(nin ? nin : 1), sizeof *j->in_tab);
  for (int i = 0; i < nin; i++) {
    sig_of(in[i], &j->isig[i]);
    j->in_tab[i] = -1;
    if (j->isig[i].var) continue;  /* no buffer: its value goes to the launches' var slots */
    j->in_tab[i] = tab_add(j, buffer_of(in[i]->u));
    j->flags[j->in_tab[i]] |= B_INPUT;
  }
}

/* Groups runs of launches on one graph-capable device into plugin graphs. */
static void build_segments(cg_jit *j) {
  for (int i = 0; i < j->nrecs;) {
    cg_device *d = j->recs[i].kind == R_LAUNCH ? cg__program_device(j->recs[i].prog) : NULL;
    if (!d || !j->graphs || !cg__device_has_graphs(d)) { i++; continue; }
    int n = 0, nflat = 0;
    while (i + n < j->nrecs && j->recs[i + n].kind == R_LAUNCH && cg__program_device(j->recs[i + n].prog) == d)
      nflat += j->recs[i + n++].nb;
    jseg s = {.first = i, .n = n};
    s.flat = cg__xcalloc((size_t)(nflat ? nflat : 1), sizeof *s.flat);
    s.bufs = cg__xcalloc((size_t)n, sizeof *s.bufs);
    s.vars = cg__xcalloc((size_t)n, sizeof *s.vars);
    cg_program **progs = cg__xcalloc((size_t)n, sizeof *progs);
    for (int k = 0, off = 0; k < n; off += j->recs[i + k].nb, k++) {
      const jrec *r = &j->recs[i + k];
      s.bufs[k] = s.flat + off;
      for (int b = 0; b < r->nb; b++) s.flat[off + b] = j->tab[r->bi[b]];
      s.vars[k] = r->vars;
      progs[k] = r->prog;
    }
    s.g = cg__graph_new(d, n, progs, (cg_buffer *const *const *)s.bufs, s.vars);
    free(progs);
    if (!s.g) {  /* the plugin refused: these launches replay one by one */
      if (cg__debug() >= 1) cg__log(1, "jit: no graph on %s (%s); launching one by one", cg__device_name(d), cg_last_error());
      cg__clear_error();
      free(s.flat), free(s.bufs), free(s.vars);
    } else {
      j->segs = cg__xrealloc(j->segs, sizeof *j->segs * (size_t)(j->nsegs + 1));
      j->recs[i].seg = j->nsegs;
      j->segs[j->nsegs++] = s;
    }
    i += n;
  }
}

/* After the recorded call: outputs, state copy-backs (run once now), graphs. */
static cg_status capture_end(cg_jit *j, int nout, cg_tensor *const *out) {
  j->nout = nout;
  j->osig = cg__xcalloc((size_t)(nout ? nout : 1), sizeof *j->osig);
  j->out_tab = cg__xcalloc((size_t)(nout ? nout : 1), sizeof *j->out_tab);
  for (int k = 0; k < nout; k++) {
    sig_of(out[k], &j->osig[k]);
    j->out_tab[k] = tab_add(j, buffer_of(out[k]->u));
  }
  for (int s = 0; s < j->nst; s++) {
    jstate *x = &j->st[s];
    if (x->in == x->out) continue;
    size_t n = cg__buffer_size(j->tab[x->out]);
    if (cg__buffer_size(j->tab[x->in]) < n) n = cg__buffer_size(j->tab[x->in]);
    cg_status st = cg__buffer_copy(j->tab[x->in], 0, j->tab[x->out], 0, n);
    if (st != CG_OK) return st;
    jrec *r = rec_push(j);
    r->kind = R_COPY;
    r->nb = 2;
    r->bi = cg__xmalloc(sizeof *r->bi * 2);
    r->bi[0] = x->in, r->bi[1] = x->out, r->n = n;
  }
  build_segments(j);
  j->captured = true;
  if (cg__debug() >= 1)
    cg__log(2, "jit: captured %d launches/copies, %d buffers, %d state tensors, %d graphs", j->nrecs,
            j->ntab, j->nst, j->nsegs);
  return CG_OK;
}

/* Realizes the inputs except bound variables. A bound variable that was realized before
 * (cg_item(pos): the interned VAR node caches a buffer) drops that cache, so the step's
 * kernels take it as a variable slot rather than reading a buffer baked into the capture. */
static cg_status realize_inputs(int nin, cg_tensor *const *in) {
  cg_tensor *ts[256];
  int n = 0;
  for (int i = 0; i < nin; i++) {
    UOp *u = in[i]->u;
    if (!is_bound_var(in[i])) ts[n++] = in[i];
    else if (u->realized) {
      cg__buffer_release(u->realized);
      u->realized = NULL;
    }
  }
  return n ? cg_realize_all(n, ts) : CG_OK;
}

/* Runs fn (recording when capture is set); outputs realized and wrapped as buffers. */
static cg_status run_fn(cg_jit *j, int nin, cg_tensor *const *in, int nout, cg_tensor **out, bool capture) {
  cg_status st = realize_inputs(nin, in);
  if (st != CG_OK) return st;
  if (capture) capture_begin(j, nin, in);
  for (int k = 0; k < nout; k++) out[k] = NULL;
  cg_scope_push();
  recording = capture ? j : NULL;
  st = j->fn(nin, in, nout, out, j->user);
  for (int k = 0; st == CG_OK && k < nout; k++)
    if (!out[k]) st = cg_last_error()[0] ? CG_ERR_INVALID : cg__error(CG_ERR_INVALID, "cg_jit_run: the step left output %d NULL", k);
  if (st == CG_OK && nout) st = cg_realize_all(nout, out);
  recording = NULL;
  if (st == CG_OK && capture && j->host_reads) {
    cg__log(1, "jit: the step read device data to the host during capture (cg_item, cg_to_host, ...); "
               "it cannot be replayed and stays eager: read outputs after cg_jit_run");
    capture = false;
    capture_reset(j);
    j->eager_only = true;
  }
  if (st == CG_OK && capture) st = capture_end(j, nout, out);
  jsig *sig = cg__xcalloc((size_t)(nout ? nout : 1), sizeof *sig);
  cg_buffer **b = cg__xcalloc((size_t)(nout ? nout : 1), sizeof *b);
  for (int k = 0; st == CG_OK && k < nout; k++) {
    sig_of(out[k], &sig[k]);
    b[k] = cg__buffer_retain(buffer_of(out[k]->u));
  }
  cg_scope_pop();
  for (int k = 0; k < nout; k++) {
    out[k] = st == CG_OK ? wrap_buffer(b[k], &sig[k]) : NULL;
    cg__buffer_release(b[k]);
  }
  free(sig);
  free(b);
  if (st != CG_OK && capture) capture_reset(j);
  if (st == CG_OK) j->calls++;
  return st;
}

/* ---- replay ---- */

static cg_status replay_one(const jrec *r, cg_buffer **cur) {
  if (r->kind == R_COPY) return cg__buffer_copy(cur[r->bi[0]], r->dst_off, cur[r->bi[1]], r->src_off, r->n);
  cg_buffer *stack[72] = {0}, **b = r->nb <= (int)CG_ARRAY_LEN(stack) ? stack : cg__xmalloc(sizeof *b * (size_t)r->nb);
  for (int k = 0; k < r->nb; k++) b[k] = cur[r->bi[k]];
  cg_status st = cg__program_launch(r->prog, b, r->vars);
  if (b != stack) free(b);
  return st;
}

static cg_status replay_graph(const cg_jit *j, const jseg *s, cg_buffer **cur) {
  for (int k = 0; k < s->n; k++) {
    const jrec *r = &j->recs[s->first + k];
    for (int b = 0; b < r->nb; b++) s->bufs[k][b] = cur[r->bi[b]];
  }
  return cg__graph_launch(s->g, (cg_buffer *const *const *)s->bufs, s->vars);
}

/* Writes the variable inputs' bound values (checked) into the var slots tied to them;
 * graph segments point at the same arrays. */
static void set_vars(cg_jit *j, cg_tensor *const *in) {
  for (int i = 0; i < j->nrecs; i++) {
    jrec *r = &j->recs[i];
    if (!r->vsrc) continue;
    uint32_t nv = cg__program_ir(r->prog)->nvars;
    for (uint32_t k = 0; k < nv; k++)
      if (r->vsrc[k] >= 0) r->vars[k] = in[r->vsrc[k]]->u->args[2];
  }
}

static cg_status replay(cg_jit *j, int nin, cg_tensor *const *in, int nout, cg_tensor **out) {
  if (nin != j->nin || nout != j->nout)
    return cg__error(CG_ERR_INVALID, "cg_jit_run: %d inputs and %d outputs, captured with %d and %d", nin, nout,
                     j->nin, j->nout);
  for (int i = 0; i < nin; i++) {
    cg_status st = sig_check(i, in[i], &j->isig[i]);
    if (st != CG_OK) return st;
  }
  cg_status st = realize_inputs(nin, in);
  if (st != CG_OK) return st;
  set_vars(j, in);
  cg_buffer **cur = memcpy(cg__xmalloc(sizeof *cur * (size_t)j->ntab), j->tab, sizeof *cur * (size_t)j->ntab);
  for (int i = 0; i < nin; i++)
    if (j->in_tab[i] >= 0) cur[j->in_tab[i]] = buffer_of(in[i]->u);
  for (int s = 0; s < j->nst && st == CG_OK; s++) {
    jstate *x = &j->st[s];
    if (!x->dirty) continue;
    st = cg__buffer_copy(cur[x->in], 0, cur[x->out], 0, cg__buffer_size(cur[x->out]));
    x->dirty = false;
  }
  for (int i = 0; i < j->nrecs && st == CG_OK;) {
    const jrec *r = &j->recs[i];
    if (r->seg >= 0) {
      st = replay_graph(j, &j->segs[r->seg], cur);
      i += j->segs[r->seg].n;
    } else {
      st = replay_one(r, cur);
      i++;
    }
  }
  for (int k = 0; k < nout; k++) out[k] = st == CG_OK ? wrap_buffer(cur[j->out_tab[k]], &j->osig[k]) : NULL;
  free(cur);
  if (st == CG_OK) cg__counters.jit_replays++;
  return st;
}

cg_status cg_jit_run(cg_jit *j, int nin, cg_tensor *const *in, int nout, cg_tensor **out) {
  if (!j) return cg__error(CG_ERR_INVALID, "cg_jit_run: NULL jit");
  if (nin < 0 || nout < 0 || nin > 256 || nout > 256 || (nin && !in) || (nout && !out))
    return cg__error(CG_ERR_INVALID, "cg_jit_run: bad counts (%d inputs, %d outputs; at most 256 each)", nin, nout);
  for (int i = 0; i < nin; i++)
    if (!in[i])
      return cg_last_error()[0] ? CG_ERR_INVALID : cg__error(CG_ERR_INVALID, "cg_jit_run: input %d is NULL", i);
  if (recording) return cg__error(CG_ERR_INVALID, "cg_jit_run: called from inside a step being captured");
  if (j->captured) return replay(j, nin, in, nout, out);
  return run_fn(j, nin, in, nout, out, !j->eager_only && j->calls >= 1);
}
