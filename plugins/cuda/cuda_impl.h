/* Private header of the CUDA plugin: the driver/NVRTC entry points opened with dlopen,
 * and the plugin, device, buffer and program objects shared by plugin.c (table, devices),
 * runtime.c (memory, compile, load, launch) and render.c (IR -> CUDA C).
 *
 * libcuda and libnvrtc are never linked: cuda.h and nvrtc.h only give the types, and
 * every call goes through the function pointers below, so the plugin loads on machines
 * without a driver and reports "no CUDA device" there. */
#ifndef CG_CUDA_IMPL_H
#define CG_CUDA_IMPL_H

#include <cuda.h>
#include <nvrtc.h>
#include <stdarg.h>
#include <stddef.h>

#include "cgrad/plugin.h"
#include "cgrad/plugin_host.h"

/* X(field, symbol, fallback symbol or NULL, (parameters)). Symbols are the versioned
 * names the cuda.h macros expand to; the fallback is for older drivers. */
#define CU_DRIVER_FUNCS(X)                                                                 \
  X(Init, "cuInit", NULL, (unsigned int flags))                                            \
  X(DriverGetVersion, "cuDriverGetVersion", NULL, (int *v))                                \
  X(GetErrorName, "cuGetErrorName", NULL, (CUresult e, const char **s))                    \
  X(GetErrorString, "cuGetErrorString", NULL, (CUresult e, const char **s))                \
  X(DeviceGetCount, "cuDeviceGetCount", NULL, (int *n))                                    \
  X(DeviceGet, "cuDeviceGet", NULL, (CUdevice *d, int ordinal))                            \
  X(DeviceGetName, "cuDeviceGetName", NULL, (char *name, int len, CUdevice d))             \
  X(DeviceGetAttribute, "cuDeviceGetAttribute", NULL,                                      \
    (int *v, CUdevice_attribute a, CUdevice d))                                            \
  X(DeviceTotalMem, "cuDeviceTotalMem_v2", NULL, (size_t *bytes, CUdevice d))              \
  X(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain", NULL, (CUcontext *c, CUdevice d))        \
  X(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease",        \
    (CUdevice d))                                                                          \
  X(CtxSetCurrent, "cuCtxSetCurrent", NULL, (CUcontext c))                                 \
  X(StreamCreate, "cuStreamCreate", NULL, (CUstream *s, unsigned int flags))               \
  X(StreamDestroy, "cuStreamDestroy_v2", "cuStreamDestroy", (CUstream s))                  \
  X(StreamSynchronize, "cuStreamSynchronize", NULL, (CUstream s))                          \
  X(EventCreate, "cuEventCreate", NULL, (CUevent *e, unsigned int flags))                  \
  X(EventDestroy, "cuEventDestroy_v2", "cuEventDestroy", (CUevent e))                      \
  X(EventRecord, "cuEventRecord", NULL, (CUevent e, CUstream s))                           \
  X(EventSynchronize, "cuEventSynchronize", NULL, (CUevent e))                             \
  X(EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime",                       \
    (float *ms, CUevent a, CUevent b))                                                     \
  X(MemAlloc, "cuMemAlloc_v2", NULL, (CUdeviceptr *p, size_t bytes))                       \
  X(MemFree, "cuMemFree_v2", NULL, (CUdeviceptr p))                                        \
  X(MemHostAlloc, "cuMemHostAlloc", NULL, (void **p, size_t bytes, unsigned int flags))    \
  X(MemFreeHost, "cuMemFreeHost", NULL, (void *p))                                         \
  X(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", NULL,                                         \
    (CUdeviceptr dst, const void *src, size_t n, CUstream s))                              \
  X(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", NULL,                                         \
    (void *dst, CUdeviceptr src, size_t n, CUstream s))                                    \
  X(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", NULL,                                         \
    (CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s))                              \
  X(ModuleLoadData, "cuModuleLoadData", NULL, (CUmodule *m, const void *image))            \
  X(ModuleUnload, "cuModuleUnload", NULL, (CUmodule m))                                    \
  X(ModuleGetFunction, "cuModuleGetFunction", NULL,                                        \
    (CUfunction *f, CUmodule m, const char *name))                                         \
  X(FuncSetAttribute, "cuFuncSetAttribute", NULL,                                          \
    (CUfunction f, CUfunction_attribute a, int v))                                         \
  X(LaunchKernel, "cuLaunchKernel", NULL,                                                  \
    (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,        \
     unsigned bz, unsigned shmem, CUstream s, void **params, void **extra))

