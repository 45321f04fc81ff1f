/* OpenCL runtime shared by the opencl and qcom plugins (cl_runtime.c): ICD loading
 * through dlopen, device enumeration across platforms, buffers, program build/cache,
 * NDRange launches. A plugin supplies a clr_config (its id, which platforms it drives,
 * how it renders) and a function table pointing at the clr_* entry points.
 * Private to these two plugins. */
#ifndef CG_CL_RUNTIME_H
#define CG_CL_RUNTIME_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <cgrad/cstyle.h>
#include <cgrad/plugin_host.h>

/* What the runtime knows about a device when a plugin renders for it. */
typedef struct {
  int fp16, fp64;          /* cl_khr_fp16 / cl_khr_fp64 */
  cl_device_type type;
  char name[128], platform[128];
} clr_devinfo;

typedef struct clr_config {
  const char *id;          /* "opencl" / "qcom": messages and option prefix */
  const char *version;
  const char *nodev;       /* "no OpenCL device" / "no Adreno device" */
  /* Is this platform (name, vendor) one the plugin drives? NULL = every platform. */
  int (*platform_ok)(const char *name, const char *vendor);
  /* Render prog for the device into a malloc'd source (NULL + message on error). */
  char *(*render)(const cg_ir_program *prog, const clr_devinfo *info, char *err, size_t errlen);
  /* Option that lets CPU-kind devices be listed ("CG_OPENCL_CPU"); see cl_runtime.c. */
  const char *cpu_option;
} clr_config;

/* Fills the base OpenCL dialect for a device: half native only with cl_khr_fp16
 * (else emulated through ushort storage), bfloat16 emulated. */
void clr_dialect(cg_cstyle_dialect *d, const clr_devinfo *info);

/* Function-table entry points (the ctx passed to init is the config). */
cg_pstatus clr_init(const clr_config *cfg, void **ctx);
void clr_shutdown(void *ctx);
cg_pstatus clr_device_count(void *ctx, int *count);
cg_pstatus clr_device_props(void *ctx, int index, cg_device_props *props);
cg_pstatus clr_device_open(void *ctx, int index, void **dev);
void clr_device_close(void *dev);
cg_pstatus clr_mem_alloc(void *dev, size_t bytes, void **buf);
void clr_mem_free(void *dev, void *buf);
cg_pstatus clr_copy_in(void *dev, void *buf, size_t offset, const void *src, size_t bytes);
cg_pstatus clr_copy_out(void *dev, void *dst, void *buf, size_t offset, size_t bytes);
cg_pstatus clr_copy_d2d(void *dev, void *dst, size_t dst_off, void *src, size_t src_off, size_t bytes);
cg_pstatus clr_render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
cg_pstatus clr_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob, size_t *blob_size);
cg_pstatus clr_program_load(void *dev, const cg_ir_program *prog, const void *blob, size_t blob_size,
                            void **handle);
void clr_program_unload(void *dev, void *handle);
cg_pstatus clr_launch(void *dev, void *handle, const cg_launch_args *args);
cg_pstatus clr_synchronize(void *dev);
void clr_release(void *ptr);
const char *clr_compiler_id(void *dev);

/* Host services from cg_plugin_entry (each plugin sets it once). */

/* The function-table slots every OpenCL-based plugin shares (all but id, version, init). */
#define CLR_API_SLOTS                                                                      \
  .shutdown = clr_shutdown, .device_count = clr_device_count, .device_props = clr_device_props, \
  .device_open = clr_device_open, .device_close = clr_device_close, .mem_alloc = clr_mem_alloc, \
  .mem_free = clr_mem_free, .copy_in = clr_copy_in, .copy_out = clr_copy_out,                 \
  .copy_d2d = clr_copy_d2d, .render = clr_render, .compile = clr_compile,                     \
  .program_load = clr_program_load, .program_unload = clr_program_unload,                     \
  .launch = clr_launch, .synchronize = clr_synchronize, .release = clr_release,               \
  .compiler_id = clr_compiler_id

#endif
