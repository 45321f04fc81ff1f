/* IR verifier: decides whether `size` bytes at p are a well-formed cg_ir_program.
 *
 * Order matters for robustness on garbage: the header is checked before any field is
 * trusted, every table's offset/count is checked (in 64-bit arithmetic, so nothing
 * overflows) before the table is read, and every source index is checked before it is
 * dereferenced. The typing rules checked here are the ones docs/ir.md states; the ref
 * plugin relies on them and does no re-checking of its own. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

/* Fixed source counts from the op table; -1 = variable. */
static const int op_nsrc[CG_IR_OP_COUNT] = {
#define CG_IR_X(name, n, doc) n,
    CG_IR_OPS(CG_IR_X)
#undef CG_IR_X
};

typedef struct {
  const cg_ir_program *p;
  const cg_ir_inst *insts;
  const int32_t *srcs;
  int32_t *scope;  /* per inst: innermost open RANGE/IF when it was defined, -1 = top */
  int32_t *root;   /* per pointer inst: the PARAM/DEFINE_* it points into */
  int32_t *stack;  /* open RANGE/IF instructions, innermost last */
  uint8_t *open;   /* per inst: 1 while it is an open RANGE/IF */
  int depth;
  char *err;
  size_t errlen;
} vctx;

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Error about instruction i, prefixed with its index and op name. */
static int ifail(vctx *v, uint32_t i, const char *why) {
  return fail(v->err, v->errlen, "inst %u (%s): %s", i, cg_ir_op_name(v->insts[i].op), why);
}

