/* cstyle renderer: cg_ir_program -> C-family kernel source, driven by a dialect table
 * (see <cgrad/cstyle.h> for the semantics rendered and the naming scheme).
 *
 * One pass checks the program and collects what the preamble needs (16-bit float
 * helpers, vector typedefs); a second pass emits one statement per instruction.
 * Values are named after their instruction index; CONST and INDEX are inlined. Every
 * vector ALU op is rendered lane by lane through the scalar expression builder, so
 * all scalar semantics (wrapping, division by zero, NaN in MAX) hold for vectors. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>
#include <cgrad/ir_util.h>

#include "cstyle_impl.h"

enum { NAMELEN = 160 };

/* Growable output string; allocation failure is sticky. */
typedef struct {
  char *s;
  size_t n, cap;
  int oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) { b->oom = 1; return; }
  if (b->n + (size_t)k + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 1024;
    while (c < b->n + (size_t)k + 1) c *= 2;
    char *s = realloc(b->s, c);
    if (!s) { b->oom = 1; return; }
    b->s = s;
    b->cap = c;
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)k;
}

/* Render state. name[i] is the value name of instruction i (or its inline literal for
 * CONST, its base pointer for INDEX); idx[i] is the index expression of an INDEX. */
typedef struct {
  const cg_ir_program *p;
  const cg_cstyle_dialect *d;
  const cg_ir_inst *ins;
  uint32_t n;
  char (*name)[NAMELEN];
  char (*idx)[NAMELEN];
  int32_t *root;         /* per pointer instruction: the PARAM/DEFINE_* it points into */
  uint8_t *tz;           /* per int value: low bits known zero (64 = the value is 0); per
                            INDEX: the same for its element offset from the root */
  sbuf out;
  int depth, bad;
  char *err;
  size_t errlen;
  unsigned used;         /* bit per cg_ir_scalar used anywhere */
  char vecs[64][48];     /* vector type names already typedef'd (C) */
  int nvecs;
  int dyn_local;         /* DEFINE_LOCALs are carved from cg_dsmem (dyn_local_decl) */
  size_t dyn_off;        /* next free byte of cg_dsmem */
} rc;

static int fail(rc *r, uint32_t i, const char *msg) {
  if (!r->bad && r->err && r->errlen)
    snprintf(r->err, r->errlen, "cstyle(%s): inst %u (%s): %s", r->d->lang ? r->d->lang : "?",
             i, i < r->n ? cg_ir_op_name(r->ins[i].op) : "-", msg);
  r->bad = 1;
  return -1;
}

static const char *nz(const char *s) { return s ? s : ""; }

/* ---- types ---- */

static int emulated(const rc *r, int s) {
  return (s == CG_IR_FLOAT16 && r->d->half_mode == CG_CSTYLE_F16_EMULATED) ||
         (s == CG_IR_BFLOAT16 && r->d->bf16_mode == CG_CSTYLE_F16_EMULATED);
}
static int native16(const rc *r, int s) {
  return (s == CG_IR_FLOAT16 || s == CG_IR_BFLOAT16) && !emulated(r, s);
}
static const char *tname(const rc *r, int s) { return nz(r->d->type_names[s]); }
/* Scalar type of a value in registers (emulated 16-bit floats live as float). */
static const char *vscalar(const rc *r, int s) {
  return emulated(r, s) ? tname(r, CG_IR_FLOAT32) : tname(r, s);
}
/* Scalar type in buffers and local memory. */
static const char *mscalar(const rc *r, int s) {
  return s == CG_IR_BOOL && r->d->bool_mem_type ? r->d->bool_mem_type : tname(r, s);
}
/* Element type of a vector value. */
static const char *escalar(const rc *r, int s) {
  return s == CG_IR_BOOL && r->d->bool_mem_type ? r->d->bool_mem_type : vscalar(r, s);
}
/* Value type name for (scalar, width). */
static void vtype(const rc *r, int s, int vec, char *buf, size_t n) {
  if (vec <= 1) snprintf(buf, n, "%s", vscalar(r, s));
  else snprintf(buf, n, nz(r->d->vec_type_fmt), escalar(r, s), vec);
}
static int unsigned_of(int s) {
  return cg_ir_scalar_size((uint8_t)s) <= 4 ? CG_IR_UINT32 : CG_IR_UINT64;
}

/* ---- literals ---- */

static void lit_int(const rc *r, int s, int64_t v, char *buf, size_t n) {
  const cg_cstyle_dialect *d = r->d;
  switch (s) {
  case CG_IR_BOOL: snprintf(buf, n, "%d", v != 0); break;
  case CG_IR_INT32:
    if (v == INT32_MIN) snprintf(buf, n, "(-2147483647-1)");
    else snprintf(buf, n, v < 0 ? "(%d)" : "%d", (int32_t)v);
    break;
  case CG_IR_UINT32: snprintf(buf, n, "%uu", (uint32_t)v); break;
  case CG_IR_INT64:
    if (v == INT64_MIN) snprintf(buf, n, "(-9223372036854775807%s-1)", nz(d->suffix_i64));
    else snprintf(buf, n, v < 0 ? "(%lld%s)" : "%lld%s", (long long)v, nz(d->suffix_i64));
    break;
  case CG_IR_UINT64: snprintf(buf, n, "%llu%s", (unsigned long long)v, nz(d->suffix_u64)); break;
  default: snprintf(buf, n, "((%s)%lld)", tname(r, s), (long long)v); break;
  }
}

/* Decimal float literal that reads back exactly (v is finite and already of the
 * target precision); ',' fixed for odd locales; negative values (and -0) bracketed. */
static void lit_num(double v, int is_f64, char *buf, size_t n) {
  char t[64];
  snprintf(t, sizeof t, is_f64 ? "%.17g" : "%.9g", v);
  for (char *c = t; *c; c++) if (*c == ',') *c = '.';
  int plain = !strpbrk(t, ".e");
  snprintf(buf, n, signbit(v) ? "(%s%s%s)" : "%s%s%s", t, plain ? ".0" : "", is_f64 ? "" : "f");
}

static void lit_float(const rc *r, int s, double v, char *buf, size_t n) {
  char t[96];
  int f64 = s == CG_IR_FLOAT64;
  double x = f64 ? v : (double)(float)v; /* out-of-range f32 constants become inf */
  if (isnan(x)) snprintf(t, sizeof t, "(%s)", nz(r->d->nan_f32));
  else if (isinf(x)) snprintf(t, sizeof t, "(%s%s)", x < 0 ? "-" : "", nz(r->d->inf_f32));
  else lit_num(x, f64, t, sizeof t);
  if (f64 && (isnan(x) || isinf(x))) snprintf(buf, n, "((%s)%s)", tname(r, s), t);
  else if (s == CG_IR_FLOAT16 && emulated(r, s)) snprintf(buf, n, "cg_rh(%s)", t);
  else if (s == CG_IR_BFLOAT16 && emulated(r, s)) snprintf(buf, n, "cg_rb(%s)", t);
  else if (native16(r, s)) snprintf(buf, n, "((%s)%s)", tname(r, s), t);
  else snprintf(buf, n, "%s", t);
}

/* ---- operands ---- */

