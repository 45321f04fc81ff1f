/* cgrad kernel IR: the linear SSA program the core hands to every plugin.
 *
 * A cg_ir_program is ONE contiguous, position-independent block of memory:
 *
 *   [cg_ir_program header][cg_ir_param x nparams][cg_ir_var x nvars]
 *   [cg_ir_inst x ninsts][int32 src x nsrcs]
 *
 * Every table is addressed by a byte offset from the start of the header, so the
 * block can be memcpy'd, written to disk and read back unchanged: the in-memory
 * layout IS the binary serialization (little-endian hosts; see docs/ir.md).
 *
 * Instructions are in SSA order: an instruction's srcs name earlier instructions by
 * index. Op numbers are append-only and never reused; adding an op bumps
 * CG_IR_VERSION_MINOR; a plugin states the IR range it accepts in its manifest.
 *
 * Semantics of every op are defined by the `ref` plugin (plugins/ref), the
 * executable specification, and summarised next to each op below.
 */
#ifndef CGRAD_IR_H
#define CGRAD_IR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CG_IR_MAGIC 0x52494743u /* "CGIR" little-endian */
#define CG_IR_VERSION_MAJOR 1
#define CG_IR_VERSION_MINOR 0

/* Scalar types. Numbering matches cg_dtype in <cgrad/cgrad.h>. */
typedef enum {
  CG_IR_BOOL, CG_IR_INT8, CG_IR_INT16, CG_IR_INT32, CG_IR_INT64,
  CG_IR_UINT8, CG_IR_UINT16, CG_IR_UINT32, CG_IR_UINT64,
  CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_FLOAT32, CG_IR_FLOAT64,
  CG_IR_VOID,  /* instructions with no value: STORE, ENDRANGE, BARRIER, ... */
  CG_IR_SCALAR_COUNT
} cg_ir_scalar;

/* Address spaces of pointer values. */
typedef enum {
  CG_IR_AS_NONE,   /* a plain value, not a pointer */
  CG_IR_AS_GLOBAL, /* device memory: PARAM */
  CG_IR_AS_LOCAL,  /* work-group shared memory: DEFINE_LOCAL */
  CG_IR_AS_REG,    /* per-thread private array: DEFINE_REG */
  CG_IR_AS_COUNT
} cg_ir_addrspace;

/* An instruction's type: scalar type, vector width (1 = scalar) and, for
 * pointers, the address space of what they point to. */
typedef struct {
  uint8_t scalar; /* cg_ir_scalar */
  uint8_t vec;    /* lanes, 1..16 */
  uint8_t space;  /* cg_ir_addrspace; NONE for values */
  uint8_t pad;
} cg_ir_type;

/* X(name, nsrc, summary). nsrc -1 = variable. Append only: numbers are ABI. */
#define CG_IR_OPS(X)                                                                 \
  X(NOP, 0, "placeholder, no effect")                                                \
  X(PARAM, 0, "arg = parameter index; global pointer to a buffer")                   \
  X(VAR, 0, "arg = variable index; int32 scalar kernel argument")                    \
  X(SPECIAL, 0, "arg = axis(0..2) + 3*kind; kind 0 group id, 1 local id")            \
  X(DEFINE_LOCAL, 0, "arg = element count; shared memory array")                     \
  X(DEFINE_REG, 0, "arg = element count; per-thread array (accumulators)")           \
  X(CONST, 0, "arg = value: int64 for ints/bool, IEEE double bits for floats")       \
  X(RANGE, 2, "src = start, end (int32); loop var; step 1; closed by ENDRANGE")      \
  X(ENDRANGE, 1, "src = the RANGE it closes")                                        \
  X(IF, 1, "src = bool condition; closed by ENDIF")                                  \
  X(ENDIF, 1, "src = the IF it closes")                                              \
  X(BARRIER, 0, "work-group barrier over local memory")                              \
  X(INDEX, 2, "src = ptr, int index (elements); pointer to ptr[index]")              \
  X(LOAD, -1, "src = ptr [, bool gate, alt]; value, or alt when gate is false")      \
  X(STORE, -1, "src = ptr, value [, bool gate]; no store when gate is false")        \
  X(EXP2, 1, "2^x")                                                                  \
  X(LOG2, 1, "log2(x)")                                                              \
  X(SIN, 1, "sin(x)")                                                                \
  X(SQRT, 1, "sqrt(x)")                                                              \
  X(RECIP, 1, "1/x")                                                                 \
  X(NEG, 1, "-x; for bool: logical not")                                             \
  X(TRUNC, 1, "round toward zero (floats)")                                          \
  X(ADD, 2, "a+b (ints wrap)")                                                       \
  X(SUB, 2, "a-b")                                                                   \
  X(MUL, 2, "a*b")                                                                   \
  X(FDIV, 2, "a/b (floats)")                                                         \
  X(IDIV, 2, "a/b truncating toward zero (ints); b==0 gives 0")                      \
  X(MOD, 2, "a%b, sign of a (C remainder, ints); b==0 gives 0")                      \
  X(MAX, 2, "max(a,b); NaN if either is NaN")                                        \
  X(POW, 2, "a^b (floats)")                                                          \
  X(CMPLT, 2, "a<b -> bool")                                                         \
  X(CMPNE, 2, "a!=b -> bool")                                                        \
  X(CMPEQ, 2, "a==b -> bool")                                                        \
  X(AND, 2, "bitwise/logical and (ints, bool)")                                      \
  X(OR, 2, "bitwise/logical or")                                                     \
  X(XOR, 2, "bitwise/logical xor")                                                   \
  X(SHL, 2, "a<<b (ints)")                                                           \
  X(SHR, 2, "a>>b (ints; arithmetic for signed)")                                    \
  X(WHERE, 3, "c ? a : b")                                                           \
  X(MULACC, 3, "a*b+c")                                                              \
  X(CAST, 1, "value conversion (float->int truncates; ->bool is !=0)")              \
  X(BITCAST, 1, "reinterpret bits (same total size)")                                \
  X(VECTORIZE, -1, "srcs = lanes -> vector")                                         \
  X(GEP, 1, "arg = lane; element of a vector")                                       \
  X(WMMA, 3, "a*b+c on matrix fragments; arg = tensor-core shape id")

