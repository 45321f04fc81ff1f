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
    CLR_API_SLOTS,
    .caps = CG_API_CAP_CONCURRENT_COMPILE, /* clBuildProgram is thread-safe (OpenCL 1.1+) */
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &ocl_api);
}
