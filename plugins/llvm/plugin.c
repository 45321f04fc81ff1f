/* llvm plugin: the function table, the host CPU device and host memory.
 *
 * One device (the host CPU). Buffers are 64-byte aligned host allocations that know
 * their size (copies are bounds-checked memcpy) and launches are synchronous. Programs go render.c (IR -> LLVM -> object)
 * then runtime.c (ORC link, thread pool). Host services come from the SDK's
 * plugin_host.h (errors, logs, options), kept for the life of the plugin. */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <llvm/Config/llvm-config.h>

#include "cgrad/plugin_host.h"
#include "llvm_plugin.h"

#define CG_LLVM_PLUGIN_VERSION "0.1.0"

/* ---- host services (cgrad/plugin_host.h; set by cg_plugin_answer) -------------- */

/* Logs without a length limit (DEBUG=5 logs whole assembly listings). */
void cg__llvm_log(int level, const char *fmt, ...) {
  const cg_host_services *h = cg_host();
  if (!h->log) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) >= 0 && msg) h->log(h->host_ctx, level, msg);
  va_end(ap);
  free(msg);
}

int cg__llvm_debug(void) {
  const char *v = cg_host_option("DEBUG");
  return v ? atoi(v) : 0;
}

/* ---- plugin and device ------------------------------------------------------ */

/* Devices still open, so that shutdown can release them (ABI: shutdown frees all). */
static pthread_mutex_t g_devs_mu = PTHREAD_MUTEX_INITIALIZER;
/* Live buffers (see p_mem_alloc), guarded by g_devs_mu. */
typedef struct buf_hdr { size_t size; struct buf_hdr *prev, *next; } buf_hdr;
static buf_hdr *g_bufs;

static void unlink_buf(buf_hdr *h) {
  if (h->prev) h->prev->next = h->next; else g_bufs = h->next;
  if (h->next) h->next->prev = h->prev;
}
static cg__llvm_dev *g_devs;

static void dev_free(cg__llvm_dev *d) {
  cg__llvm_runtime_close(d);
  pthread_mutex_destroy(&d->mu);
  free(d->features);
  free(d);
}

int cg__llvm_f16c(const cg__llvm_dev *d) {
  const char *off = cg_host_option("CG_LLVM_NO_F16C");
  if (off && off[0] == '1') return 0;
  return strstr(d->features, "+f16c") != NULL;
}

/* The plugin's state is process-wide (devices, JIT), so one context at a time: a
 * second init fails cleanly until the first is shut down. */
static int g_token, g_live;

static cg_pstatus p_init(void **ctx) {
  pthread_mutex_lock(&g_devs_mu);
  int busy = g_live;
  g_live = 1;
  pthread_mutex_unlock(&g_devs_mu);
  if (busy) return cg_host_error(CG_P_ERR_INVALID, "llvm: already initialised; one context per process");
  *ctx = &g_token;
  return CG_P_OK;
}

static void p_shutdown(void *ctx) {
  pthread_mutex_lock(&g_devs_mu);
  g_live = 0;
  while (g_bufs) {
    buf_hdr *h = g_bufs;
    unlink_buf(h);
    free(h);
  }
  while (g_devs) {
    cg__llvm_dev *d = g_devs;
    g_devs = d->next;
    dev_free(d);
  }
  pthread_mutex_unlock(&g_devs_mu);
}

static cg_pstatus p_device_count(void *ctx, int *count) {
  *count = 1;
  return CG_P_OK;
}

/* Cores this process may run on (affinity mask), at least 1. */
static int cpu_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static int thread_count(void) {
  const char *v = cg_host_option("CG_THREADS");
  int n = v ? atoi(v) : 0;
  if (n <= 0) n = cpu_cores();
  return n > 256 ? 256 : n;
}

static void host_cpu_name(char *out, size_t n) {
  char *cpu = LLVMGetHostCPUName();
  snprintf(out, n, "%s", cpu && cpu[0] ? cpu : "generic");
  LLVMDisposeMessage(cpu);
}

