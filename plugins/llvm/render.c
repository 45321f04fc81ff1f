/* llvm plugin: lowering of a cg_ir_program to an LLVM module with the LLVM-C builder,
 * the O2 pass pipeline for the host CPU, and emission of an object file to memory.
 *
 * Kernel shape (see llvm_plugin.h for the ABI):
 *   entry:  load buffer pointers and variables, allocas for DEFINE_REG/DEFINE_LOCAL,
 *           split the flat start id into (g0, g1, g2)
 *   row:    one run of g0 with fixed g1, g2
 *   body:   the program, once per g0 (the innermost loop, which LLVM vectorizes)
 *   rowend: carry into g1/g2, next row or return
 *
 * Value representation: bool is i1 (i8 in memory); float16/bfloat16 values live in
 * float registers holding exactly representable values (rounded to nearest even after
 * every arithmetic op), i16 bits in global memory, float in REG/LOCAL arrays. Integer
 * ops wrap; IDIV/MOD by 0 give 0; shift amounts are masked; float->int saturates to
 * the target type (NaN -> 0), float->bool is != 0; MAX propagates NaN. No fast-math
 * flags; MULACC is unfused like the ref unless CG_LLVM_CONTRACT=1 (llvm.fmuladd). */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "cgrad/ir_util.h"
#include "cgrad/plugin_host.h"
#include "llvm_plugin.h"

/* Lowering state for one program. */
typedef struct {
  LLVMContextRef c;
  LLVMModuleRef m;
  LLVMBuilderRef b;
  LLVMValueRef fn;
  const cg_ir_program *p;
  const cg_ir_inst *ins;
  uint32_t n;
  LLVMValueRef *v;              /* value of each instruction (NULL for void ones) */
  LLVMBasicBlockRef *blk_exit;  /* RANGE: loop exit; IF: endif block */
  LLVMBasicBlockRef *blk_head;  /* RANGE: loop header */
  uint8_t *idx_only;            /* 1: int op used only for addressing (nsw is safe) */
  int contract;                 /* CG_LLVM_CONTRACT=1: MULACC may fuse (llvm.fmuladd) */
  int f16c;                     /* host converts half<->float in hardware (x86 F16C) */
  LLVMValueRef vars, gid[3];
  int alias_safe;               /* 1: buffers may overlap (no noalias) */
  LLVMValueRef zero_buf;        /* 128 zero bytes: the address of a gated-off load */
  LLVMTypeRef tvoid, t1, t8, t16, t32, t64, tf, td;
  char err[256];
} lw;

static int fail(lw *L, uint32_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(lw *L, uint32_t i, const char *fmt, ...) {
  if (L->err[0]) return -1;
  int k = snprintf(L->err, sizeof L->err, "llvm: instruction %u: ", i);
  va_list ap;
  va_start(ap, fmt);
  if (k > 0 && (size_t)k < sizeof L->err) vsnprintf(L->err + k, sizeof L->err - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- types and constants ---------------------------------------------------- */

static LLVMTypeRef vec_of(LLVMTypeRef t, unsigned n) { return n > 1 ? LLVMVectorType(t, n) : t; }

static unsigned lanes(LLVMValueRef v) {
  LLVMTypeRef t = LLVMTypeOf(v);
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 1;
}

/* Register type of a scalar. */
static LLVMTypeRef val_scalar(lw *L, uint8_t s) {
  switch (s) {
  case CG_IR_BOOL: return L->t1;
  case CG_IR_INT8: case CG_IR_UINT8: return L->t8;
  case CG_IR_INT16: case CG_IR_UINT16: return L->t16;
  case CG_IR_INT32: case CG_IR_UINT32: return L->t32;
  case CG_IR_INT64: case CG_IR_UINT64: return L->t64;
  case CG_IR_FLOAT16: case CG_IR_BFLOAT16: case CG_IR_FLOAT32: return L->tf;
  case CG_IR_FLOAT64: return L->td;
  default: return NULL;
  }
}

/* Memory element type of a scalar in an address space. */
static LLVMTypeRef mem_scalar(lw *L, uint8_t s, uint8_t space) {
  if (s == CG_IR_BOOL) return L->t8;
  if ((s == CG_IR_FLOAT16 || s == CG_IR_BFLOAT16) && space == CG_IR_AS_GLOBAL) return L->t16;
  return val_scalar(L, s);
}

static LLVMTypeRef val_type(lw *L, cg_ir_type t) {
  LLVMTypeRef s = val_scalar(L, t.scalar);
  return s ? vec_of(s, t.vec ? t.vec : 1) : NULL;
}

static LLVMValueRef splat_const(LLVMValueRef c, unsigned n) {
  if (n <= 1) return c;
  LLVMValueRef e[16];
  for (unsigned i = 0; i < n && i < 16; i++) e[i] = c;
  return LLVMConstVector(e, n);
}

/* Integer constant of type ty (scalar or vector). */
static LLVMValueRef ci(LLVMTypeRef ty, uint64_t x) {
  if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind)
    return splat_const(LLVMConstInt(LLVMGetElementType(ty), x, 0), LLVMGetVectorSize(ty));
  return LLVMConstInt(ty, x, 0);
}

/* Float constant of type ty (scalar or vector). */
static LLVMValueRef cf(LLVMTypeRef ty, double x) {
  if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind)
    return splat_const(LLVMConstReal(LLVMGetElementType(ty), x), LLVMGetVectorSize(ty));
  return LLVMConstReal(ty, x);
}

static LLVMValueRef intrin(lw *L, const char *name, LLVMTypeRef *ov, int nov, LLVMValueRef *args,
                           int nargs) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(L->m, id, ov, (size_t)nov);
  LLVMTypeRef ft = LLVMIntrinsicGetType(L->c, id, ov, (size_t)nov);
  return LLVMBuildCall2(L->b, ft, f, args, (unsigned)nargs, "");
}

static LLVMValueRef intrin1(lw *L, const char *name, LLVMValueRef a) {
  LLVMTypeRef t = LLVMTypeOf(a);
  return intrin(L, name, &t, 1, &a, 1);
}

/* ---- float16 / bfloat16 conversions (integer ops, vectorizable) ------------- */

/* i16 half bits -> float (exact). */
static LLVMValueRef f16_to_f32(lw *L, LLVMValueRef h16) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(h16);
  if (L->f16c) { /* vcvtph2ps */
    LLVMTypeRef H = vec_of(LLVMHalfTypeInContext(L->c), n);
    return LLVMBuildFPExt(b, LLVMBuildBitCast(b, h16, H, ""), vec_of(L->tf, n), "");
  }
  LLVMTypeRef I = vec_of(L->t32, n), F = vec_of(L->tf, n);
  LLVMValueRef h = LLVMBuildZExt(b, h16, I, "");
  LLVMValueRef sign = LLVMBuildShl(b, LLVMBuildAnd(b, h, ci(I, 0x8000), ""), ci(I, 16), "");
  LLVMValueRef em = LLVMBuildAnd(b, h, ci(I, 0x7fff), "");
  LLVMValueRef sh = LLVMBuildShl(b, em, ci(I, 13), "");
  LLVMValueRef nrm = LLVMBuildAdd(b, sh, ci(I, 0x38000000), "");   /* rebias exponent */
  LLVMValueRef inf = LLVMBuildAdd(b, sh, ci(I, 0x70000000), "");   /* exponent 31 -> 255 */
  LLVMValueRef subf = LLVMBuildFMul(b, LLVMBuildUIToFP(b, em, F, ""), cf(F, 0x1p-24), "");
  LLVMValueRef sub = LLVMBuildBitCast(b, subf, I, "");             /* em * 2^-24, exact */
  LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGE, em, ci(I, 0x7c00), ""), inf, nrm, "");
  r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, em, ci(I, 0x400), ""), sub, r, "");
  return LLVMBuildBitCast(b, LLVMBuildOr(b, r, sign, ""), F, "");
}

/* float -> i16 half bits, round to nearest even (overflow -> inf, NaN stays NaN). */
static LLVMValueRef f32_to_f16(lw *L, LLVMValueRef f) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(f);
  if (L->f16c) { /* vcvtps2ph, round to nearest even */
    LLVMTypeRef H = vec_of(LLVMHalfTypeInContext(L->c), n);
    return LLVMBuildBitCast(b, LLVMBuildFPTrunc(b, f, H, ""), vec_of(L->t16, n), "");
  }
  LLVMTypeRef I = vec_of(L->t32, n), F = vec_of(L->tf, n);
  LLVMValueRef x = LLVMBuildBitCast(b, f, I, "");
  LLVMValueRef sign = LLVMBuildAnd(b, LLVMBuildLShr(b, x, ci(I, 16), ""), ci(I, 0x8000), "");
  LLVMValueRef ax = LLVMBuildAnd(b, x, ci(I, 0x7fffffff), "");
  /* subnormal result: adding 0.5f lets the FPU round the mantissa into place */
  LLVMValueRef axf = LLVMBuildBitCast(b, ax, F, "");
  LLVMValueRef sub = LLVMBuildSub(b, LLVMBuildBitCast(b, LLVMBuildFAdd(b, axf, cf(F, 0.5), ""), I, ""),
                                  ci(I, 0x3f000000), "");
  /* normal result: rebias, add half an ulp minus one plus the odd bit, shift */
  LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, ax, ci(I, 13), ""), ci(I, 1), "");
  LLVMValueRef nrm = LLVMBuildAdd(b, LLVMBuildAdd(b, ax, ci(I, 0xc8000fffu), ""), odd, "");
  nrm = LLVMBuildLShr(b, nrm, ci(I, 13), "");
  LLVMValueRef nan = LLVMBuildOr(b, LLVMBuildLShr(b, ax, ci(I, 13), ""), ci(I, 0x7e00), "");
  nan = LLVMBuildAnd(b, nan, ci(I, 0x7fff), "");
  LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, ax, ci(I, 0x38800000), ""), sub, nrm, "");
  r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGE, ax, ci(I, 0x47800000), ""), ci(I, 0x7c00), r, "");
  r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, ax, ci(I, 0x7f800000), ""), nan, r, "");
  return LLVMBuildTrunc(b, LLVMBuildOr(b, r, sign, ""), vec_of(L->t16, n), "");
}

