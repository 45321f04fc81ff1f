/* Numerical op conformance (rules 7.x): for every table of a rule, every element type
 * and every shape, builds one kernel with the SDK's IR builder (one output buffer per op
 * or target type), fills its inputs with deterministic pseudo-random values (plus
 * special values), runs it on the plugin and on `ref`, and compares every output:
 * bitwise for integers and bool, within the table's [rtol, atol] for floats (NaN must
 * match NaN, infinities must match exactly). Element types the device does not list
 * and ops it does not render natively are skipped and counted, never passed. */
#include <math.h>
#include <stdio.h>

#include "num.h"

enum { MAX_ARRAYS = 40 };

/* One kernel parameter: a host array, input or output. */
typedef struct {
  int scalar;
  int64_t count;
  bool out;
  char label[24];              /* "a", "FDIV", "->f16" */
  void *data;                  /* host data given to the run */
} arr;

typedef struct {
  arr a[MAX_ARRAYS];
  int n;
  int64_t vars[2];
  int nvars;
  cg_ir_builder *b;
  int32_t ptr[MAX_ARRAYS];     /* PARAM instruction of each array */
} kplan;

/* ---- IR helpers ---- */

static int32_t E(kplan *k, cg_ir_op op, cg_ir_type t, int64_t arg, int n, int32_t s0, int32_t s1, int32_t s2) {
  int32_t s[3] = {s0, s1, s2};
  return cg_irb_emit(k->b, op, t, n, s, arg);
}
static cg_ir_type T(int s) { return cg_ir_t((cg_ir_scalar)s); }
static int32_t ci(kplan *k, int s, int64_t v) { return cg_irb_const_i(k->b, (cg_ir_scalar)s, v); }

static int add_arr(kplan *k, int scalar, int64_t count, bool out, const char *label) {
  arr *a = &k->a[k->n];
  memset(a, 0, sizeof *a);
  a->scalar = scalar, a->count = count, a->out = out;
  snprintf(a->label, sizeof a->label, "%s", label);
  cg_irb_param(k->b, (cg_ir_scalar)scalar, out ? CG_IR_PARAM_WRITE : CG_IR_PARAM_READ, count);
  k->ptr[k->n] = E(k, CG_IR_PARAM, cg_ir_ptr((cg_ir_scalar)scalar, CG_IR_AS_GLOBAL), k->n, 0, 0, 0, 0);
  return k->n++;
}
static int32_t load_at(kplan *k, int a, int32_t idx) {
  int s = k->a[a].scalar;
  int32_t p = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_GLOBAL), 0, 2, k->ptr[a], idx, 0);
  return E(k, CG_IR_LOAD, T(s), 0, 1, p, 0, 0);
}
static void store_at(kplan *k, int a, int32_t idx, int32_t v, int32_t gate) {
  int s = k->a[a].scalar;
  int32_t p = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_GLOBAL), 0, 2, k->ptr[a], idx, 0);
  E(k, CG_IR_STORE, T(CG_IR_VOID), 0, gate >= 0 ? 3 : 2, p, v, gate);
}

/* Flat element index from the group ids of a grid of up to 3 dims. */
static int32_t flat_index(kplan *k, const int64_t dims[3], int ndims) {
  int32_t i = E(k, CG_IR_SPECIAL, T(CG_IR_INT32), 0, 0, 0, 0, 0);
  if (ndims < 2) return i;
  int32_t y = E(k, CG_IR_SPECIAL, T(CG_IR_INT32), 1, 0, 0, 0, 0);
  int32_t row = y;
  if (ndims > 2) {
    int32_t z = E(k, CG_IR_SPECIAL, T(CG_IR_INT32), 2, 0, 0, 0, 0);
    row = E(k, CG_IR_ADD, T(CG_IR_INT32), 0, 2, y, E(k, CG_IR_MUL, T(CG_IR_INT32), 0, 2, z, ci(k, CG_IR_INT32, dims[1]), 0), 0);
  }
  return E(k, CG_IR_ADD, T(CG_IR_INT32), 0, 2, i, E(k, CG_IR_MUL, T(CG_IR_INT32), 0, 2, row, ci(k, CG_IR_INT32, dims[0]), 0), 0);
}

/* ---- kernels per kind; ops/targets the plugin lacks are left out by the caller ---- */

