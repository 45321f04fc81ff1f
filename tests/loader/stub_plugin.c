/* Stub plugin for the loader tests (OpenCL-ICD style stub drivers). One source, built
 * several times with STUB_ID / STUB_MODE / STUB_NDEV so each build misbehaves in one
 * chosen way:
 *   STUB_GOOD      works: malloc'd "device" memory, render/compile/load produce text,
 *                  launch runs the tiny kernel "add_var" (out[i] = in[i] + var0, int32)
 *   STUB_BADMAJOR  answers ABI major 2 with CG_P_ERR_VERSION
 *   STUB_FAILINIT  init fails with a message through host->set_error
 *   STUB_OLDTABLE  an older, smaller function table (no compiler_id) and no
 *                  render/compile slots: program_load takes the IR directly
 *   STUB_NEWER     a newer minor (9) with a larger table whose tail the host ignores
 *   STUB_IDMISMATCH reports an id different from its manifest
 *   STUB_NOSLOT    leaves the required launch slot NULL
 * Every call is appended to the file named by the option <ID>_LOG (if set), which the
 * tests read to count allocations, compiles and the lifecycle. */
#include <cgrad/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUB_GOOD 0
#define STUB_BADMAJOR 1
#define STUB_FAILINIT 2
#define STUB_OLDTABLE 3
#define STUB_NEWER 4
#define STUB_IDMISMATCH 5
#define STUB_NOSLOT 6

#ifndef STUB_MODE
#define STUB_MODE STUB_GOOD
#endif
#ifndef STUB_NDEV
#define STUB_NDEV 1
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#define ID STR(STUB_ID)

static const cg_host_services *host;

typedef struct {
  size_t used, limit;  /* bytes allocated, limit (0 = none) */
} stub_ctx;

typedef struct {
  size_t size;
  unsigned char data[];
} stub_buf;

