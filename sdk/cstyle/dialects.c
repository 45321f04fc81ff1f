/* cstyle dialect tables: how C, OpenCL C, CUDA, HIP and Metal spell the parts of a
 * kernel that differ. Plugins copy one of these and adjust fields for their device
 * (see <cgrad/cstyle.h> for the meaning of each field). Only c and opencl are tested
 * in-tree; cuda/hip/metal are starting points refined by their plugins. */
#include <cgrad/cstyle.h>

#include "cstyle_impl.h"

/* Names shared by C-like libms: float and double variants. */
#define CG_MATH_LIBM                                                                 \
  {{"exp2f", "exp2"}, {"log2f", "log2"}, {"sinf", "sin"}, {"sqrtf", "sqrt"},          \
   {"truncf", "trunc"}, {"powf", "pow"}}
/* Overloaded names (OpenCL C, Metal). */
#define CG_MATH_OVERLOADED                                                           \
  {{"exp2", "exp2"}, {"log2", "log2"}, {"sin", "sin"}, {"sqrt", "sqrt"},              \
   {"trunc", "trunc"}, {"pow", "pow"}}

const cg_cstyle_dialect cg_cstyle_c = {
    .lang = "c",
    .signature = CG_CSTYLE_SIG_C_RANGE,
    .kernel_prefix = "void",
    .func_prefix = "static inline",
    .group_id = {"cg_i0", "cg_i1", "cg_i2"}, /* see CG_CSTYLE_SIG_C_RANGE */
    .local_id = {"0", "0", "0"},
    .type_names = {"_Bool", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
                   "uint64_t", "uint16_t", "uint16_t", "float", "double", "void"},
    .bool_mem_type = "uint8_t",
    .half_mode = CG_CSTYLE_F16_EMULATED,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_INDEX,
    .vmem = CG_CSTYLE_VMEM_CAST,
    .vec_type_fmt = "%s_v%d",
    .vec_typedef = 1,
    .vec_ctor_fmt = "(%s){",
    .vec_ctor_close = "}",
    .math = CG_MATH_LIBM,
    .inf_f32 = "__builtin_inff()",
    .nan_f32 = "__builtin_nanf(\"\")",
    .suffix_i64 = "LL",
    .suffix_u64 = "ULL",
    /* no #include: parsing system headers would dominate the compile time */
    .preamble = "typedef __INT8_TYPE__ int8_t;\ntypedef __INT16_TYPE__ int16_t;\ntypedef __INT32_TYPE__ int32_t;\n"
                "typedef __INT64_TYPE__ int64_t;\ntypedef __UINT8_TYPE__ uint8_t;\ntypedef __UINT16_TYPE__ uint16_t;\n"
                "typedef __UINT32_TYPE__ uint32_t;\ntypedef __UINT64_TYPE__ uint64_t;\n"
                "void *memcpy(void *, const void *, __SIZE_TYPE__);\n"
                "float exp2f(float); float log2f(float); float sinf(float); float sqrtf(float);\n"
                "float truncf(float); float powf(float, float);\n"
                "double exp2(double); double log2(double); double sin(double); double sqrt(double);\n"
                "double trunc(double); double pow(double, double);\n"
                "static inline uint32_t cg_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }\n"
                "static inline float cg_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }\n",
};

const cg_cstyle_dialect cg_cstyle_opencl = {
    .lang = "opencl",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "__kernel void",
    .func_prefix = "static inline",
    .buf_qual = {[CG_IR_AS_GLOBAL] = "__global ", [CG_IR_AS_LOCAL] = "__local "},
    .var_param_type = "const int",
    .group_id = {"get_group_id(0)", "get_group_id(1)", "get_group_id(2)"},
    .local_id = {"get_local_id(0)", "get_local_id(1)", "get_local_id(2)"},
    .barrier = "barrier(CLK_LOCAL_MEM_FENCE);",
    .local_decl = "__local ",
    .type_names = {"bool", "char", "short", "int", "long", "uchar", "ushort", "uint", "ulong", "half", "ushort",
                   "float", "double", "void"},
    .bool_mem_type = "uchar",
    .half_mode = CG_CSTYLE_F16_NATIVE,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_S,
    .vmem = CG_CSTYLE_VMEM_VLOAD,
    .vec_type_fmt = "%s%d",
    .vec_ctor_fmt = "(%s)(",
    .vec_ctor_close = ")",
    .bitcast_fmt = "as_%s(",
    .math = CG_MATH_OVERLOADED,
    .inf_f32 = "INFINITY",
    .nan_f32 = "NAN",
    .suffix_i64 = "L",
    .suffix_u64 = "UL",
    .preamble = "#pragma OPENCL FP_CONTRACT OFF\n#define cg_f2u(x) as_uint(x)\n#define cg_u2f(x) as_float(x)\n",
    .half_preamble = "#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n",
    .f64_preamble = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n",
};

