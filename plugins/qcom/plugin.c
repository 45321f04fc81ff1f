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
  const char *any = cg_host_option("CG_QCOM_ANY_PLATFORM");
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
    CLR_API_SLOTS,
};

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  return cg_plugin_answer(query, reply, &qc_api);
}