/* Lane l of a vector value name. */
static void lane_of(const rc *r, const char *v, int l, char *buf, size_t n) {
  switch (r->d->lane) {
  case CG_CSTYLE_LANE_S: snprintf(buf, n, "%s.s%x", v, l); break;
  case CG_CSTYLE_LANE_XYZW: snprintf(buf, n, "%s.%c", v, "xyzw"[l & 3]); break;
  default: snprintf(buf, n, "%s[%d]", v, l); break;
  }
}

/* Operand text of instruction src: the whole value (lane < 0) or one lane. Scalars
 * broadcast; a vector CONST is rebuilt from its scalar literal. */
static void opnd(rc *r, int32_t src, int lane, char *buf, size_t n) {
  const cg_ir_inst *s = &r->ins[src];
  if (s->type.vec <= 1 || s->op == CG_IR_CONST) {
    if (lane >= 0 || s->type.vec <= 1) { snprintf(buf, n, "%s", r->name[src]); return; }
    char vt[48];
    vtype(r, s->type.scalar, s->type.vec, vt, sizeof vt);
    sbuf b = {0};
    sb_add(&b, nz(r->d->vec_ctor_fmt), vt);
    for (int k = 0; k < s->type.vec; k++) sb_add(&b, "%s%s", k ? ", " : "", r->name[src]);
    sb_add(&b, "%s", nz(r->d->vec_ctor_close));
    snprintf(buf, n, "%s", b.oom ? "" : b.s);
    free(b.s);
    return;
  }
  if (lane < 0) snprintf(buf, n, "%s", r->name[src]);
  else lane_of(r, r->name[src], lane, buf, n);
}

/* ---- statements ---- */

