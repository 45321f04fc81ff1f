/* opencl plugin internals: the renderer hook given to the shared runtime. */
#ifndef CG_OPENCL_PLUGIN_H
#define CG_OPENCL_PLUGIN_H

#include "cl_runtime.h"

char *ocl__render(const cg_ir_program *prog, const clr_devinfo *info, char *err, size_t errlen);

#endif
