/* OpenCL runtime shared by the opencl and qcom plugins (see cl_runtime.h).
 *
 * The ICD loader (libOpenCL.so.1) is opened with dlopen at init, so the plugins load
 * on machines without OpenCL and report why they have no device. Devices are listed
 * across every platform the plugin drives, GPUs/accelerators first, then CPUs.
 *
 * CPU-kind devices (e.g. PoCL) are listed only when the user asks for them: option
 * <cpu_option>=1 (CG_OPENCL_CPU) or BACKEND naming this plugin. Otherwise a CPU-only
 * OpenCL install would win the default-device choice over the LLVM/clang CPU plugins
 * by priority alone (the core picks the highest-priority plugin with a device).
 *
 * Programs: compile builds the source and returns the device binary (the core caches
 * it on disk); program_load rebuilds from that binary, reusing the program compile just
 * built when the bytes match, and falls back to rendering the source again when a
 * driver refuses its own old binary. Launches are serialized per device (kernel
 * arguments are per-kernel state). Buffer offsets become sub-buffers. */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

#include "cl_runtime.h"

#define CLR_FUNCS(X)                                                                           \
  X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo) X(clCreateContext) \
  X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue) X(clCreateBuffer)         \
  X(clCreateSubBuffer) X(clReleaseMemObject) X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer)      \
  X(clEnqueueCopyBuffer) X(clCreateProgramWithSource) X(clCreateProgramWithBinary)               \
  X(clBuildProgram) X(clGetProgramBuildInfo) X(clGetProgramInfo) X(clReleaseProgram)             \
  X(clCreateKernel) X(clReleaseKernel) X(clSetKernelArg) X(clEnqueueNDRangeKernel) X(clFinish)    \
  X(clWaitForEvents) X(clGetEventProfilingInfo) X(clReleaseEvent)

typedef struct {
#define CLR_X(f) __typeof__(&f) f;
  CLR_FUNCS(CLR_X)
#undef CLR_X
} clr_lib;

enum { MAXDEV = 32 };

typedef struct {
  cl_platform_id platform;
  cl_device_id id;
  clr_devinfo info;
  uint32_t kind;      /* CG_DEVICE_* */
} clr_slot;

typedef struct clr_plugin {
  const clr_config *cfg;
  void *dl;
  clr_lib cl;
  clr_slot slot[MAXDEV];
  int ndev;
  char why[512];      /* reason when ndev == 0 */
  pthread_mutex_t mu;
  struct clr_dev *devs;
} clr_plugin;

typedef struct clr_buf {
  cl_mem mem;
  size_t bytes;
  struct clr_buf *prev, *next;
} clr_buf;

typedef struct clr_prog {
  cl_program prog;
  cl_kernel kernel;
  uint32_t nparams, nvars;
  size_t *param_bytes;
  uint8_t *param_flags;  /* CG_IR_PARAM_READ | CG_IR_PARAM_WRITE per parameter */
  struct clr_prog *prev, *next;
} clr_prog;

typedef struct clr_dev {
  clr_plugin *pl;
  clr_slot *slot;
  cl_context ctx;
  cl_command_queue q;
  pthread_mutex_t mu;        /* lists, launches, the built-program cache */
  clr_buf *bufs;
  clr_prog *progs;
  size_t align;              /* sub-buffer offset alignment in bytes */
  char options[256];         /* clBuildProgram options */
  char compiler_id[512];      /* platform, version, driver, options: part of cache keys */
  cl_program built;          /* the program compile() built last, and its binary hash */
  uint64_t built_hash;
  size_t built_size;
  struct clr_dev *next;
} clr_dev;


static const char *cl_err_name(cl_int e) {
  switch (e) {
  case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
  case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
  case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
  case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
  case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
  case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
  case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
  case CL_MISALIGNED_SUB_BUFFER_OFFSET: return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
  case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
  case CL_INVALID_BINARY: return "CL_INVALID_BINARY";
  case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS";
  case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
  case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
  case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
  case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE";
  case CL_INVALID_BUFFER_SIZE: return "CL_INVALID_BUFFER_SIZE";
  case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
  default: return "CL error";
  }
}

static cg_pstatus cl_fail(const clr_plugin *pl, cg_pstatus st, cl_int e, const char *what) {
  return cg_host_error(st, "%s: %s failed: %s (%d)", pl->cfg->id, what, cl_err_name(e), (int)e);
}

/* ---- loading and enumeration ---- */

