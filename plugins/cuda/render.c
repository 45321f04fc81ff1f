/* CUDA plugin renderer: IR -> CUDA C through the SDK's cstyle renderer, with this
 * plugin's own dialect table.
 *
 * Kernel: extern "C" __global__ void __launch_bounds__(threads) name(T *data0, ...,
 * const int var0, ...); group/local ids are blockIdx/threadIdx. The source includes no
 * header, so NVRTC compiles it fast and the same way everywhere:
 *  - float16 and bfloat16 are stored as unsigned short and computed in float, rounded
 *    to nearest even after every op (the cstyle EMULATED mode): the ref plugin's
 *    semantics exactly, and none of cuda_fp16.h's ambiguous operator overloads. The
 *    float16 conversions are the hardware's cvt instructions (NaNs made canonical as
 *    the portable helpers make them);
 *  - vectors are cg_v<T, N>, a small aligned array struct indexed with [] (CUDA's
 *    builtin vector types lack half/bool and widths 8 and 16);
 *  - vector loads/stores of global and shared memory go through cg_vload/cg_vstore:
 *    one wide access (ld.global.v4 for 16 bytes) when the address is aligned to the
 *    vector's size, element by element otherwise (the IR does not promise alignment;
 *    the test is uniform across a warp in practice and costs two integer ops). Shared
 *    memory accesses whose offset the cstyle renderer proves aligned (local_align: the
 *    arrays are 16-byte aligned, and the index has a known power-of-two factor) are a
 *    direct *(cg_v<T, N> *) access with no test and no branch;
 *  - shared memory: DEFINE_LOCAL arrays are static __shared__ arrays up to 48 KB in all;
 *    above, they are slices of one dynamic shared array and program_load raises the
 *    kernel's dynamic shared memory limit (up to the device's opt-in maximum).
 * WMMA renders as one mma.sync.m16n8k16 (fp32 accumulate), see cu_wmma below and the
 * fragment layout in docs/ir.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "cuda_impl.h"

static const char cuda_preamble[] =
    "#define CG_FN static __device__ __forceinline__\n"
    "__device__ __forceinline__ unsigned int cg_f2u(float f) { return __float_as_uint(f); }\n"
    "__device__ __forceinline__ float cg_u2f(unsigned int u) { return __uint_as_float(u); }\n"
    "__host__ __device__ constexpr unsigned long cg_align(unsigned long n) {\n"
    "  return (n & 15) == 0 ? 16 : (n & 7) == 0 ? 8 : (n & 3) == 0 ? 4 : (n & 1) == 0 ? 2 : 1;\n"
    "}\n"
    "template <class T, int N> struct alignas(cg_align(sizeof(T) * N)) cg_v {\n"
    "  T v[N];\n"
    "  __device__ T &operator[](int i) { return v[i]; }\n"
    "  __device__ const T &operator[](int i) const { return v[i]; }\n"
    "};\n"
    "template <class T, int N> __device__ __forceinline__ cg_v<T, N> cg_vload(const T *p) {\n"
    "  if (((unsigned long long)p & (alignof(cg_v<T, N>) - 1)) == 0) return *(const cg_v<T, N> *)p;\n"
    "  cg_v<T, N> v;\n"
    "#pragma unroll\n"
    "  for (int k = 0; k < N; k++) v[k] = p[k];\n"
    "  return v;\n"
    "}\n"
    "template <class T, int N> __device__ __forceinline__ void cg_vstore(T *p, const cg_v<T, N> &v) {\n"
    "  if (((unsigned long long)p & (alignof(cg_v<T, N>) - 1)) == 0) { *(cg_v<T, N> *)p = v; return; }\n"
    "#pragma unroll\n"
    "  for (int k = 0; k < N; k++) p[k] = v[k];\n"
    "}\n";

/* float16 <-> float with the hardware's conversions; NaNs come out as the portable
 * helpers (and the ref plugin) make them: quiet, sign kept, payload shifted. */
