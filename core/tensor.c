/* Tensor primitives: refcounts and scopes, creation from data and constants, the
 * elementwise ops that map to one primitive (with broadcasting and dtype promotion),
 * the primitive reductions and movement ops, realize and data transfer. Composite ops
 * are built from these in tensor_fn.c and nn_fn.c; gradients in autograd.c. */
#include <math.h>

#include "runtime.h"
#include "schedule.h"
#include "symbolic.h"
#include "tensor.h"

/* ---- dtypes ---- */
static const char *const dtype_names[CG_DTYPE_COUNT] = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64"};
static const size_t dtype_sizes[CG_DTYPE_COUNT] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8};
_Static_assert((int)CG_DTYPE_COUNT == (int)CG_IR_VOID, "cg_dtype and cg_ir_scalar must match");
_Static_assert((int)CG_FLOAT32 == (int)CG_IR_FLOAT32, "cg_dtype and cg_ir_scalar must match");

const char *cg_dtype_name(cg_dtype d) { return (unsigned)d < CG_DTYPE_COUNT ? dtype_names[d] : "?"; }
size_t cg_dtype_size(cg_dtype d) { return (unsigned)d < CG_DTYPE_COUNT ? dtype_sizes[d] : 0; }
bool cg__is_float(cg_dtype d) { return d >= CG_FLOAT16 && d <= CG_FLOAT64; }
bool cg__is_int(cg_dtype d) { return d >= CG_INT8 && d <= CG_UINT64; }
static bool is_unsigned(cg_dtype d) { return d >= CG_UINT8 && d <= CG_UINT64; }

cg_dtype cg__promote(cg_dtype a, cg_dtype b) {
  if (a == b) return a;
  if (cg__is_float(a) || cg__is_float(b)) {
    if (!cg__is_float(a)) return b;
    if (!cg__is_float(b)) return a;
    if (a == CG_FLOAT64 || b == CG_FLOAT64) return CG_FLOAT64;
    return CG_FLOAT32; /* f16+bf16, f16+f32, bf16+f32 */
  }
  if (a == CG_BOOL) return b;
  if (b == CG_BOOL) return a;
  size_t sa = dtype_sizes[a], sb = dtype_sizes[b];
  if (is_unsigned(a) == is_unsigned(b)) return sa >= sb ? a : b;
  cg_dtype u = is_unsigned(a) ? a : b, s = is_unsigned(a) ? b : a;
  if (dtype_sizes[s] > dtype_sizes[u]) return s;
  return dtype_sizes[u] >= 4 ? CG_INT64 : dtype_sizes[u] == 2 ? CG_INT32 : CG_INT16;
}

/* ---- errors ---- */
const char *cg__shape_str(const cg_tensor *t) {
  static _Thread_local char bufs[4][128];
  static _Thread_local int k;
  char *b = bufs[k++ & 3];
  int w = snprintf(b, 128, "(");
  for (int i = 0; t && i < t->u->ndim && w < 100; i++)
    w += snprintf(b + w, (size_t)(128 - w), i ? ", %lld" : "%lld", (long long)t->u->shape[i]);
  snprintf(b + w, (size_t)(128 - w), t && t->u->ndim == 1 ? ",)" : ")");
  return b;
}

const char *cg__dims_str(int nd, const int64_t *shape) {
  static _Thread_local char bufs[2][128];
  static _Thread_local int k;
  char *b = bufs[k++ & 1];
  int w = snprintf(b, 128, "(");
  for (int i = 0; i < nd && w < 100; i++)
    w += snprintf(b + w, (size_t)(128 - w), i ? ", %lld" : "%lld", (long long)shape[i]);
  snprintf(b + w, (size_t)(128 - w), nd == 1 ? ",)" : ")");
  return b;
}

cg_tensor *cg__op_error(const char *op, cg_status st, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cg__error(st, "%s: %s", op, msg);
  return NULL;
}

static bool null_arg(const char *op, int n, cg_tensor *const *ts) {
  for (int i = 0; i < n; i++) {
    if (ts[i]) continue;
    if (!cg_last_error()[0]) cg__error(CG_ERR_INVALID, "%s: NULL tensor argument %d", op, i);
    return true;
  }
  return false;
}
#define CHECK1(op, a) do { cg_tensor *_c[1] = {a}; if (null_arg(op, 1, _c)) return NULL; } while (0)

int cg__axis(const char *op, const cg_tensor *t, int axis) {
  int nd = t->u->ndim, a = axis < 0 ? axis + nd : axis;
  if (a < 0 || a >= (nd ? nd : 1)) {
    cg__op_error(op, CG_ERR_INVALID, "axis %d out of range for shape %s", axis, cg__shape_str(t));
    return -1;
  }
  return a;
}

/* ---- refcounts, scopes ---- */
typedef struct { cg_tensor **t; int n, cap; } scope;
static _Thread_local scope *scopes;
static _Thread_local int nscopes, scopes_cap;
static cg_tensor **grad_reg; /* tensors with requires_grad (weak) */
static int ngrad_reg, grad_reg_cap;

static void scope_add(scope *s, cg_tensor *t) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->t = cg__xrealloc(s->t, sizeof(cg_tensor *) * (size_t)s->cap);
  }
  s->t[s->n++] = t;
}

cg_tensor *cg__wrap_owned(UOp *u) {
  cg_tensor *t = cg__xcalloc(1, sizeof *t);
  t->rc = 1;
  t->u = uop_retain(u);
  return t;
}

cg_tensor *cg__wrap(UOp *u) {
  cg_tensor *t = cg__wrap_owned(u);
  if (nscopes) scope_add(&scopes[nscopes - 1], t);
  return t;
}

