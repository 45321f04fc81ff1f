/* cgrad SDK: the C-family renderer (library cgrad-sdk). Turns a cg_ir_program into
 * kernel source for C (CPU), OpenCL C, CUDA, HIP or Metal. One renderer; a dialect
 * table says how each language spells what differs (qualifiers, thread ids, barriers,
 * vector types, 16-bit floats, math functions).
 *
 * Semantics rendered (the `ref` plugin is the spec): ints wrap (signed ADD/SUB/MUL/NEG/
 * SHL go through the unsigned type), IDIV/MOD by zero give 0 (and MIN/-1 wraps), shift
 * counts are masked to the bit width of the type, float->int CAST saturates (NaN -> 0),
 * CAST to bool is x != 0, MAX propagates NaN, gated LOAD is (gate ? *p : alt), gated
 * STORE is if (gate) *p = v. Vector ALU ops are rendered lane by lane, so every
 * dialect gets the scalar semantics. Output is deterministic: same IR -> same text.
 *
 * Every value instruction becomes one named local (`alu12`, `val7`, `acc3`, ...);
 * CONST and INDEX are inlined. Names use the instruction index, so sources diff well.
 */
#ifndef CGRAD_CSTYLE_H
#define CGRAD_CSTYLE_H

#include <stddef.h>

#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the kernel is called. */
typedef enum {
  /* GPU style: one argument per buffer, then one `var_param_type` per variable, then
   * extra_params. SPECIAL ids are the group_id/local_id expressions. */
  CG_CSTYLE_SIG_ARGS,
  /* CPU style (C dialect):
   *   void NAME(void **bufs, const int64_t *vars, const int64_t *grid,
   *             int64_t start, int64_t end)
   * bufs[i] = parameter i (offset already applied), vars[i] = variable i,
   * grid[3] = work-groups per axis. The body loops g over the flattened group ids
   * [start, end); group id x = g % grid[0], y = (g / grid[0]) % grid[1],
   * z = g / (grid[0] * grid[1]) (kept as counters cg_i0..2 stepped with carries; when
   * the program's global[1] and global[2] are 1 the x id is g itself, so such a kernel
   * must be launched with a 1-D grid). Local ids are 0 (one work-item per group). */
  CG_CSTYLE_SIG_C_RANGE
} cg_cstyle_sig;

/* How a 16-bit float type (float16 / bfloat16) is handled. */
typedef enum {
  CG_CSTYLE_F16_NONE,     /* not supported: rendering a program that uses it fails */
  CG_CSTYLE_F16_NATIVE,   /* type_names[] is a real type; math functions go via float */
  /* Stored as type_names[] (a 16-bit unsigned int) in memory, held as float in
   * registers, rounded to nearest even after every op. The renderer emits helpers
   * cg_h2f/cg_f2h (float16) and cg_b2f/cg_f2b (bfloat16), which need the dialect's
   * preamble to define cg_f2u(float)->uint32 and cg_u2f(uint32)->float bit casts. */
  CG_CSTYLE_F16_EMULATED
} cg_cstyle_f16;

/* How a lane of a vector value is named. */
typedef enum {
  CG_CSTYLE_LANE_INDEX, /* v[3]      (GCC vector extensions, Metal) */
  CG_CSTYLE_LANE_S,     /* v.s3 .sa  (OpenCL) */
  CG_CSTYLE_LANE_XYZW   /* v.w       (CUDA/HIP; widths 2..4 only) */
} cg_cstyle_lane;

