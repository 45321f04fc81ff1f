/* CUDA plugin: the entry point, the function table, library loading and devices.
 *
 * libcuda.so.1 and libnvrtc.so.* are opened with dlopen at init. A missing driver, a
 * failing cuInit or zero GPUs is not an error: init succeeds, device_count answers 0 and
 * device_open/device_props answer CG_P_ERR_NODEV with the reason ("no CUDA device:
 * libcuda.so.1 not found ..."). A missing NVRTC only fails compile, with its reason.
 *
 * Contexts: each open device retains the GPU's primary context and makes it current on
 * the calling thread at every entry point (cheap), so any host thread may drive it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

#ifndef CG_CUDA_LIB_DIR
#define CG_CUDA_LIB_DIR ""
#endif
#define CU_PLUGIN_VERSION "0.1.0"

/* ---- messages ---------------------------------------------------------------------- */

cg_pstatus cu__cuerror(cu_plugin *pl, cg_pstatus status, CUresult r, const char *what) {
  const char *name = NULL, *desc = NULL;
  if (pl->cu.GetErrorName) pl->cu.GetErrorName(r, &name);
  if (pl->cu.GetErrorString) pl->cu.GetErrorString(r, &desc);
  return cu__error(status, "cuda: %s failed: %s (%s)", what, name ? name : "unknown error",
                   desc ? desc : "?");
}

/* ---- library loading --------------------------------------------------------------- */

typedef struct {
  const char *sym, *alt;
  size_t off;
} cu_sym;

static const cu_sym driver_syms[] = {
#define CU_SYM(f, sym, alt, params) {sym, alt, offsetof(cu_driver, f)},
    CU_DRIVER_FUNCS(CU_SYM)
#undef CU_SYM
};
static const cu_sym driver_opt_syms[] = {
#define CU_SYM(f, sym, alt, params) {sym, alt, offsetof(cu_driver, f)},
    CU_DRIVER_OPT_FUNCS(CU_SYM)
#undef CU_SYM
};
static const cu_sym nvrtc_syms[] = {
#define CU_SYM(f, sym, alt, params) {sym, alt, offsetof(cu_nvrtc, f)},
    CU_NVRTC_FUNCS(CU_SYM)
#undef CU_SYM
};

/* Resolve every symbol of table into the struct at base. Returns 0, or -1 with the
 * first missing name in why. */
static int resolve(void *lib, const cu_sym *table, size_t n, void *base, char *why,
                   size_t len) {
  for (size_t i = 0; i < n; i++) {
    void *fp = dlsym(lib, table[i].sym);
    if (!fp && table[i].alt) fp = dlsym(lib, table[i].alt);
    if (!fp) {
      snprintf(why, len, "symbol %s missing", table[i].sym);
      return -1;
    }
    memcpy((char *)base + table[i].off, &fp, sizeof fp); /* POSIX: void* -> fn ptr */
  }
  return 0;
}

/* dlopen the first name that opens, each tried bare (loader search path) and under
 * every directory in dirs. Keeps the first dlerror() text in why. */
static void *open_first(const char *const *names, const char *const *dirs, char *why,
                        size_t len) {
  char path[2048];
  why[0] = 0;
  for (const char *const *n = names; *n; n++) {
    void *h = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
    if (!why[0]) snprintf(why, len, "%s", dlerror());
    for (const char *const *d = dirs; *d; d++) {
      if (!(*d)[0]) continue;
      snprintf(path, sizeof path, "%s/%s", *d, *n);
      h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
      if (h) return h;
    }
  }
  return NULL;
}