cg_tensor *cg_retain(cg_tensor *t) {
  if (t) t->rc++;
  return t;
}

static void grad_unregister(cg_tensor *t) {
  for (int i = 0; i < ngrad_reg; i++)
    if (grad_reg[i] == t) { grad_reg[i] = grad_reg[--ngrad_reg]; break; }
  if (!ngrad_reg) { free(grad_reg); grad_reg = NULL; grad_reg_cap = 0; }
}

void cg_release(cg_tensor *t) {
  if (!t || --t->rc > 0) return;
  if (t->requires_grad) grad_unregister(t);
  uop_release(t->u);
  cg_release(t->grad);
  free(t);
}

void cg_scope_push(void) {
  if (nscopes == scopes_cap) {
    scopes_cap = scopes_cap ? scopes_cap * 2 : 8;
    scopes = cg__xrealloc(scopes, sizeof(scope) * (size_t)scopes_cap);
  }
  scopes[nscopes++] = (scope){0};
}

void cg_scope_pop(void) {
  if (!nscopes) return;
  scope s = scopes[--nscopes];
  for (int i = 0; i < s.n; i++) cg_release(s.t[i]);
  free(s.t);
  if (!nscopes) { free(scopes); scopes = NULL; scopes_cap = 0; }
}

cg_tensor *cg_keep(cg_tensor *t) {
  if (!t || !nscopes) return t;
  scope *s = &scopes[nscopes - 1];
  for (int i = s->n - 1; i >= 0; i--) {
    if (s->t[i] != t) continue;
    s->t[i] = s->t[--s->n];
    if (nscopes > 1) scope_add(&scopes[nscopes - 2], t);
    break;
  }
  return t;
}

/* every op body runs inside a node pool; the result tensor keeps what it needs */
#define BEGIN uop_pool_push()
#define END(x) do { cg_tensor *_r = (x); uop_pool_pop(); return _r; } while (0)

/* Why a node lost its symbolic length (uop.c: derive_slen), for the error of the op. */
static const char *slen_why(int op) {
  switch (op) {
  case UOP_VLEN: return "the tensor already has a symbolic length";
  case UOP_RESHAPE: return "a reshape cannot merge or split the symbolic axis";
  case UOP_PAD: case UOP_SHRINK: case UOP_FLIP: case UOP_VSHRINK: case UOP_EXPAND:
    return "pad, shrink, slice, flip or expand along the symbolic axis is not supported";
  default: return "operands have different symbolic lengths (or on different axes)";
  }
}

static cg_tensor *wrap_end(UOp *u) {
  if (u->slen_bad) {
    cg__error(CG_ERR_SHAPE, "symbolic length (cg_var_len): %s", slen_why(u->slen_bad - 1));
    uop_pool_pop();
    return NULL;
  }
  cg_tensor *t = cg__wrap(u);
  uop_pool_pop();
  return t;
}

/* ---- devices ---- */
cg_device *cg__default_device(void) { return cg__device_get(NULL); }
static cg_device *dev_default(void) { return cg__device_get(NULL); }

/* ---- creation ---- */
static bool check_shape(const char *op, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > CG_MAX_DIMS || (ndim && !shape)) {
    cg__error(CG_ERR_SHAPE, "%s: ndim %d out of range 0..%d", op, ndim, CG_MAX_DIMS);
    return false;
  }
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0 || shape[i] > ((int64_t)1 << 31)) {
      cg__error(CG_ERR_SHAPE, "%s: dim %d has invalid size %lld", op, i, (long long)shape[i]);
      return false;
    }
  return true;
}

static bool check_dtype(const char *op, cg_dtype d) {
  if ((unsigned)d < CG_DTYPE_COUNT) return true;
  cg__error(CG_ERR_DTYPE, "%s: invalid dtype %d", op, (int)d);
  return false;
}

cg_tensor *cg_from_data(const void *data, cg_dtype dtype, int ndim, const int64_t *shape) {
  if (!check_dtype("from_data", dtype) || !check_shape("from_data", ndim, shape)) return NULL;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  size_t bytes = (size_t)n * dtype_sizes[dtype];
  if (bytes && !data) return cg__op_error("from_data", CG_ERR_INVALID, "data is NULL");
  cg_device *d = dev_default();
  if (!d) return NULL;
  cg_buffer *b = cg__buffer_new(d, bytes);
  if (!b) return NULL;
  if (bytes && cg__buffer_write(b, 0, data, bytes)) { cg__buffer_release(b); return NULL; }
  BEGIN;
  UOp *u = uop_new(UOP_BUFFER, dtype, 0, NULL, ndim, shape, 0, b);
  cg__buffer_release(b);
  return wrap_end(u);
}

cg_tensor *cg_full(cg_dtype dtype, int ndim, const int64_t *shape, double value) {
  if (!check_dtype("full", dtype) || !check_shape("full", ndim, shape)) return NULL;
  BEGIN;
  return wrap_end(uop_full(dtype, value, ndim, shape));
}

cg_tensor *cg_scalar(double value, cg_dtype dtype) { return cg_full(dtype, 0, NULL, value); }

cg_tensor *cg__const_like(cg_tensor *t, double v) {
  CHECK1("const_like", t);
  return cg_full((cg_dtype)t->u->dtype, t->u->ndim, t->u->shape, v);
}

