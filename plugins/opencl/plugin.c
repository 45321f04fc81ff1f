/* opencl plugin: the entry point and function table over the shared OpenCL runtime
 * (cl_runtime.c). Drives every OpenCL platform through the ICD loader; CPU-kind
 * devices are listed only with CG_OPENCL_CPU=1 or BACKEND=OPENCL (see cl_runtime.c). */
#include "cl_runtime.h"
#include "opencl_plugin.h"

static const clr_config ocl_config = {
    .id = "opencl",
    .version = "0.1.0",
    .nodev = "no OpenCL device",
    .platform_ok = NULL,
    .render = ocl__render,
    .cpu_option = "CG_OPENCL_CPU",
};

static cg_pstatus ocl_init(void **ctx) { return clr_init(&ocl_config, ctx); }

static const cg_plugin_api ocl_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "opencl",
    .version = "0.1.0",
    .init = ocl_init,
    .shutdown = clr_shutdown,
    .device_count = clr_device_count,
    .device_props = clr_device_props,
    .device_open = clr_device_open,
    .device_close = clr_device_close,
    .mem_alloc = clr_mem_alloc,
    .mem_free = clr_mem_free,
    .copy_in = clr_copy_in,
    .copy_out = clr_copy_out,
    .copy_d2d = clr_copy_d2d,
    .render = clr_render,
    .compile = clr_compile,
    .program_load = clr_program_load,
    .program_unload = clr_program_unload,
    .launch = clr_launch,
    .synchronize = clr_synchronize,
    .release = clr_release,
    .compiler_id = clr_compiler_id,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  if (!query || !reply || reply->struct_size < sizeof(cg_plugin_reply)) return CG_P_ERR_INVALID;
  if (query->struct_size >= offsetof(cg_plugin_query, host) + sizeof(void *)) clr_set_host(query->host);
  reply->major = CG_PLUGIN_ABI_MAJOR;
  reply->minor = CG_PLUGIN_ABI_MINOR;
  reply->api = &ocl_api;
  if (query->host_major != CG_PLUGIN_ABI_MAJOR)
    return clr_error(CG_P_ERR_VERSION, "opencl: plugin ABI %d.%d, host %d.%d", CG_PLUGIN_ABI_MAJOR,
                     CG_PLUGIN_ABI_MINOR, query->host_major, query->host_minor);
  return CG_P_OK;
}
