/* Private header of the Metal plugin: the Objective-C runtime and Metal entry points
 * opened with dlopen, the selectors the plugin sends, and the plugin, device, buffer and
 * program objects shared by plugin.c (table, devices), runtime.c (memory, programs,
 * launches), and render.c (IR -> MSL); messages go through cgrad/plugin_host.h.
 *
 * No Objective-C and no Apple header: the plugin is plain C that talks to Metal through
 * objc_msgSend, each call cast to the method's exact C signature (required on arm64).
 * libobjc and Metal.framework are opened at run time, so the same source builds (and is
 * tested for the no-device path) on Linux, where it reports "no Metal device". */
#ifndef CG_METAL_IMPL_H
#define CG_METAL_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "cgrad/plugin_host.h"

typedef void *mt_id;  /* an Objective-C object (id); NULL is nil */
typedef void *mt_sel; /* a selector (SEL) */
typedef unsigned long mt_uint; /* NSUInteger (64-bit on every Metal platform) */
typedef struct {
  mt_uint width, height, depth;
} mt_size; /* MTLSize */

/* Typed message send: MT_SEND(rt, ret, (mt_id, mt_sel, args...))(obj, sel, args...). */
#define MT_SEND(rt, ret, params) ((ret(*) params)(rt)->msgSend)

/* X(field, selector name) for every message the plugin sends. */
#define MT_SELECTORS(X)                                                                    \
  X(alloc, "alloc")                                                                        \
  X(init, "init")                                                                          \
  X(retain, "retain")                                                                      \
  X(release, "release")                                                                    \
  X(count, "count")                                                                        \
  X(objectAtIndex, "objectAtIndex:")                                                       \
  X(name, "name")                                                                          \
  X(UTF8String, "UTF8String")                                                              \
  X(stringWithUTF8String, "stringWithUTF8String:")                                         \
  X(localizedDescription, "localizedDescription")                                          \
  X(maxThreadsPerThreadgroup, "maxThreadsPerThreadgroup")                                  \
  X(maxThreadgroupMemoryLength, "maxThreadgroupMemoryLength")                              \
  X(recommendedMaxWorkingSetSize, "recommendedMaxWorkingSetSize")                          \
  X(newCommandQueue, "newCommandQueue")                                                    \
  X(newBufferWithLength, "newBufferWithLength:options:")                                   \
  X(contents, "contents")                                                                  \
  X(setFastMathEnabled, "setFastMathEnabled:")                                             \
  X(newLibraryWithSource, "newLibraryWithSource:options:error:")                           \
  X(newFunctionWithName, "newFunctionWithName:")                                           \
  X(newComputePipelineState, "newComputePipelineStateWithFunction:error:")                 \
  X(maxTotalThreadsPerThreadgroup, "maxTotalThreadsPerThreadgroup")                        \
  X(commandBuffer, "commandBuffer")                                                        \
  X(computeCommandEncoder, "computeCommandEncoder")                                        \
  X(blitCommandEncoder, "blitCommandEncoder")                                              \
  X(setComputePipelineState, "setComputePipelineState:")                                   \
  X(setBuffer, "setBuffer:offset:atIndex:")                                                \
  X(setBytes, "setBytes:length:atIndex:")                                                  \
  X(dispatchThreadgroups, "dispatchThreadgroups:threadsPerThreadgroup:")                   \
  X(copyFromBuffer, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:")        \
  X(endEncoding, "endEncoding")                                                            \
  X(commit, "commit")                                                                      \
  X(waitUntilCompleted, "waitUntilCompleted")                                              \
  X(status, "status")                                                                      \
  X(error, "error")                                                                        \
  X(GPUStartTime, "GPUStartTime")                                                          \
  X(GPUEndTime, "GPUEndTime")

/* The Objective-C runtime, Metal entry points, classes and selectors. */
typedef struct mt_runtime {
  void *objc, *metal, *foundation; /* dlopen handles */
  void (*msgSend)(void);           /* objc_msgSend, cast per call (MT_SEND) */
  void (*msgSend_stret)(void);     /* x86_64 only: methods returning large structs */
  mt_id (*getClass)(const char *name);
  mt_sel (*registerName)(const char *name);
  void *(*poolPush)(void);
  void (*poolPop)(void *pool);
  mt_id (*CreateSystemDefaultDevice)(void);
  mt_id (*CopyAllDevices)(void); /* optional (macOS only): NSArray of devices */
  mt_id NSString, MTLCompileOptions;
  struct {
#define MT_SEL_FIELD(f, s) mt_sel f;
    MT_SELECTORS(MT_SEL_FIELD)
#undef MT_SEL_FIELD
  } sel;
} mt_runtime;

/* The plugin context (api->init). */
typedef struct mt_plugin {
  mt_runtime rt;
  int ndev;
  mt_id *devices;         /* ndev MTLDevice objects, retained */
  char why[512];          /* why ndev is 0, for messages */
  struct mt_device *open; /* open devices, closed by shutdown if the host did not */
} mt_plugin;

/* An open device (api->device_open). */
typedef struct mt_device {
  mt_plugin *pl;
  struct mt_device *next; /* in pl->open */
  mt_id dev;              /* MTLDevice (owned by the plugin) */
  mt_id queue;            /* MTLCommandQueue: every launch and copy, in order */
  mt_id last;             /* the last committed MTLCommandBuffer (retained), or NULL */
} mt_device;

/* A buffer in shared storage (MTLResourceStorageModeShared): the host reads and writes
 * its contents directly once queued GPU work has finished. */
typedef struct mt_buffer {
  mt_id buf; /* MTLBuffer */
  char *ptr; /* [buf contents] */
  size_t size;
} mt_buffer;

/* A loaded kernel (api->program_load). */
typedef struct mt_program {
  mt_id lib, fn, pso; /* MTLLibrary, MTLFunction, MTLComputePipelineState */
  uint32_t nparams, nvars;
  mt_uint max_threads; /* pso.maxTotalThreadsPerThreadgroup */
} mt_program;

/* --- runtime.c --- */
/* Open libobjc, Foundation and Metal and list the devices; on failure pl->ndev = 0
 * and pl->why says why. */
void mt__load(mt_plugin *pl);
/* [obj release] when obj is not nil. */
void mt__release(mt_runtime *rt, mt_id obj);
/* UTF-8 text of an NSString (or "" for nil). */
const char *mt__cstr(mt_runtime *rt, mt_id nsstring);
/* Wait for the last committed command buffer; CG_P_ERR_LAUNCH with Metal's message
 * if it failed. */
cg_pstatus mt__wait(mt_device *d);
cg_pstatus mt__mem_alloc(void *dev, size_t bytes, void **buf);
void mt__mem_free(void *dev, void *buf);
cg_pstatus mt__copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes);
cg_pstatus mt__copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes);
cg_pstatus mt__copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                        size_t bytes);
cg_pstatus mt__program_load(void *dev, const cg_ir_program *prog, const void *blob,
                            size_t blob_size, void **handle);
void mt__program_unload(void *dev, void *handle);
cg_pstatus mt__launch(void *dev, void *handle, const cg_launch_args *args);
cg_pstatus mt__synchronize(void *dev);

/* --- render.c --- */
/* Render prog as MSL (malloc'd), or NULL with the reason in err. */
char *mt__render_source(const cg_ir_program *prog, char *err, size_t errlen);
cg_pstatus mt__render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
uint64_t mt__native_ops(void);

#endif