static int is_ident(const char *s, size_t n) {
  const char *end = memchr(s, 0, n);
  if (!end || end == s) return 0;
  for (; s < end; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

/* A table of n elements of elem bytes at off lies inside the block, after the header. */
static int table_ok(uint32_t off, uint32_t n, size_t elem, uint32_t align, uint32_t total) {
  if (off % align) return 0;
  if (n == 0) return off <= total;
  return off >= sizeof(cg_ir_program) && (uint64_t)off + (uint64_t)n * elem <= total;
}

static int check_header(const cg_ir_program *p, size_t size, char *err, size_t errlen) {
  if (!p) return fail(err, errlen, "program is NULL");
  if ((uintptr_t)p % 8) return fail(err, errlen, "program block is not 8-byte aligned");
  if (size < sizeof *p) return fail(err, errlen, "block of %zu bytes is smaller than the header", size);
  if (p->magic != CG_IR_MAGIC) return fail(err, errlen, "bad magic 0x%08x", p->magic);
  if (p->version_major != CG_IR_VERSION_MAJOR || p->version_minor > CG_IR_VERSION_MINOR)
    return fail(err, errlen, "IR version %u.%u not supported (this is %d.%d)", p->version_major,
                p->version_minor, CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  if (p->total_size < sizeof *p || p->total_size > size)
    return fail(err, errlen, "total_size %u outside [%zu, %zu]", p->total_size, sizeof *p, size);
  uint32_t t = p->total_size;
  if (!table_ok(p->params_off, p->nparams, sizeof(cg_ir_param), 8, t))
    return fail(err, errlen, "param table (off %u, n %u) out of bounds", p->params_off, p->nparams);
  if (!table_ok(p->vars_off, p->nvars, sizeof(cg_ir_var), 8, t))
    return fail(err, errlen, "var table (off %u, n %u) out of bounds", p->vars_off, p->nvars);
  if (!table_ok(p->insts_off, p->ninsts, sizeof(cg_ir_inst), 8, t))
    return fail(err, errlen, "inst table (off %u, n %u) out of bounds", p->insts_off, p->ninsts);
  if (!table_ok(p->srcs_off, p->nsrcs, sizeof(int32_t), 4, t))
    return fail(err, errlen, "src table (off %u, n %u) out of bounds", p->srcs_off, p->nsrcs);
  if (!is_ident(p->name, sizeof p->name))
    return fail(err, errlen, "kernel name is empty, unterminated or not [A-Za-z0-9_]");
  for (int a = 0; a < 3; a++)
    if (p->global[a] == 0 || p->local[a] == 0)
      return fail(err, errlen, "launch dims must be >= 1 (axis %d)", a);
  return 0;
}

static int check_decls(const cg_ir_program *p, char *err, size_t errlen) {
  const cg_ir_param *pa = cg_ir_params(p);
  for (uint32_t k = 0; k < p->nparams; k++) {
    if (pa[k].scalar >= CG_IR_VOID) return fail(err, errlen, "param %u: bad element type", k);
    if (pa[k].flags == 0 || (pa[k].flags & ~3u)) return fail(err, errlen, "param %u: bad flags", k);
    if (pa[k].count < 0) return fail(err, errlen, "param %u: negative count", k);
  }
  const cg_ir_var *va = cg_ir_vars(p);
  for (uint32_t k = 0; k < p->nvars; k++) {
    if (!is_ident(va[k].name, sizeof va[k].name))
      return fail(err, errlen, "var %u: name is empty, unterminated or not [A-Za-z0-9_]", k);
    if (va[k].min > va[k].max) return fail(err, errlen, "var %u: min > max", k);
  }
  return 0;
}

/* ---- type predicates ---- */
static int type_ok(cg_ir_type t) {
  if (t.scalar >= CG_IR_SCALAR_COUNT || t.vec < 1 || t.vec > 16 || t.space >= CG_IR_AS_COUNT) return 0;
  return t.scalar != CG_IR_VOID || (t.vec == 1 && t.space == CG_IR_AS_NONE);
}
static int is_void(cg_ir_type t) { return t.scalar == CG_IR_VOID; }
static int is_value(cg_ir_type t) { return t.scalar != CG_IR_VOID && t.space == CG_IR_AS_NONE; }
static int is_ptr(cg_ir_type t) { return t.scalar != CG_IR_VOID && t.space != CG_IR_AS_NONE; }
static int is_int_s(uint8_t s) { return s >= CG_IR_INT8 && s <= CG_IR_UINT64; }
static int is_int_scalar(cg_ir_type t) { return is_value(t) && t.vec == 1 && is_int_s(t.scalar); }
static int is_bool_scalar(cg_ir_type t) {
  return is_value(t) && t.vec == 1 && t.scalar == CG_IR_BOOL;
}
static int same(cg_ir_type a, cg_ir_type b) {
  return a.scalar == b.scalar && a.vec == b.vec && a.space == b.space;
}

/* Integer constants must be representable in their type (u64 takes any bit pattern). */
static int const_fits(uint8_t s, int64_t v) {
  switch (s) {
  case CG_IR_BOOL: return v == 0 || v == 1;
  case CG_IR_INT8: return v >= INT8_MIN && v <= INT8_MAX;
  case CG_IR_INT16: return v >= INT16_MIN && v <= INT16_MAX;
  case CG_IR_INT32: return v >= INT32_MIN && v <= INT32_MAX;
  case CG_IR_UINT8: return v >= 0 && v <= UINT8_MAX;
  case CG_IR_UINT16: return v >= 0 && v <= UINT16_MAX;
  case CG_IR_UINT32: return v >= 0 && v <= (int64_t)UINT32_MAX;
  default: return 1; /* i64, u64, floats (double bits) */
  }
}

/* Type of source k of instruction in (already bounds-checked). */
static cg_ir_type S(const vctx *v, const cg_ir_inst *in, int k) {
  return v->insts[v->srcs[in->src_start + (uint32_t)k]].type;
}
static int32_t SRC(const vctx *v, const cg_ir_inst *in, int k) {
  return v->srcs[in->src_start + (uint32_t)k];
}

/* The buffer flags needed by a LOAD/STORE through pointer src0. */
static const char *check_access(const vctx *v, const cg_ir_inst *in, int flag) {
  int32_t r = v->root[SRC(v, in, 0)];
  if (v->insts[r].op != CG_IR_PARAM) return NULL;
  const cg_ir_param *pa = &cg_ir_params(v->p)[v->insts[r].arg];
  if (!(pa->flags & flag)) return flag == CG_IR_PARAM_READ ? "load from a write-only param" : "store to a read-only param";
  return NULL;
}

/* Per-op typing rules; returns NULL if fine, else the reason. Sources are in bounds. */
static const char *check_op(vctx *v, uint32_t i) {
  const cg_ir_inst *in = &v->insts[i];
  cg_ir_type t = in->type;
  int n = in->nsrc;
  switch (in->op) {
  case CG_IR_NOP: case CG_IR_BARRIER:
    return is_void(t) ? NULL : "must have type void";
  case CG_IR_PARAM:
    if (in->arg < 0 || (uint64_t)in->arg >= v->p->nparams) return "param index out of range";
    if (t.space != CG_IR_AS_GLOBAL || t.vec != 1 || t.scalar != cg_ir_params(v->p)[in->arg].scalar)
      return "type must be a global pointer to the param's element type";
    return NULL;
  case CG_IR_VAR:
    if (in->arg < 0 || (uint64_t)in->arg >= v->p->nvars) return "var index out of range";
    return is_int_scalar(t) ? NULL : "type must be an integer scalar";
  case CG_IR_SPECIAL:
    if (in->arg < 0 || in->arg >= 6) return "arg must be axis + 3*kind in 0..5";
    return is_int_scalar(t) ? NULL : "type must be an integer scalar";
  case CG_IR_DEFINE_LOCAL: case CG_IR_DEFINE_REG:
    if (in->arg < 1) return "element count must be >= 1";
    if (t.vec != 1 || t.scalar == CG_IR_VOID ||
        t.space != (in->op == CG_IR_DEFINE_LOCAL ? CG_IR_AS_LOCAL : CG_IR_AS_REG))
      return "type must be a scalar pointer in the local/reg address space";
    return NULL;
  case CG_IR_CONST:
    if (!is_value(t) || t.vec != 1) return "type must be a scalar value";
    return const_fits(t.scalar, in->arg) ? NULL : "integer constant does not fit its type";
  case CG_IR_RANGE:
    if (!is_int_scalar(t) || !same(S(v, in, 0), t) || !same(S(v, in, 1), t))
      return "start, end and result must share one integer scalar type";
    return NULL;
  case CG_IR_IF:
    if (!is_void(t)) return "must have type void";
    return is_bool_scalar(S(v, in, 0)) ? NULL : "condition must be a bool scalar";
  case CG_IR_ENDRANGE: case CG_IR_ENDIF:
    return is_void(t) ? NULL : "must have type void"; /* pairing checked by the caller */
  case CG_IR_INDEX: {
    cg_ir_type b = S(v, in, 0);
    if (!is_ptr(b)) return "src 0 must be a pointer";
    if (!is_int_scalar(S(v, in, 1))) return "index must be an integer scalar";
    if (t.space != b.space || t.scalar != b.scalar) return "result must point into the same buffer type";
    return NULL;
  }
  case CG_IR_LOAD: {
    if (n != 1 && n != 3) return "takes 1 or 3 sources";
    cg_ir_type pt = S(v, in, 0);
    if (!is_ptr(pt)) return "src 0 must be a pointer";
    if (!is_value(t) || t.scalar != pt.scalar || t.vec != pt.vec) return "result type must be the pointee type";
    if (n == 3 && (!is_bool_scalar(S(v, in, 1)) || !same(S(v, in, 2), t)))
      return "gate must be a bool scalar and alt of the result type";
    return check_access(v, in, CG_IR_PARAM_READ);
  }
  case CG_IR_STORE: {
    if (n != 2 && n != 3) return "takes 2 or 3 sources";
    cg_ir_type pt = S(v, in, 0), vt = S(v, in, 1);
    if (!is_void(t)) return "must have type void";
    if (!is_ptr(pt)) return "src 0 must be a pointer";
    if (!is_value(vt) || vt.scalar != pt.scalar || vt.vec != pt.vec) return "value type must be the pointee type";
    if (n == 3 && !is_bool_scalar(S(v, in, 2))) return "gate must be a bool scalar";
    return check_access(v, in, CG_IR_PARAM_WRITE);
  }
  case CG_IR_EXP2: case CG_IR_LOG2: case CG_IR_SIN: case CG_IR_SQRT: case CG_IR_RECIP:
  case CG_IR_TRUNC:
    if (!is_value(t) || !cg_ir_is_float(t.scalar)) return "needs a float type";
    return same(S(v, in, 0), t) ? NULL : "source type must equal the result type";
  case CG_IR_NEG:
    if (!is_value(t)) return "needs a value type";
    return same(S(v, in, 0), t) ? NULL : "source type must equal the result type";
  case CG_IR_ADD: case CG_IR_SUB: case CG_IR_MUL: case CG_IR_MAX: case CG_IR_FDIV:
  case CG_IR_POW: case CG_IR_IDIV: case CG_IR_MOD: case CG_IR_AND: case CG_IR_OR:
  case CG_IR_XOR: case CG_IR_SHL: case CG_IR_SHR: case CG_IR_MULACC: {
    if (!is_value(t)) return "needs a value type";
    for (int k = 0; k < n; k++)
      if (!same(S(v, in, k), t)) return "source types must equal the result type";
    int op = in->op, s = t.scalar;
    if ((op == CG_IR_FDIV || op == CG_IR_POW) && !cg_ir_is_float((uint8_t)s)) return "needs a float type";
    if ((op == CG_IR_IDIV || op == CG_IR_MOD || op == CG_IR_SHL || op == CG_IR_SHR) && !is_int_s((uint8_t)s))
      return "needs an integer type";
    if ((op == CG_IR_AND || op == CG_IR_OR || op == CG_IR_XOR) && cg_ir_is_float((uint8_t)s))
      return "needs an integer or bool type";
    if ((op == CG_IR_ADD || op == CG_IR_SUB || op == CG_IR_MUL || op == CG_IR_MULACC) && s == CG_IR_BOOL)
      return "not defined on bool";
    return NULL;
  }
  case CG_IR_CMPLT: case CG_IR_CMPNE: case CG_IR_CMPEQ: {
    cg_ir_type a = S(v, in, 0);
    if (!is_value(a) || !same(a, S(v, in, 1))) return "sources must be values of one type";
    if (!is_value(t) || t.scalar != CG_IR_BOOL || t.vec != a.vec) return "result must be bool of the source width";
    return NULL;
  }
  case CG_IR_WHERE: {
    cg_ir_type c = S(v, in, 0);
    if (!is_value(t)) return "needs a value type";
    if (!is_value(c) || c.scalar != CG_IR_BOOL || c.vec != t.vec) return "condition must be bool of the result width";
    return same(S(v, in, 1), t) && same(S(v, in, 2), t) ? NULL : "both arms must have the result type";
  }
  case CG_IR_CAST: {
    cg_ir_type a = S(v, in, 0);
    if (!is_value(t) || !is_value(a) || a.vec != t.vec) return "needs value types of equal width";
    return NULL;
  }
  case CG_IR_BITCAST: {
    cg_ir_type a = S(v, in, 0);
    if (!is_value(t) || !is_value(a) || t.scalar == CG_IR_BOOL || a.scalar == CG_IR_BOOL)
      return "needs non-bool value types";
    if (cg_ir_scalar_size(t.scalar) * t.vec != cg_ir_scalar_size(a.scalar) * a.vec) return "sizes differ";
    return NULL;
  }
  case CG_IR_VECTORIZE:
    if (!is_value(t) || n != t.vec) return "needs one scalar source per lane";
    for (int k = 0; k < n; k++) {
      cg_ir_type a = S(v, in, k);
      if (!is_value(a) || a.vec != 1 || a.scalar != t.scalar) return "lanes must be scalars of the element type";
    }
    return NULL;
  case CG_IR_GEP: {
    cg_ir_type a = S(v, in, 0);
    if (!is_value(a) || in->arg < 0 || in->arg >= a.vec) return "lane out of range";
    return is_value(t) && t.vec == 1 && t.scalar == a.scalar ? NULL : "result must be the element type";
  }
  case CG_IR_WMMA:
    if (!is_value(t) || in->arg < 0) return "needs a value type and a shape id";
    for (int k = 0; k < n; k++)
      if (!is_value(S(v, in, k))) return "sources must be values";
    return NULL;
  default:
    return "unknown op";
  }
}

/* Checks sources: in bounds, earlier, visible (their scope still open), not void. */
static const char *check_srcs(vctx *v, uint32_t i) {
  const cg_ir_inst *in = &v->insts[i];
  int op = in->op;
  if ((uint64_t)in->src_start + in->nsrc > v->p->nsrcs) return "sources out of the src table";
  if (op_nsrc[op] >= 0 && in->nsrc != op_nsrc[op]) return "wrong number of sources";
  for (int k = 0; k < in->nsrc; k++) {
    int32_t s = SRC(v, in, k);
    if (s < 0 || (uint32_t)s >= i) return "source is not an earlier instruction";
    if (v->scope[s] >= 0 && !v->open[v->scope[s]]) return "source defined in a closed RANGE/IF body";
    if (op == CG_IR_ENDRANGE || op == CG_IR_ENDIF) continue;
    if (is_void(v->insts[s].type)) return "source has no value (void)";
  }
  return NULL;
}

/* RANGE/IF open a scope, ENDRANGE/ENDIF must close the innermost one. */
static const char *update_scope(vctx *v, uint32_t i) {
  const cg_ir_inst *in = &v->insts[i];
  int32_t top = v->depth ? v->stack[v->depth - 1] : -1;
  v->scope[i] = top;
  if (in->op == CG_IR_RANGE || in->op == CG_IR_IF) {
    v->stack[v->depth++] = (int32_t)i;
    v->open[i] = 1;
    v->scope[i] = (int32_t)i;
  } else if (in->op == CG_IR_ENDRANGE || in->op == CG_IR_ENDIF) {
    int want = in->op == CG_IR_ENDRANGE ? CG_IR_RANGE : CG_IR_IF;
    if (top < 0 || SRC(v, in, 0) != top || v->insts[top].op != want)
      return "does not close the innermost open RANGE/IF";
    v->open[top] = 0;
    v->depth--;
    v->scope[i] = v->depth ? v->stack[v->depth - 1] : -1;
  }
  return NULL;
}

static int check_insts(vctx *v) {
  const cg_ir_program *p = v->p;
  for (uint32_t i = 0; i < p->ninsts; i++) {
    const cg_ir_inst *in = &v->insts[i];
    if (in->op >= CG_IR_OP_COUNT) return fail(v->err, v->errlen, "inst %u: unknown op %u", i, in->op);
    if (!type_ok(in->type)) return ifail(v, i, "malformed type");
    const char *why = check_srcs(v, i);
    if (!why) why = check_op(v, i);
    if (!why) why = update_scope(v, i);
    if (why) return ifail(v, i, why);
    int op = in->op;
    v->root[i] = (op == CG_IR_INDEX || op == CG_IR_LOAD || op == CG_IR_STORE) ? v->root[SRC(v, in, 0)] : (int32_t)i;
  }
  if (v->depth) return ifail(v, (uint32_t)v->stack[v->depth - 1], "never closed");
  return 0;
}

int cg_ir_verify(const cg_ir_program *p, size_t size, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (check_header(p, size, err, errlen) || check_decls(p, err, errlen)) return -1;
  vctx v = {.p = p, .insts = cg_ir_insts(p), .srcs = cg_ir_srcs(p), .err = err, .errlen = errlen};
  size_t n = p->ninsts ? p->ninsts : 1;
  v.scope = malloc(n * sizeof(int32_t));
  v.root = malloc(n * sizeof(int32_t));
  v.stack = malloc(n * sizeof(int32_t));
  v.open = calloc(n, 1);
  int rc = (v.scope && v.root && v.stack && v.open) ? check_insts(&v)
                                                     : fail(err, errlen, "out of memory while verifying");
  free(v.scope);
  free(v.root);
  free(v.stack);
  free(v.open);
  return rc;
}