static int load_lib(clr_plugin *pl) {
  static const char *names[] = {"libOpenCL.so.1", "libOpenCL.so"};
  for (int i = 0; i < 2 && !pl->dl; i++) pl->dl = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!pl->dl) {
    snprintf(pl->why, sizeof pl->why, "%s: libOpenCL.so.1 not found (%s); install an OpenCL ICD loader and driver",
             pl->cfg->nodev, dlerror());
    return -1;
  }
#define CLR_X(f)                                                                            \
  if (!(*(void **)(&pl->cl.f) = dlsym(pl->dl, #f))) {                                       \
    snprintf(pl->why, sizeof pl->why, "%s: libOpenCL lacks %s", pl->cfg->nodev, #f);        \
    return -1;                                                                              \
  }
  CLR_FUNCS(CLR_X)
#undef CLR_X
  return 0;
}

static int has_ext(const char *exts, const char *name) {
  size_t n = strlen(name);
  for (const char *p = exts; (p = strstr(p, name)); p += n)
    if ((p == exts || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
  return 0;
}

static void describe(clr_plugin *pl, clr_slot *s) {
  char exts[8192] = "";
  pl->cl.clGetDeviceInfo(s->id, CL_DEVICE_NAME, sizeof s->info.name, s->info.name, NULL);
  pl->cl.clGetPlatformInfo(s->platform, CL_PLATFORM_NAME, sizeof s->info.platform, s->info.platform, NULL);
  pl->cl.clGetDeviceInfo(s->id, CL_DEVICE_EXTENSIONS, sizeof exts - 1, exts, NULL);
  pl->cl.clGetDeviceInfo(s->id, CL_DEVICE_TYPE, sizeof s->info.type, &s->info.type, NULL);
  s->info.fp16 = has_ext(exts, "cl_khr_fp16");
  s->info.fp64 = has_ext(exts, "cl_khr_fp64");
  s->kind = s->info.type & CL_DEVICE_TYPE_GPU ? CG_DEVICE_GPU : s->info.type & CL_DEVICE_TYPE_CPU ? CG_DEVICE_CPU
                                                                                                : CG_DEVICE_ACCEL;
}

/* Are CPU-kind devices wanted? (option, or BACKEND=<id>[:n] naming this plugin) */
static int cpu_wanted(const clr_config *cfg) {
  const char *v = cfg->cpu_option ? cg_host_option(cfg->cpu_option) : NULL, *b = cg_host_option("BACKEND");
  if (v && strcmp(v, "0")) return 1;
  size_t n = strlen(cfg->id);
  if (!b || strncasecmp(b, cfg->id, n) || (b[n] && b[n] != ':')) return 0;
  return 1;
}

/* Lists devices of accepted platforms: non-CPU first, then CPU (if wanted). */
static void enumerate(clr_plugin *pl) {
  cl_platform_id plats[16];
  cl_uint np = 0;
  int hidden = 0, want_cpu = cpu_wanted(pl->cfg);
  char seen[256] = "";
  if (pl->cl.clGetPlatformIDs(16, plats, &np) != CL_SUCCESS) np = 0;
  for (int pass = 0; pass < 2; pass++)
    for (cl_uint i = 0; i < np && i < 16; i++) {
      char name[128] = "", vendor[128] = "";
      pl->cl.clGetPlatformInfo(plats[i], CL_PLATFORM_NAME, sizeof name, name, NULL);
      pl->cl.clGetPlatformInfo(plats[i], CL_PLATFORM_VENDOR, sizeof vendor, vendor, NULL);
      if (pass == 0) snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%s", i ? ", " : "", name);
      if (pl->cfg->platform_ok && !pl->cfg->platform_ok(name, vendor)) continue;
      cl_device_id ids[MAXDEV];
      cl_uint nd = 0;
      if (pl->cl.clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, MAXDEV, ids, &nd) != CL_SUCCESS) nd = 0;
      for (cl_uint k = 0; k < nd && k < MAXDEV && pl->ndev < MAXDEV; k++) {
        clr_slot s = {.platform = plats[i], .id = ids[k]};
        describe(pl, &s);
        if ((s.kind == CG_DEVICE_CPU) != (pass == 1)) continue;
        if (s.kind == CG_DEVICE_CPU && !want_cpu) { hidden++; continue; }
        pl->slot[pl->ndev++] = s;
      }
    }
  if (pl->ndev) return;
  if (hidden)
    snprintf(pl->why, sizeof pl->why, "%s: only CPU OpenCL devices found (platforms: %s); set %s=1 or BACKEND=%s to use them",
             pl->cfg->nodev, seen, pl->cfg->cpu_option ? pl->cfg->cpu_option : "?", pl->cfg->id);
  else
    snprintf(pl->why, sizeof pl->why, "%s (OpenCL platforms found: %s)", pl->cfg->nodev, np ? seen : "none");
}

cg_pstatus clr_init(const clr_config *cfg, void **ctx) {
  clr_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return cg_host_error(CG_P_ERR_NOMEM, "%s: out of memory", cfg->id);
  pl->cfg = cfg;
  pthread_mutex_init(&pl->mu, NULL);
  if (load_lib(pl) == 0) enumerate(pl);
  *ctx = pl;
  return CG_P_OK;
}

void clr_shutdown(void *ctx) {
  clr_plugin *pl = ctx;
  if (!pl) return;
  while (pl->devs) clr_device_close(pl->devs);
  /* libOpenCL stays loaded: drivers (PoCL) keep threads and atexit handlers in it */
  pthread_mutex_destroy(&pl->mu);
  free(pl);
}

cg_pstatus clr_device_count(void *ctx, int *count) {
  clr_plugin *pl = ctx;
  if (!pl || !count) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad device_count arguments");
  *count = pl->ndev;
  return CG_P_OK;
}

static cg_pstatus bad_index(const clr_plugin *pl, int index) {
  if (!pl->ndev) return cg_host_error(CG_P_ERR_NODEV, "%s", pl->why);
  return cg_host_error(CG_P_ERR_NODEV, "%s: no device %d (%d devices)", pl->cfg->id, index, pl->ndev);
}

static uint64_t dev_u64(clr_plugin *pl, cl_device_id id, cl_device_info what, size_t size) {
  uint64_t v = 0; /* little-endian: a smaller value lands in the low bytes */
  if (pl->cl.clGetDeviceInfo(id, what, size, &v, NULL) != CL_SUCCESS) v = 0;
  return v;
}

cg_pstatus clr_device_props(void *ctx, int index, cg_device_props *props) {
  clr_plugin *pl = ctx;
  if (!pl || !props || props->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "opencl: bad device_props arguments");
  if (index < 0 || index >= pl->ndev) return bad_index(pl, index);
  clr_slot *s = &pl->slot[index];
  cg_device_props p = {.struct_size = props->struct_size, .kind = s->kind};
  char ver[128] = "";
  pl->cl.clGetDeviceInfo(s->id, CL_DRIVER_VERSION, sizeof ver, ver, NULL);
  snprintf(p.name, sizeof p.name, "%.80s (%.40s)", s->info.name, s->info.platform);
  snprintf(p.arch, sizeof p.arch, "%.40s-%016llx", s->info.name,
           (unsigned long long)cg_hash64(ver, strlen(ver), cg_hash64(s->info.platform, strlen(s->info.platform), 0)));
  p.dtypes = (1u << CG_IR_VOID) - 1; /* f16 is emulated without cl_khr_fp16, bf16 always */
  if (!s->info.fp64) p.dtypes &= ~(1u << CG_IR_FLOAT64);
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) p.native_ops |= 1ull << op;
  p.native_ops |= 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
  size_t wis[3] = {1, 1, 1};
  pl->cl.clGetDeviceInfo(s->id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof wis, wis, NULL);
  p.max_local_size = (uint32_t)dev_u64(pl, s->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(size_t));
  for (int k = 0; k < 3; k++) p.max_local[k] = (uint32_t)wis[k];
  p.local_mem_bytes = (uint32_t)dev_u64(pl, s->id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(cl_ulong));
  p.compute_units = (uint32_t)dev_u64(pl, s->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cl_uint));
  p.warp_size = s->kind == CG_DEVICE_CPU ? 1 : 32;
  p.global_mem_bytes = dev_u64(pl, s->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(cl_ulong));
  memcpy(props, &p, props->struct_size < sizeof p ? props->struct_size : sizeof p);
  return CG_P_OK;
}

/* ---- devices ---- */

cg_pstatus clr_device_open(void *ctx, int index, void **out) {
  clr_plugin *pl = ctx;
  cl_int e = CL_SUCCESS;
  if (!pl || !out) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad device_open arguments");
  if (index < 0 || index >= pl->ndev) return bad_index(pl, index);
  clr_dev *d = calloc(1, sizeof *d);
  if (!d) return cg_host_error(CG_P_ERR_NOMEM, "%s: out of memory", pl->cfg->id);
  d->pl = pl;
  d->slot = &pl->slot[index];
  cl_context_properties cp[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->slot->platform, 0};
  d->ctx = pl->cl.clCreateContext(cp, 1, &d->slot->id, NULL, NULL, &e);
  if (d->ctx) d->q = pl->cl.clCreateCommandQueue(d->ctx, d->slot->id, CL_QUEUE_PROFILING_ENABLE, &e);
  if (!d->ctx || !d->q) {
    if (d->ctx) pl->cl.clReleaseContext(d->ctx);
    free(d);
    return cl_fail(pl, CG_P_ERR_NODEV, e, "creating the context/queue");
  }
  d->align = (size_t)dev_u64(pl, d->slot->id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof(cl_uint)) / 8;
  if (!d->align) d->align = 128;
  cl_device_fp_config fc = (cl_device_fp_config)dev_u64(pl, d->slot->id, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fc);
  /* IEEE division and sqrt where the device can do it; never fast-math */
  snprintf(d->options, sizeof d->options, "-cl-std=CL1.2%s",
           fc & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
  char dv[128] = "", pv[128] = "";
  pl->cl.clGetDeviceInfo(d->slot->id, CL_DRIVER_VERSION, sizeof dv, dv, NULL);
  pl->cl.clGetPlatformInfo(d->slot->platform, CL_PLATFORM_VERSION, sizeof pv, pv, NULL);
  snprintf(d->compiler_id, sizeof d->compiler_id, "%.100s | %.100s | driver %.100s | %.150s", d->slot->info.platform, pv, dv, d->options);
  pthread_mutex_init(&d->mu, NULL);
  pthread_mutex_lock(&pl->mu);
  d->next = pl->devs;
  pl->devs = d;
  pthread_mutex_unlock(&pl->mu);
  *out = d;
  return CG_P_OK;
}

static void prog_free(clr_plugin *pl, clr_prog *p) {
  if (p->kernel) pl->cl.clReleaseKernel(p->kernel);
  if (p->prog) pl->cl.clReleaseProgram(p->prog);
  free(p->param_bytes);
  free(p->param_flags);
  free(p);
}

void clr_device_close(void *dev) {
  clr_dev *d = dev;
  if (!d) return;
  clr_plugin *pl = d->pl;
  pthread_mutex_lock(&pl->mu);
  for (clr_dev **pp = &pl->devs; *pp; pp = &(*pp)->next)
    if (*pp == d) { *pp = d->next; break; }
  pthread_mutex_unlock(&pl->mu);
  pl->cl.clFinish(d->q);
  while (d->progs) {
    clr_prog *p = d->progs;
    d->progs = p->next;
    prog_free(pl, p);
  }
  while (d->bufs) {
    clr_buf *b = d->bufs;
    d->bufs = b->next;
    pl->cl.clReleaseMemObject(b->mem);
    free(b);
  }
  if (d->built) pl->cl.clReleaseProgram(d->built);
  pl->cl.clReleaseCommandQueue(d->q);
  pl->cl.clReleaseContext(d->ctx);
  pthread_mutex_destroy(&d->mu);
  free(d);
}

/* ---- memory ---- */

cg_pstatus clr_mem_alloc(void *dev, size_t bytes, void **out) {
  clr_dev *d = dev;
  cl_int e = CL_SUCCESS;
  if (!d || !out) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad mem_alloc arguments");
  clr_buf *b = calloc(1, sizeof *b);
  if (!b) return cg_host_error(CG_P_ERR_NOMEM, "%s: out of memory", d->pl->cfg->id);
  b->mem = d->pl->cl.clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
  if (!b->mem) {
    free(b);
    return cg_host_error(CG_P_ERR_NOMEM, "%s: cannot allocate %zu bytes: %s (%d)", d->pl->cfg->id, bytes, cl_err_name(e), e);
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

void clr_mem_free(void *dev, void *buf) {
  clr_dev *d = dev;
  clr_buf *b = buf;
  if (!d || !b) return;
  pthread_mutex_lock(&d->mu);
  if (b->prev) b->prev->next = b->next;
  else d->bufs = b->next;
  if (b->next) b->next->prev = b->prev;
  pthread_mutex_unlock(&d->mu);
  d->pl->cl.clReleaseMemObject(b->mem); /* the runtime keeps it alive for queued work */
  free(b);
}

static int in_bounds(const clr_buf *b, size_t off, size_t bytes) {
  return b && off <= b->bytes && bytes <= b->bytes - off;
}

cg_pstatus clr_copy_in(void *dev, void *buf, size_t off, const void *src, size_t bytes) {
  clr_dev *d = dev;
  if (!d || !in_bounds(buf, off, bytes) || (!src && bytes))
    return cg_host_error(CG_P_ERR_INVALID, "opencl: copy_in of %zu bytes at %zu is out of bounds", bytes, off);
  if (!bytes) return CG_P_OK;
  cl_int e = d->pl->cl.clEnqueueWriteBuffer(d->q, ((clr_buf *)buf)->mem, CL_TRUE, off, bytes, src, 0, NULL, NULL);
  return e == CL_SUCCESS ? CG_P_OK : cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueWriteBuffer");
}

cg_pstatus clr_copy_out(void *dev, void *dst, void *buf, size_t off, size_t bytes) {
  clr_dev *d = dev;
  if (!d || !in_bounds(buf, off, bytes) || (!dst && bytes))
    return cg_host_error(CG_P_ERR_INVALID, "opencl: copy_out of %zu bytes at %zu is out of bounds", bytes, off);
  if (!bytes) return CG_P_OK;
  cl_int e = d->pl->cl.clEnqueueReadBuffer(d->q, ((clr_buf *)buf)->mem, CL_TRUE, off, bytes, dst, 0, NULL, NULL);
  return e == CL_SUCCESS ? CG_P_OK : cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueReadBuffer");
}

cg_pstatus clr_copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off, size_t bytes) {
  clr_dev *d = dev;
  if (!d || !in_bounds(dst, dst_off, bytes) || !in_bounds(src, src_off, bytes))
    return cg_host_error(CG_P_ERR_INVALID, "opencl: copy_d2d of %zu bytes is out of bounds", bytes);
  if (!bytes) return CG_P_OK;
  cl_int e = d->pl->cl.clEnqueueCopyBuffer(d->q, ((clr_buf *)src)->mem, ((clr_buf *)dst)->mem, src_off, dst_off,
                                           bytes, 0, NULL, NULL);
  return e == CL_SUCCESS ? CG_P_OK : cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueCopyBuffer");
}

cg_pstatus clr_synchronize(void *dev) {
  clr_dev *d = dev;
  if (!d) return cg_host_error(CG_P_ERR_INVALID, "opencl: synchronize without a device");
  cl_int e = d->pl->cl.clFinish(d->q);
  return e == CL_SUCCESS ? CG_P_OK : cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clFinish");
}

void clr_release(void *ptr) { free(ptr); }

const char *clr_compiler_id(void *dev) { return dev ? ((clr_dev *)dev)->compiler_id : "opencl"; }

/* ---- programs ---- */

void clr_dialect(cg_cstyle_dialect *d, const clr_devinfo *info) {
  *d = cg_cstyle_opencl;
  if (!info->fp16) { /* half lives as ushort in memory and float in registers */
    d->half_mode = CG_CSTYLE_F16_EMULATED;
    d->type_names[CG_IR_FLOAT16] = "ushort";
    d->half_preamble = NULL;
  }
  if (!info->fp64) d->type_names[CG_IR_FLOAT64] = NULL; /* render reports it */
}

cg_pstatus clr_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  clr_dev *d = dev;
  char err[512];
  if (!d || !prog || !src) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad render arguments");
  *src = d->pl->cfg->render(prog, &d->slot->info, err, sizeof err);
  if (!*src) return cg_host_error(CG_P_ERR_UNSUPPORTED, "%s: %s", d->pl->cfg->id, err);
  if (lang) *lang = "opencl";
  return CG_P_OK;
}

/* Blob of a driver that returns no binary: this marker, then the source. */
static const char src_marker[] = "cgrad-opencl-source\n";

static cg_pstatus build_failed(clr_dev *d, cl_program p, cl_int e) {
  size_t n = 0;
  d->pl->cl.clGetProgramBuildInfo(p, d->slot->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
  char *log = calloc(n + 1, 1);
  if (log && n) d->pl->cl.clGetProgramBuildInfo(p, d->slot->id, CL_PROGRAM_BUILD_LOG, n, log, NULL);
  if (log && n > 4000) strcpy(log + 3900, "\n... (truncated)");
  cg_pstatus st = cg_host_error(CG_P_ERR_COMPILE, "%s: clBuildProgram failed: %s (%d)\n%s", d->pl->cfg->id, cl_err_name(e), e,
                            log && *log ? log : "(no build log)");
  free(log);
  return st;
}

static cg_pstatus build_source(clr_dev *d, const char *src, size_t n, cl_program *out) {
  cl_int e = CL_SUCCESS;
  cl_program p = d->pl->cl.clCreateProgramWithSource(d->ctx, 1, &src, &n, &e);
  if (!p) return cl_fail(d->pl, CG_P_ERR_COMPILE, e, "clCreateProgramWithSource");
  e = d->pl->cl.clBuildProgram(p, 1, &d->slot->id, d->options, NULL, NULL);
  if (e != CL_SUCCESS) {
    cg_pstatus st = build_failed(d, p, e);
    d->pl->cl.clReleaseProgram(p);
    return st;
  }
  *out = p;
  return CG_P_OK;
}

/* The device binary of a built program, or the marked source when there is none. */
static cg_pstatus program_blob(clr_dev *d, cl_program p, const char *src, void **blob, size_t *size) {
  size_t n = 0;
  unsigned char *b = NULL;
  if (d->pl->cl.clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) == CL_SUCCESS && n &&
      (b = malloc(n))) {
    unsigned char *ptrs[1] = {b};
    if (d->pl->cl.clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptrs, ptrs, NULL) == CL_SUCCESS) {
      *blob = b;
      *size = n;
      return CG_P_OK;
    }
    free(b);
  }
  size_t m = strlen(src);
  if (!(b = malloc(sizeof src_marker - 1 + m))) return cg_host_error(CG_P_ERR_NOMEM, "opencl: out of memory");
  memcpy(b, src_marker, sizeof src_marker - 1);
  memcpy(b + sizeof src_marker - 1, src, m);
  *blob = b;
  *size = sizeof src_marker - 1 + m;
  return CG_P_OK;
}

cg_pstatus clr_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob, size_t *size) {
  clr_dev *d = dev;
  cl_program p = NULL;
  if (!d || !src || !blob || !size) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad compile arguments");
  cg_pstatus st = build_source(d, src, strlen(src), &p);
  if (st == CG_P_OK) st = program_blob(d, p, src, blob, size);
  if (st != CG_P_OK) {
    if (p) d->pl->cl.clReleaseProgram(p);
    return st;
  }
  pthread_mutex_lock(&d->mu); /* keep it: program_load of these bytes needs no rebuild */
  if (d->built) d->pl->cl.clReleaseProgram(d->built);
  d->built = p;
  d->built_hash = cg_hash64(*blob, *size, 0);
  d->built_size = *size;
  pthread_mutex_unlock(&d->mu);
  return CG_P_OK;
}