static const char cuda_half_helpers[] =
    "CG_FN float cg_h2f(unsigned short h) {\n"
    "  float f;\n"
    "  asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(h));\n"
    "  if ((h & 0x7fffu) > 0x7c00u)\n"
    "    return __uint_as_float(((unsigned int)(h & 0x8000u) << 16) | 0x7f800000u | ((unsigned int)(h & 0x3ffu) << 13));\n"
    "  return f;\n"
    "}\n"
    "CG_FN unsigned short cg_f2h(float f) {\n"
    "  unsigned short h;\n"
    "  unsigned int u = __float_as_uint(f);\n"
    "  asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f));\n"
    "  if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)(((u >> 16) & 0x8000u) | 0x7e00u);\n"
    "  return h;\n"
    "}\n"
    "CG_FN float cg_rh(float f) { return cg_h2f(cg_f2h(f)); }\n";

/* Static __shared__ arrays are limited to 48 KB per kernel. */
#define CU_STATIC_SMEM_MAX (48u * 1024u)

static const cg_cstyle_dialect cuda_dialect = {
    .lang = "cuda",
    .signature = CG_CSTYLE_SIG_ARGS,
    .kernel_prefix = "extern \"C\" __global__ void",
    .launch_bounds_fmt = "__launch_bounds__(%u)",
    .func_prefix = "CG_FN",
    .buf_qual = {"", "", "", ""},
    .var_param_type = "const int",
    .group_id = {"blockIdx.x", "blockIdx.y", "blockIdx.z"},
    .local_id = {"threadIdx.x", "threadIdx.y", "threadIdx.z"},
    .barrier = "__syncthreads();",
    .local_decl = "__shared__ __align__(16) ",
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
    .vmem = CG_CSTYLE_VMEM_HELPER,
    .vec_type_fmt = "cg_v<%s, %d>",
    .vec_typedef = 0,
    .vec_ctor_fmt = "%s{",
    .vec_ctor_close = "}",
    .bitcast_fmt = NULL, /* declare + memcpy: NVRTC knows memcpy in device code */
    .math = {[CG_CSTYLE_M_EXP2] = {"exp2f", "exp2"},
             [CG_CSTYLE_M_LOG2] = {"log2f", "log2"},
             [CG_CSTYLE_M_SIN] = {"sinf", "sin"},
             [CG_CSTYLE_M_SQRT] = {"sqrtf", "sqrt"},
             [CG_CSTYLE_M_TRUNC] = {"truncf", "trunc"},
             [CG_CSTYLE_M_POW] = {"powf", "pow"}},
    .inf_f32 = "__int_as_float(0x7f800000)",
    .nan_f32 = "__int_as_float(0x7fc00000)",
    .suffix_i64 = "LL",
    .suffix_u64 = "ULL",
    .preamble = cuda_preamble,
    .half_preamble = NULL,
    .f64_preamble = NULL,
    .wmma = NULL, /* set in cu__render */
    .half_helpers = cuda_half_helpers,
    .dyn_local_decl = "extern __shared__ __align__(16) unsigned char cg_dsmem[];",
    .dyn_local_min = CU_STATIC_SMEM_MAX,
    .local_align = 16, /* __align__(16) above; cg_dsmem slices are 16-byte granules */
};

/* WMMA shape id (index into device_props.tc_shapes) -> mma.sync instruction.
 *
 * Per-thread fragments of mma.sync.m16n8k16.row.col with fp32 accumulation, for lane
 * = 4*g + t of the warp (g = lane / 4, t = lane % 4), as the PTX ISA defines them (and
 * docs/ir.md, WMMA, restates as the IR's contract):
 *   A (16x16, vec 8):  a[0..1] = A[g][2t..2t+1],   a[2..3] = A[g+8][2t..2t+1],
 *                      a[4..5] = A[g][2t+8..+9],   a[6..7] = A[g+8][2t+8..+9]
 *   B (16x8,  vec 4):  b[0..1] = B[2t..2t+1][g],   b[2..3] = B[2t+8..2t+9][g]
 *   C, D (16x8, f32 vec 4): c[0..1] = C[g][2t..2t+1], c[2..3] = C[g+8][2t..2t+1]
 * A and B lanes hold 16-bit floats as float (emulated); cvt.rn.{f16,bf16}x2.f32 packs
 * two of them per 32-bit register, the lower index in the low half (exact: the values
 * are already 16-bit floats). Plain asm (not volatile) lets the compiler share the
 * packing of a fragment between the WMMAs that use it. */