/* ---- inspection ---- */
int cg_ndim(const cg_tensor *t) { return t ? t->u->ndim : -1; }
const int64_t *cg_shape(const cg_tensor *t) { return t ? t->u->shape : NULL; }
int64_t cg_numel(const cg_tensor *t) { return t ? uop_numel(t->u) : -1; }
cg_dtype cg_tensor_dtype(const cg_tensor *t) { return t ? (cg_dtype)t->u->dtype : CG_DTYPE_COUNT; }
int64_t cg_dim(const cg_tensor *t, int axis) {
  if (!t) return -1;
  int a = cg__axis("dim", t, axis);
  return a < 0 || !t->u->ndim ? (a < 0 ? -1 : 1) : t->u->shape[a];
}
const char *cg_tensor_device(const cg_tensor *t) {
  if (!t) return NULL;
  cg_device *d = t->u->device ? t->u->device : dev_default();
  return d ? cg__device_name(d) : NULL;
}

/* ---- realize and transfer ---- */
cg_status cg_realize_all(int n, cg_tensor *const *ts) {
  UOp *roots[256];
  if (n < 0 || n > 256) return cg__error(CG_ERR_INVALID, "realize_all: %d tensors (max 256)", n);
  for (int i = 0; i < n; i++) {
    if (!ts[i]) return cg_last_error()[0] ? CG_ERR_INVALID : cg__error(CG_ERR_INVALID, "realize: NULL tensor %d", i);
    roots[i] = ts[i]->u;
  }
  cg__counters.realizes++;
  return cg__realize(n, roots);
}

cg_status cg_realize(cg_tensor *t) { return cg_realize_all(1, &t); }

static cg_buffer *buffer_of(const UOp *u) { return u->op == UOP_BUFFER ? u->ptr : u->realized; }

cg_status cg_to_host(cg_tensor *t, void *dst, size_t nbytes) {
  if (!t) return cg_last_error()[0] ? CG_ERR_INVALID : cg__error(CG_ERR_INVALID, "to_host: NULL tensor");
  size_t need = (size_t)uop_numel(t->u) * dtype_sizes[t->u->dtype];
  if (nbytes < need)
    return cg__error(CG_ERR_INVALID, "to_host: destination has %zu bytes, tensor %s %s needs %zu", nbytes,
                     cg_dtype_name((cg_dtype)t->u->dtype), cg__shape_str(t), need);
  cg_status st = cg_realize(t);
  if (st) return st;
  return need ? cg__buffer_read(buffer_of(t->u), 0, dst, need) : CG_OK;
}