static void load_nvrtc(cu_plugin *pl) {
  static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2",
                                      "libnvrtc.so", NULL};
  char cuda_path_lib[512];
  const char *cp = cu__option("CUDA_PATH");
  snprintf(cuda_path_lib, sizeof cuda_path_lib, "%s/lib64", cp ? cp : "");
  const char *const dirs[] = {cp ? cuda_path_lib : "", CG_CUDA_LIB_DIR,
                              "/usr/local/cuda/lib64",
                              "/usr/local/cuda/targets/x86_64-linux/lib", NULL};
  cu_nvrtc *r = &pl->rtc;
  r->lib = open_first(names, dirs, pl->rtc_why, sizeof pl->rtc_why);
  if (!r->lib) return;
  if (resolve(r->lib, nvrtc_syms, sizeof nvrtc_syms / sizeof nvrtc_syms[0], r, pl->rtc_why,
              sizeof pl->rtc_why) != 0) {
    dlclose(r->lib);
    memset(r, 0, sizeof *r);
    return;
  }
  void *es = dlsym(r->lib, "nvrtcGetErrorString");
  memcpy(&r->GetErrorString, &es, sizeof es);
  r->Version(&r->major, &r->minor);
  int n = 0;
  if (r->GetNumSupportedArchs(&n) == NVRTC_SUCCESS && n > 0 && n < 256) {
    int archs[256];
    if (r->GetSupportedArchs(archs) == NVRTC_SUCCESS) r->max_arch = archs[n - 1];
  }
  pl->rtc_why[0] = 0;
}

/* Open libcuda and count devices; sets ndev = 0 and why on any failure. */
static void load_driver(cu_plugin *pl) {
  static const char *const names[] = {"libcuda.so.1", "libcuda.so", NULL};
  static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib64",
                                     "/usr/lib/wsl/lib", NULL};
  char why[512];
  pl->cu.lib = open_first(names, dirs, why, sizeof why);
  if (!pl->cu.lib) {
    snprintf(pl->why, sizeof pl->why, "libcuda.so.1 not found (%s)", why);
    return;
  }
  if (resolve(pl->cu.lib, driver_syms, sizeof driver_syms / sizeof driver_syms[0], &pl->cu,
              why, sizeof why) != 0) {
    snprintf(pl->why, sizeof pl->why, "libcuda.so.1 is too old: %s", why);
    return;
  }
  for (size_t i = 0; i < sizeof driver_opt_syms / sizeof driver_opt_syms[0]; i++) {
    void *fp = dlsym(pl->cu.lib, driver_opt_syms[i].sym); /* optional: NULL if absent */
    if (!fp && driver_opt_syms[i].alt) fp = dlsym(pl->cu.lib, driver_opt_syms[i].alt);
    memcpy((char *)&pl->cu + driver_opt_syms[i].off, &fp, sizeof fp);
  }
  CUresult r = pl->cu.Init(0);
  if (r != CUDA_SUCCESS) {
    const char *name = NULL;
    pl->cu.GetErrorName(r, &name);
    snprintf(pl->why, sizeof pl->why, "cuInit failed: %s", name ? name : "unknown error");
    return;
  }
  int n = 0;
  if (pl->cu.DeviceGetCount(&n) != CUDA_SUCCESS || n <= 0) {
    snprintf(pl->why, sizeof pl->why, "the driver reports 0 GPUs");
    return;
  }
  pl->ndev = n;
}

/* ---- plugin ------------------------------------------------------------------------ */

static cg_pstatus cu_init(void **ctx) {
  cu_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  load_driver(pl);
  if (pl->ndev > 0) {
    load_nvrtc(pl);
  }
  if (pl->ndev == 0) cu__log(CG_LOG_INFO, "cuda: no CUDA device: %s", pl->why);
  *ctx = pl;
  return CG_P_OK;
}

static void device_destroy(cu_device *d);

/* Closes devices the host left open. libcuda and libnvrtc stay mapped: unloading the
 * driver inside a running process is unsafe, and NVRTC's static C++ runtime keeps
 * allocations that would then show up as leaks (plugins are not unloaded either). */
static void cu_shutdown(void *ctx) {
  cu_plugin *pl = ctx;
  if (!pl) return;
  while (pl->devs) device_destroy(pl->devs);
  free(pl);
}

