/* clang plugin: the entry point, the function table, the one CPU device and host
 * memory. Kernels are rendered to C (render.c), compiled by the system C compiler
 * into a shared object, dlopen'd and run on a pthread pool (runtime.c).
 *
 * Ownership: every buffer and program is linked into its device; device_close frees
 * whatever the core did not, and shutdown closes every device still open. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cgrad/ir_util.h>

#include "clang_impl.h"


/* ---- plugin ---- */

/* CPU model name from /proc/cpuinfo ("CPU" if unknown) and a cache-key arch
 * "<machine>-<hash of model and feature flags>": -march=native code is per CPU. */
static void cpu_identity(cc_plugin *pl) {
  char line[4096];
  uint64_t h = 0;
  struct utsname u;
  snprintf(pl->cpu_name, sizeof pl->cpu_name, "CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    int model = !strncmp(line, "model name", 10), flags = !strncmp(line, "flags", 5);
    if (model && !strcmp(pl->cpu_name, "CPU")) {
      char *v = colon + 1 + (colon[1] == ' ');
      v[strcspn(v, "\n")] = 0;
      snprintf(pl->cpu_name, sizeof pl->cpu_name, "%s", v);
    }
    if (model || flags) {
      h = cg_hash64(line, strlen(line), h);
      if (flags) break; /* the first processor's block is enough */
    }
  }
  if (f) fclose(f);
  snprintf(pl->arch, sizeof pl->arch, "%.40s-%016llx", uname(&u) == 0 ? u.machine : "cpu", (unsigned long long)h);
}

static cg_pstatus cc_init(void **ctx) {
  cc_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return cg_host_error(CG_P_ERR_NOMEM, "clang: out of memory");
  pthread_mutex_init(&pl->mu, NULL);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  pl->ncores = n > 0 ? (int)n : 1;
  cpu_identity(pl);
  *ctx = pl;
  return CG_P_OK;
}

static void cc_device_close(void *dev);

static void cc_shutdown(void *ctx) {
  cc_plugin *pl = ctx;
  if (!pl) return;
  while (pl->devs) cc_device_close(pl->devs);
  pthread_mutex_destroy(&pl->mu);
  free(pl);
}

/* ---- devices ---- */

static cg_pstatus cc_device_count(void *ctx, int *count) {
  if (!count) return cg_host_error(CG_P_ERR_INVALID, "clang: count is NULL");
  *count = 1;
  return CG_P_OK;
}

static cg_pstatus cc_device_props(void *ctx, int index, cg_device_props *props) {
  cc_plugin *pl = ctx;
  if (!pl || !props || props->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "clang: bad device_props arguments");
  if (index != 0) return cg_host_error(CG_P_ERR_NODEV, "clang: no device %d (there is one CPU device, 0)", index);
  cg_device_props p = {.struct_size = props->struct_size, .kind = CG_DEVICE_CPU};
  snprintf(p.name, sizeof p.name, "%s", pl->cpu_name);
  snprintf(p.arch, sizeof p.arch, "%s", pl->arch);
  p.dtypes = (1u << CG_IR_VOID) - 1; /* every element type; 16-bit floats are emulated */
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) p.native_ops |= 1ull << op;
  p.native_ops |= 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
  p.max_local_size = 1;
  p.max_local[0] = p.max_local[1] = p.max_local[2] = 1;
  p.compute_units = (uint32_t)pl->ncores;
  p.warp_size = 1;
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  p.global_mem_bytes = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
  size_t n = props->struct_size < sizeof p ? props->struct_size : sizeof p;
  memcpy(props, &p, n);
  return CG_P_OK;
}