/* How vector LOAD/STORE access memory. */
typedef enum {
  CG_CSTYLE_VMEM_LANES, /* one scalar access per lane, then build the vector */
  CG_CSTYLE_VMEM_CAST,  /* *(VT *)(ptr); with vec_typedef the unaligned type VT_u */
  CG_CSTYLE_VMEM_VLOAD, /* vloadN(0, ptr) / vstoreN(v, 0, ptr) (OpenCL) */
  /* Global and local memory through helpers the dialect's preamble defines (CUDA):
   *   cg_vload<T, N>(const T *p) -> vector type of (T, N); cg_vstore<T, N>(T *p, v)
   * with T the memory scalar type. The helpers may test the address at run time and
   * use one wide access when it is aligned (the IR promises no alignment). Emulated
   * 16-bit floats are loaded as a vector of their storage type, then converted lane by
   * lane; register arrays (DEFINE_REG) always go lane by lane. */
  CG_CSTYLE_VMEM_HELPER
} cg_cstyle_vmem;

/* Math functions the dialect names (index of cg_cstyle_dialect.math). */
enum {
  CG_CSTYLE_M_EXP2, CG_CSTYLE_M_LOG2, CG_CSTYLE_M_SIN, CG_CSTYLE_M_SQRT,
  CG_CSTYLE_M_TRUNC, CG_CSTYLE_M_POW, CG_CSTYLE_M_COUNT
};

/* Optional hook for WMMA: write the expression (or statements, ending with the
 * assignment to `dst`) for instruction `inst` into out. Operands are named by
 * srcs[0..2]. Return 0 on success, nonzero if the shape is unsupported. */
typedef int (*cg_cstyle_wmma_fn)(const cg_ir_program *p, int32_t inst, const char *dst,
                                 const char *const srcs[3], char *out, size_t outlen);

/* A dialect. Plugins take a predefined one, copy it and adjust fields (e.g. OpenCL
 * without cl_khr_fp16 sets half_mode = EMULATED and type_names[FLOAT16] = "ushort").
 * String fields may be NULL where they say so; NULL elsewhere means "". */