static LLVMValueRef bf16_to_f32(lw *L, LLVMValueRef h16) {
  unsigned n = lanes(h16);
  LLVMTypeRef I = vec_of(L->t32, n);
  LLVMValueRef x = LLVMBuildShl(L->b, LLVMBuildZExt(L->b, h16, I, ""), ci(I, 16), "");
  return LLVMBuildBitCast(L->b, x, vec_of(L->tf, n), "");
}

/* float -> i16 bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
static LLVMValueRef f32_to_bf16(lw *L, LLVMValueRef f) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(f);
  LLVMTypeRef I = vec_of(L->t32, n);
  LLVMValueRef x = LLVMBuildBitCast(b, f, I, "");
  LLVMValueRef hi = LLVMBuildLShr(b, x, ci(I, 16), "");
  LLVMValueRef odd = LLVMBuildAnd(b, hi, ci(I, 1), "");
  LLVMValueRef r = LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, x, ci(I, 0x7fff), ""), odd, ""),
                                 ci(I, 16), "");
  LLVMValueRef isnan = LLVMBuildICmp(b, LLVMIntUGT, LLVMBuildAnd(b, x, ci(I, 0x7fffffff), ""),
                                     ci(I, 0x7f800000), "");
  r = LLVMBuildSelect(b, isnan, LLVMBuildOr(b, hi, ci(I, 0x40), ""), r, "");
  return LLVMBuildTrunc(b, r, vec_of(L->t16, n), "");
}

/* Round a float register to the precision of a 16-bit float scalar type. */
static LLVMValueRef round_to(lw *L, LLVMValueRef f, uint8_t s) {
  if (s == CG_IR_FLOAT16) return f16_to_f32(L, f32_to_f16(L, f));
  if (s == CG_IR_BFLOAT16) return bf16_to_f32(L, f32_to_bf16(L, f));
  return f;
}

/* Register value -> memory representation, and back. */
static LLVMValueRef to_mem(lw *L, LLVMValueRef v, uint8_t s, uint8_t space) {
  if (s == CG_IR_BOOL) return LLVMBuildZExt(L->b, v, vec_of(L->t8, lanes(v)), "");
  if (space != CG_IR_AS_GLOBAL) return v;
  if (s == CG_IR_FLOAT16) return f32_to_f16(L, v);
  if (s == CG_IR_BFLOAT16) return f32_to_bf16(L, v);
  return v;
}

static LLVMValueRef from_mem(lw *L, LLVMValueRef v, uint8_t s, uint8_t space) {
  if (s == CG_IR_BOOL) return LLVMBuildICmp(L->b, LLVMIntNE, v, ci(LLVMTypeOf(v), 0), "");
  if (space != CG_IR_AS_GLOBAL) return v;
  if (s == CG_IR_FLOAT16) return f16_to_f32(L, v);
  if (s == CG_IR_BFLOAT16) return bf16_to_f32(L, v);
  return v;
}

/* ---- ALU -------------------------------------------------------------------- */

/* IDIV / MOD with C semantics, b == 0 -> 0, INT_MIN / -1 wraps (never traps). */
static LLVMValueRef int_divmod(lw *L, int is_mod, int sgn, LLVMValueRef a, LLVMValueRef bb) {
  LLVMBuilderRef b = L->b;
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef zero = LLVMBuildICmp(b, LLVMIntEQ, bb, ci(t, 0), "");
  if (!sgn) {
    LLVMValueRef d = LLVMBuildSelect(b, zero, ci(t, 1), bb, "");
    LLVMValueRef q = is_mod ? LLVMBuildURem(b, a, d, "") : LLVMBuildUDiv(b, a, d, "");
    return LLVMBuildSelect(b, zero, ci(t, 0), q, "");
  }
  LLVMValueRef m1 = LLVMBuildICmp(b, LLVMIntEQ, bb, ci(t, ~0ull), "");
  LLVMValueRef bad = LLVMBuildOr(b, zero, m1, "");
  LLVMValueRef d = LLVMBuildSelect(b, bad, ci(t, 1), bb, "");
  if (is_mod) return LLVMBuildSelect(b, bad, ci(t, 0), LLVMBuildSRem(b, a, d, ""), "");
  LLVMValueRef q = LLVMBuildSelect(b, m1, LLVMBuildSub(b, ci(t, 0), a, ""), LLVMBuildSDiv(b, a, d, ""), "");
  return LLVMBuildSelect(b, zero, ci(t, 0), q, "");
}

/* max(a, b) for floats: a < b ? b : a, NaN if either is NaN (the ref's rule, so
 * max(-0, +0) is -0). */
static LLVMValueRef fmax_nan(lw *L, LLVMValueRef a, LLVMValueRef bb) {
  LLVMValueRef m = LLVMBuildSelect(L->b, LLVMBuildFCmp(L->b, LLVMRealOLT, a, bb, ""), bb, a, "");
  m = LLVMBuildSelect(L->b, LLVMBuildFCmp(L->b, LLVMRealUNO, bb, bb, ""), bb, m, "");
  return LLVMBuildSelect(L->b, LLVMBuildFCmp(L->b, LLVMRealUNO, a, a, ""), a, m, "");
}

/* Shift amount masked to the bit width of the (shared) operand type. */
static LLVMValueRef shift_amount(lw *L, LLVMValueRef bb) {
  LLVMTypeRef t = LLVMTypeOf(bb), et = LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t;
  return LLVMBuildAnd(L->b, bb, ci(t, LLVMGetIntTypeWidth(et) - 1), "");
}

/* ---- exp2 / log2 for float registers, inline so loops vectorize ------------- */

/* Horner: c[0] + x*(c[1] + x*(... c[n-1])), float constants. Inside these library
 * routines fusing is ours to allow (llvm.fmuladd): error bounds hold either way. */
static LLVMValueRef horner(lw *L, LLVMValueRef x, const double *c, int n) {
  LLVMTypeRef F = LLVMTypeOf(x);
  LLVMValueRef r = cf(F, c[n - 1]);
  for (int k = n - 2; k >= 0; k--) {
    LLVMValueRef args[3] = {r, x, cf(F, c[k])};
    r = intrin(L, "llvm.fmuladd", &F, 1, args, 3);
  }
  return r;
}

static LLVMValueRef fsel(lw *L, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b, LLVMValueRef t,
                         LLVMValueRef f) {
  return LLVMBuildSelect(L->b, LLVMBuildFCmp(L->b, p, a, b, ""), t, f, "");
}

/* 2^x: x = n + f (n integer, |f| <= 1/2), 2^f by its Taylor series to degree 7 (error
 * below 2^-27 relative), 2^n built in two exponent steps so results down to the
 * subnormal range round once. Integer x gives exact powers of two. */
static LLVMValueRef exp2_f32(lw *L, LLVMValueRef x) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(x);
  LLVMTypeRef F = LLVMTypeOf(x), I = vec_of(L->t32, n);
  LLVMValueRef xc = fsel(L, LLVMRealOGT, x, cf(F, 129.0), cf(F, 129.0), x);
  xc = fsel(L, LLVMRealOLT, xc, cf(F, -150.0), cf(F, -150.0), xc);
  LLVMValueRef rn = LLVMBuildFSub(b, LLVMBuildFAdd(b, xc, cf(F, 0x1.8p23), ""), cf(F, 0x1.8p23), "");
  LLVMValueRef f = LLVMBuildFSub(b, xc, rn, "");
  double c[8], ln2 = 0.69314718055994530942, t = 1.0;
  for (int k = 0; k < 8; k++) c[k] = t, t *= ln2 / (k + 1);
  LLVMValueRef p = horner(L, f, c, 8);
  LLVMValueRef ni = LLVMBuildFPToSI(b, LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, rn, rn, ""), cf(F, 0), rn, ""), I, "");
  LLVMValueRef n1 = LLVMBuildAShr(b, ni, ci(I, 1), ""), n2 = LLVMBuildSub(b, ni, n1, "");
  LLVMValueRef s1 = LLVMBuildBitCast(b, LLVMBuildShl(b, LLVMBuildAdd(b, n1, ci(I, 127), ""), ci(I, 23), ""), F, "");
  LLVMValueRef s2 = LLVMBuildBitCast(b, LLVMBuildShl(b, LLVMBuildAdd(b, n2, ci(I, 127), ""), ci(I, 23), ""), F, "");
  LLVMValueRef r = LLVMBuildFMul(b, LLVMBuildFMul(b, p, s1, ""), s2, "");
  return fsel(L, LLVMRealUNO, x, x, x, r);
}

/* log2(x): x = 2^e * m with m in [sqrt(1/2), sqrt(2)), log2(m) = 2/ln2 * atanh(s) with
 * s = (m-1)/(m+1), |s| < 0.172, odd series to s^11. Subnormals are scaled first. */
