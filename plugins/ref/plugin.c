/* ref plugin: the ABI side of the reference interpreter. One CPU device "REF" with every
 * dtype and every op (except WMMA), work-groups of up to 256 items with local memory
 * and barriers, memory from malloc (64-byte aligned), render = the IR text ("cgir"),
 * no compile step; program_load verifies and copies the IR, launch interprets it
 * (interp.c). The graph slot (ABI 1.1) records a list of launches and replays it in
 * order through the same launch path. Every object is on its context's live list so shutdown frees what the
 * host left behind. Errors go through cg_host_error (plugin_host.h); nothing here prints or aborts.
 * Host option REF_MAX_STEPS=n makes a launch fail after n executed instructions (a
 * guard for fuzzing and for conformance runs of kernels that might not terminate). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin_host.h>

#include "ref.h"

#define REF_BUF_MAGIC 0x46554246u /* "FBUF" */
#define REF_VERSION "0.1.0"

/* Copies a struct whose first field is struct_size: missing tail -> 0, extra tail ignored. */
static void read_sized(void *dst, size_t dst_size, const void *src) {
  uint32_t n;
  memcpy(&n, src, sizeof n);
  memset(dst, 0, dst_size);
  memcpy(dst, src, n < dst_size ? n : dst_size);
}

/* Writes our full struct src into dst without passing dst->struct_size; keeps it. */
static void write_sized(void *dst, const void *src, size_t src_size) {
  uint32_t n;
  memcpy(&n, dst, sizeof n);
  size_t m = n < src_size ? n : src_size;
  if (m > sizeof n) memcpy((char *)dst + sizeof n, (const char *)src + sizeof n, m - sizeof n);
}

/* ---------------------------------------------------------------- objects */

typedef struct obj {
  struct obj *prev, *next;
  void (*destroy)(struct obj *);
} obj;

typedef struct {
  pthread_mutex_t mu;
  obj live; /* circular list of every device, buffer and program */
} ref_ctx;

typedef struct {
  obj o;
  ref_ctx *ctx;
} ref_dev;

typedef struct {
  obj o;
  uint32_t magic;
  size_t size;
  unsigned char *data;
} ref_buf;

typedef struct {
  obj o;
  ref_prog prog;
} ref_handle;

static void track(ref_ctx *c, obj *o, void (*destroy)(obj *)) {
  o->destroy = destroy;
  pthread_mutex_lock(&c->mu);
  o->next = c->live.next, o->prev = &c->live;
  c->live.next->prev = o, c->live.next = o;
  pthread_mutex_unlock(&c->mu);
}

static void untrack(ref_ctx *c, obj *o) {
  pthread_mutex_lock(&c->mu);
  o->prev->next = o->next, o->next->prev = o->prev;
  pthread_mutex_unlock(&c->mu);
}

static void destroy_plain(obj *o) { free(o); }
static void destroy_buf(obj *o) {
  ref_buf *b = (ref_buf *)o;
  b->magic = 0;
  free(b->data);
  free(b);
}
static void destroy_prog(obj *o) {
  ref_prog_release(&((ref_handle *)o)->prog);
  free(o);
}

/* ---------------------------------------------------------------- plugin, devices */

static cg_pstatus ref_init(void **ctx) {
  ref_ctx *c = calloc(1, sizeof *c);
  if (!c) return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory");
  pthread_mutex_init(&c->mu, NULL);
  c->live.next = c->live.prev = &c->live;
  *ctx = c;
  return CG_P_OK;
}