/* A built cl_program for blob: compile's, the binary rebuilt, or the source again. */
static cg_pstatus program_for(clr_dev *d, const cg_ir_program *prog, const void *blob, size_t size, cl_program *out) {
  const clr_lib *cl = &d->pl->cl;
  cl_int e = CL_SUCCESS, bs = CL_SUCCESS;
  *out = NULL;
  pthread_mutex_lock(&d->mu);
  if (d->built && d->built_size == size && d->built_hash == cg_hash64(blob, size, 0)) {
    *out = d->built;
    d->built = NULL;
  }
  pthread_mutex_unlock(&d->mu);
  if (*out) return CG_P_OK;
  size_t mk = sizeof src_marker - 1;
  if (size > mk && !memcmp(blob, src_marker, mk)) return build_source(d, (const char *)blob + mk, size - mk, out);
  const unsigned char *bin = blob;
  cl_program p = cl->clCreateProgramWithBinary(d->ctx, 1, &d->slot->id, &size, &bin, &bs, &e);
  if (p && (e = cl->clBuildProgram(p, 1, &d->slot->id, d->options, NULL, NULL)) == CL_SUCCESS) {
    *out = p;
    return CG_P_OK;
  }
  if (p) cl->clReleaseProgram(p);
  char err[512]; /* the driver refused the binary (e.g. it was updated): build from source */
  char *src = d->pl->cfg->render(prog, &d->slot->info, err, sizeof err);
  if (!src) return cg_host_error(CG_P_ERR_COMPILE, "%s: binary refused (%s) and render failed: %s", d->pl->cfg->id, cl_err_name(e), err);
  cg_pstatus st = build_source(d, src, strlen(src), out);
  free(src);
  return st;
}

