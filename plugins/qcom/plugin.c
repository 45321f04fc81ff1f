/* qcom plugin: Qualcomm Adreno GPUs through their OpenCL driver. The same OpenCL
 * runtime as the opencl plugin (../opencl/cl_runtime.c), restricted to Qualcomm
 * platforms, with the Adreno-tuned dialect of render.c. Without a Qualcomm platform it
 * has no device and says so ("no Adreno device ..."). For testing on other drivers,
 * CG_QCOM_ANY_PLATFORM=1 accepts every platform (and CG_QCOM_CPU=1 their CPUs). */
#include <ctype.h>
#include <string.h>

#include "cl_runtime.h"
#include "qcom_plugin.h"

static int contains_qualcomm(const char *s) {
  for (; *s; s++)
    if (!strncasecmp(s, "qualcomm", 8)) return 1;
  return 0;
}

static int qc_platform_ok(const char *name, const char *vendor) {
  const char *any = clr_option("CG_QCOM_ANY_PLATFORM");
  if (any && strcmp(any, "0")) return 1;
  return contains_qualcomm(name) || contains_qualcomm(vendor);
}

static const clr_config qc_config = {
    .id = "qcom",
    .version = "0.1.0",
    .nodev = "no Adreno device (no Qualcomm OpenCL platform)",
    .platform_ok = qc_platform_ok,
    .render = qc__render,
    .cpu_option = "CG_QCOM_CPU",
};

static cg_pstatus qc_init(void **ctx) { return clr_init(&qc_config, ctx); }

static const cg_plugin_api qc_api = {
    .struct_size = sizeof(cg_plugin_api),
    .id = "qcom",
    .version = "0.1.0",
    .init = qc_init,
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
  reply->api = &qc_api;
  if (query->host_major != CG_PLUGIN_ABI_MAJOR)
    return clr_error(CG_P_ERR_VERSION, "qcom: plugin ABI %d.%d, host %d.%d", CG_PLUGIN_ABI_MAJOR,
                     CG_PLUGIN_ABI_MINOR, query->host_major, query->host_minor);
  return CG_P_OK;
}