static cg_pstatus cu_device_count(void *ctx, int *count) {
  cu_plugin *pl = ctx;
  *count = pl ? pl->ndev : 0;
  return CG_P_OK;
}

static cg_pstatus check_index(cu_plugin *pl, int index) {
  if (pl->ndev == 0) return cu__error(CG_P_ERR_NODEV, "cuda: no CUDA device: %s", pl->why);
  if (index < 0 || index >= pl->ndev)
    return cu__error(CG_P_ERR_NODEV, "cuda: device %d does not exist (%d found)", index,
                     pl->ndev);
  return CG_P_OK;
}

static int attr(cu_plugin *pl, CUdevice d, CUdevice_attribute a) {
  int v = 0;
  if (pl->cu.DeviceGetAttribute(&v, a, d) != CUDA_SUCCESS) return 0;
  return v;
}

/* Tensor-core shapes {M, N, K, input scalar} the renderer emits mma.sync for. */
static void fill_tc_shapes(cg_device_props *p, int cc_major) {
  if (cc_major < 8) return;
  static const uint16_t shapes[][4] = {{16, 8, 16, CG_IR_FLOAT16}, {16, 8, 16, CG_IR_BFLOAT16}};
  p->n_tc_shapes = 2;
  memcpy(p->tc_shapes, shapes, sizeof shapes);
}

static cg_pstatus cu_device_props(void *ctx, int index, cg_device_props *out) {
  cu_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  if (!out || out->struct_size < sizeof(uint32_t))
    return cu__error(CG_P_ERR_INVALID, "cuda: device_props: NULL or empty props struct");
  CUdevice d;
  CUresult r = pl->cu.DeviceGet(&d, index);
  if (r != CUDA_SUCCESS) return cu__cuerror(pl, CG_P_ERR_NODEV, r, "cuDeviceGet");
  cg_device_props p;
  memset(&p, 0, sizeof p);
  p.struct_size = out->struct_size;
  p.kind = CG_DEVICE_GPU;
  pl->cu.DeviceGetName(p.name, (int)sizeof p.name - 1, d);
  int maj = attr(pl, d, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  int min = attr(pl, d, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  snprintf(p.arch, sizeof p.arch, "sm_%d%d", maj, min);
  p.dtypes = (1u << CG_IR_VOID) - 1; /* bool .. f64, f16/bf16 included */
  p.native_ops = cu__native_ops();
  p.max_local_size = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  p.max_local[0] = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X);
  p.max_local[1] = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y);
  p.max_local[2] = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z);
  /* the opt-in maximum: programs above 48 KB get it through dynamic shared memory */
  int optin = attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  int plain = attr(pl, d, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
  p.local_mem_bytes = (uint32_t)(optin > plain ? optin : plain);
  p.compute_units = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  p.warp_size = (uint32_t)attr(pl, d, CU_DEVICE_ATTRIBUTE_WARP_SIZE);
  fill_tc_shapes(&p, maj);
  size_t total = 0;
  if (pl->cu.DeviceTotalMem(&total, d) == CUDA_SUCCESS) p.global_mem_bytes = total;
  size_t n = out->struct_size < sizeof p ? out->struct_size : sizeof p;
  memcpy(out, &p, n);
  return CG_P_OK;
}

/* Tear down what device_open created, in reverse; safe on a partly opened device. */
static void device_destroy(cu_device *d) {
  cu_driver *cu = &d->pl->cu;
  for (cu_device **p = &d->pl->devs; *p; p = &(*p)->next) /* unlink from the open list */
    if (*p == d) {
      *p = d->next;
      break;
    }
  if (d->ctx) cu->CtxSetCurrent(d->ctx);
  if (d->stream) cu->StreamSynchronize(d->stream);
  cu__device_release_staging(d);
  if (d->t0) cu->EventDestroy(d->t0);
  if (d->t1) cu->EventDestroy(d->t1);
  if (d->stream) cu->StreamDestroy(d->stream);
  if (d->ctx) cu->PrimaryCtxRelease(d->dev);
  free(d);
}