static double half_to_double(uint16_t h, bool bf) {
  uint32_t bits;
  if (bf) bits = (uint32_t)h << 16;
  else {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
    if (e == 31) bits = s | 0x7f800000u | (m << 13);
    else if (e) bits = s | ((e + 112) << 23) | (m << 13);
    else if (!m) bits = s;
    else return (h >> 15 ? -1.0 : 1.0) * ldexp((double)m, -24);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

double cg_item(cg_tensor *t) {
  union { uint8_t b[8]; int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint16_t u16;
          uint32_t u32; uint64_t u64; float f; double d; } v = {{0}};
  if (!t) return NAN;
  if (uop_numel(t->u) != 1) {
    cg__error(CG_ERR_SHAPE, "item: tensor %s has %lld elements, expected 1", cg__shape_str(t),
              (long long)uop_numel(t->u));
    return NAN;
  }
  if (cg_to_host(t, v.b, sizeof v.b)) return NAN;
  switch ((cg_dtype)t->u->dtype) {
  case CG_BOOL: case CG_UINT8: return v.b[0];
  case CG_INT8: return v.i8;
  case CG_INT16: return v.i16;
  case CG_UINT16: return v.u16;
  case CG_INT32: return v.i32;
  case CG_UINT32: return v.u32;
  case CG_INT64: return (double)v.i64;
  case CG_UINT64: return (double)v.u64;
  case CG_FLOAT16: return half_to_double(v.u16, false);
  case CG_BFLOAT16: return half_to_double(v.u16, true);
  case CG_FLOAT32: return v.f;
  default: return v.d;
  }
}

cg_tensor *cg_to_device(cg_tensor *t, const char *device) {
  CHECK1("to_device", t);
  cg_device *d = cg__device_get(device);
  if (!d) return NULL;
  BEGIN;
  if (t->u->device == d) return wrap_end(t->u);
  return wrap_end(uop_new(UOP_COPY, (cg_dtype)t->u->dtype, 1, &t->u, 0, NULL, 0, d));
}

cg_tensor *cg_contiguous(cg_tensor *t) {
  CHECK1("contiguous", t);
  BEGIN;
  if (t->u->op == UOP_BUFFER || t->u->realized) return wrap_end(t->u);
  return wrap_end(uop_1(UOP_CONTIGUOUS, (cg_dtype)t->u->dtype, t->u));
}

cg_tensor *cg_detach(cg_tensor *t) {
  CHECK1("detach", t);
  BEGIN;
  return wrap_end(uop_1(UOP_DETACH, (cg_dtype)t->u->dtype, t->u));
}

/* Replace t's node by a BUFFER node holding its realized value (unique per tensor). */
static cg_status make_buffer(cg_tensor *t, UOp *value) {
  cg_status st = cg__realize(1, &value);
  if (st) return st;
  UOp *b = uop_new(UOP_BUFFER, (cg_dtype)value->dtype, 0, NULL, value->ndim, value->shape, 0,
                   buffer_of(value));
  cg__jit_on_assign(t, buffer_of(t->u), buffer_of(value)); /* JIT state follows the tensor */
  uop_retain(b);
  uop_release(t->u);
  t->u = b;
  return CG_OK;
}

cg_status cg_assign(cg_tensor *dst, cg_tensor *src) {
  if (!dst || !src) return cg__error(CG_ERR_INVALID, "assign: NULL tensor");
  cg_status st = CG_OK;
  BEGIN;
  UOp *v = uop_cast(src->u, (cg_dtype)dst->u->dtype);
  int nd = dst->u->ndim, off = nd - v->ndim;
  if (v->slen_ax) {
    uop_pool_pop();
    return cg__error(CG_ERR_SHAPE, "assign: the source has a symbolic length (cg_var_len); its elements past the "
                     "length are undefined");
  }
  int64_t shp[CG_MAX_DIMS];
  for (int i = 0; i < nd; i++) shp[i] = i < off ? 1 : v->shape[i - off];
  bool ok = off >= 0;
  for (int i = 0; ok && i < nd; i++) ok = shp[i] == dst->u->shape[i] || shp[i] == 1;
  if (!ok) {
    st = cg__error(CG_ERR_SHAPE, "assign: cannot assign %s to %s", cg__shape_str(src), cg__shape_str(dst));
  } else {
    v = uop_expand(uop_reshape(v, nd, shp), nd, dst->u->shape);
    if (v->op != UOP_BUFFER && !v->realized) v = uop_1(UOP_CONTIGUOUS, v->dtype, v);
    st = make_buffer(dst, v);
  }
  uop_pool_pop();
  return st;
}

/* ---- elementwise primitives ---- */
static bool broadcast_shape(const char *name, int n, cg_tensor *const *ts, int *nd, int64_t *shape) {
  *nd = 0;
  for (int i = 0; i < n; i++) *nd = ts[i]->u->ndim > *nd ? ts[i]->u->ndim : *nd;
  for (int d = 0; d < *nd; d++) {
    shape[d] = 1;
    for (int i = 0; i < n; i++) {
      int off = *nd - ts[i]->u->ndim;
      int64_t s = d < off ? 1 : ts[i]->u->shape[d - off];
      if (s == shape[d] || s == 1) continue;
      if (shape[d] != 1) {
        cg__op_error(name, CG_ERR_SHAPE, "cannot broadcast shapes %s and %s", cg__shape_str(ts[0]),
                     cg__shape_str(ts[n > 1 ? 1 : 0]));
        if (n > 2) cg__op_error(name, CG_ERR_SHAPE, "cannot broadcast shapes %s, %s and %s",
                                cg__shape_str(ts[0]), cg__shape_str(ts[1]), cg__shape_str(ts[2]));
        return false;
      }
      shape[d] = s;
    }
  }
  return true;
}

bool cg__broadcastable(const char *name, int n, cg_tensor *const *ts) {
  int nd;
  int64_t shape[CG_MAX_DIMS];
  return !null_arg(name, n, ts) && broadcast_shape(name, n, ts, &nd, shape);
}

static UOp *bcast(UOp *u, int nd, const int64_t *shape) {
  int64_t s[CG_MAX_DIMS];
  int off = nd - u->ndim;
  for (int i = 0; i < nd; i++) s[i] = i < off ? 1 : u->shape[i - off];
  return uop_expand(uop_reshape(u, nd, s), nd, shape);
}

static bool is_cmp(int op) { return op == UOP_CMPLT || op == UOP_CMPEQ || op == UOP_CMPNE; }
static bool int_only(int op) {
  return op == UOP_AND || op == UOP_OR || op == UOP_XOR || op == UOP_SHL || op == UOP_SHR ||
         op == UOP_IDIV || op == UOP_MOD;
}
static bool float_only(int op) {
  return op == UOP_EXP2 || op == UOP_LOG2 || op == UOP_SIN || op == UOP_SQRT || op == UOP_RECIP ||
         op == UOP_FDIV || op == UOP_POW;
}

cg_tensor *cg__alu(const char *name, int op, int n, cg_tensor *const *srcs) {
  if (null_arg(name, n, srcs)) return NULL;
  int first = op == UOP_WHERE ? 1 : 0;
  cg_dtype dt = (cg_dtype)srcs[first]->u->dtype;
  for (int i = first + 1; i < n; i++) dt = cg__promote(dt, (cg_dtype)srcs[i]->u->dtype);
  if (float_only(op) && !cg__is_float(dt)) dt = CG_FLOAT32;
  if (int_only(op) && cg__is_float(dt))
    return cg__op_error(name, CG_ERR_DTYPE, "needs integer or bool tensors, got %s",
                        cg_dtype_name(dt));
  if ((op == UOP_SHL || op == UOP_SHR || op == UOP_IDIV || op == UOP_MOD) && dt == CG_BOOL)
    return cg__op_error(name, CG_ERR_DTYPE, "needs integer tensors, got bool");
  int nd;
  int64_t shape[CG_MAX_DIMS];
  if (!broadcast_shape(name, n, srcs, &nd, shape)) return NULL;
  BEGIN;
  UOp *s[3];
  for (int i = 0; i < n; i++)
    s[i] = bcast(uop_cast(srcs[i]->u, i < first ? CG_BOOL : dt), nd, shape);
  return wrap_end(uop_new((uop_op)op, is_cmp(op) ? CG_BOOL : dt, n, s, 0, NULL, 0, NULL));
}

static cg_tensor *bin(const char *name, int op, cg_tensor *a, cg_tensor *b) {
  cg_tensor *s[2] = {a, b};
  return cg__alu(name, op, 2, s);
}
static cg_tensor *un(const char *name, int op, cg_tensor *a) { return cg__alu(name, op, 1, &a); }

cg_tensor *cg_add(cg_tensor *a, cg_tensor *b) { return bin("add", UOP_ADD, a, b); }
cg_tensor *cg_sub(cg_tensor *a, cg_tensor *b) { return bin("sub", UOP_SUB, a, b); }
cg_tensor *cg_mul(cg_tensor *a, cg_tensor *b) { return bin("mul", UOP_MUL, a, b); }
cg_tensor *cg_div(cg_tensor *a, cg_tensor *b) { return bin("div", UOP_FDIV, a, b); }
cg_tensor *cg_pow(cg_tensor *a, cg_tensor *b) { return bin("pow", UOP_POW, a, b); }
cg_tensor *cg_maximum(cg_tensor *a, cg_tensor *b) { return bin("maximum", UOP_MAX, a, b); }
cg_tensor *cg_lt(cg_tensor *a, cg_tensor *b) { return bin("lt", UOP_CMPLT, a, b); }
cg_tensor *cg_gt(cg_tensor *a, cg_tensor *b) { return bin("gt", UOP_CMPLT, b, a); }
cg_tensor *cg_eq(cg_tensor *a, cg_tensor *b) { return bin("eq", UOP_CMPEQ, a, b); }
cg_tensor *cg_ne(cg_tensor *a, cg_tensor *b) { return bin("ne", UOP_CMPNE, a, b); }
cg_tensor *cg_bitwise_and(cg_tensor *a, cg_tensor *b) { return bin("bitwise_and", UOP_AND, a, b); }
cg_tensor *cg_bitwise_or(cg_tensor *a, cg_tensor *b) { return bin("bitwise_or", UOP_OR, a, b); }
cg_tensor *cg_bitwise_xor(cg_tensor *a, cg_tensor *b) { return bin("bitwise_xor", UOP_XOR, a, b); }
cg_tensor *cg_neg(cg_tensor *a) {
  if (a && a->u->dtype == CG_BOOL) return cg__op_error("neg", CG_ERR_DTYPE, "not defined for bool (use logical_not)");
  return un("neg", UOP_NEG, a);
}
cg_tensor *cg_reciprocal(cg_tensor *a) { return un("reciprocal", UOP_RECIP, a); }
cg_tensor *cg_exp2(cg_tensor *a) { return un("exp2", UOP_EXP2, a); }
cg_tensor *cg_log2(cg_tensor *a) { return un("log2", UOP_LOG2, a); }
cg_tensor *cg_sqrt(cg_tensor *a) { return un("sqrt", UOP_SQRT, a); }
cg_tensor *cg_sin(cg_tensor *a) { return un("sin", UOP_SIN, a); }
cg_tensor *cg_trunc(cg_tensor *a) {
  if (a && !cg__is_float((cg_dtype)a->u->dtype)) {
    BEGIN;
    return wrap_end(a->u); /* integers are already whole */
  }
  return un("trunc", UOP_TRUNC, a);
}

static cg_tensor *cmp_or(const char *name, cg_tensor *a, cg_tensor *b) {
  /* a <= b as (a < b) | (a == b): false when either is NaN, like IEEE */
  cg_scope_push();
  cg_tensor *r = cg_keep(bin(name, UOP_OR, bin(name, UOP_CMPLT, a, b), bin(name, UOP_CMPEQ, a, b)));
  cg_scope_pop();
  return r;
}
cg_tensor *cg_le(cg_tensor *a, cg_tensor *b) { return cmp_or("le", a, b); }
cg_tensor *cg_ge(cg_tensor *a, cg_tensor *b) { return cmp_or("ge", b, a); }

static cg_tensor *shift(const char *name, int op, cg_tensor *a, int bits) {
  CHECK1(name, a);
  if (bits < 0 || (size_t)bits >= 8 * dtype_sizes[a->u->dtype])
    return cg__op_error(name, CG_ERR_INVALID, "shift by %d bits out of range for %s", bits,
                        cg_dtype_name((cg_dtype)a->u->dtype));
  cg_scope_push();
  cg_tensor *r = cg_keep(bin(name, op, a, cg__const_like(a, bits)));
  cg_scope_pop();
  return r;
}
cg_tensor *cg_shl(cg_tensor *a, int bits) { return shift("shl", UOP_SHL, a, bits); }
cg_tensor *cg_shr(cg_tensor *a, int bits) { return shift("shr", UOP_SHR, a, bits); }

cg_tensor *cg_where(cg_tensor *c, cg_tensor *a, cg_tensor *b) {
  cg_tensor *s[3] = {c, a, b};
  return cg__alu("where", UOP_WHERE, 3, s);
}

/* floor division: ints via trunc-div corrected toward -inf; floats via trunc */
cg_tensor *cg_idiv(cg_tensor *a, cg_tensor *b) {
  cg_tensor *ab[2] = {a, b};
  if (null_arg("idiv", 2, ab)) return NULL;
  cg_scope_push();
  cg_tensor *r;
  if (cg__is_float(cg__promote((cg_dtype)a->u->dtype, (cg_dtype)b->u->dtype))) {
    cg_tensor *q = cg_div(a, b), *t = un("idiv", UOP_TRUNC, q);
    r = cg_sub(t, cg_cast(cg_lt(q, t), (cg_dtype)t->u->dtype));
  } else {
    cg_tensor *q = bin("idiv", UOP_IDIV, a, b), *m = bin("idiv", UOP_MOD, a, b);
    if (!q || !m) { cg_scope_pop(); return NULL; }
    cg_tensor *z = cg__const_like(m, 0);
    cg_tensor *adj = bin("idiv", UOP_AND, cg_ne(m, z), cg_ne(cg_lt(m, z), cg_lt(b, cg__const_like(b, 0))));
    r = cg_sub(q, cg_cast(adj, (cg_dtype)q->u->dtype));
  }
  cg_keep(r);
  cg_scope_pop();
  return r;
}

cg_tensor *cg_cast(cg_tensor *a, cg_dtype dtype) {
  CHECK1("cast", a);
  if (!check_dtype("cast", dtype)) return NULL;
  BEGIN;
  return wrap_end(uop_cast(a->u, dtype));
}

/* ---- reductions ---- */
static cg_tensor *reduce(const char *name, uop_op op, cg_tensor *a, int naxes, const int *axes, bool keepdim) {
  CHECK1(name, a);
  int nd = a->u->ndim;
  int64_t ax[CG_MAX_DIMS];
  bool on[CG_MAX_DIMS] = {0};
  if (naxes < 0 || naxes > CG_MAX_DIMS || (naxes && !axes))
    return cg__op_error(name, CG_ERR_INVALID, "bad axis count %d", naxes);
  for (int i = 0; i < (naxes ? naxes : nd); i++) {
    int x = naxes ? cg__axis(name, a, axes[i]) : i;
    if (x < 0) return NULL;
    if (nd == 0) continue;
    if (on[x]) return cg__op_error(name, CG_ERR_INVALID, "axis %d repeated", axes[i]);
    on[x] = true;
  }
  int n = 0;
  int64_t out[CG_MAX_DIMS];
  int nout = 0;
  for (int i = 0; i < nd; i++) {
    if (on[i]) ax[n++] = i;
    if (!on[i] || keepdim) out[nout++] = on[i] ? 1 : a->u->shape[i];
  }
  if (op == UOP_REDUCE_MAX && uop_numel(a->u) == 0)
    return cg__op_error(name, CG_ERR_SHAPE, "reduction of an empty tensor %s", cg__shape_str(a));
  BEGIN;
  cg_dtype dt = (cg_dtype)a->u->dtype;
  bool up = op != UOP_REDUCE_MAX && (dt == CG_FLOAT16 || dt == CG_BFLOAT16);
  cg_dtype acc = up ? CG_FLOAT32 : dt == CG_BOOL && op != UOP_REDUCE_MAX ? CG_INT32 : dt;
  UOp *r = uop_reduce(op, uop_cast(a->u, acc), n, ax);
  if (up) r = uop_cast(r, dt);
  return wrap_end(uop_reshape(r, nout, out));
}

cg_tensor *cg_sum(cg_tensor *a, int n, const int *axes, bool keep) { return reduce("sum", UOP_REDUCE_SUM, a, n, axes, keep); }
cg_tensor *cg_prod(cg_tensor *a, int n, const int *axes, bool keep) { return reduce("prod", UOP_REDUCE_PROD, a, n, axes, keep); }
cg_tensor *cg_max(cg_tensor *a, int n, const int *axes, bool keep) { return reduce("max", UOP_REDUCE_MAX, a, n, axes, keep); }

/* ---- movement ---- */
cg_tensor *cg_reshape(cg_tensor *a, int ndim, const int64_t *shape) {
  CHECK1("reshape", a);
  if (ndim < 0 || ndim > CG_MAX_DIMS || (ndim && !shape))
    return cg__op_error("reshape", CG_ERR_SHAPE, "ndim %d out of range", ndim);
  int64_t s[CG_MAX_DIMS], known = 1;
  int infer = -1;
  for (int i = 0; i < ndim; i++) {
    s[i] = shape[i];
    if (s[i] == -1 && infer < 0) infer = i;
    else if (s[i] < 0)
      return cg__op_error("reshape", CG_ERR_SHAPE, "cannot reshape %s to %s: invalid size %lld at dim %d",
                          cg__shape_str(a), cg__dims_str(ndim, shape), (long long)s[i], i);
    else known *= s[i];
  }
  int64_t n = uop_numel(a->u);
  if (infer >= 0) s[infer] = known ? n / known : 0;
  int64_t total = 1;
  for (int i = 0; i < ndim; i++) total *= s[i];
  if (total != n || (infer >= 0 && known && n % known))
    return cg__op_error("reshape", CG_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                        cg__shape_str(a), (long long)n, cg__dims_str(ndim, shape));
  BEGIN;
  return wrap_end(uop_reshape(a->u, ndim, s));
}

cg_tensor *cg_permute(cg_tensor *a, const int *order) {
  CHECK1("permute", a);
  int nd = a->u->ndim;
  int64_t o[CG_MAX_DIMS];
  bool seen[CG_MAX_DIMS] = {0};
  bool ident = true;
  for (int i = 0; i < nd; i++) {
    int x = order ? order[i] : -1;
    if (x < 0) x += nd;
    if (!order || x < 0 || x >= nd || seen[x])
      return cg__op_error("permute", CG_ERR_INVALID, "order is not a permutation of %d axes for %s", nd, cg__shape_str(a));
    seen[x] = true;
    o[i] = x;
    ident &= x == i;
  }
  BEGIN;
  return wrap_end(ident ? a->u : uop_mv(UOP_PERMUTE, a->u, nd, o));
}

cg_tensor *cg_expand(cg_tensor *a, int ndim, const int64_t *shape) {
  CHECK1("expand", a);
  int off = ndim - a->u->ndim;
  if (ndim > CG_MAX_DIMS || off < 0 || (ndim && !shape))
    return cg__op_error("expand", CG_ERR_SHAPE, "cannot expand %s to %d dims", cg__shape_str(a), ndim);
  int64_t src[CG_MAX_DIMS], dst[CG_MAX_DIMS];
  for (int i = 0; i < ndim; i++) {
    src[i] = i < off ? 1 : a->u->shape[i - off];
    dst[i] = shape[i] == -1 && i >= off ? src[i] : shape[i];
    if (dst[i] < 0 || (src[i] != dst[i] && src[i] != 1))
      return cg__op_error("expand", CG_ERR_SHAPE, "cannot expand %s to %s: dim %d of size %lld to %lld",
                          cg__shape_str(a), cg__dims_str(ndim, shape), i, (long long)src[i], (long long)shape[i]);
  }
  BEGIN;
  return wrap_end(uop_expand(uop_reshape(a->u, ndim, src), ndim, dst));
}

cg_tensor *cg_shrink(cg_tensor *a, const int64_t *r) {
  CHECK1("shrink", a);
  int nd = a->u->ndim;
  bool ident = true;
  for (int i = 0; i < nd; i++) {
    if (!r || r[2 * i] < 0 || r[2 * i] > r[2 * i + 1] || r[2 * i + 1] > a->u->shape[i])
      return cg__op_error("shrink", CG_ERR_SHAPE, "range %d invalid for %s", i, cg__shape_str(a));
    ident &= r[2 * i] == 0 && r[2 * i + 1] == a->u->shape[i];
  }
  BEGIN;
  return wrap_end(ident ? a->u : uop_mv(UOP_SHRINK, a->u, 2 * nd, r));
}

cg_tensor *cg_pad(cg_tensor *a, const int64_t *pads, double value) {
  CHECK1("pad", a);
  int nd = a->u->ndim;
  int64_t sh[2 * CG_MAX_DIMS], pd[2 * CG_MAX_DIMS];
  bool any_pad = false, any_shrink = false;
  if (!pads && nd) return cg__op_error("pad", CG_ERR_INVALID, "pads is NULL");
  for (int i = 0; i < nd; i++) {
    int64_t b = pads[2 * i], e = pads[2 * i + 1], n = a->u->shape[i];
    if (b < -n || e < -n || b + e + n < 0 || b > (1 << 30) || e > (1 << 30))
      return cg__op_error("pad", CG_ERR_SHAPE, "pads (%lld, %lld) invalid for dim %d of %s", (long long)b,
                          (long long)e, i, cg__shape_str(a));
    sh[2 * i] = b < 0 ? -b : 0;
    sh[2 * i + 1] = e < 0 ? n + e : n;
    pd[2 * i] = b > 0 ? b : 0;
    pd[2 * i + 1] = e > 0 ? e : 0;
    any_pad |= b > 0 || e > 0;
    any_shrink |= b < 0 || e < 0;
  }
  BEGIN;
  UOp *u = any_shrink ? uop_mv(UOP_SHRINK, a->u, 2 * nd, sh) : a->u;
  if (any_pad) {
    UOp *p = uop_mv(UOP_PAD, u, 2 * nd, pd);
    if (value != 0) {
      UOp *mask = uop_mv(UOP_PAD, uop_full(CG_BOOL, 1, u->ndim, u->shape), 2 * nd, pd);
      p = uop_3(UOP_WHERE, p->dtype, mask, p, uop_full(p->dtype, value, p->ndim, p->shape));
    }
    u = p;
  }
  return wrap_end(u);
}

cg_tensor *cg_flip(cg_tensor *a, int naxes, const int *axes) {
  CHECK1("flip", a);
  int64_t f[CG_MAX_DIMS] = {0};
  bool any = false;
  for (int i = 0; i < naxes; i++) {
    int x = cg__axis("flip", a, axes ? axes[i] : 99);
    if (x < 0) return NULL;
    if (a->u->ndim == 0) continue;
    f[x] ^= 1;
    any |= a->u->shape[x] > 1;
  }
  BEGIN;
  return wrap_end(any ? uop_mv(UOP_FLIP, a->u, a->u->ndim, f) : a->u);
}

/* ---- symbolic variables (docs/symbolic.md) ----
 * A variable is a 0-d int32 VAR node named by `name` with args {min, max}; binding makes
 * the node VAR {min, max, value}. The lowering turns a bound VAR into a kernel VAR
 * without its value (an int32 kernel argument), so kernels that differ only in the value
 * share one compiled program. */
static bool var_name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= sizeof(((cg_ir_var *)0)->name) || (name[0] >= '0' && name[0] <= '9')) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      return false;
  }
  return true;
}

