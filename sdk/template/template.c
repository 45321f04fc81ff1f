/* template plugin: the smallest complete cgrad backend, meant to be copied by vendors.
 * Builds against the installed SDK only (see CMakeLists.txt and docs/plugin-guide.md).
 *
 * One CPU device. Kernels are rendered to C with the SDK's cstyle renderer (C dialect),
 * compiled by the system C compiler into a shared object (the "binary blob" the core
 * caches on disk), loaded with dlopen and run on the calling thread, one work-group
 * after the other. A real backend replaces render/compile/program_load/launch with its
 * own language, compiler and queue; everything else (struct_size handling, errors,
 * object tracking, shutdown) is what every plugin needs.
 *
 * Rules followed here (the conformance suite checks them):
 *  - only cg_plugin_entry is exported (cg_add_plugin's version script does that);
 *  - structs from the host are read and written within their struct_size;
 *  - every failure returns a status and says why through host.set_error;
 *  - nothing prints, exits or aborts; shutdown frees whatever the host left alive.
 * Option: TEMPLATE_CC=<compiler> (default "cc"). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cgrad/cstyle.h>
#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

#ifndef TPL_ID
#define TPL_ID "template" /* must match the id given to cg_add_plugin (the manifest) */
#endif
#define TPL_VERSION "0.1.0"

extern char **environ;

/* ---- host services and struct_size helpers ---- */

static cg_host_services host; /* our copy; fields past the host's struct_size stay 0 */