typedef struct cg_cstyle_dialect {
  const char *lang;               /* language tag returned by render: "c", "opencl" */
  cg_cstyle_sig signature;
  const char *kernel_prefix;      /* before the name: "__kernel void", "void" */
  const char *launch_bounds_fmt;  /* NULL, or printf fmt with one %u = threads per group,
                                     placed after kernel_prefix ("__launch_bounds__(%u)") */
  const char *func_prefix;        /* prefix of helper functions: "static inline" */
  const char *buf_qual[CG_IR_AS_COUNT]; /* pointer qualifier per address space:
                                     [GLOBAL] "__global ", [LOCAL] "__local ", ... */
  const char *param_attr_fmt;     /* NULL, or printf fmt after each kernel argument,
                                     %d = argument index (Metal " [[buffer(%d)]]") */
  const char *var_param_type;     /* type of a variable argument: "const int" */
  const char *extra_params;       /* NULL, or text appended to the argument list */
  const char *group_id[3];        /* SPECIAL group id per axis: "get_group_id(0)" */
  const char *local_id[3];        /* SPECIAL local id per axis: "get_local_id(0)" */
  const char *barrier;            /* statement: "barrier(CLK_LOCAL_MEM_FENCE);" */
  const char *local_decl;         /* prefix of DEFINE_LOCAL arrays: "__local " */
  const char *type_names[CG_IR_SCALAR_COUNT]; /* per cg_ir_scalar ([VOID] = "void");
                                     for EMULATED 16-bit floats: the storage type */
  const char *bool_mem_type;      /* NULL = bool is stored as type_names[BOOL]; else the
                                     byte type used for bool in buffers, local/reg arrays
                                     and vector lanes ("uchar") */
  cg_cstyle_f16 half_mode, bf16_mode;
  cg_cstyle_lane lane;
  cg_cstyle_vmem vmem;
  const char *vec_type_fmt;       /* printf fmt (%s scalar name, %d width): "%s%d" */
  int vec_typedef;                /* 1 = emit GCC vector_size typedefs (and _u unaligned
                                     variants) for the vector types used (C) */
  const char *vec_ctor_fmt;       /* printf fmt opening a vector literal, %s = vector type:
                                     "(%s)(" OpenCL, "(%s){" C, "make_%s(" CUDA */
  const char *vec_ctor_close;     /* ")" or "}" */
  const char *bitcast_fmt;        /* printf fmt opening a bit cast, %s = target type,
                                     closed by ")": "as_%s(" OpenCL, "as_type<%s>(" Metal.
                                     NULL = declare + memcpy (C, CUDA) */
  const char *math[CG_CSTYLE_M_COUNT][2]; /* function names for [op][0=f32, 1=f64] */
  const char *inf_f32, *nan_f32;  /* expressions for float +inf and a quiet NaN */
  const char *suffix_i64, *suffix_u64; /* integer literal suffixes: "LL"/"ULL", "L"/"UL" */
  const char *preamble;           /* emitted first, always (includes, pragmas, cg_f2u) */
  const char *half_preamble;      /* emitted after preamble when float16 is used */
  const char *bf16_preamble;      /* emitted after preamble when bfloat16 is used */
  const char *f64_preamble;       /* emitted after preamble when float64 is used */
  cg_cstyle_wmma_fn wmma;         /* NULL = WMMA unsupported (render fails) */
  /* Appended fields (zero in older initializers keeps the old behaviour): */
  const char *half_helpers;       /* NULL = the portable emulation; else the definitions
                                     of cg_h2f, cg_f2h and cg_rh for an EMULATED float16,
                                     with the same results (e.g. hardware conversions) */
  const char *dyn_local_decl;     /* NULL = DEFINE_LOCAL arrays are always declared with
                                     local_decl; else a declaration of the byte array
                                     `cg_dsmem` (dynamic shared memory), used when the
                                     program's local arrays need more than dyn_local_min
                                     bytes: each array is then a pointer into cg_dsmem at
                                     the offsets cg_cstyle_local_bytes counts */
  unsigned dyn_local_min;
  unsigned local_align;           /* 0 = no promise; else every DEFINE_LOCAL array starts
                                     at a multiple of this many bytes (local_decl and
                                     dyn_local_decl must make it true). With VMEM_HELPER,
                                     a vector access of local memory whose element offset
                                     the renderer proves (from the index expression's
                                     known power-of-two factor) to be aligned to the
                                     vector type is one direct wide access: no helper,
                                     no run-time test */
} cg_cstyle_dialect;

/* Predefined dialects (const; copy to modify). Only c and opencl are tested in-tree
 * by the cstyle tests; cuda/hip/metal are starting points for their plugins. */
extern const cg_cstyle_dialect cg_cstyle_c;      /* CPU, SIG_C_RANGE, GCC vectors */
extern const cg_cstyle_dialect cg_cstyle_opencl; /* OpenCL C 1.2, half native (needs
                                                    cl_khr_fp16), bf16 emulated */
extern const cg_cstyle_dialect cg_cstyle_cuda;
extern const cg_cstyle_dialect cg_cstyle_hip;
extern const cg_cstyle_dialect cg_cstyle_metal;

/* Render p in dialect d. Returns a malloc'd NUL-terminated source (caller frees), or
 * NULL with a message in err (unsupported op/dtype in this dialect, malformed IR,
 * out of memory). The program should have passed cg_ir_verify. */
char *cg_cstyle_render(const cg_ir_program *p, const cg_cstyle_dialect *d, char *err,
                       size_t errlen);

/* Bytes of all of p's DEFINE_LOCAL arrays, each starting at a multiple of 16 bytes, in
 * program order: the dynamic shared memory a program rendered with dyn_local_decl needs. */
size_t cg_cstyle_local_bytes(const cg_ir_program *p);

/* The function name the renderer gives p's kernel (p->name if it is a non-empty C
 * identifier, else "k_" + sanitized name), for dlsym / clCreateKernel. Writes at most
 * n bytes including the NUL; returns buf. */
char *cg_cstyle_kernel_name(const cg_ir_program *p, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