cg_tensor *cg_var(const char *name, int64_t min, int64_t max) {
  if (!var_name_ok(name))
    return cg__op_error("var", CG_ERR_INVALID, "name '%s' is not an identifier of 1..31 characters",
                        name ? name : "(null)");
  if (min > max || min < INT32_MIN || max > INT32_MAX)
    return cg__op_error("var", CG_ERR_INVALID, "'%s': range [%lld, %lld] is empty or not int32", name,
                        (long long)min, (long long)max);
  int64_t args[2] = {min, max};
  BEGIN;
  return wrap_end(uop_new(UOP_VAR, CG_INT32, 0, NULL, 2, args, 0, (void *)name));
}

cg_tensor *cg_var_bind(cg_tensor *var, int64_t value) {
  CHECK1("var_bind", var);
  UOp *u = var->u;
  if (u->op != UOP_VAR) return cg__op_error("var_bind", CG_ERR_INVALID, "tensor is not a variable (cg_var)");
  if (value < u->args[0] || value > u->args[1])
    return cg__op_error("var_bind", CG_ERR_INVALID, "value %lld out of range [%lld, %lld] of variable '%s'",
                        (long long)value, (long long)u->args[0], (long long)u->args[1], (char *)u->ptr);
  int64_t args[3] = {u->args[0], u->args[1], value};
  BEGIN;
  return wrap_end(uop_new(UOP_VAR, CG_INT32, 0, NULL, 3, args, 0, u->ptr));
}