static void line(rc *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(rc *r, const char *fmt, ...) {
  char t[4 * NAMELEN + 512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t, sizeof t, fmt, ap);
  va_end(ap);
  sb_add(&r->out, "%*s%s\n", 2 * r->depth, "", t);
}
/* Long statements (lane-wise vectors) go through an sbuf. */
static void line_sb(rc *r, sbuf *b) {
  if (b->oom) { r->out.oom = 1; return; }
  sb_add(&r->out, "%*s%s\n", 2 * r->depth, "", b->s ? b->s : "");
}

/* ---- scalar expressions ---- */

/* Math function call for float op k on operands a (and b for POW). */
static void math_call(rc *r, sbuf *o, int k, int s, const char *a, const char *b) {
  const char *fn = nz(r->d->math[k][s == CG_IR_FLOAT64]);
  if (native16(r, s)) {
    const char *f = tname(r, CG_IR_FLOAT32);
    if (b) sb_add(o, "((%s)%s((%s)%s, (%s)%s))", tname(r, s), fn, f, a, f, b);
    else sb_add(o, "((%s)%s((%s)%s))", tname(r, s), fn, f, a);
  } else if (b) sb_add(o, "%s(%s, %s)", fn, a, b);
  else sb_add(o, "%s(%s)", fn, a);
}

/* Float ALU op on scalar operands of type s. Returns -1 if not a float op. */
static int float_expr(rc *r, sbuf *o, int op, int s, const char *a, const char *b,
                      const char *c) {
  static const char *bin[CG_IR_OP_COUNT] = {[CG_IR_ADD] = "+", [CG_IR_SUB] = "-",
    [CG_IR_MUL] = "*", [CG_IR_FDIV] = "/", [CG_IR_CMPLT] = "<", [CG_IR_CMPNE] = "!=",
    [CG_IR_CMPEQ] = "=="};
  char vt[48];
  switch (op) {
  case CG_IR_EXP2: math_call(r, o, CG_CSTYLE_M_EXP2, s, a, NULL); return 0;
  case CG_IR_LOG2: math_call(r, o, CG_CSTYLE_M_LOG2, s, a, NULL); return 0;
  case CG_IR_SIN: math_call(r, o, CG_CSTYLE_M_SIN, s, a, NULL); return 0;
  case CG_IR_SQRT: math_call(r, o, CG_CSTYLE_M_SQRT, s, a, NULL); return 0;
  case CG_IR_TRUNC: math_call(r, o, CG_CSTYLE_M_TRUNC, s, a, NULL); return 0;
  case CG_IR_POW: math_call(r, o, CG_CSTYLE_M_POW, s, a, b); return 0;
  case CG_IR_RECIP: vtype(r, s, 1, vt, sizeof vt); sb_add(o, "((%s)1 / %s)", vt, a); return 0;
  case CG_IR_NEG: sb_add(o, "(-%s)", a); return 0;
  case CG_IR_MAX: sb_add(o, "((%s < %s || %s != %s) ? %s : %s)", a, b, b, b, b, a); return 0;
  case CG_IR_MULACC: /* unfused: a*b rounds to the type before adding c */
    if (emulated(r, s)) sb_add(o, "(%s(%s * %s) + %s)", s == CG_IR_FLOAT16 ? "cg_rh" : "cg_rb", a, b, c);
    else sb_add(o, "(%s * %s + %s)", a, b, c);
    return 0;
  default:
    if (!bin[op]) return -1;
    sb_add(o, "(%s %s %s)", a, bin[op], b);
    return 0;
  }
}

/* Integer ALU op on scalar operands of type s (not bool). Signed (and narrow) ADD/SUB/
 * MUL/NEG/SHL go through the unsigned type so they wrap instead of being UB. */
static int int_expr(rc *r, sbuf *o, int op, int s, const char *a, const char *b,
                    const char *c) {
  const char *T = tname(r, s), *U = tname(r, unsigned_of(s));
  int sg = cg_ir_is_signed((uint8_t)s), bits = (int)cg_ir_scalar_size((uint8_t)s) * 8;
  int wrap = sg || bits < 32;
  static const char *bin[CG_IR_OP_COUNT] = {[CG_IR_ADD] = "+", [CG_IR_SUB] = "-",
    [CG_IR_MUL] = "*", [CG_IR_AND] = "&", [CG_IR_OR] = "|", [CG_IR_XOR] = "^",
    [CG_IR_CMPLT] = "<", [CG_IR_CMPNE] = "!=", [CG_IR_CMPEQ] = "=="};
  switch (op) {
  case CG_IR_ADD: case CG_IR_SUB: case CG_IR_MUL:
    if (wrap) sb_add(o, "((%s)((%s)%s %s (%s)%s))", T, U, a, bin[op], U, b);
    else sb_add(o, "(%s %s %s)", a, bin[op], b);
    return 0;
  case CG_IR_MULACC:
    if (wrap) sb_add(o, "((%s)((%s)%s * (%s)%s + (%s)%s))", T, U, a, U, b, U, c);
    else sb_add(o, "(%s * %s + %s)", a, b, c);
    return 0;
  case CG_IR_NEG: sb_add(o, "((%s)((%s)0 - (%s)%s))", T, U, U, a); return 0;
  case CG_IR_AND: case CG_IR_OR: case CG_IR_XOR: sb_add(o, "((%s)(%s %s %s))", T, a, bin[op], b); return 0;
  case CG_IR_CMPLT: case CG_IR_CMPNE: case CG_IR_CMPEQ: sb_add(o, "(%s %s %s)", a, bin[op], b); return 0;
  case CG_IR_MAX: sb_add(o, "(%s < %s ? %s : %s)", a, b, b, a); return 0;
  case CG_IR_SHL: sb_add(o, "((%s)((%s)%s << (%s & %d)))", T, U, a, b, bits - 1); return 0;
  case CG_IR_SHR: sb_add(o, "((%s)(%s >> (%s & %d)))", T, a, b, bits - 1); return 0;
  case CG_IR_IDIV:
    if (sg) sb_add(o, "(%s == 0 ? (%s)0 : %s == -1 ? (%s)((%s)0 - (%s)%s) : (%s)(%s / %s))", b, T,
                   b, T, U, U, a, T, a, b);
    else sb_add(o, "(%s == 0 ? (%s)0 : (%s)(%s / %s))", b, T, T, a, b);
    return 0;
  case CG_IR_MOD:
    if (sg) sb_add(o, "((%s == 0 || %s == -1) ? (%s)0 : (%s)(%s %% %s))", b, b, T, T, a, b);
    else sb_add(o, "(%s == 0 ? (%s)0 : (%s)(%s %% %s))", b, T, T, a, b);
    return 0;
  default: return -1;
  }
}

/* IDIV/MOD by a constant: the zero and -1 cases are decided here, not at run time. */
static void divmod_const(rc *r, sbuf *o, int op, int s, const char *a, const char *b, int64_t bv) {
  const char *T = tname(r, s), *U = tname(r, unsigned_of(s));
  if (bv == 0 || (bv == -1 && cg_ir_is_signed((uint8_t)s) && op == CG_IR_MOD)) sb_add(o, "((%s)0)", T);
  else if (bv == -1 && cg_ir_is_signed((uint8_t)s)) sb_add(o, "((%s)((%s)0 - (%s)%s))", T, U, U, a);
  else sb_add(o, "((%s)(%s %s %s))", T, a, op == CG_IR_IDIV ? "/" : "%", b);
}

/* Bool ALU op: logic ops; ADD/MAX act as OR, MUL as AND. */
static int bool_expr(sbuf *o, int op, const char *a, const char *b) {
  switch (op) {
  case CG_IR_NEG: sb_add(o, "(!%s)", a); return 0;
  case CG_IR_AND: case CG_IR_MUL: sb_add(o, "(%s && %s)", a, b); return 0;
  case CG_IR_OR: case CG_IR_ADD: case CG_IR_MAX: sb_add(o, "(%s || %s)", a, b); return 0;
  case CG_IR_XOR: case CG_IR_CMPNE: sb_add(o, "(%s != %s)", a, b); return 0;
  case CG_IR_CMPEQ: sb_add(o, "(%s == %s)", a, b); return 0;
  case CG_IR_CMPLT: sb_add(o, "(!%s && %s)", a, b); return 0;
  default: return -1;
  }
}

/* Does op produce a freshly computed float that an emulated type must round? */
static int needs_round(int op) {
  return op != CG_IR_WHERE && op != CG_IR_NEG && op != CG_IR_MAX && op != CG_IR_TRUNC;
}

/* One scalar ALU expression: operands a,b,c of type s, result of type t. */
static int alu_expr(rc *r, sbuf *o, int op, int s, int t, const char *a, const char *b,
                    const char *c) {
  if (op == CG_IR_WHERE) { sb_add(o, "(%s ? %s : %s)", a, b, c); return 0; }
  int rnd = emulated(r, t) && needs_round(op);
  if (rnd) sb_add(o, t == CG_IR_FLOAT16 ? "cg_rh(" : "cg_rb(");
  int rv = cg_ir_is_float((uint8_t)s) ? float_expr(r, o, op, s, a, b, c)
           : s == CG_IR_BOOL          ? bool_expr(o, op, a, b)
                                      : int_expr(r, o, op, s, a, b, c);
  if (rnd) sb_add(o, ")");
  return rv;
}

/* Saturating float -> int conversion (NaN -> 0), valid C in every dialect. */
static void sat_cast(rc *r, sbuf *o, int from, int to, const char *a) {
  static const char *hi[] = {[CG_IR_INT8] = "128.0", [CG_IR_INT16] = "32768.0",
    [CG_IR_INT32] = "2147483648.0", [CG_IR_INT64] = "9223372036854775808.0",
    [CG_IR_UINT8] = "256.0", [CG_IR_UINT16] = "65536.0", [CG_IR_UINT32] = "4294967296.0",
    [CG_IR_UINT64] = "18446744073709551616.0"};
  static const int64_t lov[] = {[CG_IR_INT8] = INT8_MIN, [CG_IR_INT16] = INT16_MIN,
    [CG_IR_INT32] = INT32_MIN, [CG_IR_INT64] = INT64_MIN};
  static const int64_t hiv[] = {[CG_IR_INT8] = INT8_MAX, [CG_IR_INT16] = INT16_MAX,
    [CG_IR_INT32] = INT32_MAX, [CG_IR_INT64] = INT64_MAX, [CG_IR_UINT8] = UINT8_MAX,
    [CG_IR_UINT16] = UINT16_MAX, [CG_IR_UINT32] = UINT32_MAX, [CG_IR_UINT64] = -1};
  const char *sfx = from == CG_IR_FLOAT64 ? "" : "f";
  int sg = cg_ir_is_signed((uint8_t)to);
  char lo_l[48], lo_v[48], hi_v[48];
  lit_int(r, to, sg ? lov[to] : 0, lo_v, sizeof lo_v);
  lit_int(r, to, hiv[to], hi_v, sizeof hi_v);
  snprintf(lo_l, sizeof lo_l, "%s%s", sg ? "-" : "-1.0", sg ? hi[to] : "");
  sb_add(o, "(%s != %s ? (%s)0 : %s <= %s%s ? %s : %s >= %s%s ? %s : (%s)%s)", a, a,
         tname(r, to), a, lo_l, sfx, lo_v, a, hi[to], sfx, hi_v, tname(r, to), a);
}

/* Scalar CAST of operand a from type s to type t. */
static void cast_expr(rc *r, sbuf *o, int s, int t, const char *a) {
  char vt[48];
  vtype(r, t, 1, vt, sizeof vt);
  if (t == CG_IR_BOOL) sb_add(o, "(%s != 0)", a);
  else if (cg_ir_is_float((uint8_t)s) && !cg_ir_is_float((uint8_t)t)) sat_cast(r, o, s, t, a);
  else if (emulated(r, t))
    sb_add(o, "%s((%s)%s)", t == CG_IR_FLOAT16 ? "cg_rh" : "cg_rb", tname(r, CG_IR_FLOAT32), a);
  else sb_add(o, "((%s)%s)", vt, a);
}

/* ---- memory ---- */

/* Register value of element text x of scalar s read from address space sp. */
static void conv_in(rc *r, sbuf *o, int s, int sp, const char *x) {
  if (sp != CG_IR_AS_REG && s == CG_IR_BOOL && r->d->bool_mem_type) sb_add(o, "(%s != 0)", x);
  else if (sp != CG_IR_AS_REG && emulated(r, s)) sb_add(o, "%s(%s)", s == CG_IR_FLOAT16 ? "cg_h2f" : "cg_b2f", x);
  else sb_add(o, "%s", x);
}
/* Memory representation of register value v of scalar s stored to space sp. */
static void conv_out(rc *r, sbuf *o, int s, int sp, const char *v) {
  if (sp != CG_IR_AS_REG && s == CG_IR_BOOL && r->d->bool_mem_type) sb_add(o, "(%s)(%s)", r->d->bool_mem_type, v);
  else if (sp != CG_IR_AS_REG && emulated(r, s)) sb_add(o, "%s(%s)", s == CG_IR_FLOAT16 ? "cg_f2h" : "cg_f2b", v);
  else sb_add(o, "%s", v);
}

/* Root pointer (PARAM/DEFINE_*) and index text of address operand ptr. */
static int32_t address(rc *r, int32_t ptr, const char **idx) {
  *idx = r->ins[ptr].op == CG_IR_INDEX ? r->idx[ptr] : "0";
  return r->root[ptr];
}

/* Does a vector of scalar s need lane-by-lane memory access? */
static int vmem_lanes(const rc *r, int s) {
  return r->d->vmem == CG_CSTYLE_VMEM_LANES || r->d->vmem == CG_CSTYLE_VMEM_HELPER || emulated(r, s);
}
/* Does a vector access of scalar s in space sp go through cg_vload/cg_vstore? */
static int vmem_helper(const rc *r, int s, int sp, int vec) {
  return r->d->vmem == CG_CSTYLE_VMEM_HELPER && vec > 1 && sp != CG_IR_AS_REG &&
         !(s == CG_IR_BOOL && r->d->bool_mem_type);
}
/* ---- known alignment of index expressions ---- */

static int int_scalar(int s) { return s >= CG_IR_INT8 && s <= CG_IR_UINT64; }
static uint8_t tz_min(uint8_t a, uint8_t b) { return a < b ? a : b; }
static uint8_t tz_of_const(int64_t v) {
  uint8_t k = 0;
  if (v == 0) return 64;
  while (!(v & 1) && k < 63) { v >>= 1; k++; }
  return k;
}
/* Low bits known to be zero in integer value i, from its sources' (computed before:
 * sources precede their users). Ints wrap modulo 2^width, which keeps low bits, so the
 * facts hold for any operand values. Anything not understood counts as 0 bits. */
static uint8_t tz_inst(const rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  int nz_src = in->nsrc > 0 && in->nsrc <= 3;
  uint8_t a = nz_src ? r->tz[cg_ir_src(r->p, in, 0)] : 0;
  uint8_t b = nz_src && in->nsrc > 1 ? r->tz[cg_ir_src(r->p, in, 1)] : 0;
  if (in->op == CG_IR_INDEX) { /* offset = offset of the INDEX it extends + this index */
    int32_t p = cg_ir_src(r->p, in, 0);
    return tz_min(r->ins[p].op == CG_IR_INDEX ? a : 64, b);
  }
  if (in->type.vec != 1 || !int_scalar(in->type.scalar)) return 0;
  switch (in->op) {
  case CG_IR_CONST: return tz_of_const(in->arg);
  case CG_IR_ADD: case CG_IR_SUB: case CG_IR_OR: case CG_IR_XOR: case CG_IR_MOD:
    return tz_min(a, b); /* a % b = a - trunc(a/b)*b */
  case CG_IR_MUL: return (uint8_t)tz_min(64, (uint8_t)(a + b));
  case CG_IR_AND: return a > b ? a : b;
  case CG_IR_SHL: {
    const cg_ir_inst *k = &r->ins[cg_ir_src(r->p, in, 1)];
    if (k->op != CG_IR_CONST || k->arg < 0 || k->arg > 63) return 0;
    return (uint8_t)tz_min(64, (uint8_t)(a + k->arg));
  }
  case CG_IR_WHERE: return tz_min(b, r->tz[cg_ir_src(r->p, in, 2)]);
  case CG_IR_CAST: /* int -> int keeps the low bits */
    return int_scalar(r->ins[cg_ir_src(r->p, in, 0)].type.scalar) ? a : 0;
  default: return 0;
  }
}
static void known_tz(rc *r) {
  for (uint32_t i = 0; i < r->n; i++) r->tz[i] = tz_inst(r, i);
}

/* Is a vector access of (s, vec) through pointer ptr a provably aligned access of local
 * memory, rendered as one direct wide access? The root array is local_align-aligned
 * (the dialect promises it) and the byte offset a multiple of the vector type's
 * alignment: the power of two in sizeof * vec, capped at local_align. */
static int vmem_direct(const rc *r, int32_t ptr, int s, int vec) {
  int32_t base = r->root[ptr];
  unsigned la = r->d->local_align;
  if (!la || r->ins[base].type.space != CG_IR_AS_LOCAL || r->ins[base].op != CG_IR_DEFINE_LOCAL) return 0;
  unsigned bytes = (unsigned)cg_ir_scalar_size((uint8_t)s) * (unsigned)vec, need = 1;
  while (!(bytes & need) && need < la) need <<= 1;
  if (need > la) return 0;
  unsigned tz = r->ins[ptr].op == CG_IR_INDEX ? r->tz[ptr] : 64, esz = 1;
  while (esz < cg_ir_scalar_size((uint8_t)s)) { esz <<= 1; tz++; } /* element -> byte offset */
  return esz == cg_ir_scalar_size((uint8_t)s) && (tz >= 32 || (1u << tz) % need == 0);
}

/* "cg_vload<T, N>" / "cg_vstore<T, N>" and the memory vector type of (s, vec). */
static void helper_names(const rc *r, int s, int vec, const char *fn, char *call, size_t n, char *mt, size_t mn) {
  snprintf(call, n, "%s<%s, %d>", fn, mscalar(r, s), vec);
  snprintf(mt, mn, nz(r->d->vec_type_fmt), mscalar(r, s), vec);
}

/* Text of a LOAD of width vec, scalar s, from base[idx]. */
static void load_text(rc *r, sbuf *o, int32_t ptr, int32_t base, const char *idx, int s, int vec) {
  int sp = r->ins[base].type.space;
  const char *bn = r->name[base];
  char vt[48], x[2 * NAMELEN];
  vtype(r, s, vec, vt, sizeof vt);
  if (vec == 1) {
    snprintf(x, sizeof x, "%s[%s]", bn, idx);
    conv_in(r, o, s, sp, x);
  } else if (vmem_helper(r, s, sp, vec) && !emulated(r, s)) {
    char call[96], mt[48];
    helper_names(r, s, vec, "cg_vload", call, sizeof call, mt, sizeof mt);
    if (vmem_direct(r, ptr, s, vec)) sb_add(o, "(*(const %s *)(%s + (%s)))", mt, bn, idx);
    else sb_add(o, "%s(%s + (%s))", call, bn, idx);
  } else if (vmem_lanes(r, s)) {
    sb_add(o, nz(r->d->vec_ctor_fmt), vt);
    for (int k = 0; k < vec; k++) {
      snprintf(x, sizeof x, "%s[(%s) + %d]", bn, idx, k);
      sb_add(o, "%s", k ? ", " : "");
      conv_in(r, o, s, sp, x);
    }
    sb_add(o, "%s", nz(r->d->vec_ctor_close));
  } else if (r->d->vmem == CG_CSTYLE_VMEM_CAST) {
    sb_add(o, "(*(%s%s%s *)(%s + %s))", nz(r->d->buf_qual[sp]), vt, r->d->vec_typedef ? "_u" : "", bn, idx);
  } else {
    sb_add(o, "vload%d(0, %s + %s)", vec, bn, idx);
  }
}

/* STORE ptr, value [, gate]. */
static void store_stmt(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  const char *idx;
  int32_t base = address(r, cg_ir_src(r->p, in, 0), &idx), val = cg_ir_src(r->p, in, 1);
  int sp = r->ins[base].type.space, s = r->ins[val].type.scalar, vec = r->ins[val].type.vec;
  const char *bn = r->name[base];
  char vt[48], v[NAMELEN];
  sbuf o = {0};
  vtype(r, s, vec, vt, sizeof vt);
  if (in->nsrc > 2) sb_add(&o, "if (%s) ", r->name[cg_ir_src(r->p, in, 2)]);
  if (vmem_helper(r, s, sp, vec)) {
    char call[96], mt[48];
    int direct = vmem_direct(r, cg_ir_src(r->p, in, 0), s, vec);
    helper_names(r, s, vec, "cg_vstore", call, sizeof call, mt, sizeof mt);
    if (direct) sb_add(&o, "*(%s *)(%s + (%s)) = ", mt, bn, idx);
    else sb_add(&o, "%s(%s + (%s), ", call, bn, idx);
    if (emulated(r, s)) { /* convert lane by lane into the storage vector */
      sb_add(&o, nz(r->d->vec_ctor_fmt), mt);
      for (int k = 0; k < vec; k++) {
        opnd(r, val, k, v, sizeof v);
        sb_add(&o, "%s", k ? ", " : "");
        conv_out(r, &o, s, sp, v);
      }
      sb_add(&o, "%s", nz(r->d->vec_ctor_close));
    } else {
      opnd(r, val, -1, v, sizeof v);
      sb_add(&o, "%s", v);
    }
    sb_add(&o, "%s;", direct ? "" : ")");
  } else if (vec == 1 || vmem_lanes(r, s)) {
    sb_add(&o, "%s", vec > 1 ? "{ " : "");
    for (int k = 0; k < vec; k++) {
      opnd(r, val, vec > 1 ? k : -1, v, sizeof v);
      if (vec > 1) sb_add(&o, "%s[(%s) + %d] = ", bn, idx, k);
      else sb_add(&o, "%s[%s] = ", bn, idx);
      conv_out(r, &o, s, sp, v);
      sb_add(&o, "; ");
    }
    sb_add(&o, "%s", vec > 1 ? "}" : "");
    if (o.n && o.s[o.n - 1] == ' ') o.s[--o.n] = 0;
  } else if (r->d->vmem == CG_CSTYLE_VMEM_CAST) {
    sb_add(&o, "*(%s%s%s *)(%s + %s) = %s;", nz(r->d->buf_qual[sp]), vt, r->d->vec_typedef ? "_u" : "", bn,
           idx, r->name[val]);
  } else {
    sb_add(&o, "vstore%d(%s, 0, %s + %s);", vec, r->name[val], bn, idx);
  }
  line_sb(r, &o);
  free(o.s);
}

/* ---- instructions ---- */

/* Open "T name = " for value instruction i with name prefix pre. */
static void def_open(rc *r, sbuf *o, uint32_t i, const char *pre) {
  char vt[48];
  snprintf(r->name[i], NAMELEN, "%s%u", pre, i);
  vtype(r, r->ins[i].type.scalar, r->ins[i].type.vec, vt, sizeof vt);
  sb_add(o, "%s %s = ", vt, r->name[i]);
}
static void def_close(rc *r, sbuf *o) {
  sb_add(o, ";");
  line_sb(r, o);
  free(o->s);
}

/* Lane-wise or scalar ALU / CAST value; a bool-vector lane is stored as bool_mem_type. */
static int alu_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  int op = in->op, vec = in->type.vec, t = in->type.scalar;
  int32_t s0 = cg_ir_src(r->p, in, op == CG_IR_WHERE ? 1 : 0);
  int s = r->ins[s0].type.scalar, rv = 0;
  char vt[48], a[3][NAMELEN];
  sbuf o = {0};
  def_open(r, &o, i, op == CG_IR_CAST ? "cast" : "alu");
  vtype(r, t, vec, vt, sizeof vt);
  if (vec > 1) sb_add(&o, nz(r->d->vec_ctor_fmt), vt);
  for (int l = 0; l < vec && !rv; l++) {
    for (int k = 0; k < in->nsrc && k < 3; k++) opnd(r, cg_ir_src(r->p, in, k), vec > 1 ? l : -1, a[k], NAMELEN);
    if (vec > 1) sb_add(&o, "%s", l ? ", " : "");
    int bl = vec > 1 && t == CG_IR_BOOL && r->d->bool_mem_type;
    if (bl) sb_add(&o, "(%s)", r->d->bool_mem_type);
    const cg_ir_inst *d = in->nsrc > 1 ? &r->ins[cg_ir_src(r->p, in, 1)] : NULL;
    if (op == CG_IR_CAST) cast_expr(r, &o, s, t, a[0]);
    else if ((op == CG_IR_IDIV || op == CG_IR_MOD) && d->op == CG_IR_CONST) divmod_const(r, &o, op, s, a[0], a[1], d->arg);
    else rv = alu_expr(r, &o, op, s, t, a[0], a[1], a[2]);
  }
  if (vec > 1) sb_add(&o, "%s", nz(r->d->vec_ctor_close));
  if (rv) { free(o.s); return fail(r, i, "op not supported for this type"); }
  def_close(r, &o);
  return 0;
}