/* CUDA/HIP scalar names that have vector forms (char4, longlong4, ...). */
#define CG_CUDA_TYPEDEFS                                                             \
  "typedef unsigned char uchar;\ntypedef unsigned short ushort;\ntypedef unsigned int uint;\n" \
  "typedef long long longlong;\ntypedef unsigned long long ulonglong;\n"

const cg_cstyle_dialect cg_cstyle_cuda = {
    .lang = "cuda",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "extern \"C\" __global__ void",
    .launch_bounds_fmt = "__launch_bounds__(%u)",
    .func_prefix = "static __device__ __forceinline__",
    .var_param_type = "const int",
    .group_id = {"blockIdx.x", "blockIdx.y", "blockIdx.z"},
    .local_id = {"threadIdx.x", "threadIdx.y", "threadIdx.z"},
    .barrier = "__syncthreads();",
    .local_decl = "__shared__ ",
    .type_names = {"bool", "char", "short", "int", "longlong", "uchar", "ushort", "uint", "ulonglong", "half",
                   "ushort", "float", "double", "void"},
    .bool_mem_type = "uchar",
    .half_mode = CG_CSTYLE_F16_NATIVE,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_XYZW,
    .vmem = CG_CSTYLE_VMEM_CAST,
    .vec_type_fmt = "%s%d",
    .vec_ctor_fmt = "make_%s(",
    .vec_ctor_close = ")",
    .math = CG_MATH_LIBM,
    .inf_f32 = "__int_as_float(0x7f800000)",
    .nan_f32 = "__int_as_float(0x7fffffff)",
    .suffix_i64 = "LL",
    .suffix_u64 = "ULL",
    .preamble = CG_CUDA_TYPEDEFS "#define cg_f2u(x) __float_as_uint(x)\n#define cg_u2f(x) __uint_as_float(x)\n",
    .half_preamble = "#include <cuda_fp16.h>\n",
};

const cg_cstyle_dialect cg_cstyle_hip = {
    .lang = "hip",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "extern \"C\" __global__ void",
    .launch_bounds_fmt = "__launch_bounds__(%u)",
    .func_prefix = "static __device__ inline",
    .var_param_type = "const int",
    .group_id = {"blockIdx.x", "blockIdx.y", "blockIdx.z"},
    .local_id = {"threadIdx.x", "threadIdx.y", "threadIdx.z"},
    .barrier = "__syncthreads();",
    .local_decl = "__shared__ ",
    .type_names = {"bool", "char", "short", "int", "longlong", "uchar", "ushort", "uint", "ulonglong",
                   "_Float16", "ushort", "float", "double", "void"},
    .bool_mem_type = "uchar",
    .half_mode = CG_CSTYLE_F16_NATIVE,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_XYZW,
    .vmem = CG_CSTYLE_VMEM_CAST,
    .vec_type_fmt = "%s%d",
    .vec_ctor_fmt = "make_%s(",
    .vec_ctor_close = ")",
    .math = CG_MATH_LIBM,
    .inf_f32 = "__builtin_inff()",
    .nan_f32 = "__builtin_nanf(\"\")",
    .suffix_i64 = "LL",
    .suffix_u64 = "ULL",
    .preamble = "#include <hip/hip_runtime.h>\n" CG_CUDA_TYPEDEFS
                "#define cg_f2u(x) __float_as_uint(x)\n#define cg_u2f(x) __uint_as_float(x)\n",
};

