/* qcom plugin internals: the Adreno renderer hook given to the shared OpenCL runtime. */
#ifndef CG_QCOM_PLUGIN_H
#define CG_QCOM_PLUGIN_H

#include "cl_runtime.h"

char *qc__render(const cg_ir_program *prog, const clr_devinfo *info, char *err, size_t errlen);

#endif