/* BITCAST: emulated 16-bit floats convert through their storage bits; otherwise the
 * dialect's bit-cast spelling, or a memcpy. */
static int bitcast_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  int32_t src = cg_ir_src(r->p, in, 0);
  int t = in->type.scalar, s = r->ins[src].type.scalar;
  char vt[48], st[48], a[NAMELEN];
  sbuf o = {0};
  opnd(r, src, -1, a, sizeof a);
  vtype(r, t, in->type.vec, vt, sizeof vt);
  if (emulated(r, s) || emulated(r, t)) {
    if (in->type.vec != 1) return fail(r, i, "vector bitcast of emulated 16-bit floats");
    def_open(r, &o, i, "cast");
    char bits[NAMELEN + 16];
    if (emulated(r, s)) snprintf(bits, sizeof bits, "%s(%s)", s == CG_IR_FLOAT16 ? "cg_f2h" : "cg_f2b", a);
    else snprintf(bits, sizeof bits, "((%s)%s)", tname(r, CG_IR_UINT16), a);
    if (emulated(r, t)) sb_add(&o, "%s(%s)", t == CG_IR_FLOAT16 ? "cg_h2f" : "cg_b2f", bits);
    else sb_add(&o, "((%s)%s)", vt, bits);
  } else if (r->d->bitcast_fmt) {
    def_open(r, &o, i, "cast");
    sb_add(&o, r->d->bitcast_fmt, vt);
    sb_add(&o, "%s)", a);
  } else {
    vtype(r, s, r->ins[src].type.vec, st, sizeof st);
    snprintf(r->name[i], NAMELEN, "cast%u", i);
    sb_add(&o, "%s cast%u_s = %s; %s cast%u; memcpy(&cast%u, &cast%u_s, sizeof(cast%u))", st, i, a, vt, i, i,
           i, i);
  }
  def_close(r, &o);
  return 0;
}