/* Optional driver entry points (CUDA graphs, for the JIT's graph slot): resolved when
 * present; a driver without them leaves them NULL and graph_create answers
 * CG_P_ERR_UNSUPPORTED (the core then replays launch by launch). */
#define CU_DRIVER_OPT_FUNCS(X)                                                             \
  X(GraphCreate, "cuGraphCreate", NULL, (CUgraph *g, unsigned int flags))                  \
  X(GraphDestroy, "cuGraphDestroy", NULL, (CUgraph g))                                     \
  X(GraphAddKernelNode, "cuGraphAddKernelNode_v2", "cuGraphAddKernelNode",                 \
    (CUgraphNode *n, CUgraph g, const CUgraphNode *deps, size_t ndeps,                     \
     const CUDA_KERNEL_NODE_PARAMS *p))                                                    \
  X(GraphInstantiate, "cuGraphInstantiateWithFlags", NULL,                                 \
    (CUgraphExec *e, CUgraph g, unsigned long long flags))                                 \
  X(GraphExecKernelNodeSetParams, "cuGraphExecKernelNodeSetParams_v2",                     \
    "cuGraphExecKernelNodeSetParams",                                                      \
    (CUgraphExec e, CUgraphNode n, const CUDA_KERNEL_NODE_PARAMS *p))                      \
  X(GraphLaunch, "cuGraphLaunch", NULL, (CUgraphExec e, CUstream s))                       \
  X(GraphExecDestroy, "cuGraphExecDestroy", NULL, (CUgraphExec e))

#define CU_NVRTC_FUNCS(X)                                                                  \
  X(Version, "nvrtcVersion", NULL, (int *major, int *minor))                               \
  X(GetNumSupportedArchs, "nvrtcGetNumSupportedArchs", NULL, (int *n))                     \
  X(GetSupportedArchs, "nvrtcGetSupportedArchs", NULL, (int *archs))                       \
  X(CreateProgram, "nvrtcCreateProgram", NULL,                                             \
    (nvrtcProgram *p, const char *src, const char *name, int nh, const char *const *h,     \
     const char *const *hn))                                                               \
  X(DestroyProgram, "nvrtcDestroyProgram", NULL, (nvrtcProgram *p))                        \
  X(CompileProgram, "nvrtcCompileProgram", NULL,                                           \
    (nvrtcProgram p, int nopt, const char *const *opts))                                   \
  X(GetProgramLogSize, "nvrtcGetProgramLogSize", NULL, (nvrtcProgram p, size_t *n))        \
  X(GetProgramLog, "nvrtcGetProgramLog", NULL, (nvrtcProgram p, char *log))                \
  X(GetCUBINSize, "nvrtcGetCUBINSize", NULL, (nvrtcProgram p, size_t *n))                  \
  X(GetCUBIN, "nvrtcGetCUBIN", NULL, (nvrtcProgram p, char *cubin))                        \
  X(GetPTXSize, "nvrtcGetPTXSize", NULL, (nvrtcProgram p, size_t *n))                      \
  X(GetPTX, "nvrtcGetPTX", NULL, (nvrtcProgram p, char *ptx))

/* Driver API entry points (all non-NULL once loaded). */
typedef struct cu_driver {
  void *lib; /* dlopen handle, NULL when libcuda is missing */
#define CU_FIELD(f, sym, alt, params) CUresult (*f) params;
  CU_DRIVER_FUNCS(CU_FIELD)
  CU_DRIVER_OPT_FUNCS(CU_FIELD) /* NULL when the driver lacks them */
#undef CU_FIELD
} cu_driver;

/* NVRTC entry points (all non-NULL once loaded). */
typedef struct cu_nvrtc {
  void *lib;
#define CU_FIELD(f, sym, alt, params) nvrtcResult (*f) params;
  CU_NVRTC_FUNCS(CU_FIELD)
#undef CU_FIELD
  const char *(*GetErrorString)(nvrtcResult r);
  int major, minor;  /* NVRTC version */
  int max_arch;      /* highest sm the library compiles for, e.g. 120 */
} cu_nvrtc;

/* The plugin context (api->init). Owns the libraries. */
typedef struct cu_plugin {
  cu_driver cu;
  cu_nvrtc rtc;
  int ndev;           /* 0 when there is no driver or no device */
  char why[640];      /* why ndev is 0, for messages */
  char rtc_why[256];  /* why NVRTC is missing, empty when loaded */
  struct cu_device *devs; /* open devices, closed by shutdown if the host did not */
} cu_plugin;