/* <ID>_<suffix> through the host (tests the get_option whitelist). */
static const char *opt(const char *suffix) {
  char key[64];
  size_t n = 0;
  for (const char *s = ID; *s; s++) key[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
  snprintf(key + n, sizeof key - n, "_%s", suffix);
  return host->get_option(host->host_ctx, key);
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void logf_(const char *fmt, ...) {
  const char *path = opt("LOG");
  if (!path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(f, "%s ", ID);
  vfprintf(f, fmt, ap);
  fprintf(f, "\n");
  va_end(ap);
  fclose(f);
}

static cg_pstatus fail(cg_pstatus st, const char *msg) {
  host->set_error(host->host_ctx, msg);
  return st;
}

static cg_pstatus stub_init(void **ctx) {
  if (STUB_MODE == STUB_FAILINIT) return fail(CG_P_ERR_NODEV, "no stub hardware found");
  stub_ctx *c = calloc(1, sizeof *c);
  if (!c) return CG_P_ERR_NOMEM;
  const char *lim = opt("MEM_LIMIT");
  c->limit = lim ? (size_t)strtoull(lim, NULL, 10) : 0;
  const char *home = host->get_option(host->host_ctx, "HOME");  /* not whitelisted */
  logf_("init home=%s", home ? "visible" : "hidden");
  host->log(host->host_ctx, CG_LOG_DEBUG, "stub init");
  *ctx = c;
  return CG_P_OK;
}

static void stub_shutdown(void *ctx) {
  stub_ctx *c = ctx;
  logf_("shutdown used=%zu", c->used);
  free(c);
}

static cg_pstatus stub_device_count(void *ctx, int *count) {
  *count = STUB_NDEV;
  return CG_P_OK;
}

static cg_pstatus stub_device_props(void *ctx, int index, cg_device_props *p) {
  if (index < 0 || index >= STUB_NDEV) return fail(CG_P_ERR_NODEV, "no such device");
  if (p->struct_size < sizeof *p) return CG_P_ERR_INVALID;
  p->kind = CG_DEVICE_CPU;
  snprintf(p->name, sizeof p->name, "stub device %d of %s", index, ID);
  snprintf(p->arch, sizeof p->arch, "stub-arch-%d", index);
  p->dtypes = (1u << CG_IR_FLOAT32) | (1u << CG_IR_INT32);
  p->max_local_size = 1;
  p->max_local[0] = p->max_local[1] = p->max_local[2] = 1;
  p->compute_units = 3;
  p->warp_size = 1;
  p->n_tc_shapes = 1;
  p->tc_shapes[0][0] = 8, p->tc_shapes[0][1] = 8, p->tc_shapes[0][2] = 4;
  p->tc_shapes[0][3] = CG_IR_FLOAT16;
  p->global_mem_bytes = 1ull << 30;
  return CG_P_OK;
}

static cg_pstatus stub_device_open(void *ctx, int index, void **dev) {
  const char *bad = opt("FAIL_OPEN");
  if (bad && atoi(bad) == index) return fail(CG_P_ERR_NODEV, "device refuses to open");
  logf_("open %d", index);
  *dev = ctx;
  return CG_P_OK;
}

static void stub_device_close(void *dev) { logf_("close"); }

static cg_pstatus stub_mem_alloc(void *dev, size_t bytes, void **buf) {
  stub_ctx *c = dev;
  if (c->limit && c->used + bytes > c->limit) return fail(CG_P_ERR_NOMEM, "out of stub memory");
  stub_buf *b = malloc(sizeof *b + bytes);
  if (!b) return CG_P_ERR_NOMEM;
  b->size = bytes;
  c->used += bytes;
  logf_("alloc %zu", bytes);
  *buf = b;
  return CG_P_OK;
}

static void stub_mem_free(void *dev, void *buf) {
  stub_ctx *c = dev;
  stub_buf *b = buf;
  c->used -= b->size;
  logf_("free %zu", b->size);
  free(b);
}

static cg_pstatus stub_copy_in(void *dev, void *buf, size_t off, const void *src, size_t n) {
  stub_buf *b = buf;
  if (off + n > b->size) return fail(CG_P_ERR_INVALID, "copy_in out of range");
  memcpy(b->data + off, src, n);
  return CG_P_OK;
}

static cg_pstatus stub_copy_out(void *dev, void *dst, void *buf, size_t off, size_t n) {
  stub_buf *b = buf;
  if (off + n > b->size) return fail(CG_P_ERR_INVALID, "copy_out out of range");
  memcpy(dst, b->data + off, n);
  return CG_P_OK;
}

static cg_pstatus stub_copy_d2d(void *dev, void *dst, size_t doff, void *src, size_t soff, size_t n) {
  logf_("d2d %zu", n);
  memcpy(((stub_buf *)dst)->data + doff, ((stub_buf *)src)->data + soff, n);
  return CG_P_OK;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

static cg_pstatus stub_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char buf[128];
  snprintf(buf, sizeof buf, "/* kernel %s */", prog->name);
  logf_("render %s", prog->name);
  *lang = "c";
  return (*src = dup_str(buf)) ? CG_P_OK : CG_P_ERR_NOMEM;
}

static cg_pstatus stub_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                               size_t *size) {
  logf_("compile %s", prog->name);
  if (!strncmp(prog->name, "bad", 3)) return fail(CG_P_ERR_COMPILE, "syntax error in kernel");
  char buf[160];
  snprintf(buf, sizeof buf, "BIN:%s", src);
  *size = strlen(buf) + 1;
  return (*blob = dup_str(buf)) ? CG_P_OK : CG_P_ERR_NOMEM;
}

static cg_pstatus stub_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                    size_t size, void **handle) {
  int wants_blob = STUB_MODE != STUB_OLDTABLE;
  if (wants_blob && (!blob || size < 5 || memcmp(blob, "BIN:", 4)))
    return fail(CG_P_ERR_INVALID, "program_load: not a stub binary");
  logf_("load %s", prog->name);
  *handle = (void *)prog;  /* the host keeps prog alive until program_unload */
  return CG_P_OK;
}

static void stub_program_unload(void *dev, void *handle) {
  logf_("unload %s", ((const cg_ir_program *)handle)->name);
}

/* add_var: param 0 = out int32[n], param 1 = in int32[n], var 0 added. */
static cg_pstatus stub_launch(void *dev, void *handle, const cg_launch_args *a) {
  const cg_ir_program *prog = handle;
  logf_("launch %s g=%u,%u,%u", prog->name, a->global[0], a->global[1], a->global[2]);
  if (a->time_s) *a->time_s = 1e-6;
  if (strcmp(prog->name, "add_var")) return CG_P_OK;
  if (a->nbufs != 2 || a->nvars != 1) return fail(CG_P_ERR_LAUNCH, "add_var: wrong arguments");
  stub_buf *out = a->bufs[0], *in = a->bufs[1];
  int32_t *o = (int32_t *)out->data, *x = (int32_t *)in->data;
  int64_t n = cg_ir_params(prog)[0].count;
  for (int64_t i = 0; i < n; i++) o[i] = x[i] + (int32_t)a->vars[0];
  return CG_P_OK;
}

static cg_pstatus stub_synchronize(void *dev) { return CG_P_OK; }
static void stub_release(void *p) { free(p); }
static const char *stub_compiler_id(void *dev) { return "stubcc 1.0"; }

/* A newer table: the 1.0 table followed by slots this host does not know. */
typedef struct {
  cg_plugin_api base;
  void *future_slot[4];
} newer_api;

static const newer_api api = {
    .base = {
        .struct_size = STUB_MODE == STUB_OLDTABLE ? (uint32_t)offsetof(cg_plugin_api, compiler_id)
                     : STUB_MODE == STUB_NEWER ? (uint32_t)sizeof(newer_api)
                                               : (uint32_t)sizeof(cg_plugin_api),
        .id = STUB_MODE == STUB_IDMISMATCH ? "other" : ID,
        .version = "0.1-stub",
        .init = stub_init,
        .shutdown = stub_shutdown,
        .device_count = stub_device_count,
        .device_props = stub_device_props,
        .device_open = stub_device_open,
        .device_close = stub_device_close,
        .mem_alloc = stub_mem_alloc,
        .mem_free = stub_mem_free,
        .copy_in = stub_copy_in,
        .copy_out = stub_copy_out,
        .copy_d2d = STUB_MODE == STUB_GOOD ? stub_copy_d2d : NULL,
        .render = STUB_MODE == STUB_OLDTABLE ? NULL : stub_render,
        .compile = STUB_MODE == STUB_OLDTABLE ? NULL : stub_compile,
        .program_load = stub_program_load,
        .program_unload = stub_program_unload,
        .launch = STUB_MODE == STUB_NOSLOT ? NULL : stub_launch,
        .synchronize = stub_synchronize,
        .release = stub_release,
        /* past an OLDTABLE's struct_size: the host must not read it */
        .compiler_id = stub_compiler_id,
        .caps = CG_API_CAP_CONCURRENT_COMPILE, /* render/compile keep no state (ABI 1.2) */
    },
    .future_slot = {(void *)1, (void *)2, (void *)3, (void *)4},
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *q, cg_plugin_reply *r) {
  uint16_t major = STUB_MODE == STUB_BADMAJOR ? 2 : CG_PLUGIN_ABI_MAJOR;
  uint16_t minor = STUB_MODE == STUB_NEWER ? 9 : STUB_MODE == STUB_OLDTABLE ? 0 : CG_PLUGIN_ABI_MINOR;
  host = q->host;
  if (r->struct_size < sizeof *r) return CG_P_ERR_INVALID;
  r->major = major;
  r->minor = minor;
  if (q->host_major != major) return CG_P_ERR_VERSION;
  r->api = &api.base;
  return CG_P_OK;
}