/* A C-range kernel over a 1-D grid uses the flat group id directly (no div/mod, and
 * the group loop stays vectorizable). */
static int c_range_1d(const rc *r) {
  return r->d->signature == CG_CSTYLE_SIG_C_RANGE && r->p->global[1] <= 1 && r->p->global[2] <= 1;
}

static int special_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  int kind = (int)(in->arg / 3), axis = (int)(in->arg % 3);
  const char *e = kind == CG_IR_SPECIAL_GROUP ? r->d->group_id[axis] : r->d->local_id[axis];
  if (kind == CG_IR_SPECIAL_GROUP && c_range_1d(r)) e = axis ? "0" : "cg_g"; /* flat id is the x id */
  if (!e) return fail(r, i, "thread id not available in this dialect");
  sbuf o = {0};
  def_open(r, &o, i, kind == CG_IR_SPECIAL_GROUP ? "gidx" : "lidx");
  sb_add(&o, "(%s)%s", tname(r, in->type.scalar), e);
  def_close(r, &o);
  return 0;
}

/* Vector LOAD of an emulated 16-bit float through cg_vload: one wide load of the
 * storage type into valN_m, then the lanes converted (the gate guards the load). */
static int load_emulated_vec(rc *r, uint32_t i, int32_t base, const char *idx) {
  int direct = vmem_direct(r, cg_ir_src(r->p, &r->ins[i], 0), r->ins[i].type.scalar, r->ins[i].type.vec);
  const cg_ir_inst *in = &r->ins[i];
  int s = in->type.scalar, vec = in->type.vec, sp = r->ins[base].type.space;
  char call[96], mt[48], g[NAMELEN], alt[NAMELEN], x[NAMELEN + 16];
  helper_names(r, s, vec, "cg_vload", call, sizeof call, mt, sizeof mt);
  sbuf o = {0};
  if (in->nsrc == 3) opnd(r, cg_ir_src(r->p, in, 1), -1, g, sizeof g);
  sb_add(&o, "%s val%u_m = ", mt, i);
  if (in->nsrc == 3) sb_add(&o, "%s ? ", g);
  if (direct) sb_add(&o, "(*(const %s *)(%s + (%s)))", mt, r->name[base], idx);
  else sb_add(&o, "%s(%s + (%s))", call, r->name[base], idx);
  if (in->nsrc == 3) sb_add(&o, " : %s%s", mt, "{}");
  sb_add(&o, ";");
  line_sb(r, &o);
  free(o.s);
  memset(&o, 0, sizeof o);
  char vt[48];
  def_open(r, &o, i, "val");
  vtype(r, s, vec, vt, sizeof vt);
  if (in->nsrc == 3) sb_add(&o, "%s ? ", g);
  sb_add(&o, nz(r->d->vec_ctor_fmt), vt);
  for (int k = 0; k < vec; k++) {
    char m[NAMELEN];
    snprintf(m, sizeof m, "val%u_m", i);
    lane_of(r, m, k, x, sizeof x);
    sb_add(&o, "%s", k ? ", " : "");
    conv_in(r, &o, s, sp, x);
  }
  sb_add(&o, "%s", nz(r->d->vec_ctor_close));
  if (in->nsrc == 3) {
    opnd(r, cg_ir_src(r->p, in, 2), -1, alt, sizeof alt);
    sb_add(&o, " : %s", alt);
  }
  def_close(r, &o);
  return 0;
}