cg_pstatus clr_program_load(void *dev, const cg_ir_program *prog, const void *blob, size_t size, void **handle) {
  clr_dev *d = dev;
  char name[80];
  cl_int e = CL_SUCCESS;
  if (!d || !prog || !handle || !blob || !size) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad program_load arguments");
  clr_prog *p = calloc(1, sizeof *p);
  if (!p || !(p->param_bytes = calloc(prog->nparams + 1, sizeof *p->param_bytes)) ||
      !(p->param_flags = calloc(prog->nparams + 1, 1))) {
    if (p) free(p->param_bytes);
    free(p);
    return cg_host_error(CG_P_ERR_NOMEM, "opencl: out of memory");
  }
  p->nparams = prog->nparams;
  p->nvars = prog->nvars;
  for (uint32_t i = 0; i < prog->nparams; i++) {
    const cg_ir_param *pa = &cg_ir_params(prog)[i];
    p->param_bytes[i] = pa->count > 0 ? (size_t)pa->count * cg_ir_scalar_size(pa->scalar) : 0;
    p->param_flags[i] = pa->flags;
  }
  cg_pstatus st = program_for(d, prog, blob, size, &p->prog);
  if (st == CG_P_OK && !(p->kernel = d->pl->cl.clCreateKernel(p->prog, cg_cstyle_kernel_name(prog, name, sizeof name), &e)))
    st = cl_fail(d->pl, CG_P_ERR_COMPILE, e, "clCreateKernel");
  if (st != CG_P_OK) {
    prog_free(d->pl, p);
    return st;
  }
  pthread_mutex_lock(&d->mu);
  p->next = d->progs;
  if (d->progs) d->progs->prev = p;
  d->progs = p;
  pthread_mutex_unlock(&d->mu);
  *handle = p;
  return CG_P_OK;
}