/* Whether u is a scalar expression of variables and constants (no buffers, no reduces). */
static bool var_expr(const UOp *u) {
  if (u->ndim || (u->op != UOP_VAR && u->op != UOP_CONST && !uop_is(u, G_A))) return false;
  for (int i = 0; i < u->nsrc; i++)
    if (!var_expr(u->src[i])) return false;
  return true;
}

cg_tensor *cg_slice_var(cg_tensor *a, int axis, cg_tensor *start, int64_t length) {
  cg_tensor *ts[2] = {a, start};
  if (null_arg("slice_var", 2, ts)) return NULL;
  int ax = cg__axis("slice_var", a, axis);
  if (ax < 0) return NULL;
  if (a->u->ndim == 0) return cg__op_error("slice_var", CG_ERR_SHAPE, "cannot slice a 0-d tensor");
  if (start->u->dtype != CG_INT32 || !var_expr(start->u))
    return cg__op_error("slice_var", CG_ERR_INVALID, "start must be a 0-d int32 expression of variables and "
                        "constants, got %s %s", cg_dtype_name((cg_dtype)start->u->dtype), cg__shape_str(start));
  int64_t n = a->u->shape[ax], lo, hi;
  sym_range(start->u, &lo, &hi);
  if (length < 0 || length > n || lo < 0 || hi > n - length)
    return cg__op_error("slice_var", CG_ERR_SHAPE, "start in [%lld, %lld] with length %lld does not fit axis %d "
                        "of %s", (long long)lo, (long long)hi, (long long)length, ax, cg__shape_str(a));
  int64_t args[2] = {ax, length};
  UOp *srcs[2] = {a->u, start->u};
  BEGIN;
  return wrap_end(uop_new(UOP_VSHRINK, (cg_dtype)a->u->dtype, 2, srcs, 2, args, 0, NULL));
}