static int load_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  const char *idx;
  int32_t base = address(r, cg_ir_src(r->p, in, 0), &idx);
  char g[NAMELEN], alt[NAMELEN];
  sbuf o = {0};
  int s = in->type.scalar, vec = in->type.vec;
  if (vmem_helper(r, s, r->ins[base].type.space, vec) && emulated(r, s)) return load_emulated_vec(r, i, base, idx);
  def_open(r, &o, i, "val");
  if (in->nsrc == 3) {
    opnd(r, cg_ir_src(r->p, in, 1), -1, g, sizeof g);
    opnd(r, cg_ir_src(r->p, in, 2), -1, alt, sizeof alt);
    sb_add(&o, "%s ? ", g);
  }
  load_text(r, &o, cg_ir_src(r->p, in, 0), base, idx, in->type.scalar, in->type.vec);
  if (in->nsrc == 3) sb_add(&o, " : %s", alt);
  def_close(r, &o);
  return 0;
}

static int vectorize_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  char vt[48], a[NAMELEN];
  sbuf o = {0};
  int bl = in->type.scalar == CG_IR_BOOL && r->d->bool_mem_type;
  def_open(r, &o, i, "vec");
  vtype(r, in->type.scalar, in->type.vec, vt, sizeof vt);
  sb_add(&o, nz(r->d->vec_ctor_fmt), vt);
  for (int k = 0; k < in->nsrc; k++) {
    opnd(r, cg_ir_src(r->p, in, k), -1, a, sizeof a);
    sb_add(&o, "%s%s%s%s%s", k ? ", " : "", bl ? "(" : "", bl ? r->d->bool_mem_type : "", bl ? ")" : "", a);
  }
  sb_add(&o, "%s", nz(r->d->vec_ctor_close));
  def_close(r, &o);
  return 0;
}

static int wmma_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  char out[4096];
  const char *srcs[3];
  if (!r->d->wmma) return fail(r, i, "WMMA not supported by this dialect");
  for (int k = 0; k < 3; k++) srcs[k] = r->name[cg_ir_src(r->p, in, k)];
  snprintf(r->name[i], NAMELEN, "wmma%u", i);
  char vt[48];
  vtype(r, in->type.scalar, in->type.vec, vt, sizeof vt);
  line(r, "%s %s;", vt, r->name[i]);
  if (r->d->wmma(r->p, (int32_t)i, r->name[i], srcs, out, sizeof out)) return fail(r, i, "WMMA shape not supported");
  line(r, "%s", out);
  return 0;
}

/* Bytes a DEFINE_LOCAL takes in the dynamic shared memory (16-byte granules). */
static size_t local_size(const cg_ir_inst *in) {
  size_t es = cg_ir_scalar_size(in->type.scalar);
  size_t n = in->arg > 0 ? (size_t)in->arg * (es ? es : 1) : 0;
  return (n + 15) & ~(size_t)15;
}

size_t cg_cstyle_local_bytes(const cg_ir_program *p) {
  size_t total = 0;
  if (!p) return 0;
  const cg_ir_inst *ins = cg_ir_insts(p);
  for (uint32_t i = 0; i < p->ninsts; i++)
    if (ins[i].op == CG_IR_DEFINE_LOCAL) total += local_size(&ins[i]);
  return total;
}

