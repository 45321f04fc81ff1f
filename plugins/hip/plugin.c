/* HIP plugin: the entry point, the function table, library loading and devices.
 *
 * libamdhip64.so (the HIP runtime) is opened with dlopen at init. A missing runtime, a
 * failing hipInit or zero GPUs (no /dev/kfd, no AMD GPU) is not an error: init
 * succeeds, device_count answers 0 and device_open/device_props answer
 * CG_P_ERR_NODEV with the reason ("no HIP device: ..."). hiprtc is opened only when
 * there is a device; a missing hiprtc only fails compile, with its reason.
 *
 * Devices: HIP's current device is per host thread, so every entry point that touches
 * a device calls hipSetDevice first (cheap); any host thread may drive any device. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hip_impl.h"

#define HIP_PLUGIN_VERSION "0.1.0"

/* ---- library loading --------------------------------------------------------------- */

typedef struct {
  const char *sym;
  size_t off;
} hip_sym;

static const hip_sym runtime_syms[] = {
#define HIP_SYM(f, sym, params) {sym, offsetof(hip_runtime, f)},
    HIP_RUNTIME_FUNCS(HIP_SYM)
#undef HIP_SYM
};

/* Open libamdhip64 and count devices; sets ndev = 0 and why on any failure. */
static void load_runtime(hip_plugin *pl) {
  static const char *const names[] = {"libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so.5",
                                      "libamdhip64.so", NULL};
  const char *root = cg_host_option("ROCM_PATH");
  char path[1024], first_err[512] = "";
  hip_runtime *h = &pl->hip;
  for (int k = 0; names[k] && !h->lib; k++) {
    h->lib = dlopen(names[k], RTLD_NOW | RTLD_LOCAL);
    if (!h->lib && !first_err[0]) snprintf(first_err, sizeof first_err, "%s", dlerror());
    for (int r = 0; r < 2 && !h->lib; r++) {
      const char *dir = r == 0 ? root : "/opt/rocm";
      if (!dir) continue;
      snprintf(path, sizeof path, "%s/lib/%s", dir, names[k]);
      h->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
  }
  if (!h->lib) {
    snprintf(pl->why, sizeof pl->why, "libamdhip64.so not found (%s)", first_err);
    return;
  }
  for (size_t i = 0; i < sizeof runtime_syms / sizeof runtime_syms[0]; i++) {
    void *fp = dlsym(h->lib, runtime_syms[i].sym);
    if (!fp) {
      snprintf(pl->why, sizeof pl->why, "libamdhip64 lacks %s", runtime_syms[i].sym);
      return;
    }
    memcpy((char *)h + runtime_syms[i].off, &fp, sizeof fp); /* POSIX: void* -> fn ptr */
  }
  void *en = dlsym(h->lib, "hipGetErrorName"), *es = dlsym(h->lib, "hipGetErrorString");
  memcpy(&h->GetErrorName, &en, sizeof en);
  memcpy(&h->GetErrorString, &es, sizeof es);
  hipError_t r = h->Init(0);
  int n = 0;
  if (r == hipSuccess) r = h->GetDeviceCount(&n);
  if (r != hipSuccess || n <= 0) {
    const char *name = h->GetErrorName ? h->GetErrorName(r) : NULL;
    snprintf(pl->why, sizeof pl->why, "the HIP runtime reports no GPU (%s)",
             r != hipSuccess ? (name ? name : "error") : "0 devices");
    return;
  }
  pl->ndev = n;
}

/* ---- plugin ------------------------------------------------------------------------ */

static cg_pstatus hip_init(void **ctx) {
  hip_plugin *pl = calloc(1, sizeof *pl);
  if (!pl) return cg_host_error(CG_P_ERR_NOMEM, "hip: out of memory");
  load_runtime(pl);
  if (pl->ndev > 0) hip__load_rtc(&pl->rtc);
  else cg_host_log(CG_LOG_INFO, "hip: no HIP device: %s", pl->why);
  *ctx = pl;
  return CG_P_OK;
}

static void device_destroy(hip_device *d);

/* Closes devices the host left open. The HIP runtime stays mapped: unloading it inside
 * a running process is unsafe (its own atexit handlers), and plugins are not unloaded. */
static void hip_shutdown(void *ctx) {
  hip_plugin *pl = ctx;
  if (!pl) return;
  while (pl->devs) device_destroy(pl->devs);
  free(pl);
}

static cg_pstatus hip_device_count(void *ctx, int *count) {
  hip_plugin *pl = ctx;
  *count = pl ? pl->ndev : 0;
  return CG_P_OK;
}

static cg_pstatus check_index(hip_plugin *pl, int index) {
  if (pl->ndev == 0) return cg_host_error(CG_P_ERR_NODEV, "hip: no HIP device: %s", pl->why);
  if (index < 0 || index >= pl->ndev)
    return cg_host_error(CG_P_ERR_NODEV, "hip: device %d does not exist (%d found)", index, pl->ndev);
  return CG_P_OK;
}

/* hipGetDeviceProperties into a heap block with slack: a newer runtime than the
 * headers we were built with may write a larger struct. */
static hipDeviceProp_t *get_props(hip_plugin *pl, int index, hipError_t *r) {
  hipDeviceProp_t *hp = calloc(1, sizeof *hp + 4096);
  if (!hp) {
    *r = hipErrorOutOfMemory;
    return NULL;
  }
  *r = pl->hip.GetDeviceProperties(hp, index);
  if (*r != hipSuccess) {
    free(hp);
    return NULL;
  }
  return hp;
}

static cg_pstatus hip_device_props(void *ctx, int index, cg_device_props *out) {
  hip_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  if (!out || out->struct_size < sizeof(uint32_t))
    return cg_host_error(CG_P_ERR_INVALID, "hip: device_props: NULL or empty props struct");
  hipError_t r;
  hipDeviceProp_t *hp = get_props(pl, index, &r);
  if (!hp) return hip__hiperror(pl, CG_P_ERR_NODEV, r, "hipGetDeviceProperties");
  cg_device_props p;
  memset(&p, 0, sizeof p);
  p.struct_size = out->struct_size;
  p.kind = CG_DEVICE_GPU;
  size_t nl = strnlen(hp->name, sizeof hp->name);
  if (nl >= sizeof p.name) nl = sizeof p.name - 1;
  memcpy(p.name, hp->name, nl); /* p.name[nl] is 0 from the memset */
  hip__base_arch(hp->gcnArchName, p.arch, sizeof p.arch);
  p.dtypes = (1u << CG_IR_VOID) - 1; /* bool .. f64, f16/bf16 emulated */
  p.native_ops = hip__native_ops();
  p.max_local_size = (uint32_t)hp->maxThreadsPerBlock;
  for (int k = 0; k < 3; k++) p.max_local[k] = (uint32_t)hp->maxThreadsDim[k];
  p.local_mem_bytes = (uint32_t)hp->sharedMemPerBlock;
  p.compute_units = (uint32_t)hp->multiProcessorCount;
  p.warp_size = (uint32_t)hp->warpSize; /* 64 on CDNA/GCN, 32 on RDNA */
  p.global_mem_bytes = hp->totalGlobalMem;
  free(hp);
  size_t n = out->struct_size < sizeof p ? out->struct_size : sizeof p;
  memcpy(out, &p, n);
  return CG_P_OK;
}

/* Tear down what device_open created, in reverse; safe on a partly opened device. */
static void device_destroy(hip_device *d) {
  hip_runtime *h = &d->pl->hip;
  for (hip_device **p = &d->pl->devs; *p; p = &(*p)->next) /* unlink from the open list */
    if (*p == d) {
      *p = d->next;
      break;
    }
  h->SetDevice(d->index);
  if (d->stream) h->StreamSynchronize(d->stream);
  if (d->t0) h->EventDestroy(d->t0);
  if (d->t1) h->EventDestroy(d->t1);
  if (d->stream) h->StreamDestroy(d->stream);
  free(d);
}

static cg_pstatus hip_device_open(void *ctx, int index, void **out) {
  hip_plugin *pl = ctx;
  cg_pstatus st = check_index(pl, index);
  if (st != CG_P_OK) return st;
  hip_device *d = calloc(1, sizeof *d);
  if (!d) return cg_host_error(CG_P_ERR_NOMEM, "hip: out of memory");
  d->pl = pl;
  d->index = index;
  hipError_t r;
  hipDeviceProp_t *hp = get_props(pl, index, &r);
  const char *what = "hipGetDeviceProperties";
  if (hp) {
    hip__base_arch(hp->gcnArchName, d->arch, sizeof d->arch);
    free(hp);
    r = pl->hip.SetDevice(index), what = "hipSetDevice";
  }
  if (r == hipSuccess)
    r = pl->hip.StreamCreateWithFlags(&d->stream, hipStreamNonBlocking), what = "hipStreamCreate";
  if (r == hipSuccess) r = pl->hip.EventCreate(&d->t0), what = "hipEventCreate";
  if (r == hipSuccess) r = pl->hip.EventCreate(&d->t1), what = "hipEventCreate";
  if (r != hipSuccess) {
    st = hip__hiperror(pl, CG_P_ERR_NODEV, r, what);
    device_destroy(d);
    return st;
  }
  snprintf(d->compiler_id, sizeof d->compiler_id, "hiprtc-rocm%d%s %s", pl->rtc.major,
           pl->rtc.lib ? "" : "-missing", d->arch);
  d->next = pl->devs;
  pl->devs = d;
  *out = d;
  return CG_P_OK;
}

static void hip_device_close(void *dev) {
  if (dev) device_destroy(dev);
}

static void hip_release(void *ptr) { free(ptr); }

static const char *hip_compiler_id(void *dev) { return ((hip_device *)dev)->compiler_id; }

static const cg_plugin_api hip_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "hip",
    .version = HIP_PLUGIN_VERSION,
    .init = hip_init,
    .shutdown = hip_shutdown,
    .device_count = hip_device_count,
    .device_props = hip_device_props,
    .device_open = hip_device_open,
    .device_close = hip_device_close,
    .mem_alloc = hip__mem_alloc,
    .mem_free = hip__mem_free,
    .copy_in = hip__copy_in,
    .copy_out = hip__copy_out,
    .copy_d2d = hip__copy_d2d,
    .render = hip__render,
    .compile = hip__compile,
    .program_load = hip__program_load,
    .program_unload = hip__program_unload,
    .launch = hip__launch,
    .synchronize = hip__synchronize,
    .release = hip_release,
    .compiler_id = hip_compiler_id,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &hip_api);
}