static void set_compiler_id(cu_device *d) {
  cu_nvrtc *r = &d->pl->rtc;
  int arch = d->cc_major * 10 + d->cc_minor;
  if (!r->lib)
    snprintf(d->compiler_id, sizeof d->compiler_id, "nvrtc-none sm_%d", arch);
  else if (r->max_arch && arch > r->max_arch) /* compiled as PTX for an older target */
    snprintf(d->compiler_id, sizeof d->compiler_id, "nvrtc-%d.%d compute_%d", r->major,
             r->minor, r->max_arch);
  else
    snprintf(d->compiler_id, sizeof d->compiler_id, "nvrtc-%d.%d sm_%d", r->major, r->minor,
             arch);
}

static cg_pstatus cu_device_open(void *ctx, int index, void **out) {
  cu_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  cu_device *d = calloc(1, sizeof *d);
  if (!d) return cu__error(CG_P_ERR_NOMEM, "cuda: out of memory");
  d->pl = pl;
  d->index = index;
  CUresult r = pl->cu.DeviceGet(&d->dev, index);
  const char *what = "cuDeviceGet";
  if (r == CUDA_SUCCESS) r = pl->cu.PrimaryCtxRetain(&d->ctx, d->dev), what = "cuDevicePrimaryCtxRetain";
  if (r == CUDA_SUCCESS) r = pl->cu.CtxSetCurrent(d->ctx), what = "cuCtxSetCurrent";
  if (r == CUDA_SUCCESS)
    r = pl->cu.StreamCreate(&d->stream, CU_STREAM_NON_BLOCKING), what = "cuStreamCreate";
  if (r == CUDA_SUCCESS) r = pl->cu.EventCreate(&d->t0, CU_EVENT_DEFAULT), what = "cuEventCreate";
  if (r == CUDA_SUCCESS) r = pl->cu.EventCreate(&d->t1, CU_EVENT_DEFAULT), what = "cuEventCreate";
  if (r != CUDA_SUCCESS) {
    st = cu__cuerror(pl, CG_P_ERR_NODEV, r, what);
    device_destroy(d);
    return st;
  }
  d->cc_major = attr(pl, d->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  d->cc_minor = attr(pl, d->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  set_compiler_id(d);
  d->next = pl->devs;
  pl->devs = d;
  *out = d;
  return CG_P_OK;
}

static void cu_device_close(void *dev) {
  if (dev) device_destroy(dev);
}

static void cu_release(void *ptr) { free(ptr); }

static const char *cu_compiler_id(void *dev) { return ((cu_device *)dev)->compiler_id; }

static const cg_plugin_api cu_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "cuda",
    .version = CU_PLUGIN_VERSION,
    .init = cu_init,
    .shutdown = cu_shutdown,
    .device_count = cu_device_count,
    .device_props = cu_device_props,
    .device_open = cu_device_open,
    .device_close = cu_device_close,
    .mem_alloc = cu__mem_alloc,
    .mem_free = cu__mem_free,
    .copy_in = cu__copy_in,
    .copy_out = cu__copy_out,
    .copy_d2d = cu__copy_d2d,
    .render = cu__render,
    .compile = cu__compile,
    .program_load = cu__program_load,
    .program_unload = cu__program_unload,
    .launch = cu__launch,
    .synchronize = cu__synchronize,
    .release = cu_release,
    .compiler_id = cu_compiler_id,
    .graph_create = cu__graph_create,
    .graph_launch = cu__graph_launch,
    .graph_free = cu__graph_free,
    .caps = CG_API_CAP_CONCURRENT_COMPILE, /* NVRTC: one nvrtcProgram per compile, loaded at init */
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query,
                                            cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &cu_api);
}