static void ref_shutdown(void *ctx) {
  ref_ctx *c = ctx;
  if (!c) return;
  while (c->live.next != &c->live) {
    obj *o = c->live.next;
    untrack(c, o);
    o->destroy(o);
  }
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static cg_pstatus ref_device_count(void *ctx, int *count) {
  *count = 1;
  return CG_P_OK;
}

static cg_pstatus ref_device_props(void *ctx, int index, cg_device_props *props) {
  if (index != 0 || !props || props->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "ref: no device %d or bad props struct", index);
  cg_device_props d = {.struct_size = sizeof d, .kind = CG_DEVICE_CPU};
  snprintf(d.name, sizeof d.name, "REF (reference interpreter)");
  snprintf(d.arch, sizeof d.arch, "ref");
  d.dtypes = (1u << CG_IR_VOID) - 1; /* every element type */
  d.native_ops = ((1ull << CG_IR_OP_COUNT) - 1) & ~(1ull << CG_IR_WMMA);
  d.max_local_size = REF_MAX_LOCAL;
  d.max_local[0] = d.max_local[1] = d.max_local[2] = REF_MAX_LOCAL;
  d.local_mem_bytes = REF_LOCAL_MEM;
  d.compute_units = 1;
  d.warp_size = 1;
  write_sized(props, &d, sizeof d);
  return CG_P_OK;
}

static cg_pstatus ref_device_open(void *ctx, int index, void **dev) {
  if (index != 0) return cg_host_error(CG_P_ERR_NODEV, "ref: no device %d", index);
  ref_dev *d = calloc(1, sizeof *d);
  if (!d) return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory");
  d->ctx = ctx;
  track(ctx, &d->o, destroy_plain);
  *dev = d;
  return CG_P_OK;
}

static void ref_device_close(void *dev) {
  ref_dev *d = dev;
  if (!d) return;
  untrack(d->ctx, &d->o);
  free(d);
}

/* ---------------------------------------------------------------- memory */

static cg_pstatus ref_mem_alloc(void *dev, size_t bytes, void **out) {
  ref_dev *d = dev;
  if (!d || !out) return cg_host_error(CG_P_ERR_INVALID, "ref: mem_alloc: no device");
  if (bytes > ((size_t)1 << 48)) return cg_host_error(CG_P_ERR_NOMEM, "ref: allocation of %zu bytes refused", bytes);
  ref_buf *b = calloc(1, sizeof *b);
  size_t rounded = (bytes + 63) & ~(size_t)63;
  unsigned char *data = aligned_alloc(64, rounded ? rounded : 64);
  if (!b || !data) {
    free(b);
    free(data);
    return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory allocating %zu bytes", bytes);
  }
  memset(data, 0, rounded ? rounded : 64);
  b->magic = REF_BUF_MAGIC, b->size = bytes, b->data = data;
  track(d->ctx, &b->o, destroy_buf);
  *out = b;
  return CG_P_OK;
}

static void ref_mem_free(void *dev, void *buf) {
  ref_dev *d = dev;
  if (!buf) return;
  untrack(d->ctx, &((ref_buf *)buf)->o);
  destroy_buf(buf);
}

/* A buffer handle and a byte range inside it, or NULL with the error set. */
static ref_buf *check_range(void *buf, size_t offset, size_t bytes, const char *what) {
  ref_buf *b = buf;
  if (!b || b->magic != REF_BUF_MAGIC) {
    cg_host_error(CG_P_ERR_INVALID, "ref: %s: not a ref buffer", what);
    return NULL;
  }
  if (offset > b->size || bytes > b->size - offset) {
    cg_host_error(CG_P_ERR_INVALID, "ref: %s: range [%zu, +%zu) outside buffer of %zu bytes", what, offset, bytes,
                  b->size);
    return NULL;
  }
  return b;
}

static cg_pstatus ref_copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes) {
  ref_buf *b = check_range(buf, offset, bytes, "copy_in");
  if (!b) return CG_P_ERR_INVALID;
  if (bytes) memcpy(b->data + offset, src, bytes);
  return CG_P_OK;
}

static cg_pstatus ref_copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes) {
  ref_buf *b = check_range(buf, offset, bytes, "copy_out");
  if (!b) return CG_P_ERR_INVALID;
  if (bytes) memcpy(dst, b->data + offset, bytes);
  return CG_P_OK;
}

static cg_pstatus ref_copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                               size_t bytes) {
  ref_buf *d = check_range(dst, dst_off, bytes, "copy_d2d dst");
  ref_buf *s = d ? check_range(src, src_off, bytes, "copy_d2d src") : NULL;
  if (!s) return CG_P_ERR_INVALID;
  if (bytes) memmove(d->data + dst_off, s->data + src_off, bytes);
  return CG_P_OK;
}

/* ---------------------------------------------------------------- programs */

static cg_pstatus ref_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char *text = prog ? cg_ir_print(prog) : NULL;
  if (!text) return cg_host_error(CG_P_ERR_INVALID, "ref: cannot print the program");
  *src = text;
  *lang = "cgir";
  return CG_P_OK;
}

static cg_pstatus ref_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                   size_t blob_size, void **handle) {
  ref_dev *d = dev;
  char err[256];
  if (!d || !handle) return cg_host_error(CG_P_ERR_INVALID, "ref: program_load: no device");
  if (!prog || cg_ir_verify(prog, prog->total_size, err, sizeof err))
    return cg_host_error(CG_P_ERR_INVALID, "ref: invalid program: %s", prog ? err : "NULL");
  ref_handle *h = calloc(1, sizeof *h);
  cg_ir_program *copy = malloc(prog->total_size);
  if (!h || !copy) {
    free(h);
    free(copy);
    return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory loading %s", prog->name);
  }
  memcpy(copy, prog, prog->total_size);
  h->prog.ir = copy;
  int rc = ref_prog_prepare(&h->prog, err, sizeof err);
  if (rc) {
    ref_prog_release(&h->prog);
    free(h);
    return cg_host_error(rc == -2 ? CG_P_ERR_UNSUPPORTED : CG_P_ERR_INVALID, "ref: cannot load %s: %s", prog->name,
                         err);
  }
  track(d->ctx, &h->o, destroy_prog);
  *handle = h;
  return CG_P_OK;
}

