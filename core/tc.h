/* Tensor-core (WMMA) kernels: the TC opt of the optimizer (opt.c hooks into these).
 * A kernel qualifies when it is f(SUM over one reduce axis of MUL(x, y)), x and y loads
 * of the same 16-bit float type (optionally CAST to f32), f elementwise over constants
 * and loads, every index affine in the loop variables; see core/tc.c, docs/internals.md. */
#ifndef CG_TC_H
#define CG_TC_H
#include "schedule.h"

/* Finds the TC candidate of the kernel computing root (plan->tc_in, tc_m, tc_n). */
void cg__tc_init(UOp *root, cg_plan *plan);
/* Applies the TC opt {TC, K axis, K} if legal for the device: 0, else -1 (plan unchanged). */
int cg__tc_apply(cg_plan *plan, cg_opt o, const cg_device_props *props);
/* Whether opt o may follow the TC opt (the general checks of plan_apply still run). */
bool cg__tc_allows(const cg_plan *plan, cg_opt o, const cg_device_props *props);
/* Default TC plan for a candidate on a device with a matching shape; true if applied. */
bool cg__tc_heuristic(cg_plan *plan, const cg_device_props *props);
/* Lowering of a plan with the TC opt: the kernel AST without opts (the pattern that
 * cg__tc_linearize reads), launch dims and plan of the tensor-core kernel. 0 or -1. */
int cg__tc_lower(UOp *root, const cg_device_props *props, const cg_plan *plan, cg_kernel *k);
/* IR of a kernel lowered by cg__tc_lower (malloc'd) or NULL with the error set. */
cg_ir_program *cg__tc_linearize(const cg_kernel *k);
#endif