typedef enum {
#define CG_IR_X(name, n, doc) CG_IR_##name,
  CG_IR_OPS(CG_IR_X)
#undef CG_IR_X
  CG_IR_OP_COUNT
} cg_ir_op;

/* SPECIAL kinds (arg = axis + 3*kind). */
enum { CG_IR_SPECIAL_GROUP = 0, CG_IR_SPECIAL_LOCAL = 1 };

/* One instruction: 24 bytes, no pointers. */
typedef struct {
  uint16_t op;        /* cg_ir_op */
  uint16_t nsrc;      /* number of sources */
  cg_ir_type type;    /* result type */
  uint32_t src_start; /* first source in the program's src table */
  uint32_t pad;
  int64_t arg;        /* op-specific, see the table above */
} cg_ir_inst;

/* Parameter (buffer) flags. */
enum { CG_IR_PARAM_READ = 1, CG_IR_PARAM_WRITE = 2 };

typedef struct {
  uint8_t scalar;  /* element type, cg_ir_scalar */
  uint8_t flags;   /* CG_IR_PARAM_READ | CG_IR_PARAM_WRITE */
  uint16_t pad;
  uint32_t pad2;
  int64_t count;   /* number of elements the kernel may touch */
} cg_ir_param;

typedef struct {
  char name[32];   /* NUL-terminated */
  int64_t min, max;
} cg_ir_var;

typedef struct cg_ir_program {
  uint32_t magic;          /* CG_IR_MAGIC */
  uint16_t version_major;  /* CG_IR_VERSION_MAJOR at creation */
  uint16_t version_minor;  /* lowest minor whose ops this program uses */
  uint32_t total_size;     /* bytes of the whole block */
  uint32_t nparams, params_off;
  uint32_t nvars, vars_off;
  uint32_t ninsts, insts_off;
  uint32_t nsrcs, srcs_off;
  uint32_t global[3];      /* number of work-groups per axis */
  uint32_t local[3];       /* work-items per group per axis */
  uint32_t pad;            /* explicit padding (keeps flops 8-byte aligned); 0 */
  uint64_t flops;          /* estimate, for DEBUG=2 */
  uint64_t bytes;          /* estimate of global memory traffic */
  char name[64];           /* kernel name, NUL-terminated, [A-Za-z0-9_] */
} cg_ir_program;

/* Compile-time layout checks (the full layout is in sdk/abi/abi-v1.txt); C and C++. */
#ifdef __cplusplus
#define CG_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define CG_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
CG_STATIC_ASSERT(sizeof(cg_ir_type) == 4, "cg_ir_type layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_ir_inst) == 24, "cg_ir_inst layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_ir_param) == 16, "cg_ir_param layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_ir_var) == 48, "cg_ir_var layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_ir_program) == 152, "cg_ir_program layout is ABI");

static inline const cg_ir_param *cg_ir_params(const cg_ir_program *p) {
  return (const cg_ir_param *)((const char *)p + p->params_off);
}
static inline const cg_ir_var *cg_ir_vars(const cg_ir_program *p) {
  return (const cg_ir_var *)((const char *)p + p->vars_off);
}
static inline const cg_ir_inst *cg_ir_insts(const cg_ir_program *p) {
  return (const cg_ir_inst *)((const char *)p + p->insts_off);
}
static inline const int32_t *cg_ir_srcs(const cg_ir_program *p) {
  return (const int32_t *)((const char *)p + p->srcs_off);
}
/* The k-th source (an instruction index) of instruction i. */
static inline int32_t cg_ir_src(const cg_ir_program *p, const cg_ir_inst *i, int k) {
  return cg_ir_srcs(p)[i->src_start + (uint32_t)k];
}
/* Float constants keep IEEE double bits in arg; ints keep the value. */
static inline double cg_ir_const_f(const cg_ir_inst *i) {
  double d; memcpy(&d, &i->arg, sizeof d); return d;
}
static inline int cg_ir_is_float(uint8_t s) {
  return s == CG_IR_FLOAT16 || s == CG_IR_BFLOAT16 || s == CG_IR_FLOAT32 || s == CG_IR_FLOAT64;
}
static inline int cg_ir_is_signed(uint8_t s) {
  return s == CG_IR_INT8 || s == CG_IR_INT16 || s == CG_IR_INT32 || s == CG_IR_INT64;
}
static inline size_t cg_ir_scalar_size(uint8_t s) {
  static const unsigned char sz[CG_IR_SCALAR_COUNT] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 0};
  return s < CG_IR_SCALAR_COUNT ? sz[s] : 0;
}

#endif