/* Symbolic length: a's axis holds `length` valid elements (a 0-d int32 expression of
 * variables whose range fits the axis). VLEN is a marker: the lowering bounds reduce
 * loops over the axis by the length and gates stores past it (docs/symbolic.md). */
cg_tensor *cg_var_len(cg_tensor *a, int axis, cg_tensor *length) {
  cg_tensor *ts[2] = {a, length};
  if (null_arg("var_len", 2, ts)) return NULL;
  int ax = cg__axis("var_len", a, axis);
  if (ax < 0) return NULL;
  if (a->u->ndim == 0) return cg__op_error("var_len", CG_ERR_SHAPE, "a 0-d tensor has no axis");
  if (length->u->dtype != CG_INT32 || !var_expr(length->u))
    return cg__op_error("var_len", CG_ERR_INVALID, "length must be a 0-d int32 expression of variables and "
                        "constants, got %s %s", cg_dtype_name((cg_dtype)length->u->dtype), cg__shape_str(length));
  int64_t n = a->u->shape[ax], lo, hi;
  sym_range(length->u, &lo, &hi);
  if (lo < 0 || hi > n)
    return cg__op_error("var_len", CG_ERR_SHAPE, "length in [%lld, %lld] does not fit axis %d of %s",
                        (long long)lo, (long long)hi, ax, cg__shape_str(a));
  int64_t arg = ax;
  UOp *srcs[2] = {a->u, length->u};
  BEGIN;
  return wrap_end(uop_new(UOP_VLEN, (cg_dtype)a->u->dtype, 2, srcs, 1, &arg, 0, NULL));
}

