/* Metal plugin renderer: IR -> Metal Shading Language through the SDK's cstyle
 * renderer, with this plugin's own dialect table.
 *
 * Kernel: kernel void name(device T* data0 [[buffer(0)]], ..., constant int& var0
 * [[buffer(n)]], ..., uint3 gid [[threadgroup_position_in_grid]], uint3 lid
 * [[thread_position_in_threadgroup]]); DEFINE_LOCAL is a threadgroup array, BARRIER is
 * threadgroup_barrier(mem_flags::mem_threadgroup).
 *  - float16 is Metal's native half (math functions go through float);
 *  - bfloat16 is stored as ushort and computed in float, rounded to nearest even after
 *    every op (cstyle EMULATED; Metal's own bfloat needs MSL 3.1 and Apple8+ GPUs);
 *  - no float64 (Metal has no double): render fails with a clear message;
 *  - vectors are Metal's T2/T3/T4 (bool lanes as uchar), read and written lane by lane
 *    (the IR does not promise alignment); wider vectors are refused;
 *  - bit casts are as_type<T>(x).
 * The runtime compiles with fast math off, so the IEEE semantics of the IR hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>
#include <cgrad/ir_util.h>

#include "metal_impl.h"

static const cg_cstyle_dialect metal_dialect = {
    .lang = "metal",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "kernel void",
    .launch_bounds_fmt = NULL, /* [[max_total_threads_per_threadgroup]] must precede `kernel` */
    .func_prefix = "static inline",
    .buf_qual = {[CG_IR_AS_GLOBAL] = "device ", [CG_IR_AS_LOCAL] = "threadgroup ",
                 [CG_IR_AS_REG] = "thread "},
    .param_attr_fmt = " [[buffer(%d)]]",
    .var_param_type = "constant int&",
    .extra_params = "uint3 gid [[threadgroup_position_in_grid]], "
                    "uint3 lid [[thread_position_in_threadgroup]]",
    .group_id = {"gid.x", "gid.y", "gid.z"},
    .local_id = {"lid.x", "lid.y", "lid.z"},
    .barrier = "threadgroup_barrier(mem_flags::mem_threadgroup);",
    .local_decl = "threadgroup ",
    .type_names = {[CG_IR_BOOL] = "bool", [CG_IR_INT8] = "char", [CG_IR_INT16] = "short",
                   [CG_IR_INT32] = "int", [CG_IR_INT64] = "long", [CG_IR_UINT8] = "uchar",
                   [CG_IR_UINT16] = "ushort", [CG_IR_UINT32] = "uint", [CG_IR_UINT64] = "ulong",
                   [CG_IR_FLOAT16] = "half", [CG_IR_BFLOAT16] = "ushort",
                   [CG_IR_FLOAT32] = "float", [CG_IR_FLOAT64] = NULL, [CG_IR_VOID] = "void"},
    .bool_mem_type = "uchar",
    .half_mode = CG_CSTYLE_F16_NATIVE,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_INDEX,
    .vmem = CG_CSTYLE_VMEM_LANES,
    .vec_type_fmt = "%s%d",
    .vec_typedef = 0,
    .vec_ctor_fmt = "%s(",
    .vec_ctor_close = ")",
    .bitcast_fmt = "as_type<%s>(",
    .math = {[CG_CSTYLE_M_EXP2] = {"exp2", "exp2"},
             [CG_CSTYLE_M_LOG2] = {"log2", "log2"},
             [CG_CSTYLE_M_SIN] = {"sin", "sin"},
             [CG_CSTYLE_M_SQRT] = {"sqrt", "sqrt"},
             [CG_CSTYLE_M_TRUNC] = {"trunc", "trunc"},
             [CG_CSTYLE_M_POW] = {"pow", "pow"}},
    .inf_f32 = "INFINITY",
    .nan_f32 = "NAN",
    .suffix_i64 = "L",
    .suffix_u64 = "UL",
    .preamble = "#include <metal_stdlib>\nusing namespace metal;\n"
                "#define cg_f2u(x) as_type<uint>(x)\n#define cg_u2f(x) as_type<float>(x)\n",
    .wmma = NULL, /* simdgroup_matrix later */
};

/* Metal-only limits are checked on verified IR; invalid IR is left to the renderer,
 * which reports it. */
char *mt__render_source(const cg_ir_program *prog, char *err, size_t errlen) {
  char verr[256];
  if (!prog || cg_ir_verify(prog, prog->total_size, verr, sizeof verr))
    return cg_cstyle_render(prog, &metal_dialect, err, errlen);
  const cg_ir_inst *ins = cg_ir_insts(prog);
  for (uint32_t i = 0; i < prog->ninsts; i++)
    if (ins[i].type.vec > 4) {
      snprintf(err, errlen, "metal: inst %u: vectors wider than 4 lanes do not exist in Metal", i);
      return NULL;
    }
  return cg_cstyle_render(prog, &metal_dialect, err, errlen);
}

cg_pstatus mt__render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[512];
  char *s = mt__render_source(prog, err, sizeof err);
  if (!s) return cg_host_error(CG_P_ERR_UNSUPPORTED, "metal: render failed: %s", err);
  *src = s;
  *lang = "metal";
  return CG_P_OK;
}

uint64_t mt__native_ops(void) {
  uint64_t m = 0;
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) m |= 1ull << op;
  return m | 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
}