/* Declarations and control flow. */
static int struct_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  char vt[48], a[NAMELEN], b[NAMELEN];
  int s = in->type.scalar;
  switch (in->op) {
  case CG_IR_DEFINE_LOCAL:
    snprintf(r->name[i], NAMELEN, "smem%u", i);
    if (r->dyn_local) { /* a slice of the dynamic shared memory */
      line(r, "%s *%s = (%s *)(cg_dsmem + %zu);", mscalar(r, s), r->name[i], mscalar(r, s), r->dyn_off);
      r->dyn_off += local_size(in);
      return 0;
    }
    line(r, "%s%s %s[%lld];", nz(r->d->local_decl), mscalar(r, s), r->name[i], (long long)in->arg);
    return 0;
  case CG_IR_DEFINE_REG:
    snprintf(r->name[i], NAMELEN, "acc%u", i);
    line(r, "%s %s[%lld];", vscalar(r, s), r->name[i], (long long)in->arg);
    return 0;
  case CG_IR_RANGE:
    snprintf(r->name[i], NAMELEN, "ridx%u", i);
    vtype(r, s, 1, vt, sizeof vt);
    opnd(r, cg_ir_src(r->p, in, 0), -1, a, sizeof a);
    opnd(r, cg_ir_src(r->p, in, 1), -1, b, sizeof b);
    line(r, "for (%s %s = %s; %s < %s; %s++) {", vt, r->name[i], a, r->name[i], b, r->name[i]);
    r->depth++;
    return 0;
  case CG_IR_IF:
    line(r, "if (%s) {", r->name[cg_ir_src(r->p, in, 0)]);
    r->depth++;
    return 0;
  case CG_IR_ENDRANGE: case CG_IR_ENDIF:
    r->depth--;
    line(r, "}");
    return 0;
  case CG_IR_BARRIER:
    if (r->d->barrier && *r->d->barrier) line(r, "%s", r->d->barrier);
    return 0;
  default: return fail(r, i, "unknown op");
  }
}

static int emit_inst(rc *r, uint32_t i) {
  const cg_ir_inst *in = &r->ins[i];
  switch (in->op) {
  case CG_IR_NOP: return 0;
  case CG_IR_PARAM: snprintf(r->name[i], NAMELEN, "data%lld", (long long)in->arg); return 0;
  case CG_IR_VAR: snprintf(r->name[i], NAMELEN, "var%lld", (long long)in->arg); return 0;
  case CG_IR_CONST:
    if (cg_ir_is_float(in->type.scalar)) lit_float(r, in->type.scalar, cg_ir_const_f(in), r->name[i], NAMELEN);
    else lit_int(r, in->type.scalar, in->arg, r->name[i], NAMELEN);
    return 0;
  case CG_IR_INDEX: {
    int32_t p = cg_ir_src(r->p, in, 0);
    const char *x = r->name[cg_ir_src(r->p, in, 1)];
    char t[NAMELEN];
    memcpy(r->name[i], r->name[p], NAMELEN); /* p < i: distinct rows */
    r->root[i] = r->root[p];
    if (r->ins[p].op == CG_IR_INDEX) snprintf(t, sizeof t, "(%s + %s)", r->idx[p], x);
    else snprintf(t, sizeof t, "%s", x);
    memcpy(r->idx[i], t, NAMELEN);
    return 0;
  }
  case CG_IR_SPECIAL: return special_inst(r, i);
  case CG_IR_LOAD: return load_inst(r, i);
  case CG_IR_STORE: store_stmt(r, i); return 0;
  case CG_IR_BITCAST: return bitcast_inst(r, i);
  case CG_IR_VECTORIZE: return vectorize_inst(r, i);
  case CG_IR_GEP: {
    char t[NAMELEN];
    lane_of(r, r->name[cg_ir_src(r->p, in, 0)], (int)in->arg, t, sizeof t);
    memcpy(r->name[i], t, NAMELEN); /* via t: source and destination are rows of one table */
    return 0;
  }
  case CG_IR_WMMA: return wmma_inst(r, i);
  case CG_IR_DEFINE_LOCAL: case CG_IR_DEFINE_REG: case CG_IR_RANGE: case CG_IR_IF:
  case CG_IR_ENDRANGE: case CG_IR_ENDIF: case CG_IR_BARRIER:
    return struct_inst(r, i);
  default: return alu_inst(r, i);
  }
}

/* ---- preamble ---- */

/* Emit a helper template of dialects.c, filling $P $F $U $H. */
static void emit_tpl(rc *r, const char *t) {
  for (; *t; t++) {
    if (*t != '$') { sb_add(&r->out, "%c", *t); continue; }
    t++;
    int s = *t == 'F' ? CG_IR_FLOAT32 : *t == 'U' ? CG_IR_UINT32 : CG_IR_UINT16;
    sb_add(&r->out, "%s", *t == 'P' ? nz(r->d->func_prefix) : tname(r, s));
  }
}

/* Record a vector type used by the program; emit its typedefs (C dialect). */
static int note_vec(rc *r, uint32_t i, int s, int vec) {
  char vt[48];
  vtype(r, s, vec, vt, sizeof vt);
  for (int k = 0; k < r->nvecs; k++)
    if (!strcmp(r->vecs[k], vt)) return 0;
  if (r->nvecs == 64) return fail(r, i, "too many vector types");
  if (vec & (vec - 1)) return fail(r, i, "vector width must be a power of two in this dialect");
  snprintf(r->vecs[r->nvecs++], sizeof r->vecs[0], "%s", vt);
  const char *e = escalar(r, s);
  size_t es = emulated(r, s) ? 4 : s == CG_IR_BOOL ? 1 : cg_ir_scalar_size((uint8_t)s);
  sb_add(&r->out, "typedef %s %s __attribute__((vector_size(%zu)));\n", e, vt, es * (size_t)vec);
  sb_add(&r->out, "typedef %s %s_u __attribute__((vector_size(%zu), aligned(%zu), may_alias));\n", e, vt,
         es * (size_t)vec, es);
  return 0;
}

/* Check dtypes against the dialect and emit the preamble, helpers and typedefs. */
static int emit_preamble(rc *r) {
  const cg_cstyle_dialect *d = r->d;
  for (uint32_t k = 0; k < r->p->nparams; k++) r->used |= 1u << cg_ir_params(r->p)[k].scalar;
  for (uint32_t i = 0; i < r->n; i++) r->used |= 1u << r->ins[i].type.scalar;
  if ((r->used >> CG_IR_FLOAT16 & 1) && d->half_mode == CG_CSTYLE_F16_NONE) return fail(r, 0, "float16 not supported");
  if ((r->used >> CG_IR_BFLOAT16 & 1) && d->bf16_mode == CG_CSTYLE_F16_NONE) return fail(r, 0, "bfloat16 not supported");
  for (int s = 0; s < CG_IR_VOID; s++)
    if ((r->used >> s & 1) && !d->type_names[s]) return fail(r, 0, "dtype not supported by this dialect");
  sb_add(&r->out, "%s", nz(d->preamble));
  if (r->used >> CG_IR_FLOAT16 & 1) sb_add(&r->out, "%s", nz(d->half_preamble));
  if (r->used >> CG_IR_BFLOAT16 & 1) sb_add(&r->out, "%s", nz(d->bf16_preamble));
  if (r->used >> CG_IR_FLOAT64 & 1) sb_add(&r->out, "%s", nz(d->f64_preamble));
  for (uint32_t i = 0; i < r->n; i++)
    if (r->ins[i].type.vec > 4 && d->lane == CG_CSTYLE_LANE_XYZW) return fail(r, i, "vector wider than 4 lanes");
  if ((r->used >> CG_IR_FLOAT16 & 1) && emulated(r, CG_IR_FLOAT16)) {
    if (d->half_helpers) sb_add(&r->out, "%s", d->half_helpers);
    else emit_tpl(r, cg__cstyle_half_tpl);
  }
  if ((r->used >> CG_IR_BFLOAT16 & 1) && emulated(r, CG_IR_BFLOAT16)) emit_tpl(r, cg__cstyle_bf16_tpl);
  for (uint32_t i = 0; i < r->n && d->vec_typedef; i++)
    if (r->ins[i].type.vec > 1 && r->ins[i].type.scalar != CG_IR_VOID &&
        note_vec(r, i, r->ins[i].type.scalar, r->ins[i].type.vec))
      return -1;
  return 0;
}