static LLVMValueRef log2_f32(lw *L, LLVMValueRef x) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(x);
  LLVMTypeRef F = LLVMTypeOf(x), I = vec_of(L->t32, n);
  LLVMValueRef tiny = LLVMBuildFCmp(b, LLVMRealOLT, x, cf(F, 0x1p-126), "");
  LLVMValueRef xs = LLVMBuildSelect(b, tiny, LLVMBuildFMul(b, x, cf(F, 0x1p23), ""), x, "");
  LLVMValueRef bits = LLVMBuildBitCast(b, xs, I, "");
  LLVMValueRef e = LLVMBuildSub(b, LLVMBuildAnd(b, LLVMBuildLShr(b, bits, ci(I, 23), ""), ci(I, 0xff), ""),
                                ci(I, 127), "");
  e = LLVMBuildSelect(b, tiny, LLVMBuildSub(b, e, ci(I, 23), ""), e, "");
  LLVMValueRef m = LLVMBuildBitCast(b, LLVMBuildOr(b, LLVMBuildAnd(b, bits, ci(I, 0x7fffff), ""), ci(I, 0x3f800000), ""), F, "");
  LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGT, m, cf(F, 1.41421356237309505), "");
  m = LLVMBuildSelect(b, big, LLVMBuildFMul(b, m, cf(F, 0.5), ""), m, "");
  e = LLVMBuildSelect(b, big, LLVMBuildAdd(b, e, ci(I, 1), ""), e, "");
  LLVMValueRef s = LLVMBuildFDiv(b, LLVMBuildFSub(b, m, cf(F, 1.0), ""), LLVMBuildFAdd(b, m, cf(F, 1.0), ""), "");
  LLVMValueRef z = LLVMBuildFMul(b, s, s, "");
  const double k = 2.0 / 0.69314718055994530942, hi = (double)(float)k;
  double c[6];
  for (int j = 0; j < 6; j++) c[j] = k / (2 * j + 1);
  c[0] = k - hi; /* the leading term is split so its float rounding does not show */
  LLVMValueRef tail = LLVMBuildFMul(b, s, horner(L, z, c, 6), ""); /* s*(k-hi) + k*s^3/3 + ... */
  LLVMValueRef r = LLVMBuildFAdd(b, LLVMBuildFMul(b, s, cf(F, hi), ""), tail, "");
  r = LLVMBuildFAdd(b, LLVMBuildSIToFP(b, e, F, ""), r, "");
  r = fsel(L, LLVMRealOEQ, x, cf(F, INFINITY), x, r);
  r = fsel(L, LLVMRealOLT, x, cf(F, 0.0), cf(F, NAN), r);
  r = fsel(L, LLVMRealOEQ, x, cf(F, 0.0), cf(F, -INFINITY), r);
  return fsel(L, LLVMRealUNO, x, x, x, r);
}

static int is_f32(lw *L, LLVMValueRef v) {
  LLVMTypeRef t = LLVMTypeOf(v);
  if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) t = LLVMGetElementType(t);
  return t == L->tf;
}

/* Float unary ops, on float or double registers. */
static LLVMValueRef float_unary(lw *L, int op, LLVMValueRef a) {
  switch (op) {
  case CG_IR_EXP2: return is_f32(L, a) ? exp2_f32(L, a) : intrin1(L, "llvm.exp2", a);
  case CG_IR_LOG2: return is_f32(L, a) ? log2_f32(L, a) : intrin1(L, "llvm.log2", a);
  case CG_IR_SIN: return intrin1(L, "llvm.sin", a);
  case CG_IR_SQRT: return intrin1(L, "llvm.sqrt", a);
  case CG_IR_TRUNC: return intrin1(L, "llvm.trunc", a);
  case CG_IR_RECIP: return LLVMBuildFDiv(L->b, cf(LLVMTypeOf(a), 1.0), a, "");
  case CG_IR_NEG: return LLVMBuildFNeg(L->b, a, "");
  default: return NULL;
  }
}

static LLVMValueRef float_binary(lw *L, int op, LLVMValueRef a, LLVMValueRef bb) {
  LLVMBuilderRef b = L->b;
  switch (op) {
  case CG_IR_ADD: return LLVMBuildFAdd(b, a, bb, "");
  case CG_IR_SUB: return LLVMBuildFSub(b, a, bb, "");
  case CG_IR_MUL: return LLVMBuildFMul(b, a, bb, "");
  case CG_IR_FDIV: return LLVMBuildFDiv(b, a, bb, "");
  case CG_IR_MAX: return fmax_nan(L, a, bb);
  case CG_IR_POW: {
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[2] = {a, bb};
    return intrin(L, "llvm.pow", &t, 1, args, 2);
  }
  case CG_IR_CMPLT: return LLVMBuildFCmp(b, LLVMRealOLT, a, bb, "");
  case CG_IR_CMPNE: return LLVMBuildFCmp(b, LLVMRealUNE, a, bb, "");
  case CG_IR_CMPEQ: return LLVMBuildFCmp(b, LLVMRealOEQ, a, bb, "");
  default: return NULL;
  }
}

/* Integer and bool ops (the verifier allows bool only in MAX = or, CMPLT = !a & b, the
 * other compares and AND/OR/XOR; shifts and division are integer-only). */
static LLVMValueRef int_binary(lw *L, int op, uint8_t s, int nsw, LLVMValueRef a, LLVMValueRef bb) {
  LLVMBuilderRef b = L->b;
  int sgn = cg_ir_is_signed(s);
  switch (op) {
  case CG_IR_ADD: return nsw ? LLVMBuildNSWAdd(b, a, bb, "") : LLVMBuildAdd(b, a, bb, "");
  case CG_IR_SUB: return nsw ? LLVMBuildNSWSub(b, a, bb, "") : LLVMBuildSub(b, a, bb, "");
  case CG_IR_MUL: return nsw ? LLVMBuildNSWMul(b, a, bb, "") : LLVMBuildMul(b, a, bb, "");
  case CG_IR_IDIV: return int_divmod(L, 0, sgn, a, bb);
  case CG_IR_MOD: return int_divmod(L, 1, sgn, a, bb);
  case CG_IR_MAX:
    return LLVMBuildSelect(b, LLVMBuildICmp(b, sgn ? LLVMIntSGT : LLVMIntUGT, a, bb, ""), a, bb, "");
  case CG_IR_CMPLT: return LLVMBuildICmp(b, sgn ? LLVMIntSLT : LLVMIntULT, a, bb, "");
  case CG_IR_CMPNE: return LLVMBuildICmp(b, LLVMIntNE, a, bb, "");
  case CG_IR_CMPEQ: return LLVMBuildICmp(b, LLVMIntEQ, a, bb, "");
  case CG_IR_AND: return LLVMBuildAnd(b, a, bb, "");
  case CG_IR_OR: return LLVMBuildOr(b, a, bb, "");
  case CG_IR_XOR: return LLVMBuildXor(b, a, bb, "");
  case CG_IR_SHL: return LLVMBuildShl(b, a, shift_amount(L, bb), "");
  case CG_IR_SHR: return sgn ? LLVMBuildAShr(b, a, shift_amount(L, bb), "") : LLVMBuildLShr(b, a, shift_amount(L, bb), "");
  default: return NULL;
  }
}

/* Does op produce a float result that needs rounding to a 16-bit float type? */
static int rounds(int op) {
  switch (op) {
  case CG_IR_EXP2: case CG_IR_LOG2: case CG_IR_SIN: case CG_IR_SQRT: case CG_IR_RECIP:
  case CG_IR_ADD: case CG_IR_SUB: case CG_IR_MUL: case CG_IR_FDIV: case CG_IR_POW:
  case CG_IR_MULACC:
    return 1;
  default: return 0;
  }
}

/* EXP2 .. MULACC except the memory ops. s is the scalar type of the first operand. */
static LLVMValueRef lower_alu(lw *L, uint32_t i, const cg_ir_inst *in, uint8_t s, LLVMValueRef *a) {
  int op = in->op, fl = cg_ir_is_float(s);
  LLVMValueRef r = NULL;
  if (in->nsrc == 1) {
    if (fl) r = float_unary(L, op, a[0]);
    else if (op == CG_IR_NEG) r = s == CG_IR_BOOL ? LLVMBuildNot(L->b, a[0], "") : LLVMBuildNeg(L->b, a[0], "");
  } else if (op == CG_IR_WHERE) {
    r = LLVMBuildSelect(L->b, a[0], a[1], a[2], "");
  } else if (op == CG_IR_MULACC) {
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    if (fl && L->contract) /* one rounding (llvm.fmuladd) */
      r = intrin(L, "llvm.fmuladd", &t, 1, a, 3);
    else if (fl) /* unfused: a*b rounded to the type, then + c */
      r = LLVMBuildFAdd(L->b, round_to(L, LLVMBuildFMul(L->b, a[0], a[1], ""), in->type.scalar), a[2], "");
    else
      r = LLVMBuildAdd(L->b, LLVMBuildMul(L->b, a[0], a[1], ""), a[2], "");
  } else if (in->nsrc == 2) {
    r = fl ? float_binary(L, op, a[0], a[1]) : int_binary(L, op, s, L->idx_only[i], a[0], a[1]);
  }
  if (!r) {
    fail(L, i, "%s is not defined for %s", cg_ir_op_name(op), cg_ir_scalar_name(s));
    return NULL;
  }
  if (rounds(op) && (in->type.scalar == CG_IR_FLOAT16 || in->type.scalar == CG_IR_BFLOAT16))
    r = round_to(L, r, in->type.scalar);
  return r;
}

