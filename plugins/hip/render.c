/* HIP plugin renderer: IR -> HIP C through the SDK's cstyle renderer, with this
 * plugin's own dialect table (the SDK's cg_cstyle_hip is a starting point; this one is
 * what the plugin compiles and tests).
 *
 * Kernel: extern "C" __global__ void __launch_bounds__(threads) name(T *data0, ...,
 * const int var0, ...); group/local ids are blockIdx/threadIdx, local memory is
 * __shared__ (LDS), the barrier __syncthreads(). The source includes no header: hiprtc
 * provides the HIP device built-ins implicitly.
 *  - float16 and bfloat16 are stored as unsigned short and computed in float, rounded to
 *    nearest even after every op (the cstyle EMULATED mode): the ref plugin's semantics
 *    exactly, on every gfx target;
 *  - vectors are cg_v<T, N>, a small aligned array struct indexed with [] (HIP's vector
 *    types lack bool/half lanes and widths 8 and 16);
 *  - vector memory accesses go lane by lane: the IR does not promise alignment;
 *  - bit casts use __builtin_bit_cast (clang).
 * No WMMA yet (MFMA / RDNA3 WMMA are future work): render fails for WMMA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "hip_impl.h"

static const char hip_preamble[] =
    "#define CG_FN static __device__ __forceinline__\n"
    "CG_FN unsigned int cg_f2u(float f) { return __float_as_uint(f); }\n"
    "CG_FN float cg_u2f(unsigned int u) { return __uint_as_float(u); }\n"
    "__host__ __device__ constexpr unsigned long cg_align(unsigned long n) {\n"
    "  return (n & 15) == 0 ? 16 : (n & 7) == 0 ? 8 : (n & 3) == 0 ? 4 : (n & 1) == 0 ? 2 : 1;\n"
    "}\n"
    "template <class T, int N> struct alignas(cg_align(sizeof(T) * N)) cg_v {\n"
    "  T v[N];\n"
    "  __device__ T &operator[](int i) { return v[i]; }\n"
    "  __device__ const T &operator[](int i) const { return v[i]; }\n"
    "};\n";

static const cg_cstyle_dialect hip_dialect = {
    .lang = "hip",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "extern \"C\" __global__ void",
    .launch_bounds_fmt = "__launch_bounds__(%u)",
    .func_prefix = "CG_FN",
    .buf_qual = {"", "", "", ""},
    .var_param_type = "const int",
    .group_id = {"blockIdx.x", "blockIdx.y", "blockIdx.z"},
    .local_id = {"threadIdx.x", "threadIdx.y", "threadIdx.z"},
    .barrier = "__syncthreads();",
    .local_decl = "__shared__ ",
    .type_names = {[CG_IR_BOOL] = "bool", [CG_IR_INT8] = "signed char", [CG_IR_INT16] = "short",
                   [CG_IR_INT32] = "int", [CG_IR_INT64] = "long long",
                   [CG_IR_UINT8] = "unsigned char", [CG_IR_UINT16] = "unsigned short",
                   [CG_IR_UINT32] = "unsigned int", [CG_IR_UINT64] = "unsigned long long",
                   [CG_IR_FLOAT16] = "unsigned short", [CG_IR_BFLOAT16] = "unsigned short",
                   [CG_IR_FLOAT32] = "float", [CG_IR_FLOAT64] = "double", [CG_IR_VOID] = "void"},
    .bool_mem_type = NULL,
    .half_mode = CG_CSTYLE_F16_EMULATED,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_INDEX,
    .vmem = CG_CSTYLE_VMEM_LANES,
    .vec_type_fmt = "cg_v<%s, %d>",
    .vec_typedef = 0,
    .vec_ctor_fmt = "%s{",
    .vec_ctor_close = "}",
    .bitcast_fmt = "__builtin_bit_cast(%s, ",
    .math = {[CG_CSTYLE_M_EXP2] = {"exp2f", "exp2"},
             [CG_CSTYLE_M_LOG2] = {"log2f", "log2"},
             [CG_CSTYLE_M_SIN] = {"sinf", "sin"},
             [CG_CSTYLE_M_SQRT] = {"sqrtf", "sqrt"},
             [CG_CSTYLE_M_TRUNC] = {"truncf", "trunc"},
             [CG_CSTYLE_M_POW] = {"powf", "pow"}},
    .inf_f32 = "__builtin_inff()",
    .nan_f32 = "__builtin_nanf(\"\")",
    .suffix_i64 = "LL",
    .suffix_u64 = "ULL",
    .preamble = hip_preamble,
    .wmma = NULL,
};

char *hip__render_source(const cg_ir_program *prog, char *err, size_t errlen) {
  return cg_cstyle_render(prog, &hip_dialect, err, errlen);
}

cg_pstatus hip__render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[512];
  char *s = hip__render_source(prog, err, sizeof err);
  if (!s) return cg_host_error(CG_P_ERR_UNSUPPORTED, "hip: render failed: %s", err);
  *src = s;
  *lang = "hip";
  return CG_P_OK;
}

uint64_t hip__native_ops(void) {
  uint64_t m = 0;
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) m |= 1ull << op;
  return m | 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
}
