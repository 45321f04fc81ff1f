/* null plugin: a device "NULL" that runs nothing. Memory is real (malloc, so copies
 * round-trip), render emits a one-line summary of the kernel, program_load verifies
 * the IR, launch checks its arguments and reports time 0. It lets the core's whole
 * pipeline (schedule, codegen, cache, launch) run and be timed without any compute.
 * Every object sits on its context's live list; shutdown frees what is left. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin_host.h>

#define NULL_BUF_MAGIC 0x4c4c554eu /* "NULL" */


typedef struct obj {
  struct obj *prev, *next;
  uint32_t magic; /* NULL_BUF_MAGIC for buffers, 0 otherwise */
  size_t size;    /* buffer bytes */
  unsigned char *data;
} obj;

typedef struct {
  pthread_mutex_t mu;
  obj live; /* circular list: devices, buffers, programs */
} null_ctx;

static obj *new_obj(null_ctx *c) {
  obj *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  pthread_mutex_lock(&c->mu);
  o->next = c->live.next, o->prev = &c->live;
  c->live.next->prev = o, c->live.next = o;
  pthread_mutex_unlock(&c->mu);
  return o;
}

/* Devices are objects whose data points at the context. */
static null_ctx *ctx_of(void *dev) { return dev ? (null_ctx *)((obj *)dev)->data : NULL; }

static void free_obj(null_ctx *c, obj *o) {
  pthread_mutex_lock(&c->mu);
  o->prev->next = o->next, o->next->prev = o->prev;
  pthread_mutex_unlock(&c->mu);
  if (o->magic == NULL_BUF_MAGIC) free(o->data);
  o->magic = 0;
  free(o);
}

static cg_pstatus null_init(void **ctx) {
  null_ctx *c = calloc(1, sizeof *c);
  if (!c) return CG_P_ERR_NOMEM;
  pthread_mutex_init(&c->mu, NULL);
  c->live.next = c->live.prev = &c->live;
  *ctx = c;
  return CG_P_OK;
}

static void null_shutdown(void *ctx) {
  null_ctx *c = ctx;
  if (!c) return;
  while (c->live.next != &c->live) free_obj(c, c->live.next);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static cg_pstatus null_device_count(void *ctx, int *count) {
  *count = 1;
  return CG_P_OK;
}

static cg_pstatus null_device_props(void *ctx, int index, cg_device_props *props) {
  if (index != 0 || !props || props->struct_size < sizeof(uint32_t)) return CG_P_ERR_INVALID;
  cg_device_props d = {.struct_size = sizeof d, .kind = CG_DEVICE_CPU};
  snprintf(d.name, sizeof d.name, "NULL (runs nothing)");
  snprintf(d.arch, sizeof d.arch, "null");
  d.dtypes = (1u << CG_IR_VOID) - 1;
  d.native_ops = (1ull << CG_IR_OP_COUNT) - 1;
  d.max_local_size = 256;
  d.max_local[0] = d.max_local[1] = d.max_local[2] = 256;
  d.local_mem_bytes = 64 * 1024;
  d.compute_units = 1;
  d.warp_size = 1;
  uint32_t n = props->struct_size; /* write only what the caller has room for */
  size_t m = n < sizeof d ? n : sizeof d;
  memcpy((char *)props + sizeof n, (const char *)&d + sizeof n, m - sizeof n);
  return CG_P_OK;
}

static cg_pstatus null_device_open(void *ctx, int index, void **dev) {
  if (index != 0) return cg_host_error(CG_P_ERR_NODEV, "null: no device %d", index);
  obj *o = new_obj(ctx);
  if (!o) return CG_P_ERR_NOMEM;
  o->data = ctx;
  *dev = o;
  return CG_P_OK;
}

static void null_device_close(void *dev) {
  if (dev) free_obj(ctx_of(dev), dev);
}

static cg_pstatus null_mem_alloc(void *dev, size_t bytes, void **buf) {
  if (!dev || bytes > ((size_t)1 << 48)) return cg_host_error(CG_P_ERR_INVALID, "null: bad allocation");
  obj *o = new_obj(ctx_of(dev));
  unsigned char *data = o ? calloc(1, bytes ? bytes : 1) : NULL;
  if (!data) {
    if (o) free_obj(ctx_of(dev), o);
    return cg_host_error(CG_P_ERR_NOMEM, "null: out of memory allocating %zu bytes", bytes);
  }
  o->magic = NULL_BUF_MAGIC, o->size = bytes, o->data = data;
  *buf = o;
  return CG_P_OK;
}

static void null_mem_free(void *dev, void *buf) {
  if (buf) free_obj(ctx_of(dev), buf);
}

static obj *check_range(void *buf, size_t off, size_t bytes) {
  obj *o = buf;
  if (!o || o->magic != NULL_BUF_MAGIC || off > o->size || bytes > o->size - off) {
    cg_host_error(CG_P_ERR_INVALID, "null: bad buffer or range [%zu, +%zu)", off, bytes);
    return NULL;
  }
  return o;
}

static cg_pstatus null_copy_in(void *dev, void *buf, size_t off, const void *src, size_t bytes) {
  obj *o = check_range(buf, off, bytes);
  if (!o) return CG_P_ERR_INVALID;
  if (bytes) memcpy(o->data + off, src, bytes);
  return CG_P_OK;
}

static cg_pstatus null_copy_out(void *dev, void *dst, void *buf, size_t off, size_t bytes) {
  obj *o = check_range(buf, off, bytes);
  if (!o) return CG_P_ERR_INVALID;
  if (bytes) memcpy(dst, o->data + off, bytes);
  return CG_P_OK;
}

static cg_pstatus null_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[256];
  if (!prog || cg_ir_verify(prog, prog->total_size, err, sizeof err))
    return cg_host_error(CG_P_ERR_INVALID, "null: invalid program: %s", prog ? err : "NULL");
  char *s = malloc(160);
  if (!s) return CG_P_ERR_NOMEM;
  snprintf(s, 160, "kernel %s: %u params, %u instructions\n", prog->name, prog->nparams, prog->ninsts);
  *src = s;
  *lang = "null";
  return CG_P_OK;
}