void clr_program_unload(void *dev, void *handle) {
  clr_dev *d = dev;
  clr_prog *p = handle;
  if (!d || !p) return;
  pthread_mutex_lock(&d->mu);
  if (p->prev) p->prev->next = p->next;
  else d->progs = p->next;
  if (p->next) p->next->prev = p->prev;
  pthread_mutex_unlock(&d->mu);
  prog_free(d->pl, p);
}

/* ---- launch ---- */

/* Bytes of a staged region: what the kernel may touch when known, else the tail. */
static size_t staged_bytes(const clr_prog *p, const clr_buf *b, uint32_t i, size_t off) {
  return p->param_bytes[i] ? p->param_bytes[i] : b->bytes - off;
}

/* Kernel arguments: buffers, then variables. A buffer offset becomes a sub-buffer when it
 * is a multiple of the device's sub-buffer alignment; otherwise the region is staged
 * through a temporary buffer (copied in, and back after the kernel if it is written).
 * Sub-buffers and temporaries are kept in subs; staged[i] says which are temporaries. */
static cg_pstatus set_args(clr_dev *d, clr_prog *p, const cg_launch_args *a, cl_mem *subs, bool *staged) {
  const clr_lib *cl = &d->pl->cl;
  for (uint32_t i = 0; i < p->nparams; i++) {
    clr_buf *b = a->bufs[i];
    size_t off = a->buf_offsets ? a->buf_offsets[i] : 0;
    cl_int e = CL_SUCCESS;
    if (!b) return cg_host_error(CG_P_ERR_INVALID, "%s: launch: buffer %u is NULL", d->pl->cfg->id, i);
    if (off > b->bytes || p->param_bytes[i] > b->bytes - off)
      return cg_host_error(CG_P_ERR_INVALID, "%s: launch: buffer %u (%zu bytes, offset %zu) is smaller than the %zu bytes the kernel may touch",
                       d->pl->cfg->id, i, b->bytes, off, p->param_bytes[i]);
    cl_mem m = b->mem;
    size_t n = b->bytes - off;
    if (off && off % d->align == 0) {
      cl_buffer_region r = {off, n ? n : 1};
      if (!(m = subs[i] = cl->clCreateSubBuffer(b->mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &r, &e)))
        return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clCreateSubBuffer");
    } else if (off) {
      n = staged_bytes(p, b, i, off);
      if (!(m = subs[i] = cl->clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, n ? n : 1, NULL, &e)))
        return cl_fail(d->pl, CG_P_ERR_NOMEM, e, "clCreateBuffer (staging an unaligned offset)");
      staged[i] = true;
      if (n && (e = cl->clEnqueueCopyBuffer(d->q, b->mem, m, off, 0, n, 0, NULL, NULL)) != CL_SUCCESS)
        return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueCopyBuffer");
    }
    if ((e = cl->clSetKernelArg(p->kernel, i, sizeof m, &m)) != CL_SUCCESS) return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clSetKernelArg");
  }
  for (uint32_t v = 0; v < p->nvars; v++) {
    cl_int val = (cl_int)a->vars[v];
    cl_int e = cl->clSetKernelArg(p->kernel, p->nparams + v, sizeof val, &val);
    if (e != CL_SUCCESS) return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clSetKernelArg");
  }
  return CG_P_OK;
}