/* Pinned staging ring for host copies: two halves so one can be filled while the
 * other is in flight; each half has an event marking when its last copy finished. */
#define CU_STAGE_BYTES ((size_t)8 << 20)

/* An open device (api->device_open). */
typedef struct cu_device {
  cu_plugin *pl;
  struct cu_device *next;  /* in pl->devs */
  int index;
  CUdevice dev;
  CUcontext ctx;           /* the device's primary context (retained) */
  CUstream stream;         /* every copy and launch goes here, in order */
  CUevent t0, t1;          /* kernel timing */
  void *stage[2];          /* pinned halves, CU_STAGE_BYTES each (NULL until first copy) */
  CUevent stage_done[2];   /* recorded after the last copy that used each half */
  int cc_major, cc_minor;  /* compute capability */
  char compiler_id[96];    /* "nvrtc-13.0 sm_90" */
} cu_device;

/* A device allocation (api->mem_alloc). */
typedef struct cu_buffer {
  CUdeviceptr ptr; /* 0 for a zero-byte buffer */
  size_t size;
} cu_buffer;

/* A loaded kernel (api->program_load). */
typedef struct cu_program {
  CUmodule mod;
  CUfunction fn;
  uint32_t nparams, nvars;
  uint32_t smem;   /* dynamic shared memory bytes per launch (DEFINE_LOCALs over 48 KB) */
} cu_program;

/* One recorded launch of a graph (graph_create): its program, the node in the
 * instantiated graph, the argument values the node currently holds (params[] points
 * into ptrs[] then vals[]) and the values recorded at graph_create. */
typedef struct cu_gnode {
  const cu_program *prog;
  CUgraphNode node;
  CUDA_KERNEL_NODE_PARAMS kp;  /* func, dims, shared memory, kernelParams = params */
  void **params;
  CUdeviceptr *ptrs, *rec_ptrs; /* rec_ptrs: second half of the ptrs allocation */
  int *vals, *rec_vals;
  unsigned rec_dims[6];        /* grid x,y,z, block x,y,z as recorded */
} cu_gnode;

/* A recorded chain of launches (api->graph_create), replayed with cuGraphLaunch. */
typedef struct cu_graph {
  CUgraph graph;
  CUgraphExec exec;
  uint32_t n;
  cu_gnode *nodes;
  CUdeviceptr *tmp_ptrs;       /* scratch for graph_launch: the most params of a node */
  int *tmp_vals;               /* and the most variables */
} cu_graph;

/* --- plugin.c --- */
/* Messages, logs and options go through the SDK's host services (cgrad/plugin_host.h):
 * cu__error(status, fmt, ...) records a message and returns status; cu__log(level, fmt,
 * ...) logs; cu__option(key) is the host option (CUDA_PATH...) or the environment, NULL
 * when unset or empty. */
#define cu__error cg_host_error
#define cu__log cg_host_log
#define cu__option cg_host_option
/* Record "<what>: <CUDA error name> (<description>)" and return status. */
cg_pstatus cu__cuerror(cu_plugin *pl, cg_pstatus status, CUresult r, const char *what);

/* --- runtime.c --- */
cg_pstatus cu__mem_alloc(void *dev, size_t bytes, void **buf);
void cu__mem_free(void *dev, void *buf);
cg_pstatus cu__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes);
cg_pstatus cu__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes);
cg_pstatus cu__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                        size_t bytes);
cg_pstatus cu__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                       size_t *blob_size);
cg_pstatus cu__program_load(void *dev, const cg_ir_program *prog, const void *blob,
                            size_t blob_size, void **handle);
void cu__program_unload(void *dev, void *handle);
cg_pstatus cu__launch(void *dev, void *handle, const cg_launch_args *args);
cg_pstatus cu__synchronize(void *dev);
cg_pstatus cu__graph_create(void *dev, uint32_t n, void *const *handles, const cg_launch_args *args,
                            void **graph);
cg_pstatus cu__graph_launch(void *dev, void *graph, const cg_launch_args *args);
void cu__graph_free(void *dev, void *graph);
/* Free the staging ring and events of a device (device_close). */
void cu__device_release_staging(cu_device *d);

/* --- render.c --- */
cg_pstatus cu__render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
/* Bit mask of cg_ir_op rendered natively (device_props.native_ops). */
uint64_t cu__native_ops(void);

#endif