static int cu_wmma(const cg_ir_program *p, int32_t inst, const char *dst,
                   const char *const srcs[3], char *out, size_t outlen) {
  const cg_ir_inst *in = &cg_ir_insts(p)[inst];
  const cg_ir_inst *a = &cg_ir_insts(p)[cg_ir_src(p, in, 0)];
  const cg_ir_inst *b = &cg_ir_insts(p)[cg_ir_src(p, in, 1)];
  const cg_ir_inst *c = &cg_ir_insts(p)[cg_ir_src(p, in, 2)];
  int bf = a->type.scalar == CG_IR_BFLOAT16;
  if (in->arg < 0 || in->arg > 1 || (in->arg == 1) != bf) return 1;
  if (a->type.vec != 8 || (!bf && a->type.scalar != CG_IR_FLOAT16)) return 1;
  if (b->type.vec != 4 || b->type.scalar != a->type.scalar) return 1;
  if (c->type.vec != 4 || c->type.scalar != CG_IR_FLOAT32) return 1;
  if (in->type.scalar != CG_IR_FLOAT32 || in->type.vec != 4) return 1;
  const char *ty = bf ? "bf16" : "f16";
  /* a vector CONST operand is named by its scalar literal: no lane index */
  const char *ia = a->op == CG_IR_CONST ? "+0*" : "[", *ib = b->op == CG_IR_CONST ? "+0*" : "[";
  const char *ic = c->op == CG_IR_CONST ? "+0*" : "[";
  const char *ja = a->op == CG_IR_CONST ? "" : "]", *jb = b->op == CG_IR_CONST ? "" : "]";
  const char *jc = c->op == CG_IR_CONST ? "" : "]";
  int n = snprintf(out, outlen,
      "{ unsigned int wa[4], wb[2]; float wc[4];\n"
      "#pragma unroll\n"
      "  for (int k = 0; k < 4; k++) asm(\"cvt.rn.%sx2.f32 %%0, %%1, %%2;\" : \"=r\"(wa[k]) : \"f\"(%s%s(2*k+1)%s), \"f\"(%s%s(2*k)%s));\n"
      "#pragma unroll\n"
      "  for (int k = 0; k < 2; k++) asm(\"cvt.rn.%sx2.f32 %%0, %%1, %%2;\" : \"=r\"(wb[k]) : \"f\"(%s%s(2*k+1)%s), \"f\"(%s%s(2*k)%s));\n"
      "#pragma unroll\n"
      "  for (int k = 0; k < 4; k++) wc[k] = %s%sk%s;\n"
      "  asm(\"mma.sync.aligned.m16n8k16.row.col.f32.%s.%s.f32 {%%0,%%1,%%2,%%3}, "
      "{%%4,%%5,%%6,%%7}, {%%8,%%9}, {%%0,%%1,%%2,%%3};\"\n"
      "      : \"+f\"(wc[0]), \"+f\"(wc[1]), \"+f\"(wc[2]), \"+f\"(wc[3])\n"
      "      : \"r\"(wa[0]), \"r\"(wa[1]), \"r\"(wa[2]), \"r\"(wa[3]), \"r\"(wb[0]), \"r\"(wb[1]));\n"
      "#pragma unroll\n"
      "  for (int k = 0; k < 4; k++) %s[k] = wc[k]; }",
      ty, srcs[0], ia, ja, srcs[0], ia, ja, ty, srcs[1], ib, jb, srcs[1], ib, jb, srcs[2], ic, jc, ty, ty, dst);
  return n < 0 || (size_t)n >= outlen;
}

cg_pstatus cu__render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  cu_device *d = dev;
  cg_cstyle_dialect dl = cuda_dialect;
  if (d->cc_major >= 8) dl.wmma = cu_wmma; /* mma.sync m16n8k16 needs sm_80 */
  char err[512];
  char *s = cg_cstyle_render(prog, &dl, err, sizeof err);
  if (!s) return cu__error(CG_P_ERR_UNSUPPORTED, "cuda: render failed: %s", err);
  *src = s;
  *lang = "cuda";
  return CG_P_OK;
}

uint64_t cu__native_ops(void) {
  uint64_t m = 0;
  for (int op = CG_IR_EXP2; op <= CG_IR_MULACC; op++) m |= 1ull << op;
  return m | 1ull << CG_IR_CAST | 1ull << CG_IR_BITCAST;
}