static void ref_program_unload(void *dev, void *handle) {
  ref_dev *d = dev;
  if (!handle) return;
  untrack(d->ctx, &((ref_handle *)handle)->o);
  destroy_prog(handle);
}

/* Launch dims: the args' when given (nonzero), else the program's. */
static cg_pstatus launch_dims(const cg_ir_program *ir, const cg_launch_args *a, ref_launch *l) {
  uint64_t items = 1;
  for (int k = 0; k < 3; k++) {
    l->global[k] = a->global[k] ? a->global[k] : ir->global[k];
    l->local[k] = a->local[k] ? a->local[k] : ir->local[k];
    items *= l->local[k] <= REF_MAX_LOCAL ? l->local[k] : REF_MAX_LOCAL + 1; /* no wrap */
  }
  if (items > REF_MAX_LOCAL)
    return cg_host_error(CG_P_ERR_INVALID, "ref: %s: %llu work-items per group, max %d", ir->name,
                         (unsigned long long)items, REF_MAX_LOCAL);
  return CG_P_OK;
}

/* Buffers and variable values from the args, checked against the program. */
static cg_pstatus launch_inputs(const cg_ir_program *ir, const cg_launch_args *a, ref_mem *mem) {
  if (a->nbufs != ir->nparams || (a->nbufs && !a->bufs))
    return cg_host_error(CG_P_ERR_INVALID, "ref: %s: %u buffers given, %u params", ir->name, a->nbufs, ir->nparams);
  for (uint32_t k = 0; k < ir->nparams; k++) {
    size_t off = a->buf_offsets ? a->buf_offsets[k] : 0;
    ref_buf *b = check_range(a->bufs[k], off, 0, "launch");
    if (!b) return CG_P_ERR_INVALID;
    mem[k].data = b->data + off, mem[k].bytes = b->size - off;
  }
  if (a->nvars != ir->nvars || (a->nvars && !a->vars))
    return cg_host_error(CG_P_ERR_INVALID, "ref: %s: %u variables given, %u expected", ir->name, a->nvars, ir->nvars);
  for (uint32_t k = 0; k < ir->nvars; k++) {
    const cg_ir_var *v = &cg_ir_vars(ir)[k];
    if (a->vars[k] < v->min || a->vars[k] > v->max)
      return cg_host_error(CG_P_ERR_INVALID, "ref: %s: variable %s = %lld outside [%lld, %lld]", ir->name, v->name,
                           (long long)a->vars[k], (long long)v->min, (long long)v->max);
  }
  return CG_P_OK;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static cg_pstatus ref_launch_fn(void *dev, void *handle, const cg_launch_args *args) {
  ref_handle *h = handle;
  if (!h || !args || args->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "ref: launch: bad arguments");
  cg_launch_args a;
  read_sized(&a, sizeof a, args);
  const cg_ir_program *ir = h->prog.ir;
  ref_launch l = {0};
  ref_mem *mem = calloc(ir->nparams + 1, sizeof *mem);
  if (!mem) return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory");
  cg_pstatus st = launch_dims(ir, &a, &l);
  if (!st) st = launch_inputs(ir, &a, mem);
  if (!st) {
    char err[512];
    double t0 = now_s();
    l.bufs = mem, l.vars = a.vars;
    const char *opt = cg_host_option("REF_MAX_STEPS");
    l.max_steps = opt ? strtoull(opt, NULL, 10) : 0;
    st = ref_run(&h->prog, &l, err, sizeof err);
    if (st) cg_host_error(st, "ref: %s", err);
    else if (a.time_s) *a.time_s = now_s() - t0;
  }
  free(mem);
  return st;
}

/* ---------------------------------------------------------------- graphs (ABI 1.1) */

/* A recorded list of launches: program handles and deep copies of their arguments. */
typedef struct {
  obj o;
  uint32_t n;
  void **handles;          /* [n] */
  cg_launch_args *args;    /* [n], bufs/buf_offsets/vars point into the arrays below */
  void **bufs;             /* every launch's buffers, concatenated */
  size_t *offs;            /* every launch's offsets, concatenated */
  int64_t *vars;           /* every launch's variable values, concatenated */
} ref_graph;

static void destroy_graph(obj *o) {
  ref_graph *g = (ref_graph *)o;
  free(g->handles);
  free(g->args);
  free(g->bufs);
  free(g->offs);
  free(g->vars);
  free(g);
}

/* Copies launch i's arguments into g's arrays at the running offsets nb / nv. */
static void graph_copy_args(ref_graph *g, uint32_t i, const cg_launch_args *src, size_t *nb, size_t *nv) {
  cg_launch_args *a = &g->args[i];
  read_sized(a, sizeof *a, src);
  a->struct_size = sizeof *a;
  a->time_s = NULL;
  for (uint32_t k = 0; k < a->nbufs; k++) {
    g->bufs[*nb + k] = src->bufs ? src->bufs[k] : NULL;
    g->offs[*nb + k] = src->buf_offsets ? src->buf_offsets[k] : 0;
  }
  for (uint32_t k = 0; k < a->nvars; k++) g->vars[*nv + k] = src->vars ? src->vars[k] : 0;
  a->bufs = g->bufs + *nb, a->buf_offsets = g->offs + *nb, a->vars = g->vars + *nv;
  *nb += a->nbufs, *nv += a->nvars;
}

static cg_pstatus ref_graph_create(void *dev, uint32_t n, void *const *handles,
                                   const cg_launch_args *args, void **graph) {
  ref_dev *d = dev;
  if (!d || !graph || (n && (!handles || !args)))
    return cg_host_error(CG_P_ERR_INVALID, "ref: graph_create: bad arguments");
  size_t nb = 0, nv = 0;
  for (uint32_t i = 0; i < n; i++) nb += args[i].nbufs, nv += args[i].nvars;
  ref_graph *g = calloc(1, sizeof *g);
  if (g) {
    g->handles = calloc(n + 1, sizeof *g->handles), g->args = calloc(n + 1, sizeof *g->args);
    g->bufs = calloc(nb + 1, sizeof *g->bufs), g->offs = calloc(nb + 1, sizeof *g->offs);
    g->vars = calloc(nv + 1, sizeof *g->vars);
  }
  if (!g || !g->handles || !g->args || !g->bufs || !g->offs || !g->vars) {
    if (g) destroy_graph(&g->o);
    return cg_host_error(CG_P_ERR_NOMEM, "ref: out of memory recording a graph of %u launches", n);
  }
  g->n = n;
  nb = nv = 0;
  for (uint32_t i = 0; i < n; i++) {
    g->handles[i] = handles[i];
    graph_copy_args(g, i, &args[i], &nb, &nv);
  }
  track(d->ctx, &g->o, destroy_graph);
  *graph = g;
  return CG_P_OK;
}

/* Replays in order; args (when given) replace each launch's buffers, offsets, vars, dims. */
static cg_pstatus ref_graph_launch(void *dev, void *graph, const cg_launch_args *args) {
  ref_graph *g = graph;
  if (!g) return cg_host_error(CG_P_ERR_INVALID, "ref: graph_launch: NULL graph");
  for (uint32_t i = 0; i < g->n; i++) {
    const cg_launch_args *a = args ? &args[i] : &g->args[i];
    if (a->nbufs != g->args[i].nbufs || a->nvars != g->args[i].nvars)
      return cg_host_error(CG_P_ERR_INVALID,
                           "ref: graph_launch: launch %u has %u buffers and %u variables, recorded %u and %u", i,
                           a->nbufs, a->nvars, g->args[i].nbufs, g->args[i].nvars);
    cg_launch_args one = *a;
    one.time_s = NULL;
    cg_pstatus st = ref_launch_fn(dev, g->handles[i], &one);
    if (st != CG_P_OK) return st;
  }
  return CG_P_OK;
}

static void ref_graph_free(void *dev, void *graph) {
  ref_dev *d = dev;
  if (!graph) return;
  untrack(d->ctx, &((ref_graph *)graph)->o);
  destroy_graph(graph);
}

static cg_pstatus ref_synchronize(void *dev) { return CG_P_OK; }
static void ref_release(void *ptr) { free(ptr); }

/* ---------------------------------------------------------------- entry */

static const cg_plugin_api ref_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "ref",
    .version = REF_VERSION,
    .init = ref_init,
    .shutdown = ref_shutdown,
    .device_count = ref_device_count,
    .device_props = ref_device_props,
    .device_open = ref_device_open,
    .device_close = ref_device_close,
    .mem_alloc = ref_mem_alloc,
    .mem_free = ref_mem_free,
    .copy_in = ref_copy_in,
    .copy_out = ref_copy_out,
    .copy_d2d = ref_copy_d2d,
    .render = ref_render,
    .compile = NULL, /* the IR itself is what program_load takes */
    .program_load = ref_program_load,
    .program_unload = ref_program_unload,
    .launch = ref_launch_fn,
    .synchronize = ref_synchronize,
    .release = ref_release,
    .compiler_id = NULL,
    .graph_create = ref_graph_create,
    .graph_launch = ref_graph_launch,
    .graph_free = ref_graph_free,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &ref_api);
}