/* ---- casts ------------------------------------------------------------------ */

static unsigned int_bits(uint8_t s) { return (unsigned)cg_ir_scalar_size(s) * 8; }

/* float register -> integer type d: truncate toward zero, saturate to d, NaN -> 0. */
static LLVMValueRef float_to_int(lw *L, LLVMValueRef v, uint8_t d) {
  LLVMTypeRef ov[2] = {vec_of(val_scalar(L, d), lanes(v)), LLVMTypeOf(v)};
  return intrin(L, cg_ir_is_signed(d) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", ov, 2, &v, 1);
}

/* double -> float rounded to odd (toward zero, then the last bit set when inexact): a
 * second rounding to a 16-bit float is then correctly rounded (no double rounding). */
static LLVMValueRef f64_to_f32_odd(lw *L, LLVMValueRef d) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(d);
  LLVMTypeRef F = vec_of(L->tf, n), I = vec_of(L->t32, n);
  LLVMValueRef f = LLVMBuildFPTrunc(b, d, F, ""), back = LLVMBuildFPExt(b, f, LLVMTypeOf(d), "");
  LLVMValueRef fb = LLVMBuildBitCast(b, f, I, "");
  LLVMValueRef over = LLVMBuildFCmp(b, LLVMRealOGT, intrin1(L, "llvm.fabs", back), intrin1(L, "llvm.fabs", d), "");
  fb = LLVMBuildSelect(b, over, LLVMBuildSub(b, fb, ci(I, 1), ""), fb, "");
  LLVMValueRef inexact = LLVMBuildFCmp(b, LLVMRealONE, back, d, "");
  fb = LLVMBuildSelect(b, inexact, LLVMBuildOr(b, fb, ci(I, 1), ""), fb, "");
  return LLVMBuildBitCast(b, fb, F, "");
}

static LLVMValueRef lower_cast(lw *L, LLVMValueRef v, uint8_t s, uint8_t d) {
  LLVMBuilderRef b = L->b;
  unsigned n = lanes(v);
  LLVMTypeRef dt = vec_of(val_scalar(L, d), n);
  if (s == d) return v;
  if (d == CG_IR_BOOL) {
    if (cg_ir_is_float(s)) return LLVMBuildFCmp(b, LLVMRealUNE, v, cf(LLVMTypeOf(v), 0.0), "");
    return LLVMBuildICmp(b, LLVMIntNE, v, ci(LLVMTypeOf(v), 0), "");
  }
  int half = d == CG_IR_FLOAT16 || d == CG_IR_BFLOAT16;
  if (half && (s == CG_IR_FLOAT64 || (!cg_ir_is_float(s) && cg_ir_scalar_size(s) >= 4))) {
    /* through double (exact for ints below 2^53) and round-to-odd float */
    LLVMTypeRef D = vec_of(L->td, n);
    if (!cg_ir_is_float(s)) v = cg_ir_is_signed(s) ? LLVMBuildSIToFP(b, v, D, "") : LLVMBuildUIToFP(b, v, D, "");
    return round_to(L, f64_to_f32_odd(L, v), d);
  }
  if (cg_ir_is_float(d)) {
    LLVMValueRef r;
    if (!cg_ir_is_float(s)) r = cg_ir_is_signed(s) ? LLVMBuildSIToFP(b, v, dt, "") : LLVMBuildUIToFP(b, v, dt, "");
    else if (LLVMTypeOf(v) == dt) r = v;
    else r = d == CG_IR_FLOAT64 ? LLVMBuildFPExt(b, v, dt, "") : LLVMBuildFPTrunc(b, v, dt, "");
    return round_to(L, r, d);
  }
  if (cg_ir_is_float(s)) return float_to_int(L, v, d);
  unsigned sw = s == CG_IR_BOOL ? 1 : int_bits(s), dw = int_bits(d);
  if (dw < sw) return LLVMBuildTrunc(b, v, dt, "");
  if (dw == sw) return v;
  return cg_ir_is_signed(s) ? LLVMBuildSExt(b, v, dt, "") : LLVMBuildZExt(b, v, dt, "");
}

/* Reinterpret bits: register -> bits in memory form -> bitcast -> register. */
static LLVMValueRef lower_bitcast(lw *L, LLVMValueRef v, cg_ir_type st, cg_ir_type dt) {
  LLVMValueRef bits = to_mem(L, v, st.scalar, CG_IR_AS_GLOBAL);
  LLVMTypeRef mt = vec_of(mem_scalar(L, dt.scalar, CG_IR_AS_GLOBAL), dt.vec);
  return from_mem(L, LLVMBuildBitCast(L->b, bits, mt, ""), dt.scalar, CG_IR_AS_GLOBAL);
}

/* ---- memory ----------------------------------------------------------------- */

/* The scalar type and address space a pointer instruction points into: those of the
 * PARAM / DEFINE_* it indexes (space NONE if src is not a pointer). */
static cg_ir_type ptr_type(lw *L, int32_t src) {
  while (L->ins[src].op == CG_IR_INDEX) src = cg_ir_src(L->p, &L->ins[src], 0);
  cg_ir_type t = L->ins[src].type;
  int op = L->ins[src].op;
  if (op != CG_IR_PARAM && op != CG_IR_DEFINE_REG && op != CG_IR_DEFINE_LOCAL) t.space = CG_IR_AS_NONE;
  else if (op == CG_IR_PARAM) t.space = CG_IR_AS_GLOBAL;
  else if (op == CG_IR_DEFINE_REG) t.space = CG_IR_AS_REG;
  else t.space = CG_IR_AS_LOCAL;
  return t;
}

/* Alignment of one memory element: its size (i8/i16/i32/i64/float/double). */
static unsigned elem_align(lw *L, LLVMTypeRef et) {
  if (et == L->tf) return 4;
  if (et == L->td) return 8;
  return LLVMGetIntTypeWidth(et) / 8;
}

/* Pointer to n elements of memory type et at p (p: scalar pointer). */
static LLVMValueRef vec_ptr(lw *L, LLVMValueRef p, LLVMTypeRef et, unsigned n) {
  return LLVMBuildBitCast(L->b, p, LLVMPointerType(vec_of(et, n), 0), "");
}

/* LOAD ptr [, gate, alt]. The gate is a bool scalar (verifier): when off, the load
 * reads a zero block instead of ptr and the result is alt. */
static LLVMValueRef lower_load(lw *L, const cg_ir_inst *in, const int32_t *src) {
  cg_ir_type pt = ptr_type(L, src[0]);
  unsigned n = in->type.vec;
  LLVMTypeRef et = mem_scalar(L, pt.scalar, pt.space);
  LLVMValueRef p = L->v[src[0]], gate = in->nsrc == 3 ? L->v[src[1]] : NULL;
  if (gate) p = LLVMBuildSelect(L->b, gate, p, LLVMBuildBitCast(L->b, L->zero_buf, LLVMTypeOf(p), ""), "");
  LLVMValueRef r = LLVMBuildLoad2(L->b, vec_of(et, n), n > 1 ? vec_ptr(L, p, et, n) : p, "");
  LLVMSetAlignment(r, elem_align(L, et));
  r = from_mem(L, r, pt.scalar, pt.space);
  return gate ? LLVMBuildSelect(L->b, gate, r, L->v[src[2]], "") : r;
}

/* STORE ptr, value [, gate]. A gate (a bool scalar) branches around the store. */
static void lower_store(lw *L, const cg_ir_inst *in, const int32_t *src) {
  cg_ir_type pt = ptr_type(L, src[0]);
  LLVMValueRef p = L->v[src[0]], val = L->v[src[1]];
  unsigned n = lanes(val);
  LLVMTypeRef et = mem_scalar(L, pt.scalar, pt.space);
  LLVMValueRef mv = to_mem(L, val, pt.scalar, pt.space);
  LLVMBasicBlockRef cont = NULL;
  if (in->nsrc == 3) {
    LLVMBasicBlockRef st = LLVMAppendBasicBlockInContext(L->c, L->fn, "st");
    cont = LLVMAppendBasicBlockInContext(L->c, L->fn, "st.cont");
    LLVMBuildCondBr(L->b, L->v[src[2]], st, cont);
    LLVMPositionBuilderAtEnd(L->b, st);
  }
  LLVMValueRef s = LLVMBuildStore(L->b, mv, n > 1 ? vec_ptr(L, p, et, n) : p);
  LLVMSetAlignment(s, elem_align(L, et));
  if (cont) {
    LLVMBuildBr(L->b, cont);
    LLVMPositionBuilderAtEnd(L->b, cont);
  }
}

/* ---- control flow ----------------------------------------------------------- */

static LLVMBasicBlockRef new_block(lw *L, const char *name) {
  return LLVMAppendBasicBlockInContext(L->c, L->fn, name);
}

/* RANGE start, end: header with the loop variable phi, body, exit. */
static LLVMValueRef lower_range(lw *L, uint32_t i, const cg_ir_inst *in, LLVMValueRef *a) {
  LLVMTypeRef t = val_type(L, in->type); /* start and end have it too (verifier) */
  LLVMValueRef start = a[0], end = a[1];
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(L->b);
  LLVMBasicBlockRef head = new_block(L, "loop"), body = new_block(L, "body"), exit = new_block(L, "exit");
  LLVMBuildBr(L->b, head);
  LLVMPositionBuilderAtEnd(L->b, head);
  LLVMValueRef phi = LLVMBuildPhi(L->b, t, "r");
  LLVMAddIncoming(phi, &start, &pre, 1);
  int sgn = cg_ir_is_signed(in->type.scalar);
  LLVMValueRef c = LLVMBuildICmp(L->b, sgn ? LLVMIntSLT : LLVMIntULT, phi, end, "");
  LLVMBuildCondBr(L->b, c, body, exit);
  LLVMPositionBuilderAtEnd(L->b, body);
  L->blk_head[i] = head;
  L->blk_exit[i] = exit;
  return phi;
}