/* Threads for launches: option CG_THREADS, else the number of online cores. */
static int thread_count(const cc_plugin *pl) {
  const char *v = cg_host_option("CG_THREADS");
  long n = v ? strtol(v, NULL, 10) : pl->ncores;
  return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

static cg_pstatus cc_device_open(void *ctx, int index, void **out) {
  cc_plugin *pl = ctx;
  if (!pl || !out) return cg_host_error(CG_P_ERR_INVALID, "clang: bad device_open arguments");
  if (index != 0) return cg_host_error(CG_P_ERR_NODEV, "clang: no device %d (there is one CPU device, 0)", index);
  cc_dev *d = calloc(1, sizeof *d);
  if (!d) return cg_host_error(CG_P_ERR_NOMEM, "clang: out of memory");
  cg_pstatus st = cc__pool_new(thread_count(pl), &d->pool);
  if (st != CG_P_OK) { free(d); return st; }
  d->pl = pl;
  pthread_mutex_init(&d->mu, NULL);
  pthread_mutex_lock(&pl->mu);
  d->next = pl->devs;
  pl->devs = d;
  pthread_mutex_unlock(&pl->mu);
  *out = d;
  return CG_P_OK;
}

static void cc_device_close(void *dev) {
  cc_dev *d = dev;
  if (!d) return;
  cc_plugin *pl = d->pl;
  pthread_mutex_lock(&pl->mu);
  for (cc_dev **pp = &pl->devs; *pp; pp = &(*pp)->next)
    if (*pp == d) { *pp = d->next; break; }
  pthread_mutex_unlock(&pl->mu);
  cc__pool_free(d->pool);
  while (d->progs) {
    cc_prog *p = d->progs;
    d->progs = p->next;
    cc__prog_free(p);
  }
  while (d->bufs) {
    cc_buf *b = d->bufs;
    d->bufs = b->next;
    free(b->data);
    free(b);
  }
  pthread_mutex_destroy(&d->mu);
  free(d);
}

/* ---- memory ---- */

static cg_pstatus cc_mem_alloc(void *dev, size_t bytes, void **out) {
  cc_dev *d = dev;
  if (!d || !out) return cg_host_error(CG_P_ERR_INVALID, "clang: bad mem_alloc arguments");
  cc_buf *b = calloc(1, sizeof *b);
  /* 64-byte aligned (vector loads, cache lines); 0 bytes still gets a real pointer */
  size_t n = (bytes + 63) / 64 * 64;
  if (!b || n < bytes || posix_memalign(&b->data, 64, n ? n : 64)) {
    free(b);
    return cg_host_error(CG_P_ERR_NOMEM, "clang: cannot allocate %zu bytes", bytes);
  }
  b->bytes = bytes;
  pthread_mutex_lock(&d->mu);
  b->next = d->bufs;
  if (d->bufs) d->bufs->prev = b;
  d->bufs = b;
  pthread_mutex_unlock(&d->mu);
  *out = b;
  return CG_P_OK;
}

static void cc_mem_free(void *dev, void *buf) {
  cc_dev *d = dev;
  cc_buf *b = buf;
  if (!d || !b) return;
  pthread_mutex_lock(&d->mu);
  if (b->prev) b->prev->next = b->next;
  else d->bufs = b->next;
  if (b->next) b->next->prev = b->prev;
  pthread_mutex_unlock(&d->mu);
  free(b->data);
  free(b);
}

static int in_bounds(const cc_buf *b, size_t off, size_t bytes) {
  return b && off <= b->bytes && bytes <= b->bytes - off;
}

static cg_pstatus cc_copy_in(void *dev, void *buf, size_t off, const void *src, size_t bytes) {
  cc_buf *b = buf;
  if (!in_bounds(b, off, bytes) || (!src && bytes))
    return cg_host_error(CG_P_ERR_INVALID, "clang: copy_in of %zu bytes at %zu is out of bounds", bytes, off);
  if (bytes) memcpy((char *)b->data + off, src, bytes);
  return CG_P_OK;
}

static cg_pstatus cc_copy_out(void *dev, void *dst, void *buf, size_t off, size_t bytes) {
  cc_buf *b = buf;
  if (!in_bounds(b, off, bytes) || (!dst && bytes))
    return cg_host_error(CG_P_ERR_INVALID, "clang: copy_out of %zu bytes at %zu is out of bounds", bytes, off);
  if (bytes) memcpy(dst, (char *)b->data + off, bytes);
  return CG_P_OK;
}

static cg_pstatus cc_copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off, size_t bytes) {
  cc_buf *a = dst, *b = src;
  if (!in_bounds(a, dst_off, bytes) || !in_bounds(b, src_off, bytes))
    return cg_host_error(CG_P_ERR_INVALID, "clang: copy_d2d of %zu bytes is out of bounds", bytes);
  if (bytes) memmove((char *)a->data + dst_off, (char *)b->data + src_off, bytes);
  return CG_P_OK;
}

/* Launches run to completion before returning: nothing to wait for. */
static cg_pstatus cc_synchronize(void *dev) { return CG_P_OK; }

static void cc_release(void *ptr) { free(ptr); }

static const cg_plugin_api cc_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "clang",
    .version = CC_PLUGIN_VERSION,
    .init = cc_init,
    .shutdown = cc_shutdown,
    .device_count = cc_device_count,
    .device_props = cc_device_props,
    .device_open = cc_device_open,
    .device_close = cc_device_close,
    .mem_alloc = cc_mem_alloc,
    .mem_free = cc_mem_free,
    .copy_in = cc_copy_in,
    .copy_out = cc_copy_out,
    .copy_d2d = cc_copy_d2d,
    .render = cc__render,
    .compile = cc__compile,
    .program_load = cc__program_load,
    .program_unload = cc__program_unload,
    .launch = cc__launch,
    .synchronize = cc_synchronize,
    .release = cc_release,
    .compiler_id = cc__compiler_id,
    .caps = CG_API_CAP_CONCURRENT_COMPILE, /* one cc process and unique temp names per compile */
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &cc_api);
}
