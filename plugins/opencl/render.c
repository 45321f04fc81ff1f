/* opencl plugin, dialect glue: the SDK's OpenCL C dialect adjusted per device
 * (half native only with cl_khr_fp16, no double without cl_khr_fp64). */
#include <stdlib.h>

#include "cl_runtime.h"
#include "opencl_plugin.h"

char *ocl__render(const cg_ir_program *prog, const clr_devinfo *info, char *err, size_t errlen) {
  cg_cstyle_dialect d;
  clr_dialect(&d, info);
  return cg_cstyle_render(prog, &d, err, errlen);
}