static void lower_endrange(lw *L, int32_t r) {
  LLVMValueRef phi = L->v[r];
  LLVMValueRef next = LLVMBuildNSWAdd(L->b, phi, ci(LLVMTypeOf(phi), 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(L->b);
  LLVMBuildBr(L->b, L->blk_head[r]);
  LLVMAddIncoming(phi, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(L->b, L->blk_exit[r]);
}

static void lower_if(lw *L, uint32_t i, LLVMValueRef c) {
  LLVMBasicBlockRef then = new_block(L, "then"), end = new_block(L, "endif");
  LLVMBuildCondBr(L->b, c, then, end);
  LLVMPositionBuilderAtEnd(L->b, then);
  L->blk_exit[i] = end;
}

/* ---- instructions ----------------------------------------------------------- */

static LLVMValueRef lower_const(lw *L, const cg_ir_inst *in) {
  LLVMTypeRef t = val_type(L, in->type);
  uint8_t s = in->type.scalar;
  if (cg_ir_is_float(s)) return round_to(L, cf(t, cg_ir_const_f(in)), s);
  if (s == CG_IR_BOOL) return ci(t, in->arg != 0);
  return ci(t, (uint64_t)in->arg);
}

/* SPECIAL: the group id of an axis; local ids are 0 (local size is 1 on the CPU). */
static LLVMValueRef lower_special(lw *L, const cg_ir_inst *in) {
  LLVMTypeRef t = val_type(L, in->type);
  int64_t axis = in->arg % 3, kind = in->arg / 3;
  if (kind == CG_IR_SPECIAL_LOCAL) return ci(t, 0);
  LLVMValueRef g = L->gid[axis];
  return t == L->t64 ? g : LLVMBuildTrunc(L->b, g, t, "");
}

/* VECTORIZE: one scalar source per lane (verifier). */
static LLVMValueRef lower_vectorize(lw *L, const cg_ir_inst *in) {
  if (in->nsrc == 1) return L->v[cg_ir_src(L->p, in, 0)];
  LLVMValueRef r = LLVMGetUndef(val_type(L, in->type));
  for (uint32_t j = 0; j < in->nsrc; j++)
    r = LLVMBuildInsertElement(L->b, r, L->v[cg_ir_src(L->p, in, (int)j)], LLVMConstInt(L->t32, j, 0), "");
  return r;
}

static LLVMValueRef lower_index(lw *L, const int32_t *src) {
  cg_ir_type pt = ptr_type(L, src[0]);
  LLVMValueRef idx = L->v[src[1]];
  return LLVMBuildGEP2(L->b, mem_scalar(L, pt.scalar, pt.space), L->v[src[0]], &idx, 1, "");
}

/* Lower instruction i; its value (if any) goes to L->v[i]. */
static int lower_inst(lw *L, uint32_t i) {
  const cg_ir_inst *in = &L->ins[i];
  const int32_t *src = cg_ir_srcs(L->p) + in->src_start;
  LLVMValueRef a[3] = {NULL, NULL, NULL}, r = NULL;
  for (uint32_t k = 0; k < in->nsrc && k < 3; k++) a[k] = L->v[src[k]];
  switch (in->op) {
  case CG_IR_NOP: case CG_IR_BARRIER: case CG_IR_PARAM: case CG_IR_VAR:
  case CG_IR_DEFINE_LOCAL: case CG_IR_DEFINE_REG:
    return 0; /* no code, or emitted in the entry block */
  case CG_IR_CONST: r = lower_const(L, in); break;
  case CG_IR_SPECIAL: r = lower_special(L, in); break;
  case CG_IR_RANGE: r = lower_range(L, i, in, a); break;
  case CG_IR_ENDRANGE: lower_endrange(L, src[0]); return 0;
  case CG_IR_IF: lower_if(L, i, a[0]); return 0;
  case CG_IR_ENDIF:
    LLVMBuildBr(L->b, L->blk_exit[src[0]]);
    LLVMPositionBuilderAtEnd(L->b, L->blk_exit[src[0]]);
    return 0;
  case CG_IR_INDEX: r = lower_index(L, src); break;
  case CG_IR_LOAD: r = lower_load(L, in, src); break;
  case CG_IR_STORE: lower_store(L, in, src); return 0;
  case CG_IR_CAST: r = lower_cast(L, a[0], L->ins[src[0]].type.scalar, in->type.scalar); break;
  case CG_IR_BITCAST: r = lower_bitcast(L, a[0], L->ins[src[0]].type, in->type); break;
  case CG_IR_VECTORIZE: r = lower_vectorize(L, in); break;
  case CG_IR_GEP: /* lane arg of a vector (verifier: in range) */
    r = lanes(a[0]) == 1 ? a[0] : LLVMBuildExtractElement(L->b, a[0], LLVMConstInt(L->t32, (uint64_t)in->arg, 0), "");
    break;
  case CG_IR_WMMA: return fail(L, i, "WMMA is not supported on the CPU");
  default: {
    int32_t s0 = in->op == CG_IR_WHERE ? src[1] : src[0];
    r = lower_alu(L, i, in, L->ins[s0].type.scalar, a);
  }
  }
  if (!r) return fail(L, i, "cannot lower %s", cg_ir_op_name(in->op));
  L->v[i] = r;
  return 0;
}

/* ---- analysis -------------------------------------------------------------- */

/* Mark int ADD/SUB/MUL whose every use is addressing (INDEX or other such ops): they
 * get nsw so LLVM can see consecutive accesses through the sign extension. */
static void mark_index_math(lw *L) {
  uint8_t *bad = calloc(L->n ? L->n : 1, 1), *used = calloc(L->n ? L->n : 1, 1);
  if (!bad || !used) goto done;
  for (uint32_t i = L->n; i-- > 0;) {
    const cg_ir_inst *in = &L->ins[i];
    int arith = in->op == CG_IR_ADD || in->op == CG_IR_SUB || in->op == CG_IR_MUL;
    L->idx_only[i] = (uint8_t)(arith && used[i] && !bad[i] && cg_ir_is_signed(in->type.scalar));
    for (uint32_t k = 0; k < in->nsrc; k++) {
      int32_t s = cg_ir_src(L->p, in, (int)k);
      used[s] = 1;
      if (!((in->op == CG_IR_INDEX && k == 1) || L->idx_only[i])) bad[s] = 1;
    }
  }
done:
  free(bad);
  free(used);
}

/* ---- the kernel frame ------------------------------------------------------- */

static LLVMValueRef load_at(lw *L, LLVMTypeRef t, LLVMValueRef base, uint64_t k) {
  LLVMValueRef idx = LLVMConstInt(L->t64, k, 0);
  LLVMValueRef p = LLVMBuildGEP2(L->b, t, base, &idx, 1, "");
  LLVMValueRef v = LLVMBuildLoad2(L->b, t, p, "");
  LLVMSetAlignment(v, 8);
  return v;
}

/* PARAM, VAR and DEFINE_* values, computed once in the entry block. */
/* Bytes of DEFINE_REG/DEFINE_LOCAL arrays per kernel (they live on the thread stack). */
#define CG_LLVM_MAX_ARRAY (1 << 20)

static int lower_entry_values(lw *L) {
  uint64_t stack = 0;
  for (uint32_t i = 0; i < L->n; i++) {
    const cg_ir_inst *in = &L->ins[i];
    cg_ir_type t = in->type;
    if (in->op == CG_IR_PARAM) { /* arg and type checked by the verifier */
      LLVMValueRef raw = LLVMGetParam(L->fn, (unsigned)in->arg);
      L->v[i] = LLVMBuildBitCast(L->b, raw, LLVMPointerType(mem_scalar(L, t.scalar, CG_IR_AS_GLOBAL), 0), "");
    } else if (in->op == CG_IR_VAR) {
      LLVMTypeRef vt = val_type(L, t);
      LLVMValueRef x = load_at(L, L->t64, L->vars, (uint64_t)in->arg);
      L->v[i] = vt == L->t64 ? x : LLVMBuildTrunc(L->b, x, vt, "");
    } else if (in->op == CG_IR_DEFINE_REG || in->op == CG_IR_DEFINE_LOCAL) {
      LLVMTypeRef et = mem_scalar(L, t.scalar, in->op == CG_IR_DEFINE_REG ? CG_IR_AS_REG : CG_IR_AS_LOCAL);
      stack += (uint64_t)in->arg * (cg_ir_is_float(t.scalar) && t.scalar != CG_IR_FLOAT64 ? 4 : cg_ir_scalar_size(t.scalar));
      if (in->arg > CG_LLVM_MAX_ARRAY || stack > CG_LLVM_MAX_ARRAY)
        return fail(L, i, "DEFINE_REG/DEFINE_LOCAL arrays above %d bytes in all are not supported on the CPU",
                    CG_LLVM_MAX_ARRAY);
      L->v[i] = LLVMBuildArrayAlloca(L->b, et, LLVMConstInt(L->t64, (uint64_t)in->arg, 0), "");
      LLVMSetAlignment(L->v[i], 64);
    }
  }
  return 0;
}

/* Loop state of the group loop (see the file comment). */
typedef struct {
  LLVMBasicBlockRef row, body, rowend, ret;
  LLVMValueRef flat, g0b, g1, g2, g0, n, g0end, G1, end;
} frame;

static void frame_open(lw *L, frame *f) {
  LLVMBuilderRef b = L->b;
  LLVMValueRef start = LLVMGetParam(L->fn, L->p->nparams + 1);
  f->end = LLVMGetParam(L->fn, L->p->nparams + 2);
  LLVMValueRef G0 = load_at(L, L->t64, L->vars, L->p->nvars);
  f->G1 = load_at(L, L->t64, L->vars, L->p->nvars + 1u);
  LLVMBasicBlockRef pre = new_block(L, "pre");
  f->row = new_block(L, "row");
  f->body = new_block(L, "body");
  f->rowend = new_block(L, "rowend");
  f->ret = new_block(L, "ret");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, start, f->end, ""), pre, f->ret);
  LLVMPositionBuilderAtEnd(b, pre);
  LLVMValueRef g0s = LLVMBuildURem(b, start, G0, ""), rest = LLVMBuildUDiv(b, start, G0, "");
  LLVMValueRef g1s = LLVMBuildURem(b, rest, f->G1, ""), g2s = LLVMBuildUDiv(b, rest, f->G1, "");
  LLVMBuildBr(b, f->row);
  LLVMPositionBuilderAtEnd(b, f->row);
  f->flat = LLVMBuildPhi(b, L->t64, "flat");
  f->g0b = LLVMBuildPhi(b, L->t64, "g0b");
  f->g1 = LLVMBuildPhi(b, L->t64, "g1");
  f->g2 = LLVMBuildPhi(b, L->t64, "g2");
  LLVMAddIncoming(f->flat, &start, &pre, 1);
  LLVMAddIncoming(f->g0b, &g0s, &pre, 1);
  LLVMAddIncoming(f->g1, &g1s, &pre, 1);
  LLVMAddIncoming(f->g2, &g2s, &pre, 1);
  LLVMValueRef left_row = LLVMBuildSub(b, G0, f->g0b, ""), left = LLVMBuildSub(b, f->end, f->flat, "");
  f->n = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, left_row, left, ""), left_row, left, "");
  f->g0end = LLVMBuildAdd(b, f->g0b, f->n, "");
  LLVMBuildBr(b, f->body);
  LLVMPositionBuilderAtEnd(b, f->body);
  f->g0 = LLVMBuildPhi(b, L->t64, "g0");
  LLVMAddIncoming(f->g0, &f->g0b, &f->row, 1);
  L->gid[0] = f->g0;
  L->gid[1] = f->g1;
  L->gid[2] = f->g2;
}