const cg_cstyle_dialect cg_cstyle_metal = {
    .lang = "metal",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "kernel void",
    .func_prefix = "static inline",
    .buf_qual = {[CG_IR_AS_GLOBAL] = "device ", [CG_IR_AS_LOCAL] = "threadgroup ", [CG_IR_AS_REG] = "thread "},
    .param_attr_fmt = " [[buffer(%d)]]",
    .var_param_type = "constant int&",
    .extra_params = "uint3 gid [[threadgroup_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]]",
    .group_id = {"gid.x", "gid.y", "gid.z"},
    .local_id = {"lid.x", "lid.y", "lid.z"},
    .barrier = "threadgroup_barrier(mem_flags::mem_threadgroup);",
    .local_decl = "threadgroup ",
    .type_names = {"bool", "char", "short", "int", "long", "uchar", "ushort", "uint", "ulong", "half", "ushort",
                   "float", NULL, "void"},
    .bool_mem_type = "uchar",
    .half_mode = CG_CSTYLE_F16_NATIVE,
    .bf16_mode = CG_CSTYLE_F16_EMULATED,
    .lane = CG_CSTYLE_LANE_INDEX,
    .vmem = CG_CSTYLE_VMEM_LANES,
    .vec_type_fmt = "%s%d",
    .vec_ctor_fmt = "%s(",
    .vec_ctor_close = ")",
    .bitcast_fmt = "as_type<%s>(",
    .math = CG_MATH_OVERLOADED,
    .inf_f32 = "INFINITY",
    .nan_f32 = "NAN",
    .suffix_i64 = "L",
    .suffix_u64 = "UL",
    .preamble = "#include <metal_stdlib>\nusing namespace metal;\n"
                "#define cg_f2u(x) as_type<uint>(x)\n#define cg_u2f(x) as_type<float>(x)\n",
};

/* 16-bit float helpers, round-to-nearest-even. $P = helper prefix, $F float, $U uint32,
 * $H uint16. Needs cg_f2u / cg_u2f from the dialect preamble. */
const char cg__cstyle_half_tpl[] =
    "$P $F cg_h2f($H h) {\n"
    "  $U s = ($U)(h & 0x8000u) << 16, e = ($U)(h >> 10) & 0x1fu, m = ($U)h & 0x3ffu;\n"
    "  if (e == 0x1fu) return cg_u2f(s | 0x7f800000u | (m << 13));\n"
    "  if (e == 0u) { $F f = ($F)m * 5.9604644775390625e-8f; return s ? -f : f; }\n"
    "  return cg_u2f(s | ((e + 112u) << 23) | (m << 13));\n"
    "}\n"
    "$P $H cg_f2h($F f) {\n"
    "  $U u = cg_f2u(f), s = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;\n"
    "  if (a > 0x7f800000u) return ($H)(s | 0x7e00u);\n"
    "  if (a >= 0x477ff000u) return ($H)(s | 0x7c00u);\n"
    "  if (a < 0x38800000u) {\n"
    "    $U sh = 126u - (a >> 23), m = (a & 0x7fffffu) | 0x800000u;\n"
    "    if (sh > 24u) return ($H)s;\n"
    "    $U q = m >> sh, rem = m & ((1u << sh) - 1u), tie = 1u << (sh - 1u);\n"
    "    if (rem > tie || (rem == tie && (q & 1u))) q++;\n"
    "    return ($H)(s | q);\n"
    "  }\n"
    "  a -= 0x38000000u;\n"
    "  return ($H)(s | ((a + 0x0fffu + ((a >> 13) & 1u)) >> 13));\n"
    "}\n"
    "$P $F cg_rh($F f) { return cg_h2f(cg_f2h(f)); }\n";
const char cg__cstyle_bf16_tpl[] =
    "$P $F cg_b2f($H b) { return cg_u2f(($U)b << 16); }\n"
    "$P $H cg_f2b($F f) {\n"
    "  $U u = cg_f2u(f);\n"
    "  if ((u & 0x7fffffffu) > 0x7f800000u) return ($H)(((u >> 16) & 0x8000u) | 0x7fc0u);\n"
    "  return ($H)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);\n"
    "}\n"
    "$P $F cg_rb($F f) { return cg_b2f(cg_f2b(f)); }\n";