static void k_alu(kplan *k, const num_table *t, int s, int64_t n, const int *ops, int nops, const int64_t dims[3], int nd) {
  int a = add_arr(k, s, n, false, "a"), b = t->kind == K_UNARY ? -1 : add_arr(k, s, n, false, "b"), c = -1, cond = -1;
  if (t->kind == K_TERNARY) c = add_arr(k, s, n, false, "c"), cond = add_arr(k, CG_IR_BOOL, n, false, "cond");
  int outs[NUM_MAX_OPS];
  for (int j = 0; j < nops; j++) outs[j] = add_arr(k, t->kind == K_COMPARE ? CG_IR_BOOL : s, n, true, cg_ir_op_name(ops[j]));
  int32_t i = flat_index(k, dims, nd), x = load_at(k, a, i), y = b >= 0 ? load_at(k, b, i) : -1;
  int32_t z = c >= 0 ? load_at(k, c, i) : -1, w = cond >= 0 ? load_at(k, cond, i) : -1;
  for (int j = 0; j < nops; j++) {
    int op = ops[j];
    int32_t v;
    if (t->kind == K_UNARY) v = E(k, (cg_ir_op)op, T(s), 0, 1, x, 0, 0);
    else if (t->kind == K_COMPARE) v = E(k, (cg_ir_op)op, T(CG_IR_BOOL), 0, 2, x, y, 0);
    else if (op == CG_IR_WHERE) v = E(k, CG_IR_WHERE, T(s), 0, 3, w, x, y);
    else if (op == CG_IR_MULACC) v = E(k, CG_IR_MULACC, T(s), 0, 3, x, y, z);
    else v = E(k, (cg_ir_op)op, T(s), 0, 2, x, y, 0);
    store_at(k, outs[j], i, v, -1);
  }
}

static void k_cast(kplan *k, const num_table *t, int s, int64_t n, const int *to, int nto, const int64_t dims[3], int nd) {
  int a = add_arr(k, s, n, false, "a"), outs[CG_IR_VOID];
  for (int j = 0; j < nto; j++) {
    char label[24];
    snprintf(label, sizeof label, "->%s", cg_ir_scalar_name(to[j]));
    outs[j] = add_arr(k, to[j], n, true, label);
  }
  int32_t i = flat_index(k, dims, nd), x = load_at(k, a, i);
  for (int j = 0; j < nto; j++)
    store_at(k, outs[j], i, E(k, t->kind == K_CAST ? CG_IR_CAST : CG_IR_BITCAST, T(to[j]), 0, 1, x, 0, 0), -1);
}

/* v = a; v = OP(v, b) per op; out = v + CAST(var k). */
static void k_elementwise(kplan *k, int s, int64_t n, const int *ops, int nops, const int64_t dims[3], int nd) {
  int a = add_arr(k, s, n, false, "a"), b = add_arr(k, s, n, false, "b"), o = add_arr(k, s, n, true, "out");
  cg_irb_var(k->b, "k", -100, 100);
  k->vars[k->nvars++] = 3;
  int32_t i = flat_index(k, dims, nd), v = load_at(k, a, i), y = load_at(k, b, i);
  for (int j = 0; j < nops; j++) v = E(k, (cg_ir_op)ops[j], T(s), 0, 2, v, y, 0);
  int32_t kv = E(k, CG_IR_CAST, T(s), 0, 1, E(k, CG_IR_VAR, T(CG_IR_INT32), 0, 0, 0, 0, 0), 0, 0);
  store_at(k, o, i, E(k, CG_IR_ADD, T(s), 0, 2, v, kv, 0), -1);
}

/* Identity of a reduction in type s. */
static int32_t identity(kplan *k, int op, int s) {
  if (op == CG_IR_ADD) return cg_ir_is_float((uint8_t)s) ? cg_irb_const_f(k->b, (cg_ir_scalar)s, 0) : ci(k, s, 0);
  if (op == CG_IR_MUL) return cg_ir_is_float((uint8_t)s) ? cg_irb_const_f(k->b, (cg_ir_scalar)s, 1) : ci(k, s, 1);
  if (cg_ir_is_float((uint8_t)s)) return cg_irb_const_f(k->b, (cg_ir_scalar)s, -INFINITY);
  if (!cg_ir_is_signed((uint8_t)s)) return ci(k, s, 0);
  size_t bits = cg_ir_scalar_size((uint8_t)s) * 8;
  return ci(k, s, bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1)));
}