static cg_pstatus p_device_props(void *ctx, int index, cg_device_props *props) {
  if (index != 0 || !props)
    return cg_host_error(CG_P_ERR_INVALID, "llvm: no device %d (the host CPU is device 0)", index);
  cg_device_props p;
  memset(&p, 0, sizeof p);
  p.kind = CG_DEVICE_CPU;
  host_cpu_name(p.arch, sizeof p.arch);
  snprintf(p.name, sizeof p.name, "LLVM %s JIT on %s", LLVM_VERSION_STRING, p.arch);
  p.dtypes = (1u << CG_IR_VOID) - 1; /* every scalar type */
  for (int op = CG_IR_EXP2; op <= CG_IR_BITCAST; op++) p.native_ops |= 1ull << op;
  p.max_local_size = 1;
  p.max_local[0] = p.max_local[1] = p.max_local[2] = 1;
  p.compute_units = (uint32_t)thread_count();
  p.warp_size = 1;
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  if (pages > 0 && psz > 0) p.global_mem_bytes = (uint64_t)pages * (uint64_t)psz;
  uint32_t size = props->struct_size;
  size_t n = size < sizeof p ? size : sizeof p;
  memcpy(props, &p, n);
  if (n >= sizeof(uint32_t)) props->struct_size = size;
  return CG_P_OK;
}

static cg_pstatus p_device_open(void *ctx, int index, void **out) {
  if (index != 0) return cg_host_error(CG_P_ERR_INVALID, "llvm: no device %d", index);
  if (cg__llvm_init_target() != 0)
    return cg_host_error(CG_P_ERR_NODEV, "llvm: LLVM has no native target for this host");
  cg__llvm_dev *d = calloc(1, sizeof *d);
  if (!d) return CG_P_ERR_NOMEM;
  host_cpu_name(d->cpu, sizeof d->cpu);
  char *feat = LLVMGetHostCPUFeatures();
  d->features = strdup(feat ? feat : "");
  LLVMDisposeMessage(feat);
  if (!d->features) {
    free(d);
    return CG_P_ERR_NOMEM;
  }
  uint64_t fh = cg__llvm_hash(d->features, strlen(d->features), 0);
  const char *ct = cg_host_option("CG_LLVM_CONTRACT");
  char nt[40] = "";
  if (cg__llvm_nt_min() != (size_t)32 << 20) snprintf(nt, sizeof nt, " nt%zu", cg__llvm_nt_min());
  snprintf(d->compiler_id, sizeof d->compiler_id, "LLVM %s %s %016llx%s%s%s", LLVM_VERSION_STRING,
           d->cpu, (unsigned long long)fh, ct && ct[0] == '1' ? " contract" : "",
           cg__llvm_f16c(d) ? " f16c" : "", nt);
  d->threads = thread_count();
  pthread_mutex_init(&d->mu, NULL);
  pthread_mutex_lock(&g_devs_mu);
  d->next = g_devs;
  g_devs = d;
  pthread_mutex_unlock(&g_devs_mu);
  *out = d;
  return CG_P_OK;
}

static void p_device_close(void *dev) {
  cg__llvm_dev *d = dev, **pp;
  if (!d) return;
  pthread_mutex_lock(&g_devs_mu);
  for (pp = &g_devs; *pp && *pp != d; pp = &(*pp)->next) {}
  if (*pp) *pp = d->next;
  pthread_mutex_unlock(&g_devs_mu);
  dev_free(d);
}

static const char *p_compiler_id(void *dev) { return ((cg__llvm_dev *)dev)->compiler_id; }

/* ---- memory: aligned host allocations with their size in a header ------------ */

/* A buffer is [64-byte header: size, live-list links][data, 64-byte aligned]. Live
 * buffers are listed so that shutdown can free what the host left allocated. */
#define CG_LLVM_HDR 64
_Static_assert(sizeof(buf_hdr) <= CG_LLVM_HDR, "buffer header fits");

static buf_hdr *hdr_of(const void *buf) { return (buf_hdr *)((char *)buf - CG_LLVM_HDR); }
static size_t buf_size(const void *buf) { return hdr_of(buf)->size; }

/* Buffers from this size on ask for transparent huge pages (Linux THP in "madvise"
 * mode): a kernel streaming them takes 512x fewer first-touch page faults and TLB
 * misses. Only advice: where THP is off or the call fails, nothing changes. */