static cg_pstatus fail(cg_pstatus status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cg_pstatus fail(cg_pstatus status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (host.set_error) host.set_error(host.host_ctx, msg);
  return status;
}

static const char *option(const char *key) {
  const char *v = host.get_option ? host.get_option(host.host_ctx, key) : NULL;
  return v && *v ? v : NULL;
}

/* Reads a host struct (first field struct_size): missing tail = 0, extra tail ignored. */
static void read_sized(void *dst, size_t dst_size, const void *src) {
  uint32_t n;
  memcpy(&n, src, sizeof n);
  memset(dst, 0, dst_size);
  memcpy(dst, src, n < dst_size ? n : dst_size);
}

/* Writes our struct into the host's, never past the host's struct_size (kept as is). */
static void write_sized(void *dst, const void *src, size_t src_size) {
  uint32_t n;
  memcpy(&n, dst, sizeof n);
  size_t m = n < src_size ? n : src_size;
  if (m > sizeof n) memcpy((char *)dst + sizeof n, (const char *)src + sizeof n, m - sizeof n);
}

/* ---- objects: every buffer and program sits on its context's live list ---- */

enum { OBJ_BUF = 0x42554654, OBJ_PROG = 0x47525054 }; /* tags catch foreign handles */

typedef struct obj {
  struct obj *prev, *next;
  uint32_t tag;
  size_t size;                 /* buffer bytes */
  unsigned char *data;         /* buffer memory (64-byte aligned) */
  void *dl;                    /* program: dlopen handle */
  void (*fn)(void **, const int64_t *, const int64_t *, int64_t, int64_t);
  uint32_t nparams, nvars, global[3];
} obj;

typedef struct {
  pthread_mutex_t mu;
  obj live;                    /* circular list head */
} tpl_ctx;                     /* also the device handle: one device per context */

static obj *obj_new(tpl_ctx *c, uint32_t tag) {
  obj *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  o->tag = tag;
  pthread_mutex_lock(&c->mu);
  o->next = c->live.next, o->prev = &c->live;
  c->live.next->prev = o, c->live.next = o;
  pthread_mutex_unlock(&c->mu);
  return o;
}

static void obj_free(tpl_ctx *c, obj *o) {
  pthread_mutex_lock(&c->mu);
  o->prev->next = o->next, o->next->prev = o->prev;
  pthread_mutex_unlock(&c->mu);
  if (o->dl) dlclose(o->dl);
  free(o->data);
  o->tag = 0;
  free(o);
}

static obj *as(void *h, uint32_t tag) {
  obj *o = h;
  return o && o->tag == tag ? o : NULL;
}

/* ---- plugin and device ---- */

static cg_pstatus tpl_init(void **ctx) {
  tpl_ctx *c = calloc(1, sizeof *c);
  if (!c) return fail(CG_P_ERR_NOMEM, "template: out of memory");
  pthread_mutex_init(&c->mu, NULL);
  c->live.next = c->live.prev = &c->live;
  *ctx = c;
  return CG_P_OK;
}

static void tpl_shutdown(void *ctx) {
  tpl_ctx *c = ctx;
  if (!c) return;
  while (c->live.next != &c->live) obj_free(c, c->live.next);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static cg_pstatus tpl_device_count(void *ctx, int *count) {
  *count = 1;
  return CG_P_OK;
}

static cg_pstatus tpl_device_props(void *ctx, int index, cg_device_props *props) {
  if (index != 0 || !props) return fail(CG_P_ERR_INVALID, "template: no device %d", index);
  cg_device_props p = {.struct_size = sizeof p, .kind = CG_DEVICE_CPU};
  snprintf(p.name, sizeof p.name, "template CPU device (C via %s)", option("TEMPLATE_CC") ? option("TEMPLATE_CC") : "cc");
  snprintf(p.arch, sizeof p.arch, "c-generic");
  p.dtypes = (1u << CG_IR_VOID) - 1; /* all element types; 16-bit floats emulated by cstyle */
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) p.native_ops |= 1ull << op;
  p.native_ops |= 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
  p.max_local_size = 1; /* one work-item per group: the C dialect has no local ids */
  p.max_local[0] = p.max_local[1] = p.max_local[2] = 1;
  p.compute_units = 1;
  p.warp_size = 1;
  write_sized(props, &p, sizeof p);
  return CG_P_OK;
}

static cg_pstatus tpl_device_open(void *ctx, int index, void **dev) {
  if (index != 0) return fail(CG_P_ERR_NODEV, "template: no device %d", index);
  *dev = ctx;
  return CG_P_OK;
}

static void tpl_device_close(void *dev) {}

/* ---- memory ---- */

static cg_pstatus tpl_mem_alloc(void *dev, size_t bytes, void **buf) {
  if (bytes > ((size_t)1 << 46)) return fail(CG_P_ERR_NOMEM, "template: %zu bytes is more than this device has", bytes);
  size_t rounded = (bytes + 63) & ~(size_t)63; /* 0 bytes still gets a valid handle */
  unsigned char *data = aligned_alloc(64, rounded ? rounded : 64);
  obj *o = data ? obj_new(dev, OBJ_BUF) : NULL;
  if (!o) {
    free(data);
    return fail(CG_P_ERR_NOMEM, "template: out of memory allocating %zu bytes", bytes);
  }
  o->size = bytes, o->data = data;
  *buf = o;
  return CG_P_OK;
}

static void tpl_mem_free(void *dev, void *buf) {
  if (as(buf, OBJ_BUF)) obj_free(dev, buf);
}

static obj *buf_range(void *buf, size_t off, size_t bytes) {
  obj *b = as(buf, OBJ_BUF);
  if (!b) return fail(CG_P_ERR_INVALID, "template: not a buffer"), NULL;
  if (off > b->size || bytes > b->size - off)
    return fail(CG_P_ERR_INVALID, "template: range [%zu, +%zu) outside a %zu-byte buffer", off, bytes, b->size), NULL;
  return b;
}

static cg_pstatus tpl_copy_in(void *dev, void *buf, size_t off, const void *src, size_t bytes) {
  obj *b = buf_range(buf, off, bytes);
  if (!b) return CG_P_ERR_INVALID;
  if (bytes) memcpy(b->data + off, src, bytes);
  return CG_P_OK;
}

static cg_pstatus tpl_copy_out(void *dev, void *dst, void *buf, size_t off, size_t bytes) {
  obj *b = buf_range(buf, off, bytes);
  if (!b) return CG_P_ERR_INVALID;
  if (bytes) memcpy(dst, b->data + off, bytes);
  return CG_P_OK;
}

/* ---- programs: render (IR -> C), compile (C -> .so bytes), load (dlopen) ---- */

static cg_pstatus tpl_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[512];
  *src = cg_cstyle_render(prog, &cg_cstyle_c, err, sizeof err);
  if (!*src) return fail(CG_P_ERR_UNSUPPORTED, "template: cannot render %s: %s", prog->name, err);
  *lang = "c";
  return CG_P_OK;
}