static void frame_close(lw *L, frame *f) {
  LLVMBuilderRef b = L->b;
  LLVMValueRef g0n = LLVMBuildNUWAdd(b, f->g0, LLVMConstInt(L->t64, 1, 0), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntULT, g0n, f->g0end, ""), f->body, f->rowend);
  LLVMAddIncoming(f->g0, &g0n, &latch, 1);
  LLVMMoveBasicBlockAfter(f->rowend, latch);
  LLVMMoveBasicBlockAfter(f->ret, f->rowend);
  LLVMPositionBuilderAtEnd(b, f->rowend);
  LLVMValueRef one = LLVMConstInt(L->t64, 1, 0), zero = LLVMConstInt(L->t64, 0, 0);
  LLVMValueRef flat2 = LLVMBuildAdd(b, f->flat, f->n, "");
  LLVMValueRef g1i = LLVMBuildAdd(b, f->g1, one, "");
  LLVMValueRef wrap = LLVMBuildICmp(b, LLVMIntEQ, g1i, f->G1, "");
  LLVMValueRef g1n = LLVMBuildSelect(b, wrap, zero, g1i, "");
  LLVMValueRef g2n = LLVMBuildSelect(b, wrap, LLVMBuildAdd(b, f->g2, one, ""), f->g2, "");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, flat2, f->end, ""), f->row, f->ret);
  LLVMAddIncoming(f->flat, &flat2, &f->rowend, 1);
  LLVMAddIncoming(f->g0b, &zero, &f->rowend, 1);
  LLVMAddIncoming(f->g1, &g1n, &f->rowend, 1);
  LLVMAddIncoming(f->g2, &g2n, &f->rowend, 1);
  LLVMPositionBuilderAtEnd(b, f->ret);
  LLVMBuildRetVoid(b);
}

static void add_fn_attr(lw *L, LLVMValueRef fn, const char *k, const char *v) {
  LLVMAttributeRef a = LLVMCreateStringAttribute(L->c, k, (unsigned)strlen(k), v, (unsigned)strlen(v));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
}

static void add_enum_attr(lw *L, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(L->c, kind, 0));
}

/* Declare the kernel: an internal body(buf0, .., bufN-1, vars, start, end) that holds the
 * program (noalias buffers unless L->alias_safe) and the exported wrapper sym(bufs, vars,
 * start, end) that loads the buffer pointers and calls it (inlined by the pipeline,
 * which turns noalias into alias scopes). Also the zero block for gated loads. */
static void declare_kernel(lw *L, const cg__llvm_dev *d, const char *sym) {
  LLVMTypeRef i8p = LLVMPointerType(L->t8, 0), pp = LLVMPointerType(i8p, 0), vp = LLVMPointerType(L->t64, 0);
  uint32_t np = L->p->nparams;
  LLVMTypeRef *bt = malloc((np + 3) * sizeof *bt);
  if (!bt) return;
  for (uint32_t k = 0; k < np; k++) bt[k] = i8p;
  bt[np] = vp, bt[np + 1] = L->t64, bt[np + 2] = L->t64;
  char name[160];
  snprintf(name, sizeof name, "%s.body", sym);
  L->fn = LLVMAddFunction(L->m, name, LLVMFunctionType(L->tvoid, bt, np + 3, 0));
  LLVMSetLinkage(L->fn, LLVMInternalLinkage);
  add_enum_attr(L, L->fn, LLVMAttributeFunctionIndex, "nounwind");
  add_enum_attr(L, L->fn, LLVMAttributeFunctionIndex, "alwaysinline");
  for (uint32_t k = 0; k < np && !L->alias_safe; k++) add_enum_attr(L, L->fn, k + 1, "noalias");
  add_fn_attr(L, L->fn, "target-cpu", d->cpu);
  add_fn_attr(L, L->fn, "target-features", d->features);
  L->vars = LLVMGetParam(L->fn, np);
  LLVMTypeRef wa[4] = {pp, vp, L->t64, L->t64};
  LLVMValueRef w = LLVMAddFunction(L->m, sym, LLVMFunctionType(L->tvoid, wa, 4, 0));
  add_enum_attr(L, w, LLVMAttributeFunctionIndex, "nounwind");
  add_fn_attr(L, w, "target-cpu", d->cpu);
  add_fn_attr(L, w, "target-features", d->features);
  LLVMPositionBuilderAtEnd(L->b, LLVMAppendBasicBlockInContext(L->c, w, "entry"));
  LLVMValueRef *args = malloc((np + 3) * sizeof *args);
  if (args) {
    for (uint32_t k = 0; k < np; k++) args[k] = load_at(L, i8p, LLVMGetParam(w, 0), k);
    for (unsigned k = 0; k < 3; k++) args[np + k] = LLVMGetParam(w, k + 1);
    LLVMBuildCall2(L->b, LLVMGlobalGetValueType(L->fn), L->fn, args, np + 3, "");
    LLVMBuildRetVoid(L->b);
    free(args);
  }
  free(bt);
  LLVMTypeRef zt = LLVMArrayType(L->t64, 16);
  LLVMValueRef z = LLVMAddGlobal(L->m, zt, "cg_zero");
  LLVMSetInitializer(z, LLVMConstNull(zt));
  LLVMSetGlobalConstant(z, 1);
  LLVMSetLinkage(z, LLVMPrivateLinkage);
  LLVMSetAlignment(z, 64);
  L->zero_buf = z;
}

static void lw_free(lw *L) {
  free(L->v);
  free(L->blk_exit);
  free(L->blk_head);
  free(L->idx_only);
  if (L->b) LLVMDisposeBuilder(L->b);
  if (L->m) LLVMDisposeModule(L->m);
  if (L->c) LLVMContextDispose(L->c);
}