/* out_k[g] = OP_k over a[g*K .. g*K+K), accumulators in registers. */
static void k_reduce(kplan *k, int s, const int64_t dims[3], const int *ops, int nops) {
  int64_t G = dims[0], K = dims[1];
  int a = add_arr(k, s, G * K, false, "a"), outs[NUM_MAX_OPS];
  int32_t acc[NUM_MAX_OPS];
  for (int j = 0; j < nops; j++) outs[j] = add_arr(k, s, G, true, cg_ir_op_name(ops[j]));
  int32_t g = E(k, CG_IR_SPECIAL, T(CG_IR_INT32), 0, 0, 0, 0, 0), zero = ci(k, CG_IR_INT32, 0);
  for (int j = 0; j < nops; j++) {
    acc[j] = E(k, CG_IR_DEFINE_REG, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_REG), 1, 0, 0, 0, 0);
    int32_t p = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_REG), 0, 2, acc[j], zero, 0);
    E(k, CG_IR_STORE, T(CG_IR_VOID), 0, 2, p, identity(k, ops[j], s), 0);
  }
  int32_t base = E(k, CG_IR_MUL, T(CG_IR_INT32), 0, 2, g, ci(k, CG_IR_INT32, K), 0);
  int32_t r = E(k, CG_IR_RANGE, T(CG_IR_INT32), 0, 2, zero, ci(k, CG_IR_INT32, K), 0);
  int32_t x = load_at(k, a, E(k, CG_IR_ADD, T(CG_IR_INT32), 0, 2, base, r, 0));
  for (int j = 0; j < nops; j++) {
    int32_t p = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_REG), 0, 2, acc[j], zero, 0);
    int32_t v = E(k, (cg_ir_op)ops[j], T(s), 0, 2, E(k, CG_IR_LOAD, T(s), 0, 1, p, 0, 0), x, 0);
    E(k, CG_IR_STORE, T(CG_IR_VOID), 0, 2, p, v, 0);
  }
  E(k, CG_IR_ENDRANGE, T(CG_IR_VOID), 0, 1, r, 0, 0);
  for (int j = 0; j < nops; j++) {
    int32_t p = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_REG), 0, 2, acc[j], zero, 0);
    store_at(k, outs[j], g, E(k, CG_IR_LOAD, T(s), 0, 1, p, 0, 0), -1);
  }
}

/* a holds only N/2+1 elements; n = N/2 (a var). out[i] = i < n ? a[i] : 3 (gated load
 * that must not touch a past its end); out2[i] = CAST(i) only where i is even (gated
 * store); out3[i] = a[i] inside IF (i < n). */
static void k_gated(kplan *k, int s, int64_t N) {
  int64_t NA = N / 2 + 1;
  int a = add_arr(k, s, NA, false, "a"), o1 = add_arr(k, s, N, true, "gated load");
  int o2 = add_arr(k, s, N, true, "gated store"), o3 = add_arr(k, s, N, true, "if store");
  cg_irb_var(k->b, "n", 0, NA);
  k->vars[k->nvars++] = N / 2;
  int32_t i = E(k, CG_IR_SPECIAL, T(CG_IR_INT32), 0, 0, 0, 0, 0);
  int32_t n = E(k, CG_IR_VAR, T(CG_IR_INT32), 0, 0, 0, 0, 0);
  int32_t lt = E(k, CG_IR_CMPLT, T(CG_IR_BOOL), 0, 2, i, n, 0);
  int32_t alt = cg_ir_is_float((uint8_t)s) ? cg_irb_const_f(k->b, (cg_ir_scalar)s, 3) : ci(k, s, s == CG_IR_BOOL ? 1 : 3);
  int32_t pa = E(k, CG_IR_INDEX, cg_ir_ptr((cg_ir_scalar)s, CG_IR_AS_GLOBAL), 0, 2, k->ptr[a], i, 0);
  store_at(k, o1, i, E(k, CG_IR_LOAD, T(s), 0, 3, pa, lt, alt), -1);
  int32_t odd = E(k, CG_IR_AND, T(CG_IR_INT32), 0, 2, i, ci(k, CG_IR_INT32, 1), 0);
  int32_t even = E(k, CG_IR_CMPEQ, T(CG_IR_BOOL), 0, 2, odd, ci(k, CG_IR_INT32, 0), 0);
  store_at(k, o2, i, E(k, CG_IR_CAST, T(s), 0, 1, i, 0, 0), even);
  int32_t iff = E(k, CG_IR_IF, T(CG_IR_VOID), 0, 1, lt, 0, 0);
  store_at(k, o3, i, load_at(k, a, i), -1);
  E(k, CG_IR_ENDIF, T(CG_IR_VOID), 0, 1, iff, 0, 0);
}

