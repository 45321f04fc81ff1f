/* Private header of the HIP plugin: the HIP runtime / hiprtc entry points opened with
 * dlopen, and the plugin, device, buffer and program objects shared by plugin.c (table,
 * devices), runtime.c (memory, load, launch), compile.c (hiprtc, target checks) and
 * render.c (IR -> HIP C).
 *
 * libamdhip64 and libhiprtc are never linked: hip_runtime_api.h and hiprtc.h only give
 * the types, and every call goes through the function pointers below, so the plugin
 * loads on machines without ROCm and reports "no HIP device" there. */
#ifndef CG_HIP_IMPL_H
#define CG_HIP_IMPL_H

#ifndef __HIP_PLATFORM_AMD__
#define __HIP_PLATFORM_AMD__ 1
#endif
#include <hip/hip_runtime_api.h>
#include <hip/hiprtc.h>
#include <stdarg.h>
#include <stddef.h>

#include "cgrad/plugin_host.h" /* messages and options: cg_host_error/log/option */

/* hipGetDeviceProperties fills the struct layout of the headers we build against:
 * ROCm 6 renamed the function for its new layout and kept the old name for the old one. */
#if HIP_VERSION_MAJOR >= 6
#define HIP_PROPS_SYMBOL "hipGetDevicePropertiesR0600"
#else
#define HIP_PROPS_SYMBOL "hipGetDeviceProperties"
#endif

/* X(field, symbol, (parameters)) for the HIP runtime. */
#define HIP_RUNTIME_FUNCS(X)                                                               \
  X(Init, "hipInit", (unsigned int flags))                                                 \
  X(DriverGetVersion, "hipDriverGetVersion", (int *v))                                     \
  X(GetDeviceCount, "hipGetDeviceCount", (int *n))                                         \
  X(GetDeviceProperties, HIP_PROPS_SYMBOL, (hipDeviceProp_t * p, int dev))                 \
  X(SetDevice, "hipSetDevice", (int dev))                                                  \
  X(StreamCreateWithFlags, "hipStreamCreateWithFlags", (hipStream_t * s, unsigned flags))  \
  X(StreamDestroy, "hipStreamDestroy", (hipStream_t s))                                    \
  X(StreamSynchronize, "hipStreamSynchronize", (hipStream_t s))                            \
  X(EventCreate, "hipEventCreate", (hipEvent_t * e))                                       \
  X(EventDestroy, "hipEventDestroy", (hipEvent_t e))                                       \
  X(EventRecord, "hipEventRecord", (hipEvent_t e, hipStream_t s))                          \
  X(EventSynchronize, "hipEventSynchronize", (hipEvent_t e))                               \
  X(EventElapsedTime, "hipEventElapsedTime", (float *ms, hipEvent_t a, hipEvent_t b))      \
  X(Malloc, "hipMalloc", (void **p, size_t bytes))                                         \
  X(Free, "hipFree", (void *p))                                                            \
  X(MemcpyAsync, "hipMemcpyAsync",                                                         \
    (void *dst, const void *src, size_t n, hipMemcpyKind k, hipStream_t s))                \
  X(ModuleLoadData, "hipModuleLoadData", (hipModule_t * m, const void *image))             \
  X(ModuleUnload, "hipModuleUnload", (hipModule_t m))                                      \
  X(ModuleGetFunction, "hipModuleGetFunction",                                             \
    (hipFunction_t * f, hipModule_t m, const char *name))                                  \
  X(ModuleLaunchKernel, "hipModuleLaunchKernel",                                           \
    (hipFunction_t f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,     \
     unsigned bz, unsigned shmem, hipStream_t s, void **params, void **extra))

/* X(field, symbol, (parameters)) for hiprtc (in libhiprtc, or in libamdhip64 before
 * ROCm 5.3). */
#define HIP_RTC_FUNCS(X)                                                                   \
  X(Version, "hiprtcVersion", (int *major, int *minor))                                    \
  X(CreateProgram, "hiprtcCreateProgram",                                                  \
    (hiprtcProgram * p, const char *src, const char *name, int nh, const char **h,         \
     const char **hn))                                                                     \
  X(DestroyProgram, "hiprtcDestroyProgram", (hiprtcProgram * p))                           \
  X(CompileProgram, "hiprtcCompileProgram", (hiprtcProgram p, int nopt, const char **opts)) \
  X(GetProgramLogSize, "hiprtcGetProgramLogSize", (hiprtcProgram p, size_t *n))            \
  X(GetProgramLog, "hiprtcGetProgramLog", (hiprtcProgram p, char *log))                    \
  X(GetCodeSize, "hiprtcGetCodeSize", (hiprtcProgram p, size_t *n))                        \
  X(GetCode, "hiprtcGetCode", (hiprtcProgram p, char *code))