/* Build the module for prog into L (caller frees with lw_free). 0 or -1 + L->err. */
static int build_module(lw *L, const cg__llvm_dev *d, const cg_ir_program *p, LLVMTargetMachineRef tm,
                        int alias_safe) {
  memset(L, 0, sizeof *L);
  L->alias_safe = alias_safe;
  char verr[200];
  /* The lowering relies on everything the verifier checks (header, tables, source
   * order, block nesting, arity and types: e.g. operands of one type, scalar gates and
   * VECTORIZE lanes), so it does not re-check them. */
  if (cg_ir_verify(p, p->total_size, verr, sizeof verr) != 0) {
    snprintf(L->err, sizeof L->err, "llvm: invalid IR: %s", verr);
    return -1;
  }
  L->p = p;
  L->ins = cg_ir_insts(p);
  L->n = p->ninsts;
  size_t n = L->n ? L->n : 1;
  L->v = calloc(n, sizeof *L->v);
  L->blk_exit = calloc(n, sizeof *L->blk_exit);
  L->blk_head = calloc(n, sizeof *L->blk_head);
  L->idx_only = calloc(n, 1);
  if (!L->v || !L->blk_exit || !L->blk_head || !L->idx_only) {
    snprintf(L->err, sizeof L->err, "llvm: out of memory");
    return -1;
  }
  mark_index_math(L);
  const char *ct = cg_host_option("CG_LLVM_CONTRACT");
  L->contract = ct && ct[0] == '1';
  L->f16c = cg__llvm_f16c(d);
  L->c = LLVMContextCreate();
  L->t1 = LLVMInt1TypeInContext(L->c);
  L->t8 = LLVMInt8TypeInContext(L->c);
  L->t16 = LLVMInt16TypeInContext(L->c);
  L->t32 = LLVMInt32TypeInContext(L->c);
  L->t64 = LLVMInt64TypeInContext(L->c);
  L->tf = LLVMFloatTypeInContext(L->c);
  L->td = LLVMDoubleTypeInContext(L->c);
  L->tvoid = LLVMVoidTypeInContext(L->c);
  char sym[140];
  cg__llvm_symbol(p, sym, sizeof sym);
  if (alias_safe) strcat(sym, "_alias");
  L->m = LLVMModuleCreateWithNameInContext(sym, L->c);
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMSetTarget(L->m, triple);
  LLVMDisposeMessage(triple);
  if (tm) {
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(L->m, dl);
    LLVMDisposeTargetData(dl);
  }
  L->b = LLVMCreateBuilderInContext(L->c);
  declare_kernel(L, d, sym);
  if (!L->fn) {
    snprintf(L->err, sizeof L->err, "llvm: out of memory");
    return -1;
  }
  LLVMPositionBuilderAtEnd(L->b, new_block(L, "entry"));
  if (lower_entry_values(L)) return -1;
  frame f;
  frame_open(L, &f);
  for (uint32_t i = 0; i < L->n; i++)
    if (lower_inst(L, i)) return -1;
  frame_close(L, &f);
  char *msg = NULL;
  if (LLVMVerifyModule(L->m, LLVMReturnStatusAction, &msg)) {
    snprintf(L->err, sizeof L->err, "llvm: generated module is invalid: %.200s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return -1;
  }
  LLVMDisposeMessage(msg);
  return 0;
}

/* ---- target, render, compile ------------------------------------------------ */

static int g_target_ok = -1;
static void init_target_once(void) {
  /* Let the loop vectorizer handle float reductions in their sequential order (an
   * ordered vector reduce keeps the exact result): the work feeding the sum then runs in
   * vectors. Process-wide LLVM option; an LLVM without it ignores it silently. */
  const char *argv[] = {"cgrad", "-force-ordered-reductions"};
  LLVMParseCommandLineOptions(2, argv, NULL);
  g_target_ok = (LLVMInitializeNativeTarget() == 0 && LLVMInitializeNativeAsmPrinter() == 0) ? 0 : -1;
}

int cg__llvm_init_target(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_target_once);
  return g_target_ok;
}

uint64_t cg__llvm_hash(const void *data, size_t n, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ull ^ seed;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void cg__llvm_symbol(const cg_ir_program *prog, char *out, size_t n) {
  char name[65];
  size_t k = 0;
  for (; k < 64 && prog->name[k]; k++) {
    char c = prog->name[k];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    name[k] = ok ? c : '_';
  }
  name[k] = 0;
  uint64_t h = cg__llvm_hash(prog, prog->total_size, 0);
  snprintf(out, n, "cg_%s_%016llx", name, (unsigned long long)h);
}

static LLVMTargetMachineRef make_tm(const cg__llvm_dev *d, char *err, size_t n) {
  char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
  LLVMTargetRef t = NULL;
  LLVMTargetMachineRef tm = NULL;
  if (LLVMGetTargetFromTriple(triple, &t, &msg))
    snprintf(err, n, "llvm: no target for %s: %s", triple, msg ? msg : "");
  else
    tm = LLVMCreateTargetMachine(t, triple, d->cpu, d->features, LLVMCodeGenLevelDefault, LLVMRelocPIC,
                                 LLVMCodeModelJITDefault);
  if (t && !tm && !err[0]) snprintf(err, n, "llvm: cannot create a target machine for %s", d->cpu);
  LLVMDisposeMessage(msg);
  LLVMDisposeMessage(triple);
  return tm;
}

cg_pstatus cg__llvm_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  lw L;
  cg_pstatus st = CG_P_ERR_COMPILE;
  char err[256] = "";
  LLVMTargetMachineRef tm = make_tm(dev, err, sizeof err);
  *src = NULL;
  if (!tm) return cg_host_error(CG_P_ERR_INTERNAL, "%s", err);
  if (build_module(&L, dev, prog, tm, 0) == 0) {
    char *text = LLVMPrintModuleToString(L.m);
    *src = text ? strdup(text) : NULL;
    LLVMDisposeMessage(text);
    st = *src ? CG_P_OK : CG_P_ERR_NOMEM;
    if (lang) *lang = "llvm";
  } else {
    (void)cg_host_error(CG_P_ERR_INTERNAL, "%s", L.err);
  }
  lw_free(&L);
  LLVMDisposeTargetMachine(tm);
  return st;
}

/* ---- non-temporal stores for outputs larger than the caches ------------------- */

/* Smallest written buffer (bytes) whose vector stores become non-temporal:
 * CG_LLVM_NT_MIN, default 32 MiB (above this VM's and most CPUs' last-level cache, so
 * the next kernel would not find the data in cache anyway). 0 = never. */
size_t cg__llvm_nt_min(void) {
  const char *v = cg_host_option("CG_LLVM_NT_MIN");
  return v ? (size_t)strtoull(v, NULL, 10) : (size_t)32 << 20;
}

/* The parameter a store's address comes from: the address is a GEP/bitcast chain on a
 * pointer loaded from the wrapper's bufs array (slot k; the optimizer may bitcast the
 * slot or its base). -1 for anything else (allocas
 * of DEFINE_REG/DEFINE_LOCAL, the zero block). */
static int store_param(LLVMValueRef ptr) {
  while (LLVMIsAGetElementPtrInst(ptr) || LLVMIsABitCastInst(ptr)) ptr = LLVMGetOperand(ptr, 0);
  if (!LLVMIsALoadInst(ptr)) return -1;
  LLVMValueRef slot = LLVMGetOperand(ptr, 0);
  while (LLVMIsABitCastInst(slot)) slot = LLVMGetOperand(slot, 0);
  if (LLVMIsAArgument(slot)) return 0;
  if (!LLVMIsAGetElementPtrInst(slot) || LLVMGetNumOperands(slot) != 2) return -1;
  LLVMValueRef base = LLVMGetOperand(slot, 0);
  while (LLVMIsABitCastInst(base)) base = LLVMGetOperand(base, 0);
  if (!LLVMIsAArgument(base)) return -1;
  LLVMValueRef k = LLVMGetOperand(slot, 1);
  return LLVMIsAConstantInt(k) ? (int)LLVMConstIntGetZExtValue(k) : -1;
}

/* IR value i with casts between integer types skipped (they keep the low bits). */
static int32_t uncast(const cg_ir_program *p, int32_t i) {
  const cg_ir_inst *ins = cg_ir_insts(p);
  while (ins[i].op == CG_IR_CAST && ins[i].nsrc == 1 && !cg_ir_is_float(ins[i].type.scalar) &&
         ins[i].type.scalar != CG_IR_BOOL) {
    int32_t s = cg_ir_src(p, &ins[i], 0);
    if (cg_ir_is_float(ins[s].type.scalar) || ins[s].type.scalar == CG_IR_BOOL) break;
    i = s;
  }
  return i;
}

/* Is IR value i the group id of axis 0 (g0)? */
static int is_g0(const cg_ir_program *p, int32_t i) {
  const cg_ir_inst *in = &cg_ir_insts(p)[uncast(p, i)];
  return in->op == CG_IR_SPECIAL && in->arg == CG_IR_SPECIAL_GROUP * 3 + 0;
}

/* Is IR value i a RANGE 0..n with a constant n that is a multiple of 64? (The innermost
 * loop: the vectorizer's, its vectors start at multiples of the vector width, and it
 * is too long to be fully unrolled first.) */
static int is_long_range(const cg_ir_program *p, int32_t i) {
  const cg_ir_inst *ins = cg_ir_insts(p);
  i = uncast(p, i);
  if (ins[i].op != CG_IR_RANGE || ins[i].nsrc != 2) return 0;
  const cg_ir_inst *s = &ins[cg_ir_src(p, &ins[i], 0)], *e = &ins[cg_ir_src(p, &ins[i], 1)];
  return s->op == CG_IR_CONST && s->arg == 0 && e->op == CG_IR_CONST && e->arg >= 64 && e->arg % 64 == 0;
}

/* Trailing zero bits every value of integer IR value i has (constants, sums and products
 * of them; anything else 0). Depth-limited. */
static int known_tz(const cg_ir_program *p, int32_t i, int depth) {
  const cg_ir_inst *in = &cg_ir_insts(p)[uncast(p, i)];
  if (depth > 8) return 0;
  if (in->op == CG_IR_CONST) {
    uint64_t v = (uint64_t)in->arg;
    return v ? __builtin_ctzll(v) : 64;
  }
  if (in->nsrc != 2) return 0;
  int a = known_tz(p, cg_ir_src(p, in, 0), depth + 1), b = known_tz(p, cg_ir_src(p, in, 1), depth + 1);
  if (in->op == CG_IR_ADD) return a < b ? a : b;
  if (in->op == CG_IR_MUL) return a + b > 64 ? 64 : a + b;
  return 0;
}