/* ---- signature ---- */

static void param_decl(rc *r, sbuf *o, uint32_t k) {
  const cg_ir_param *pa = &cg_ir_params(r->p)[k];
  const char *cq = pa->flags & CG_IR_PARAM_WRITE ? "" : "const ";
  if (r->d->signature == CG_CSTYLE_SIG_C_RANGE) {
    sb_add(o, "  %s%s *data%u = (%s%s *)bufs[%u];\n", cq, mscalar(r, pa->scalar), k, cq, mscalar(r, pa->scalar), k);
    return;
  }
  sb_add(o, "%s%s%s%s* data%u", k ? ", " : "", nz(r->d->buf_qual[CG_IR_AS_GLOBAL]), cq, mscalar(r, pa->scalar), k);
  if (r->d->param_attr_fmt) sb_add(o, r->d->param_attr_fmt, (int)k);
}

static void var_decl(rc *r, sbuf *o, uint32_t k) {
  if (r->d->signature == CG_CSTYLE_SIG_C_RANGE) {
    sb_add(o, "  const int var%u = (int)vars[%u]; /* %s */\n", k, k, cg_ir_vars(r->p)[k].name);
    return;
  }
  sb_add(o, "%s%s var%u", k + r->p->nparams ? ", " : "", nz(r->d->var_param_type), k);
  if (r->d->param_attr_fmt) sb_add(o, r->d->param_attr_fmt, (int)(k + r->p->nparams));
}

static void emit_signature(rc *r) {
  const cg_ir_program *p = r->p;
  char kn[80];
  cg_cstyle_kernel_name(p, kn, sizeof kn);
  sbuf *o = &r->out;
  sb_add(o, "%s ", nz(r->d->kernel_prefix));
  if (r->d->launch_bounds_fmt) {
    sb_add(o, r->d->launch_bounds_fmt, p->local[0] * p->local[1] * p->local[2]);
    sb_add(o, " ");
  }
  if (r->d->signature == CG_CSTYLE_SIG_C_RANGE) {
    sb_add(o, "%s(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start, int64_t end) {\n", kn);
    for (uint32_t k = 0; k < p->nparams; k++) param_decl(r, o, k);
    for (uint32_t k = 0; k < p->nvars; k++) var_decl(r, o, k);
    sb_add(o, "  (void)vars; (void)grid;\n");
    if (!c_range_1d(r)) /* group ids of `start`, then stepped with carries */
      sb_add(o, "  int64_t cg_i0 = start %% grid[0], cg_i1 = start / grid[0] %% grid[1], cg_i2 = start / grid[0] / grid[1];\n");
    sb_add(o, "  for (int64_t cg_g = start; cg_g < end; cg_g++) {\n");
    r->depth = 2;
    return;
  }
  sb_add(o, "%s(", kn);
  for (uint32_t k = 0; k < p->nparams; k++) param_decl(r, o, k);
  for (uint32_t k = 0; k < p->nvars; k++) var_decl(r, o, k);
  if (r->d->extra_params) sb_add(o, "%s%s", p->nparams + p->nvars ? ", " : "", r->d->extra_params);
  sb_add(o, ") {\n");
  r->depth = 1;
  r->dyn_local = r->d->dyn_local_decl && cg_cstyle_local_bytes(p) > r->d->dyn_local_min;
  if (r->dyn_local) line(r, "%s", r->d->dyn_local_decl);
}

/* ---- entry points ---- */

static int is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char *cg_cstyle_kernel_name(const cg_ir_program *p, char *buf, size_t n) {
  if (!buf || !n) return buf;
  const char *s = p ? p->name : "";
  size_t len = 0, j = 0;
  while (p && len < sizeof p->name && s[len]) len++;
  int ok = len > 0 && !(s[0] >= '0' && s[0] <= '9');
  for (size_t k = 0; k < len; k++) ok = ok && is_ident_char(s[k]);
  const char *pre = ok ? "" : "k_";
  for (; *pre && j + 1 < n; pre++) buf[j++] = *pre;
  for (size_t k = 0; k < len && j + 1 < n; k++) buf[j++] = is_ident_char(s[k]) ? s[k] : '_';
  buf[j] = 0;
  return buf;
}

char *cg_cstyle_render(const cg_ir_program *p, const cg_cstyle_dialect *d, char *err, size_t errlen) {
  rc r = {.p = p, .d = d, .err = err, .errlen = errlen};
  char verr[256];
  if (err && errlen) err[0] = 0;
  if (!p || !d) {
    if (err && errlen) snprintf(err, errlen, "cstyle: NULL program or dialect");
    return NULL;
  }
  if (cg_ir_verify(p, p->total_size, verr, sizeof verr)) {
    if (err && errlen) snprintf(err, errlen, "cstyle: invalid IR: %s", verr);
    return NULL;
  }
  r.ins = cg_ir_insts(p);
  r.n = p->ninsts;
  r.name = calloc(r.n + 1, sizeof *r.name);
  r.idx = calloc(r.n + 1, sizeof *r.idx);
  r.root = calloc(r.n + 1, sizeof *r.root);
  r.tz = calloc(r.n + 1, sizeof *r.tz);
  if (!r.name || !r.idx || !r.root || !r.tz) { r.out.oom = 1; goto done; }
  known_tz(&r);
  for (uint32_t i = 0; i < r.n; i++) r.root[i] = (int32_t)i;
  if (emit_preamble(&r)) goto done;
  emit_signature(&r);
  for (uint32_t i = 0; i < r.n && !r.bad; i++) emit_inst(&r, i);
  if (d->signature == CG_CSTYLE_SIG_C_RANGE && !c_range_1d(&r))
    sb_add(&r.out, "    if (++cg_i0 == grid[0]) { cg_i0 = 0; if (++cg_i1 == grid[1]) { cg_i1 = 0; cg_i2++; } }\n");
  if (d->signature == CG_CSTYLE_SIG_C_RANGE) sb_add(&r.out, "  }\n");
  sb_add(&r.out, "}\n");
done:
  free(r.name);
  free(r.idx);
  free(r.root);
  free(r.tz);
  if (!r.bad && r.out.oom) {
    if (err && errlen) snprintf(err, errlen, "cstyle: out of memory");
    r.bad = 1;
  }
  if (r.bad) { free(r.out.s); return NULL; }
  return r.out.s;
}
