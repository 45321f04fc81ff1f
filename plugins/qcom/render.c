/* qcom plugin, Adreno dialect: OpenCL C as for any device (half native with
 * cl_khr_fp16, which Adreno GPUs have), plus reqd_work_group_size from the program's
 * local dims so the Adreno compiler can size registers and waves for the exact
 * work-group (the program is always launched with those dims). */
#include <stdio.h>

#include "qcom_plugin.h"

char *qc__render(const cg_ir_program *prog, const clr_devinfo *info, char *err, size_t errlen) {
  cg_cstyle_dialect d;
  char prefix[160];
  clr_dialect(&d, info);
  snprintf(prefix, sizeof prefix, "__kernel __attribute__((reqd_work_group_size(%u, %u, %u))) void",
           prog->local[0] ? prog->local[0] : 1, prog->local[1] ? prog->local[1] : 1, prog->local[2] ? prog->local[2] : 1);
  d.kernel_prefix = prefix;
  return cg_cstyle_render(prog, &d, err, errlen);
}