/* Does a vector store at element index idx (elements of size bytes) start at a multiple
 * of 64 bytes? 2: idx is g0 (if the runtime starts every call's rows at multiples of
 * CG_LLVM_NT_ALIGN_ELEMS); 1: a long RANGE, or one plus a multiple of 64 bytes; 0: no. */
static int index_aligned(const cg_ir_program *p, int32_t idx, size_t size) {
  const cg_ir_inst *in = &cg_ir_insts(p)[uncast(p, idx)];
  int sz = __builtin_ctzll(size);
  if (is_g0(p, idx)) return 2;
  if (is_long_range(p, idx)) return 1;
  if (in->op != CG_IR_ADD || in->nsrc != 2) return 0;
  int32_t a = cg_ir_src(p, in, 0), b = cg_ir_src(p, in, 1);
  return (is_long_range(p, a) && known_tz(p, b, 0) + sz >= 6) ||
         (is_long_range(p, b) && known_tz(p, a, 0) + sz >= 6);
}

/* Parameters (bit k, k < 64) whose non-temporal vector stores can be full-width aligned:
 * written, nt_min bytes or more, and every store into them writes one scalar at element
 * an index_aligned element. With g0, the loop vectorizer's stores sit at g0b + a multiple
 * of the vector width, where g0b is the first g0 of a call's row; the runtime launches
 * this kernel only with g0b a multiple of CG_LLVM_NT_ALIGN_ELEMS and those buffers
 * 64-byte aligned (else it runs the variant without non-temporal stores), so the address
 * is a multiple of 64 bytes and of the vector's size. With a long inner RANGE r (the CPU
 * shape E_n_L0xm: index r + g0*m) the vectors start at r = multiples of the width. */
uint64_t cg__llvm_nt_aligned_mask(const cg_ir_program *p, size_t nt_min, uint64_t *at_g0) {
  const cg_ir_param *par = cg_ir_params(p);
  const cg_ir_inst *ins = cg_ir_insts(p);
  uint64_t ok = 0, bad = 0, g0 = 0;
  if (at_g0) *at_g0 = 0;
  if (!nt_min) return 0;
  for (uint32_t k = 0; k < p->nparams && k < 64; k++)
    if ((par[k].flags & CG_IR_PARAM_WRITE) &&
        (size_t)par[k].count * cg_ir_scalar_size(par[k].scalar) >= nt_min)
      ok |= (uint64_t)1 << k;
  for (uint32_t i = 0; i < p->ninsts && ok; i++) {
    if (ins[i].op != CG_IR_STORE) continue;
    int32_t ptr = cg_ir_src(p, &ins[i], 0), val = cg_ir_src(p, &ins[i], 1);
    if (ins[ptr].op == CG_IR_PARAM) {
      if (ins[ptr].arg < 64) bad |= (uint64_t)1 << ins[ptr].arg;
      continue;
    }
    if (ins[ptr].op != CG_IR_INDEX) continue; /* registers, locals */
    int32_t base = cg_ir_src(p, &ins[ptr], 0);
    if (ins[base].op != CG_IR_PARAM) continue;
    if (ins[base].arg >= 64) continue;
    int how = ins[val].type.vec != 1 ? 0 : index_aligned(p, cg_ir_src(p, &ins[ptr], 1),
                                                          cg_ir_scalar_size(par[ins[base].arg].scalar));
    if (!how) bad |= (uint64_t)1 << ins[base].arg;
    if (how == 2) g0 |= (uint64_t)1 << ins[base].arg;
  }
  if (at_g0) *at_g0 = ok & ~bad & g0;
  return ok & ~bad;
}

/* Marks the vector stores into written buffers of nt_min bytes or more !nontemporal (the
 * line is written to memory without being read first: on a memory-bound kernel that read
 * for ownership is a fifth to a third of the traffic) and fences the kernel's returns so
 * the weakly ordered stores are visible to whoever runs next. After optimization: the
 * stores are the vectorizer's (it would refuse to vectorize a loop with non-temporal
 * stores it cannot prove aligned). Returns the number of stores marked. */
static int mark_nontemporal(lw *L, const cg_ir_program *p, size_t nt_min) {
  const cg_ir_param *par = cg_ir_params(p);
  int marked = 0;
  LLVMMetadataRef one = LLVMValueAsMetadata(LLVMConstInt(L->t32, 1, 0));
  LLVMValueRef md = LLVMMetadataAsValue(L->c, LLVMMDNodeInContext2(L->c, &one, 1));
  unsigned kind = LLVMGetMDKindIDInContext(L->c, "nontemporal", 11);
  uint64_t amask = cg__llvm_nt_aligned_mask(p, nt_min, NULL);
  for (LLVMValueRef f = LLVMGetFirstFunction(L->m); f; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
      for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
        if (LLVMGetInstructionOpcode(in) != LLVMStore) continue;
        if (LLVMGetTypeKind(LLVMTypeOf(LLVMGetOperand(in, 0))) != LLVMVectorTypeKind) continue;
        int k = store_param(LLVMGetOperand(in, 1));
        if (k < 0 || (uint32_t)k >= p->nparams || !(par[k].flags & CG_IR_PARAM_WRITE) ||
            (size_t)par[k].count * cg_ir_scalar_size(par[k].scalar) < nt_min)
          continue;
        LLVMSetMetadata(in, kind, md);
        marked++;
        LLVMTypeRef vt = LLVMTypeOf(LLVMGetOperand(in, 0));
        unsigned vb = LLVMGetVectorSize(vt) * elem_align(L, LLVMGetElementType(vt));
        if (k < 64 && (amask >> k & 1) && vb <= 64 && (vb & (vb - 1)) == 0 && vb > LLVMGetAlignment(in))
          LLVMSetAlignment(in, vb); /* full-width movntps instead of 8-byte pieces */
      }
  for (LLVMValueRef f = LLVMGetFirstFunction(L->m); f && marked; f = LLVMGetNextFunction(f))
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb)) {
      LLVMValueRef t = LLVMGetBasicBlockTerminator(bb);
      if (!t || LLVMGetInstructionOpcode(t) != LLVMRet) continue;
      LLVMPositionBuilderBefore(L->b, t);
      LLVMBuildFence(L->b, LLVMAtomicOrderingSequentiallyConsistent, 0, "");
    }
  return marked;
}

/* O2 pipeline with loop and SLP vectorization, for the target machine's CPU. */
static int optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, char *err, size_t n) {
  LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(o, 1);
  LLVMErrorRef e = LLVMRunPasses(m, "default<O2>", tm, o);
  LLVMDisposePassBuilderOptions(o);
  if (!e) return 0;
  char *msg = LLVMGetErrorMessage(e);
  snprintf(err, n, "llvm: optimization failed: %s", msg);
  LLVMDisposeErrorMessage(msg);
  return -1;
}

/* Emit an object (or assembly) file of m into a malloc'd block. */
static void *emit(LLVMTargetMachineRef tm, LLVMModuleRef m, LLVMCodeGenFileType ft, size_t *size,
                  char *err, size_t n) {
  char *msg = NULL;
  LLVMMemoryBufferRef buf = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, ft, &msg, &buf)) {
    snprintf(err, n, "llvm: code generation failed: %s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return NULL;
  }
  size_t sz = LLVMGetBufferSize(buf);
  char *out = malloc(sz + 1);
  if (out) {
    memcpy(out, LLVMGetBufferStart(buf), sz);
    out[sz] = 0;
    *size = sz;
  } else {
    snprintf(err, n, "llvm: out of memory");
  }
  LLVMDisposeMemoryBuffer(buf);
  return out;
}

cg_pstatus cg__llvm_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                            size_t *blob_size) {
  return cg__llvm_compile_variant(dev, prog, 0, blob, blob_size);
}

cg_pstatus cg__llvm_compile_variant(void *dev, const cg_ir_program *prog, int alias_safe, void **blob,
                                    size_t *blob_size) {
  lw L;
  char err[256] = "";
  LLVMTargetMachineRef tm = make_tm(dev, err, sizeof err);
  *blob = NULL;
  *blob_size = 0;
  if (!tm) return cg_host_error(CG_P_ERR_INTERNAL, "%s", err);
  if (build_module(&L, dev, prog, tm, alias_safe) != 0) {
    snprintf(err, sizeof err, "%s", L.err);
  } else if (optimize(L.m, tm, err, sizeof err) == 0) {
    size_t nt_min = cg__llvm_nt_min(); /* not for overlapping buffers: kept conservative */
    if (nt_min && !alias_safe) mark_nontemporal(&L, prog, nt_min);
    if (cg__llvm_debug() >= 5) {
      size_t asz = 0;
      char *as = emit(tm, L.m, LLVMAssemblyFile, &asz, err, sizeof err);
      if (as) cg__llvm_log(CG_LOG_INFO, "llvm: assembly of %s\n%s", prog->name, as);
      free(as);
    }
    *blob = emit(tm, L.m, LLVMObjectFile, blob_size, err, sizeof err);
  }
  lw_free(&L);
  LLVMDisposeTargetMachine(tm);
  if (*blob) return CG_P_OK;
  (void)cg_host_error(CG_P_ERR_INTERNAL, "%s", err);
  return strstr(err, "not supported") ? CG_P_ERR_UNSUPPORTED : CG_P_ERR_COMPILE;
}