/* ---- values ---- */

static uint64_t rng_next(uint64_t *st) {
  uint64_t x = *st;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  *st = x;
  return x * 0x2545F4914F6CDD1Dull;
}
static double rng_unit(uint64_t *st) { return (double)(rng_next(st) >> 11) * (1.0 / 9007199254740992.0); }

static uint16_t f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
  if (e == 0xff) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0));
  int ee = (int)e - 127 + 15;
  if (ee >= 31) return (uint16_t)(sign | 0x7c00u);
  if (ee <= 0) {
    if (ee < -10) return (uint16_t)sign;
    m |= 0x800000u;
    int shift = 14 - ee;
    uint32_t h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)ee << 10) | (m >> 13), rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into the exponent: fine */
  return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0x1f) x = sign | 0x7f800000u | (m << 13);
  else if (e) x = sign | ((e - 15 + 127) << 23) | (m << 13);
  else if (!m) x = sign;
  else {
    int sh = 0;
    while (!(m & 0x400u)) m <<= 1, sh++;
    x = sign | ((uint32_t)(127 - 15 + 1 - sh) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static uint16_t f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

static float bf16_to_f32(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

/* Element i of array data (scalar s) as a double (floats) or integer bits. */
static double get_f(int s, const void *d, int64_t i) {
  switch (s) {
  case CG_IR_FLOAT16: return f16_to_f32(((const uint16_t *)d)[i]);
  case CG_IR_BFLOAT16: return bf16_to_f32(((const uint16_t *)d)[i]);
  case CG_IR_FLOAT32: return ((const float *)d)[i];
  default: return ((const double *)d)[i];
  }
}
static void put_f(int s, void *d, int64_t i, double v) {
  switch (s) {
  case CG_IR_FLOAT16: ((uint16_t *)d)[i] = f32_to_f16((float)v); break;
  case CG_IR_BFLOAT16: ((uint16_t *)d)[i] = f32_to_bf16((float)v); break;
  case CG_IR_FLOAT32: ((float *)d)[i] = (float)v; break;
  default: ((double *)d)[i] = v;
  }
}
static uint64_t get_bits(int s, const void *d, int64_t i) {
  uint64_t v = 0;
  size_t n = cg_ir_scalar_size((uint8_t)s);
  memcpy(&v, (const char *)d + (size_t)i * n, n);
  return v;
}
static void put_bits(int s, void *d, int64_t i, uint64_t v) {
  size_t n = cg_ir_scalar_size((uint8_t)s);
  memcpy((char *)d + (size_t)i * n, &v, n);
}
/* Signed value of integer element bits. */
static int64_t sext(int s, uint64_t v) {
  size_t bits = cg_ir_scalar_size((uint8_t)s) * 8;
  if (!cg_ir_is_signed((uint8_t)s) || bits == 64) return (int64_t)v;
  uint64_t m = (uint64_t)1 << (bits - 1);
  return (int64_t)((v ^ m) - m);
}

static const double f_specials[] = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 0.5, -2.5, 1e-3, 65504.0, 3.0};
enum { NFSPEC = sizeof f_specials / sizeof *f_specials };

/* Deterministic input values: specials first (rotated per array), then random values
 * in the table's range (ints: the full range of the type unless a range is given). */
static void fill(const num_table *t, const arr *a, uint64_t seed, int rot) {
  uint64_t st = seed | 1;
  int s = a->scalar;
  size_t bits = cg_ir_scalar_size((uint8_t)s) * 8;
  for (int64_t i = 0; i < a->count; i++) {
    if (s == CG_IR_BOOL) {
      ((uint8_t *)a->data)[i] = (uint8_t)(rng_next(&st) >> 63);
    } else if (cg_ir_is_float((uint8_t)s)) {
      double lo = t->has_range ? t->lo : -10, hi = t->has_range ? t->hi : 10;
      double v = t->specials && i < NFSPEC ? f_specials[(i + rot) % NFSPEC] : lo + (hi - lo) * rng_unit(&st);
      put_f(s, a->data, i, v);
    } else {
      uint64_t v = rng_next(&st);
      if (t->specials && i < 5) {
        int64_t sp[5] = {0, 1, -1, cg_ir_is_signed((uint8_t)s) ? (int64_t)(((uint64_t)1 << (bits - 1))) : -1, 2};
        v = (uint64_t)sp[(i + rot) % 5];
      } else if (t->has_range) {
        double lo = t->lo, hi = t->hi;
        if (!cg_ir_is_signed((uint8_t)s) && lo < 0) lo = 0;
        v = (uint64_t)(int64_t)floor(lo + (hi - lo + 1) * rng_unit(&st));
      }
      put_bits(s, a->data, i, v);
    }
  }
}

/* ---- comparing ---- */

static void fmt_elem(char *buf, size_t n, int s, const void *d, int64_t i) {
  if (cg_ir_is_float((uint8_t)s))
    snprintf(buf, n, "%.9g (0x%llx)", get_f(s, d, i), (unsigned long long)get_bits(s, d, i));
  else if (cg_ir_is_signed((uint8_t)s)) snprintf(buf, n, "%lld", (long long)sext(s, get_bits(s, d, i)));
  else snprintf(buf, n, "%llu", (unsigned long long)get_bits(s, d, i));
}

static bool close_enough(double got, double want, double rtol, double atol) {
  if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
  if (isinf(want) || isinf(got)) return got == want;
  return fabs(got - want) <= atol + rtol * fabs(want);
}

/* Index of the first mismatching element, or -1. */
static int64_t mismatch(const num_table *t, const arr *a, const void *got, const void *want) {
  int s = a->scalar;
  for (int64_t i = 0; i < a->count; i++) {
    if (cg_ir_is_float((uint8_t)s)) {
      if (!close_enough(get_f(s, got, i), get_f(s, want, i), t->rtol[s], t->atol[s])) return i;
    } else if (get_bits(s, got, i) != get_bits(s, want, i)) {
      return i;
    }
  }
  return -1;
}

/* ---- running one kernel on both plugins ---- */

typedef struct {
  int cases, skipped, kernels;
  char skipwhy[256];
} tally;

static void note_skip(tally *tl, int n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note_skip(tally *tl, int n, const char *fmt, ...) {
  tl->skipped += n;
  if (tl->skipwhy[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl->skipwhy, sizeof tl->skipwhy, fmt, ap);
  va_end(ap);
}

static bool native(const cg_device_props *p, int op) {
  if (op < CG_IR_EXP2 || op > CG_IR_BITCAST) return true; /* structure ops are always there */
  return (p->native_ops >> op) & 1;
}
static bool has_type(const cg_device_props *p, int s) { return (p->dtypes >> s) & 1; }

/* Allocates host arrays, fills inputs, prefills outputs with a pattern. */
static bool alloc_arrays(kplan *k, const num_table *t, uint64_t seed, hbuf *h) {
  for (int j = 0; j < k->n; j++) {
    arr *a = &k->a[j];
    size_t bytes = (size_t)a->count * cg_ir_scalar_size((uint8_t)a->scalar);
    a->data = malloc(bytes ? bytes : 1);
    if (!a->data) return false;
    if (a->out) memset(a->data, a->scalar == CG_IR_BOOL ? 1 : 0x5A, bytes);
    else fill(t, a, seed + (uint64_t)j * 0x9E3779B97F4A7C15ull, j * 3);
    h[j] = (hbuf){a->data, bytes};
  }
  return true;
}

/* Describes element i of every input for a failure message. */
static void inputs_at(const kplan *k, int64_t i, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (int j = 0; j < k->n && used + 40 < n; j++) {
    const arr *a = &k->a[j];
    if (a->out || i >= a->count) continue;
    char v[64];
    fmt_elem(v, sizeof v, a->scalar, a->data, i);
    used += (size_t)snprintf(buf + used, n - used, "%s%s=%s", used ? ", " : "", a->label, v);
  }
}

/* Runs the plan on ref and the plugin and compares; fails r on the first mismatch. */
static void run_plan(conf *c, const num_table *t, kplan *k, cg_ir_program *ir, const char *what, uint64_t seed,
                     tally *tl, rres *r) {
  hbuf want[MAX_ARRAYS], got[MAX_ARRAYS];
  void *copies[MAX_ARRAYS] = {0};
  char why[1024];
  bool ok = alloc_arrays(k, t, seed, want);
  for (int j = 0; ok && j < k->n; j++) {
    copies[j] = malloc(want[j].bytes ? want[j].bytes : 1);
    if (!copies[j]) ok = false;
    else memcpy(copies[j], want[j].data, want[j].bytes), got[j] = (hbuf){copies[j], want[j].bytes};
  }
  tl->kernels++;
  if (!ok) {
    rfail(r, "%s: out of host memory", what);
  } else if (conf_run(&c->ref, ir, want, k->n, k->vars, why, sizeof why) != CG_P_OK) {
    rfail(r, "%s: the reference plugin failed: %s", what, why);
  } else if (conf_run(&c->p, ir, got, k->n, k->vars, why, sizeof why) != CG_P_OK) {
    rfail(r, "%s: %s", what, why);
  } else {
    for (int j = 0; j < k->n; j++) {
      if (!k->a[j].out) continue;
      tl->cases++;
      int64_t bad = mismatch(t, &k->a[j], got[j].data, want[j].data);
      if (bad < 0) continue;
      char gv[64], wv[64], in[256];
      fmt_elem(gv, sizeof gv, k->a[j].scalar, got[j].data, bad);
      fmt_elem(wv, sizeof wv, k->a[j].scalar, want[j].data, bad);
      inputs_at(k, bad, in, sizeof in);
      rfail(r, "%s, %s: element %lld is %s, ref gives %s (inputs %s; tol %g/%g)", what, k->a[j].label,
            (long long)bad, gv, wv, in, t->rtol[k->a[j].scalar], t->atol[k->a[j].scalar]);
    }
  }
  for (int j = 0; j < k->n; j++) {
    free(k->a[j].data);
    free(copies[j]);
  }
}

/* The ops (or targets) of a table that this plugin and ref can run in type s. */
static int usable(conf *c, const num_table *t, int s, int *out, tally *tl, int nshapes) {
  int n = 0;
  bool targets = t->kind == K_CAST || t->kind == K_BITCAST;
  int count = targets ? t->nto : t->nops;
  for (int j = 0; j < count; j++) {
    int x = targets ? t->to[j] : t->ops[j];
    int op = t->kind == K_CAST ? CG_IR_CAST : t->kind == K_BITCAST ? CG_IR_BITCAST : x;
    if (t->kind == K_BITCAST && (cg_ir_scalar_size((uint8_t)x) != cg_ir_scalar_size((uint8_t)s) || x == CG_IR_BOOL ||
                                 s == CG_IR_BOOL || x == s))
      continue; /* not a bitcast pair: not a case */
    if (targets && !has_type(&c->p.props, x)) {
      note_skip(tl, nshapes, "%s not listed in the device's dtypes", cg_ir_scalar_name(x));
      continue;
    }
    if (!native(&c->p.props, op) || !native(&c->ref.props, op)) {
      note_skip(tl, nshapes, "%s not native on the device (the core decomposes it)", cg_ir_op_name(op));
      continue;
    }
    out[n++] = x;
  }
  return n;
}

/* Builds and runs one (table, type, shape) kernel. */
static void run_case(conf *c, const numrule *rule, int ti, int s, int si, const int *xs, int nx, tally *tl, rres *r) {
  const num_table *t = &rule->tables[ti];
  const int64_t *dims = t->shapes[si];
  char name[64], what[256];
  snprintf(name, sizeof name, "conf_%.8s_%s_%s", rule->id, num_kind_name(t->kind), cg_ir_scalar_name(s));
  for (char *p = name; *p; p++)
    if (*p == '.') *p = '_';
  kplan k;
  memset(&k, 0, sizeof k);
  k.b = cg_irb_new(name);
  if (!k.b) return rfail(r, "out of memory");
  int64_t n = dims[0] * dims[1] * dims[2];
  uint32_t g[3] = {(uint32_t)dims[0], (uint32_t)dims[1], (uint32_t)dims[2]}, l[3] = {1, 1, 1};
  if (t->kind == K_REDUCE) g[1] = 1;
  cg_irb_set_launch(k.b, g, l);
  switch (t->kind) {
  case K_CAST: case K_BITCAST: k_cast(&k, t, s, n, xs, nx, dims, t->ndims[si]); break;
  case K_ELEMENTWISE: k_elementwise(&k, s, n, xs, nx, dims, t->ndims[si]); break;
  case K_REDUCE: k_reduce(&k, s, dims, xs, nx); break;
  case K_GATED: k_gated(&k, s, n); break;
  default: k_alu(&k, t, s, n, xs, nx, dims, t->ndims[si]);
  }
  cg_ir_program *ir = cg_irb_finish(k.b);
  cg_irb_free(k.b);
  char err[512];
  snprintf(what, sizeof what, "%s:%d %s %s shape [%lld,%lld,%lld]", t->file, t->line, num_kind_name(t->kind),
           cg_ir_scalar_name(s), (long long)dims[0], (long long)dims[1], (long long)dims[2]);
  if (!ir) rfail(r, "%s: out of memory", what);
  else if (cg_ir_verify(ir, ir->total_size, err, sizeof err)) rfail(r, "%s: suite built invalid IR (fix the table): %s", what, err);
  else run_plan(c, t, &k, ir, what, cg_hash64(what, strlen(what), 7), tl, r);
  free(ir);
}

static void run_table(conf *c, const numrule *rule, int ti, tally *tl, rres *r) {
  const num_table *t = &rule->tables[ti];
  for (int d = 0; d < t->ndtypes; d++) {
    int s = t->dtypes[d], xs[NUM_MAX_OPS + CG_IR_VOID];
    int per_shape = t->kind == K_CAST || t->kind == K_BITCAST ? t->nto : t->kind == K_GATED ? 3 : t->nops;
    if (t->kind == K_ELEMENTWISE) per_shape = 1;
    if (!has_type(&c->p.props, s)) {
      note_skip(tl, per_shape * t->nshapes, "%s not listed in the device's dtypes", cg_ir_scalar_name(s));
      continue;
    }
    int nx = t->kind == K_GATED ? 0 : usable(c, t, s, xs, tl, t->nshapes);
    if (t->kind == K_GATED) {
      static const int gated_ops[] = {CG_IR_CMPLT, CG_IR_CMPEQ, CG_IR_AND, CG_IR_CAST};
      bool ok = true;
      for (int j = 0; j < 4; j++) ok &= native(&c->p.props, gated_ops[j]);
      if (!ok) {
        note_skip(tl, 3 * t->nshapes, "CMPLT/CMPEQ/AND/CAST not all native on the device");
        continue;
      }
    } else if (!nx) {
      continue;
    } else if (t->kind == K_ELEMENTWISE && nx != t->nops) {
      note_skip(tl, t->nshapes, "elementwise chain needs every listed op natively");
      continue;
    }
    for (int si = 0; si < t->nshapes; si++) run_case(c, rule, ti, s, si, xs, nx, tl, r);
  }
}

void num_run(conf *c, const numrule *rules, int i, rres *r) {
  const numrule *rule = &rules[i];
  tally tl = {0, 0, 0, ""};
  for (int ti = 0; ti < rule->ntables; ti++) run_table(c, rule, ti, &tl, r);
  rdetail(r, "%d kernels, %d op x dtype x shape cases compared with ref, %d skipped%s%s", tl.kernels, tl.cases,
          tl.skipped, tl.skipped ? " (e.g. " : "", tl.skipped ? tl.skipwhy : "");
  if (tl.skipped && r->detail[0]) {
    size_t n = strlen(r->detail);
    if (n + 1 < sizeof r->detail) strcat(r->detail, ")");
  }
  if (r->st != R_FAIL && tl.cases == 0) rskip(r, "no case can run on this device: %s", tl.skipwhy[0] ? tl.skipwhy : "nothing to do");
}