static cg_pstatus null_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                    size_t blob_size, void **handle) {
  char err[256];
  if (!dev || !prog || cg_ir_verify(prog, prog->total_size, err, sizeof err))
    return cg_host_error(CG_P_ERR_INVALID, "null: invalid program: %s", prog ? err : "NULL");
  obj *o = new_obj(ctx_of(dev));
  if (!o) return CG_P_ERR_NOMEM;
  o->size = prog->nparams; /* what launch checks */
  *handle = o;
  return CG_P_OK;
}

static void null_program_unload(void *dev, void *handle) {
  if (handle) free_obj(ctx_of(dev), handle);
}

static cg_pstatus null_launch(void *dev, void *handle, const cg_launch_args *args) {
  obj *h = handle;
  if (!h || !args || args->struct_size < sizeof(uint32_t)) return cg_host_error(CG_P_ERR_INVALID, "null: bad launch");
  cg_launch_args a;
  memset(&a, 0, sizeof a);
  memcpy(&a, args, args->struct_size < sizeof a ? args->struct_size : sizeof a);
  if (a.nbufs != h->size) return cg_host_error(CG_P_ERR_INVALID, "null: %u buffers for %zu params", a.nbufs, h->size);
  if (a.time_s) *a.time_s = 0.0;
  return CG_P_OK;
}

static cg_pstatus null_synchronize(void *dev) { return CG_P_OK; }
static void null_release(void *ptr) { free(ptr); }

static const cg_plugin_api null_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "null",
    .version = "0.1.0",
    .init = null_init,
    .shutdown = null_shutdown,
    .device_count = null_device_count,
    .device_props = null_device_props,
    .device_open = null_device_open,
    .device_close = null_device_close,
    .mem_alloc = null_mem_alloc,
    .mem_free = null_mem_free,
    .copy_in = null_copy_in,
    .copy_out = null_copy_out,
    .copy_d2d = NULL, /* host stages through copy_out + copy_in */
    .render = null_render,
    .compile = NULL, /* the rendered text is the "binary" */
    .program_load = null_program_load,
    .program_unload = null_program_unload,
    .launch = null_launch,
    .synchronize = null_synchronize,
    .release = null_release,
    .compiler_id = NULL,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &null_api);
}