cg_tensor *cg_slice_var_len(cg_tensor *a, int axis, cg_tensor *start, cg_tensor *length, int64_t max_length) {
  if (!a || !length) return cg_var_len(a, axis, length);
  int ax = cg__axis("slice_var_len", a, axis);
  if (ax < 0) return NULL;
  if (!start && (a->u->ndim == 0 || max_length < 0 || max_length > a->u->shape[ax]))
    return cg__op_error("slice_var_len", CG_ERR_SHAPE, "max_length %lld does not fit axis %d of %s",
                        (long long)max_length, ax, cg__shape_str(a));
  cg_scope_push();
  cg_tensor *v = start ? cg_slice_var(a, ax, start, max_length) : cg_slice(a, ax, 0, max_length, 1);
  cg_tensor *r = v ? cg_var_len(v, ax, length) : NULL;
  if (r) cg_keep(r);
  cg_scope_pop();
  return r;
}

/* ---- debugging ---- */
char *cg_graph_str(cg_tensor *t) { return t ? uop_print(t->u) : NULL; }

/* ---- autograd registry (autograd.c walks it) ---- */
void cg_set_requires_grad(cg_tensor *t, bool on) {
  if (!t || t->requires_grad == on) return;
  if (on && !cg__is_float((cg_dtype)t->u->dtype)) {
    cg__op_error("set_requires_grad", CG_ERR_DTYPE, "only float tensors can require grad, got %s",
                 cg_dtype_name((cg_dtype)t->u->dtype));
    return;
  }
  if (on && t->u->op != UOP_BUFFER) {
    BEGIN;
    UOp *v = t->u->realized ? t->u : uop_1(UOP_CONTIGUOUS, t->u->dtype, t->u);
    cg_status st = make_buffer(t, v);
    uop_pool_pop();
    if (st) return;
  }
  t->requires_grad = on;
  if (!on) { grad_unregister(t); return; }
  if (ngrad_reg == grad_reg_cap) {
    grad_reg_cap = grad_reg_cap ? grad_reg_cap * 2 : 64;
    grad_reg = cg__xrealloc(grad_reg, sizeof(cg_tensor *) * (size_t)grad_reg_cap);
  }
  grad_reg[ngrad_reg++] = t;
}

bool cg_requires_grad(const cg_tensor *t) { return t && t->requires_grad; }
cg_tensor *cg_grad(cg_tensor *t) { return t ? t->grad : NULL; }
void cg_zero_grad(cg_tensor *t) {
  if (!t) return;
  cg_release(t->grad);
  t->grad = NULL;
}

int cg__grad_tensors(cg_tensor ***out) {
  *out = grad_reg;
  return ngrad_reg;
}