#define CG_LLVM_HUGE_MIN ((size_t)8 << 20)

static void advise_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
  uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a = ((uintptr_t)p + pg - 1) & ~(pg - 1), e = ((uintptr_t)p + n) & ~(pg - 1);
  if (n >= CG_LLVM_HUGE_MIN && e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

static cg_pstatus p_mem_alloc(void *dev, size_t bytes, void **buf) {
  void *p = NULL;
  size_t n = (bytes + 63) & ~(size_t)63;
  if (n < bytes || n + CG_LLVM_HDR < n || posix_memalign(&p, 64, n + CG_LLVM_HDR) != 0)
    return cg_host_error(CG_P_ERR_NOMEM, "llvm: cannot allocate %zu bytes of host memory", bytes);
  advise_huge(p, n + CG_LLVM_HDR);
  buf_hdr *h = p;
  h->size = bytes;
  pthread_mutex_lock(&g_devs_mu);
  h->prev = NULL;
  h->next = g_bufs;
  if (g_bufs) g_bufs->prev = h;
  g_bufs = h;
  pthread_mutex_unlock(&g_devs_mu);
  *buf = (char *)p + CG_LLVM_HDR;
  return CG_P_OK;
}

static void p_mem_free(void *dev, void *buf) {
  if (!buf) return;
  pthread_mutex_lock(&g_devs_mu);
  unlink_buf(hdr_of(buf));
  pthread_mutex_unlock(&g_devs_mu);
  free(hdr_of(buf));
}

/* Is [off, off+n) inside buf? Sets the error if not. */
static int in_bounds(const void *buf, size_t off, size_t n, const char *what) {
  size_t size = buf ? buf_size(buf) : 0;
  if (buf && off <= size && n <= size - off) return 1;
  (void)cg_host_error(CG_P_ERR_INTERNAL, "llvm: %s of %zu bytes at offset %zu is outside the %zu-byte buffer", what, n, off, size);
  return 0;
}

static cg_pstatus p_copy_in(void *dev, void *buf, size_t off, const void *src, size_t n) {
  if (!in_bounds(buf, off, n, "copy_in")) return CG_P_ERR_INVALID;
  if (n) memcpy((char *)buf + off, src, n);
  return CG_P_OK;
}

static cg_pstatus p_copy_out(void *dev, void *dst, void *buf, size_t off, size_t n) {
  if (!in_bounds(buf, off, n, "copy_out")) return CG_P_ERR_INVALID;
  if (n) memcpy(dst, (const char *)buf + off, n);
  return CG_P_OK;
}

static cg_pstatus p_copy_d2d(void *dev, void *dst, size_t doff, void *src, size_t soff, size_t n) {
  if (!in_bounds(dst, doff, n, "copy_d2d destination") || !in_bounds(src, soff, n, "copy_d2d source"))
    return CG_P_ERR_INVALID;
  if (n) memmove((char *)dst + doff, (const char *)src + soff, n);
  return CG_P_OK;
}

static cg_pstatus p_synchronize(void *dev) { return CG_P_OK; } /* launches are synchronous */

static void p_release(void *ptr) { free(ptr); }

static const cg_plugin_api g_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "llvm",
    .version = CG_LLVM_PLUGIN_VERSION,
    .init = p_init,
    .shutdown = p_shutdown,
    .device_count = p_device_count,
    .device_props = p_device_props,
    .device_open = p_device_open,
    .device_close = p_device_close,
    .mem_alloc = p_mem_alloc,
    .mem_free = p_mem_free,
    .copy_in = p_copy_in,
    .copy_out = p_copy_out,
    .copy_d2d = p_copy_d2d,
    .render = cg__llvm_render,   /* textual LLVM IR, for DEBUG=4 */
    .compile = cg__llvm_compile, /* IR -> object file */
    .program_load = cg__llvm_program_load,
    .program_unload = cg__llvm_program_unload,
    .launch = cg__llvm_launch,
    .synchronize = p_synchronize,
    .release = p_release,
    .compiler_id = p_compiler_id,
    .caps = CG_API_CAP_CONCURRENT_COMPILE, /* a context and target machine per compile */
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &g_api);
}