/* Copies staged regions that the kernel may have written back into their buffers. */
static cg_pstatus unstage(clr_dev *d, clr_prog *p, const cg_launch_args *a, cl_mem *subs, const bool *staged) {
  for (uint32_t i = 0; i < p->nparams; i++) {
    if (!staged[i] || !(p->param_flags[i] & CG_IR_PARAM_WRITE)) continue;
    clr_buf *b = a->bufs[i];
    size_t off = a->buf_offsets[i], n = staged_bytes(p, b, i, off);
    cl_int e = n ? d->pl->cl.clEnqueueCopyBuffer(d->q, subs[i], b->mem, 0, off, n, 0, NULL, NULL) : CL_SUCCESS;
    if (e != CL_SUCCESS) return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueCopyBuffer");
  }
  return CG_P_OK;
}

/* Enqueue over global*local work-items; with time_s, wait and read the profile. */
static cg_pstatus enqueue(clr_dev *d, clr_prog *p, const cg_launch_args *a) {
  const clr_lib *cl = &d->pl->cl;
  size_t gws[3], lws[3];
  for (int k = 0; k < 3; k++) {
    lws[k] = a->local[k] ? a->local[k] : 1;
    gws[k] = (size_t)a->global[k] * lws[k];
    if (!gws[k]) return CG_P_OK; /* an empty grid runs nothing */
  }
  cl_event ev = NULL;
  cl_int e = cl->clEnqueueNDRangeKernel(d->q, p->kernel, 3, NULL, gws, lws, 0, NULL, a->time_s ? &ev : NULL);
  if (e != CL_SUCCESS) return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "clEnqueueNDRangeKernel");
  if (!ev) return CG_P_OK;
  cl_ulong t0 = 0, t1 = 0;
  e = cl->clWaitForEvents(1, &ev);
  if (e == CL_SUCCESS) e = cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
  if (e == CL_SUCCESS) e = cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
  cl->clReleaseEvent(ev);
  if (e != CL_SUCCESS) return cl_fail(d->pl, CG_P_ERR_LAUNCH, e, "waiting for the kernel");
  *a->time_s = (double)(t1 - t0) * 1e-9;
  return CG_P_OK;
}