/* Reads a whole file into a malloc'd block. */
static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *data = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1))) {
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
      free(data);
      data = NULL;
    } else {
      ((char *)data)[n] = 0;
      *size = (size_t)n;
    }
  }
  fclose(f);
  return data;
}

/* Runs `cc ... -x c - -o <dir>/k.so` with the source on stdin (so no temp path ends up
 * in the binary: same source -> same bytes) and stderr in <dir>/err. */
static cg_pstatus run_cc(const char *dir, const char *src_path, char *why, size_t whylen) {
  char out[4200], err[4200];
  snprintf(out, sizeof out, "%s/k.so", dir);
  snprintf(err, sizeof err, "%s/err", dir);
  const char *cc = option("TEMPLATE_CC") ? option("TEMPLATE_CC") : "cc";
  char *argv[] = {(char *)cc, "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-w",
                  "-x", "c", "-", "-o", out, "-lm", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, src_path, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawnp(&pid, cc, &fa, NULL, argv, environ), status = 0;
  posix_spawn_file_actions_destroy(&fa);
  if (rc) return snprintf(why, whylen, "cannot run '%s': %s", cc, strerror(rc)), CG_P_ERR_COMPILE;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return CG_P_OK;
  size_t n = 0;
  char *text = read_file(err, &n);
  snprintf(why, whylen, "'%s' failed: %.600s", cc, text ? text : "(no output)");
  free(text);
  return CG_P_ERR_COMPILE;
}

static cg_pstatus tpl_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                              size_t *blob_size) {
  if (!src) return fail(CG_P_ERR_INVALID, "template: compile needs the rendered source");
  const char *tmp = getenv("TMPDIR");
  char dir[4096], path[4200], why[1024] = "";
  snprintf(dir, sizeof dir, "%s/cgrad-template-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return fail(CG_P_ERR_COMPILE, "template: cannot create %s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/k.c", dir);
  FILE *f = fopen(path, "wb");
  cg_pstatus st = f && fputs(src, f) >= 0 ? CG_P_OK : CG_P_ERR_COMPILE;
  if (f && fclose(f)) st = CG_P_ERR_COMPILE;
  if (st) snprintf(why, sizeof why, "cannot write %.900s", path);
  else st = run_cc(dir, path, why, sizeof why);
  char so[4200], err[4200];
  snprintf(so, sizeof so, "%s/k.so", dir);
  snprintf(err, sizeof err, "%s/err", dir);
  if (!st && !(*blob = read_file(so, blob_size))) {
    st = CG_P_ERR_COMPILE;
    snprintf(why, sizeof why, "cannot read %.900s", so);
  }
  unlink(path), unlink(so), unlink(err), rmdir(dir);
  return st ? fail(st, "template: compile of %s: %s", prog->name, why) : CG_P_OK;
}

/* dlopen needs a file: the blob is written to a temp file, opened, and removed. */
static cg_pstatus tpl_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                   size_t blob_size, void **handle) {
  const char *tmp = getenv("TMPDIR");
  char path[4096], name[128];
  if (!blob || !blob_size) return fail(CG_P_ERR_INVALID, "template: program_load of %s without a binary", prog->name);
  for (int k = 0; k < 3; k++)
    if (prog->local[k] > 1) return fail(CG_P_ERR_UNSUPPORTED, "template: %s uses work-groups of more than 1 item", prog->name);
  snprintf(path, sizeof path, "%s/cgrad-template-XXXXXX.so", tmp && *tmp ? tmp : "/tmp");
  int fd = mkstemps(path, 3);
  if (fd < 0) return fail(CG_P_ERR_INTERNAL, "template: cannot create %s: %s", path, strerror(errno));
  int ok = write(fd, blob, blob_size) == (ssize_t)blob_size;
  ok = close(fd) == 0 && ok;
  void *dl = ok ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
  const char *dlerr = dl ? NULL : dlerror();
  unlink(path);
  if (!dl) return fail(CG_P_ERR_INVALID, "template: cannot load %s: %s", prog->name, dlerr ? dlerr : "write failed");
  obj *o = obj_new(dev, OBJ_PROG);
  if (!o) return dlclose(dl), fail(CG_P_ERR_NOMEM, "template: out of memory");
  o->dl = dl;
  *(void **)&o->fn = dlsym(dl, cg_cstyle_kernel_name(prog, name, sizeof name));
  o->nparams = prog->nparams, o->nvars = prog->nvars;
  memcpy(o->global, prog->global, sizeof o->global);
  if (!o->fn) return obj_free(dev, o), fail(CG_P_ERR_INVALID, "template: no function %s in the binary", name);
  *handle = o;
  return CG_P_OK;
}