/* HIP runtime entry points (all non-NULL once loaded). */
typedef struct hip_runtime {
  void *lib; /* dlopen handle, NULL when libamdhip64 is missing */
#define HIP_FIELD(f, sym, params) hipError_t(*f) params;
  HIP_RUNTIME_FUNCS(HIP_FIELD)
#undef HIP_FIELD
  const char *(*GetErrorName)(hipError_t e);   /* optional: NULL if missing */
  const char *(*GetErrorString)(hipError_t e); /* optional: NULL if missing */
} hip_runtime;

/* hiprtc entry points (all non-NULL once loaded). */
typedef struct hip_rtc {
  void *lib;
#define HIP_FIELD(f, sym, params) hiprtcResult(*f) params;
  HIP_RTC_FUNCS(HIP_FIELD)
#undef HIP_FIELD
  const char *(*GetErrorString)(hiprtcResult r);
  int major;        /* ROCm generation of the library: 5 (hiprtc in libamdhip64.so.5 or
                       libhiprtc.so.5), 6, 7 */
  int standalone;   /* 1 = libhiprtc.so (ROCm >= 5.3), 0 = inside libamdhip64 (5.2) */
  char why[512];    /* why lib is NULL */
} hip_rtc;

/* The plugin context (api->init). Owns the libraries. */
typedef struct hip_plugin {
  hip_runtime hip;
  hip_rtc rtc;
  int ndev;              /* 0 when there is no runtime or no device */
  char why[640];         /* why ndev is 0, for messages */
  struct hip_device *devs; /* open devices, closed by shutdown if the host did not */
} hip_plugin;

/* An open device (api->device_open). */
typedef struct hip_device {
  hip_plugin *pl;
  struct hip_device *next; /* in pl->devs */
  int index;
  hipStream_t stream;      /* every copy and launch goes here, in order */
  hipEvent_t t0, t1;       /* kernel timing */
  char arch[64];           /* "gfx90a" (target features stripped) */
  char compiler_id[96];    /* "hiprtc-5.2 gfx90a" */
} hip_device;

/* A device allocation (api->mem_alloc). */
typedef struct hip_buffer {
  void *ptr; /* NULL for a zero-byte buffer */
  size_t size;
} hip_buffer;

/* A loaded kernel (api->program_load). */
typedef struct hip_program {
  hipModule_t mod;
  hipFunction_t fn;
  uint32_t nparams, nvars;
} hip_program;

/* --- compile.c --- */
/* dlopen hiprtc (libhiprtc.so.*, else the copy inside libamdhip64). On failure
 * rtc->lib is NULL and rtc->why says why. */
void hip__load_rtc(hip_rtc *rtc);
/* Is gfx target `arch` (features after ':' ignored) one this hiprtc can compile for?
 * Returns 1, or 0 with the reason in why. Checked before every compile: ROCm 5.x
 * hiprtc aborts the process on a target its device libraries lack. */
int hip__target_ok(const hip_rtc *rtc, const char *arch, char *why, size_t n);
/* Copy the base target name ("gfx90a" from "gfx90a:sramecc+:xnack-") into out. */
void hip__base_arch(const char *arch, char *out, size_t n);
/* Compile rendered source for target arch into a code object (malloc'd *blob). */
cg_pstatus hip__compile_for(hip_rtc *rtc, const char *arch, const cg_ir_program *prog,
                            const char *src, void **blob, size_t *blob_size);
cg_pstatus hip__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                        size_t *blob_size);

/* --- runtime.c --- */
/* Record "hip: <what> failed: <error name> (<description>)" and return status. */
cg_pstatus hip__hiperror(hip_plugin *pl, cg_pstatus status, hipError_t r, const char *what);
cg_pstatus hip__mem_alloc(void *dev, size_t bytes, void **buf);
void hip__mem_free(void *dev, void *buf);
cg_pstatus hip__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes);
cg_pstatus hip__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes);
cg_pstatus hip__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                         size_t bytes);
cg_pstatus hip__program_load(void *dev, const cg_ir_program *prog, const void *blob,
                             size_t blob_size, void **handle);
void hip__program_unload(void *dev, void *handle);
cg_pstatus hip__launch(void *dev, void *handle, const cg_launch_args *args);
cg_pstatus hip__synchronize(void *dev);

/* --- render.c --- */
/* Render prog as HIP C (malloc'd, NUL-terminated), or NULL with the reason in err. */
char *hip__render_source(const cg_ir_program *prog, char *err, size_t errlen);
cg_pstatus hip__render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
/* Bit mask of cg_ir_op rendered natively (device_props.native_ops). */
uint64_t hip__native_ops(void);

#endif