cg_pstatus clr_launch(void *dev, void *handle, const cg_launch_args *args) {
  clr_dev *d = dev;
  clr_prog *p = handle;
  cg_launch_args a = {0};
  if (!d || !p || !args) return cg_host_error(CG_P_ERR_INVALID, "opencl: bad launch arguments");
  memcpy(&a, args, args->struct_size < sizeof a ? args->struct_size : sizeof a);
  if (a.nbufs != p->nparams || (p->nparams && !a.bufs))
    return cg_host_error(CG_P_ERR_INVALID, "%s: launch: %u buffers given, kernel takes %u", d->pl->cfg->id, a.nbufs, p->nparams);
  if (a.nvars != p->nvars || (p->nvars && !a.vars))
    return cg_host_error(CG_P_ERR_INVALID, "%s: launch: %u variables given, kernel takes %u", d->pl->cfg->id, a.nvars, p->nvars);
  cl_mem *subs = calloc(p->nparams + 1, sizeof *subs);
  bool *staged = calloc(p->nparams + 1, sizeof *staged);
  if (!subs || !staged) {
    free(subs);
    free(staged);
    return cg_host_error(CG_P_ERR_NOMEM, "opencl: out of memory");
  }
  pthread_mutex_lock(&d->mu);
  cg_pstatus st = set_args(d, p, &a, subs, staged);
  if (st == CG_P_OK) st = enqueue(d, p, &a);
  if (st == CG_P_OK) st = unstage(d, p, &a, subs, staged);
  pthread_mutex_unlock(&d->mu);
  for (uint32_t i = 0; i < p->nparams; i++)
    if (subs[i]) d->pl->cl.clReleaseMemObject(subs[i]); /* queued work keeps its own reference */
  free(subs);
  free(staged);
  return st;
}