static void tpl_program_unload(void *dev, void *handle) {
  if (as(handle, OBJ_PROG)) obj_free(dev, handle);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs every work-group in order on this thread. */
static cg_pstatus tpl_launch(void *dev, void *handle, const cg_launch_args *args) {
  obj *p = as(handle, OBJ_PROG);
  cg_launch_args a;
  if (!p || !args) return fail(CG_P_ERR_INVALID, "template: launch of an unknown program");
  read_sized(&a, sizeof a, args);
  if (a.nbufs != p->nparams || a.nvars != p->nvars || (a.nbufs && !a.bufs) || (a.nvars && !a.vars))
    return fail(CG_P_ERR_INVALID, "template: %u buffers and %u variables given, kernel takes %u and %u",
                a.nbufs, a.nvars, p->nparams, p->nvars);
  void *stack[16], **bufs = a.nbufs <= 16 ? stack : malloc(sizeof *bufs * a.nbufs);
  if (!bufs) return fail(CG_P_ERR_NOMEM, "template: out of memory");
  for (uint32_t i = 0; i < a.nbufs; i++) {
    size_t off = a.buf_offsets ? a.buf_offsets[i] : 0;
    obj *b = buf_range(a.bufs[i], off, 0);
    if (!b) {
      if (bufs != stack) free(bufs);
      return CG_P_ERR_INVALID;
    }
    bufs[i] = b->data + off;
  }
  int64_t grid[3];
  for (int k = 0; k < 3; k++) grid[k] = a.global[k] ? a.global[k] : p->global[k];
  double t0 = now_s();
  p->fn(bufs, a.vars, grid, 0, grid[0] * grid[1] * grid[2]);
  if (a.time_s) *a.time_s = now_s() - t0;
  if (bufs != stack) free(bufs);
  return CG_P_OK;
}

static cg_pstatus tpl_synchronize(void *dev) { return CG_P_OK; } /* launches are synchronous */
static void tpl_release(void *ptr) { free(ptr); }

/* ---- the function table and the entry point ---- */

static const cg_plugin_api api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = TPL_ID,
    .version = TPL_VERSION,
    .init = tpl_init,
    .shutdown = tpl_shutdown,
    .device_count = tpl_device_count,
    .device_props = tpl_device_props,
    .device_open = tpl_device_open,
    .device_close = tpl_device_close,
    .mem_alloc = tpl_mem_alloc,
    .mem_free = tpl_mem_free,
    .copy_in = tpl_copy_in,
    .copy_out = tpl_copy_out,
    .copy_d2d = NULL,          /* optional: the host stages through copy_out + copy_in */
    .render = tpl_render,
    .compile = tpl_compile,
    .program_load = tpl_program_load,
    .program_unload = tpl_program_unload,
    .launch = tpl_launch,
    .synchronize = tpl_synchronize,
    .release = tpl_release,
    .compiler_id = NULL,       /* optional: extra compiler identity for cache keys */
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  if (!query || !reply || query->struct_size < sizeof(uint32_t) || reply->struct_size < sizeof(uint32_t))
    return CG_P_ERR_INVALID;
  cg_plugin_query q;
  read_sized(&q, sizeof q, query);
  cg_plugin_reply r = {.struct_size = sizeof r, .major = CG_PLUGIN_ABI_MAJOR,
                       .minor = CG_PLUGIN_ABI_MINOR, .api = &api};
  if (q.host_major != CG_PLUGIN_ABI_MAJOR) {
    r.api = NULL; /* say which version we speak, hand out nothing */
    write_sized(reply, &r, sizeof r);
    return CG_P_ERR_VERSION;
  }
  memset(&host, 0, sizeof host);
  if (q.host) read_sized(&host, sizeof host, q.host);
  write_sized(reply, &r, sizeof r);
  return CG_P_OK;
}
