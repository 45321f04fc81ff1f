/* Composite tensor ops of the public API: creation, random numbers, elementwise math,
 * reductions and movement, written only in terms of the primitives of tensor.c.
 *
 * Gradients come for free from the primitives' autograd, so the data path uses only
 * differentiable primitives; comparisons and detached values are used for masks.
 * Every op checks its inputs (a NULL tensor returns NULL without a new error), runs in
 * its own scope so intermediates die at its end, and lets only its result escape. */
#include <math.h>

#include "tensor.h"

#define LN2 0.69314718055994530942
#define PI 3.14159265358979323846

/* ---- helpers ---- */

/* Ends an op's scope: the result (if any) moves to the caller's scope. */
static cg_tensor *finish(cg_tensor *r) {
  if (r) r = cg_keep(r);
  cg_scope_pop();
  return r;
}

/* Constant with t's dtype and shape; NULL-safe. */
static cg_tensor *k_like(cg_tensor *t, double v) { return t ? cg__const_like(t, v) : NULL; }

/* t itself if it is a float tensor, else t cast to float32 (math ops need floats). */
static cg_tensor *to_float(cg_tensor *t) {
  if (!t) return NULL;
  return cg__is_float(cg_tensor_dtype(t)) ? t : cg_cast(t, CG_FLOAT32);
}

/* Copies t's shape into s and returns the number of dims. */
static int shape_of(const cg_tensor *t, int64_t *s) {
  int n = cg_ndim(t);
  if (n > 0) memcpy(s, cg_shape(t), (size_t)n * sizeof(int64_t));
  return n;
}

/* Shrinks one axis to [lo, hi), keeping the others whole. */
static cg_tensor *shrink_axis(cg_tensor *t, int axis, int64_t lo, int64_t hi) {
  if (!t) return NULL;
  int64_t r[2 * CG_MAX_DIMS];
  int n = cg_ndim(t);
  for (int i = 0; i < n; i++) { r[2 * i] = 0; r[2 * i + 1] = cg_dim(t, i); }
  r[2 * axis] = lo;
  r[2 * axis + 1] = hi;
  return cg_shrink(t, r);
}

/* Pads one axis with `before`/`after` zeros. */
static cg_tensor *pad_axis(cg_tensor *t, int axis, int64_t before, int64_t after) {
  if (!t) return NULL;
  int64_t p[2 * CG_MAX_DIMS] = {0};
  p[2 * axis] = before;
  p[2 * axis + 1] = after;
  return cg_pad(t, p, 0.0);
}

/* A new reference viewing t unchanged (for ops that are the identity on some input). */
static cg_tensor *same(cg_tensor *t) {
  if (!t) return NULL;
  int64_t s[CG_MAX_DIMS];
  int n = shape_of(t, s);
  return cg_reshape(t, n, s);
}

/* Moves r to the device of ref when they differ (creation ops build on the default). */
static cg_tensor *on_device_of(cg_tensor *r, cg_tensor *ref) {
  if (!r || !ref) return r;
  const char *dr = cg_tensor_device(r), *dref = cg_tensor_device(ref);
  if (!dr || !dref || strcmp(dr, dref) == 0) return r;
  return cg_to_device(r, dref);
}

/* Like cg__axis, but a 0-d tensor has no axis at all (for ops that index along one). */
static int real_axis(const char *op, const cg_tensor *t, int axis) {
  if (cg_ndim(t) > 0) return cg__axis(op, t, axis);
  cg__op_error(op, CG_ERR_SHAPE, "needs a tensor with at least one dim, got shape ()");
  return -1;
}

/* Number of elements of a shape; -1 (error set) if a dim is negative or too many dims. */
static int64_t shape_numel(const char *op, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > CG_MAX_DIMS || (ndim > 0 && !shape)) {
    cg__op_error(op, CG_ERR_SHAPE, "ndim %d out of range [0, %d]", ndim, CG_MAX_DIMS);
    return -1;
  }
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] > 0 && n > INT64_MAX / shape[i])) {
      cg__op_error(op, CG_ERR_SHAPE, "invalid dim %lld at axis %d", (long long)shape[i], i);
      return -1;
    }
    n *= shape[i];
  }
  return n;
}

/* ---- creation ---- */

cg_tensor *cg_zeros(cg_dtype dtype, int ndim, const int64_t *shape) {
  return cg_full(dtype, ndim, shape, 0.0);
}

cg_tensor *cg_ones(cg_dtype dtype, int ndim, const int64_t *shape) {
  return cg_full(dtype, ndim, shape, 1.0);
}

cg_tensor *cg_full_like(cg_tensor *t, double value) {
  if (!t) return NULL;
  cg_scope_push();
  int64_t s[CG_MAX_DIMS];
  int n = shape_of(t, s);
  return finish(on_device_of(cg_full(cg_tensor_dtype(t), n, s, value), t));
}

cg_tensor *cg_zeros_like(cg_tensor *t) { return cg_full_like(t, 0.0); }
cg_tensor *cg_ones_like(cg_tensor *t) { return cg_full_like(t, 1.0); }

/* v truncated to an integer, saturated to int64 (a plain cast of an out-of-range
 * double is undefined behaviour); NaN gives 0. */
static int64_t to_i64(double v) {
  if (v != v) return 0;
  return v >= 0x1p63 ? INT64_MAX : v <= -0x1p63 ? INT64_MIN : (int64_t)v;
}

/* Stores v as element i of a host array of dtype dt (halves are never asked for).
 * Integers out of the dtype's range wrap like a C cast from int64. */
static void store_as(void *buf, cg_dtype dt, int64_t i, double v) {
  switch (dt) {
  case CG_BOOL: ((bool *)buf)[i] = v != 0; break;
  case CG_INT8: ((int8_t *)buf)[i] = (int8_t)to_i64(v); break;
  case CG_INT16: ((int16_t *)buf)[i] = (int16_t)to_i64(v); break;
  case CG_INT32: ((int32_t *)buf)[i] = (int32_t)to_i64(v); break;
  case CG_INT64: ((int64_t *)buf)[i] = to_i64(v); break;
  case CG_UINT8: ((uint8_t *)buf)[i] = (uint8_t)to_i64(v); break;
  case CG_UINT16: ((uint16_t *)buf)[i] = (uint16_t)to_i64(v); break;
  case CG_UINT32: ((uint32_t *)buf)[i] = (uint32_t)to_i64(v); break;
  case CG_UINT64: ((uint64_t *)buf)[i] = v >= 0x1p63 && v < 0x1p64 ? (uint64_t)v : (uint64_t)to_i64(v); break;
  case CG_FLOAT64: ((double *)buf)[i] = v; break;
  default: ((float *)buf)[i] = (float)v; break;
  }
}

/* Builds a tensor of dtype from n host doubles (values exact up to 2^53). float16 and
 * bfloat16 are made as float32 and cast on the device. */
static cg_tensor *from_doubles(const char *op, const double *v, cg_dtype dt, int ndim,
                               const int64_t *shape) {
  if ((unsigned)dt >= CG_DTYPE_COUNT) return cg__op_error(op, CG_ERR_DTYPE, "bad dtype %d", dt);
  int64_t n = shape_numel(op, ndim, shape);
  if (n < 0) return NULL;
  bool half = dt == CG_FLOAT16 || dt == CG_BFLOAT16;
  cg_dtype host = half ? CG_FLOAT32 : dt;
  void *buf = malloc((size_t)(n ? n : 1) * cg_dtype_size(host));
  if (!buf) return cg__op_error(op, CG_ERR_NOMEM, "cannot allocate %lld elements", (long long)n);
  for (int64_t i = 0; i < n; i++) store_as(buf, host, i, v[i]);
  cg_scope_push();
  cg_tensor *t = cg_from_data(buf, host, ndim, shape);
  free(buf);
  return finish(half && t ? cg_cast(t, dt) : t);
}

/* Host array of n doubles for generators; NULL with an error when too big. */
static double *host_doubles(const char *op, int64_t n) {
  double *v = n >= 0 && n <= ((int64_t)1 << 32) ? malloc((size_t)(n ? n : 1) * sizeof(double)) : NULL;
  if (!v) cg__op_error(op, CG_ERR_NOMEM, "cannot allocate %lld elements", (long long)n);
  return v;
}

cg_tensor *cg_arange(double start, double stop, double step, cg_dtype dtype) {
  if (step == 0 || !isfinite(start) || !isfinite(stop) || !isfinite(step))
    return cg__op_error("arange", CG_ERR_INVALID, "bad range start=%g stop=%g step=%g", start,
                        stop, step);
  double len = ceil((stop - start) / step);
  int64_t n = len > 0 ? to_i64(len) : 0;
  double *v = host_doubles("arange", n);
  if (!v) return NULL;
  for (int64_t i = 0; i < n; i++) v[i] = start + (double)i * step;
  cg_tensor *t = from_doubles("arange", v, dtype, 1, &n);
  free(v);
  return t;
}

cg_tensor *cg_linspace(double start, double stop, int64_t steps, cg_dtype dtype) {
  if (steps < 0) return cg__op_error("linspace", CG_ERR_INVALID, "steps %lld < 0", (long long)steps);
  double *v = host_doubles("linspace", steps);
  if (!v) return NULL;
  double step = steps > 1 ? (stop - start) / (double)(steps - 1) : 0;
  /* both halves count from their own end, so the last value is exactly `stop` */
  for (int64_t i = 0; i < steps; i++)
    v[i] = i < steps / 2 ? start + step * (double)i : stop - step * (double)(steps - 1 - i);
  cg_tensor *t = from_doubles("linspace", v, dtype, 1, &steps);
  free(v);
  return t;
}

/* Identity from movement ops on a constant: rows of (1, 0 x n) read with row length n
 * put the 1 of row i at column i. */
cg_tensor *cg_eye(int64_t n, cg_dtype dtype) {
  if (n < 0) return cg__op_error("eye", CG_ERR_INVALID, "n %lld < 0", (long long)n);
  cg_scope_push();
  int64_t col[2] = {n, 1}, pads[4] = {0, 0, 0, n}, flat = n * (n + 1), sq[2] = {n, n};
  int64_t keep[2] = {0, n * n};
  cg_tensor *t = cg_pad(cg_full(dtype, 2, col, 1.0), pads, 0.0);
  t = t ? cg_reshape(t, 1, &flat) : NULL;
  t = t ? cg_shrink(t, keep) : NULL;
  return finish(t ? cg_reshape(t, 2, sq) : NULL);
}

/* ---- random numbers: splitmix64 over a counter, generated on the host ---- */

static uint64_t rng_seed, rng_counter;

void cg_manual_seed(uint64_t seed) {
  rng_seed = seed;
  rng_counter = 0;
}

/* Element `counter` of the stream of `seed` (splitmix64's output function). */
static uint64_t rng_next(void) {
  uint64_t z = rng_seed + 0x9e3779b97f4a7c15ULL * ++rng_counter;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Mantissa bits of a float dtype: uniform numbers use that many random bits so that
 * rounding to the dtype can never reach 1.0. */
static int mantissa_bits(cg_dtype dt) {
  switch (dt) {
  case CG_FLOAT64: return 53;
  case CG_FLOAT16: return 11;
  case CG_BFLOAT16: return 8;
  default: return 24;
  }
}

static double uniform(int bits) { return (double)(rng_next() >> (64 - bits)) * ldexp(1.0, -bits); }

typedef enum { RNG_UNIFORM, RNG_NORMAL, RNG_INT } rng_kind;

/* Fills a new tensor of dtype/shape from the generator. */
static cg_tensor *random_tensor(const char *op, rng_kind kind, cg_dtype dt, int ndim,
                                const int64_t *shape, int64_t lo, int64_t hi) {
  if ((unsigned)dt >= CG_DTYPE_COUNT) return cg__op_error(op, CG_ERR_DTYPE, "bad dtype %d", dt);
  if (kind != RNG_INT && !cg__is_float(dt))
    return cg__op_error(op, CG_ERR_DTYPE, "needs a float dtype, got %s", cg_dtype_name(dt));
  int64_t n = shape_numel(op, ndim, shape);
  double *v = n >= 0 ? host_doubles(op, n) : NULL;
  if (!v) return NULL;
  int bits = mantissa_bits(dt);
  for (int64_t i = 0; i < n; i++) {
    if (kind == RNG_UNIFORM) {
      v[i] = uniform(bits);
    } else if (kind == RNG_INT) {
      uint64_t span = (uint64_t)hi - (uint64_t)lo; /* no signed overflow */
      v[i] = (double)(int64_t)((uint64_t)lo + rng_next() % span);
    } else { /* Box-Muller: u1 in (0, 1] keeps the log finite */
      double u1 = 1.0 - uniform(53), u2 = uniform(53), r = sqrt(-2.0 * log(u1));
      v[i] = r * cos(2 * PI * u2);
      if (i + 1 < n) v[++i] = r * sin(2 * PI * u2);
    }
  }
  cg_tensor *t = from_doubles(op, v, dt, ndim, shape);
  free(v);
  return t;
}

cg_tensor *cg_rand(cg_dtype dtype, int ndim, const int64_t *shape) {
  return random_tensor("rand", RNG_UNIFORM, dtype, ndim, shape, 0, 0);
}

cg_tensor *cg_randn(cg_dtype dtype, int ndim, const int64_t *shape) {
  return random_tensor("randn", RNG_NORMAL, dtype, ndim, shape, 0, 0);
}

cg_tensor *cg_randint(int64_t low, int64_t high, cg_dtype dtype, int ndim, const int64_t *shape) {
  if (high <= low)
    return cg__op_error("randint", CG_ERR_INVALID, "empty range [%lld, %lld)", (long long)low,
                        (long long)high);
  if (dtype == CG_BOOL) return cg__op_error("randint", CG_ERR_DTYPE, "bool dtype");
  return random_tensor("randint", RNG_INT, dtype, ndim, shape, low, high);
}

/* ---- elementwise: binary and scalar forms ---- */

/* Order-reversing map used for minimum/min/argmin: -x for floats, ~x for integers and
 * bool (~ never overflows and reverses unsigned order too). */
static cg_tensor *reverse_order(cg_tensor *x) {
  if (!x) return NULL;
  return cg__is_float(cg_tensor_dtype(x)) ? cg_neg(x) : cg_bitwise_not(x);
}

cg_tensor *cg_minimum(cg_tensor *a, cg_tensor *b) {
  if (!a || !b) return NULL;
  cg_scope_push();
  cg_dtype dt = cg__promote(cg_tensor_dtype(a), cg_tensor_dtype(b));
  cg_tensor *x = cg_cast(a, dt), *y = cg_cast(b, dt);
  return finish(reverse_order(cg_maximum(reverse_order(x), reverse_order(y))));
}

typedef cg_tensor *(*binary_fn)(cg_tensor *, cg_tensor *);

/* a OP s where the scalar s adopts a's dtype; `swap` computes s OP a. */
static cg_tensor *scalar_op(cg_tensor *a, double s, binary_fn f, bool swap) {
  if (!a) return NULL;
  cg_scope_push();
  cg_tensor *k = k_like(a, s);
  return finish(swap ? f(k, a) : f(a, k));
}

static bool is_unsigned(cg_tensor *a) {
  return cg_tensor_dtype(a) >= CG_UINT8 && cg_tensor_dtype(a) <= CG_UINT64;
}

/* unsigned a + (negative s) is a - |s|: the constant must fit the dtype */
cg_tensor *cg_adds(cg_tensor *a, double s) {
  if (a && s < 0 && is_unsigned(a)) return scalar_op(a, -s, cg_sub, false);
  return scalar_op(a, s, cg_add, false);
}

cg_tensor *cg_subs(cg_tensor *a, double s) {
  if (a && s < 0 && is_unsigned(a)) return scalar_op(a, -s, cg_add, false);
  return scalar_op(a, s, cg_sub, false);
}

cg_tensor *cg_muls(cg_tensor *a, double s) { return scalar_op(a, s, cg_mul, false); }
cg_tensor *cg_rsubs(cg_tensor *a, double s) { return scalar_op(a, s, cg_sub, true); }

/* True division gives a float, so an integer a is divided by a float32 s (2.5 stays
 * 2.5 instead of adopting the int dtype). */
cg_tensor *cg_divs(cg_tensor *a, double s) {
  if (!a || cg__is_float(cg_tensor_dtype(a))) return scalar_op(a, s, cg_div, false);
  cg_scope_push();
  cg_tensor *x = to_float(a);
  return finish(cg_div(x, k_like(x, s)));
}

cg_tensor *cg_pows(cg_tensor *a, double s) {
  if (a && s == 2.0) { /* x*x: exact and defined for negative bases */
    cg_scope_push();
    return finish(cg_mul(a, a));
  }
  return scalar_op(a, s, cg_pow, false);
}

/* ---- logical and bitwise ---- */

/* Truth value of any dtype: x != 0 as bool. */
static cg_tensor *truth(cg_tensor *x) { return cg_ne(x, k_like(x, 0)); }

cg_tensor *cg_logical_and(cg_tensor *a, cg_tensor *b) {
  if (!a || !b) return NULL;
  cg_scope_push();
  return finish(cg_bitwise_and(truth(a), truth(b)));
}

cg_tensor *cg_logical_or(cg_tensor *a, cg_tensor *b) {
  if (!a || !b) return NULL;
  cg_scope_push();
  return finish(cg_bitwise_or(truth(a), truth(b)));
}

cg_tensor *cg_logical_not(cg_tensor *a) {
  if (!a) return NULL;
  cg_scope_push();
  return finish(cg_eq(a, k_like(a, 0)));
}

/* ~x: bool flips, ints xor all-ones (-1 signed; the max value unsigned, built from two
 * 32-bit halves for uint64 since 2^64-1 is no double). */
cg_tensor *cg_bitwise_not(cg_tensor *a) {
  if (!a) return NULL;
  cg_dtype dt = cg_tensor_dtype(a);
  if (dt == CG_BOOL) return cg_logical_not(a);
  if (!cg__is_int(dt))
    return cg__op_error("bitwise_not", CG_ERR_DTYPE, "needs int or bool, got %s %s",
                        cg_dtype_name(dt), cg__shape_str(a));
  cg_scope_push();
  cg_tensor *ones = k_like(a, -1);
  if (dt == CG_UINT64) ones = cg_bitwise_or(cg_shl(k_like(a, 4294967295.0), 32), k_like(a, 4294967295.0));
  else if (dt >= CG_UINT8) ones = k_like(a, ldexp(1, 8 * (int)cg_dtype_size(dt)) - 1);
  return finish(cg_bitwise_xor(a, ones));
}

/* Smallest and largest value of a dtype (floats: -inf, inf). */
static void dtype_range(cg_dtype dt, double *lo, double *hi) {
  int bits = 8 * (int)cg_dtype_size(dt);
  if (cg__is_float(dt)) { *lo = -INFINITY; *hi = INFINITY; }
  else if (dt == CG_BOOL) { *lo = 0; *hi = 1; }
  else if (dt >= CG_UINT8) { *lo = 0; *hi = ldexp(1, bits) - 1; }
  else { *lo = -ldexp(1, bits - 1); *hi = ldexp(1, bits - 1) - 1; }
}

/* where(x > hi, hi, where(x < lo, lo, x)): the gradient is 1 on [lo, hi] bounds
 * included, as in PyTorch; lo > hi gives hi everywhere. Bounds outside a's dtype
 * range are no-ops or clipped to it, so every constant fits the dtype. */
cg_tensor *cg_clamp(cg_tensor *a, double lo, double hi) {
  if (!a) return NULL;
  if (isnan(lo) || isnan(hi)) return cg__op_error("clamp", CG_ERR_INVALID, "NaN bound");
  double rlo, rhi;
  dtype_range(cg_tensor_dtype(a), &rlo, &rhi);
  if (lo > hi) lo = hi;
  cg_scope_push();
  cg_tensor *x = a;
  if (lo > rlo) {
    cg_tensor *k = k_like(x, lo < rhi ? lo : rhi);
    x = cg_where(cg_lt(x, k), k, x);
  }
  if (hi < rhi) {
    cg_tensor *k = k_like(x, hi > rlo ? hi : rlo);
    x = cg_where(cg_gt(x, k), k, x);
  }
  return finish(x == a ? same(a) : x);
}

/* ---- unary math ---- */

typedef cg_tensor *(*unary_body)(cg_tensor *x, double p);

/* Runs body on a (cast to float32 first when `want_float` and a is not float). */
static cg_tensor *unary(cg_tensor *a, unary_body body, double p, bool want_float) {
  if (!a) return NULL;
  cg_scope_push();
  return finish(body(want_float ? to_float(a) : a, p));
}

static cg_tensor *exp_body(cg_tensor *x, double p) { return cg_exp2(cg_muls(x, 1.0 / LN2)); }
static cg_tensor *log_body(cg_tensor *x, double p) { return cg_muls(cg_log2(x), LN2); }
static cg_tensor *rsqrt_body(cg_tensor *x, double p) { return cg_reciprocal(cg_sqrt(x)); }
static cg_tensor *cos_body(cg_tensor *x, double p) { return cg_sin(cg_rsubs(x, PI / 2)); }
static cg_tensor *tan_body(cg_tensor *x, double p) { return cg_div(cg_sin(x), cg_cos(x)); }

cg_tensor *cg_exp(cg_tensor *a) { return unary(a, exp_body, 0, true); }
cg_tensor *cg_log(cg_tensor *a) { return unary(a, log_body, 0, true); }
cg_tensor *cg_rsqrt(cg_tensor *a) { return unary(a, rsqrt_body, 0, true); }
cg_tensor *cg_cos(cg_tensor *a) { return unary(a, cos_body, 0, true); }
cg_tensor *cg_tan(cg_tensor *a) { return unary(a, tan_body, 0, true); }

/* r = 1 / (1 + e), e = exp(-|x|) <= 1: r for x >= 0, e r below. Nothing overflows,
 * so values and gradients stay finite for any x. (-|x| is written as a where so that
 * its gradient at 0 is that of -x, not abs's 0.) */
static cg_tensor *sigmoid_body(cg_tensor *x, double p) {
  cg_tensor *pos = cg_ge(x, k_like(x, 0));
  cg_tensor *e = cg_exp(cg_where(pos, cg_neg(x), x));
  cg_tensor *r = cg_reciprocal(cg_adds(e, 1.0));
  return cg_where(pos, r, cg_mul(e, r));
}
/* tanh(x) = 2 sigmoid(2x) - 1 */
static cg_tensor *tanh_body(cg_tensor *x, double p) {
  return cg_subs(cg_muls(cg_sigmoid(cg_muls(x, 2.0)), 2.0), 1.0);
}

cg_tensor *cg_sigmoid(cg_tensor *a) { return unary(a, sigmoid_body, 0, true); }
cg_tensor *cg_tanh(cg_tensor *a) { return unary(a, tanh_body, 0, true); }

/* x > 0 as a mask */
static cg_tensor *positive(cg_tensor *x) { return cg_gt(x, k_like(x, 0)); }

/* where(x > 0, x, 0): the gradient at 0 is 0 as in PyTorch (maximum(x, 0) would
 * split the tie and give 0.5) */
static cg_tensor *relu_body(cg_tensor *x, double p) {
  return cg_where(positive(x), x, k_like(x, 0));
}
static cg_tensor *leaky_body(cg_tensor *x, double slope) {
  return cg_where(positive(x), x, cg_muls(x, slope));
}
/* alpha (exp(min(x, 0)) - 1) for x <= 0: the min keeps exp finite (and its gradient
 * free of inf * 0) on the branch `where` discards */
static cg_tensor *elu_body(cg_tensor *x, double alpha) {
  cg_tensor *neg = cg_muls(cg_subs(cg_exp(cg_minimum(x, k_like(x, 0))), 1.0), alpha);
  return cg_where(positive(x), x, neg);
}
/* 0.5 x (1 + tanh(z)) = x sigmoid(2z), z = sqrt(2/pi) (x + 0.044715 x^3) */
static cg_tensor *gelu_body(cg_tensor *x, double p) {
  cg_tensor *z = cg_add(x, cg_muls(cg_mul(cg_mul(x, x), x), 0.044715));
  return cg_mul(x, cg_sigmoid(cg_muls(z, 2.0 * 0.79788456080286535588)));
}
static cg_tensor *silu_body(cg_tensor *x, double p) { return cg_mul(x, cg_sigmoid(x)); }
/* log(1 + exp(x)), x itself above 20 (PyTorch's threshold; keeps exp finite) */
static cg_tensor *softplus_body(cg_tensor *x, double p) {
  cg_tensor *big = cg_gt(x, k_like(x, 20));
  cg_tensor *soft = cg_log(cg_adds(cg_exp(cg_minimum(x, k_like(x, 20))), 1.0));
  return cg_where(big, x, soft);
}

cg_tensor *cg_relu(cg_tensor *a) { return unary(a, relu_body, 0, false); }
cg_tensor *cg_leaky_relu(cg_tensor *a, double slope) { return unary(a, leaky_body, slope, true); }
cg_tensor *cg_elu(cg_tensor *a, double alpha) { return unary(a, elu_body, alpha, true); }
cg_tensor *cg_gelu(cg_tensor *a) { return unary(a, gelu_body, 0, true); }
cg_tensor *cg_silu(cg_tensor *a) { return unary(a, silu_body, 0, true); }
cg_tensor *cg_softplus(cg_tensor *a) { return unary(a, softplus_body, 0, true); }

/* (x > 0) - (x < 0) in x's dtype; no gradient (built from comparisons) */
static cg_tensor *sign_body(cg_tensor *x, double p) {
  cg_dtype dt = cg_tensor_dtype(x);
  if (dt == CG_BOOL) return same(x);
  cg_tensor *pos = cg_cast(positive(x), dt);
  if (dt >= CG_UINT8 && dt <= CG_UINT64) return pos;
  return cg_sub(pos, cg_cast(cg_lt(x, k_like(x, 0)), dt));
}
/* |x| = x sign(x): the gradient is sign(x), 0 at 0 as in PyTorch */
static cg_tensor *abs_body(cg_tensor *x, double p) {
  cg_dtype dt = cg_tensor_dtype(x);
  if (dt == CG_BOOL || (dt >= CG_UINT8 && dt <= CG_UINT64)) return same(x);
  return cg_mul(x, cg_sign(x));
}
/* floor: trunc, minus one where that rounded a negative value up */
static cg_tensor *floor_body(cg_tensor *x, double p) {
  if (!cg__is_float(cg_tensor_dtype(x))) return same(x);
  cg_tensor *t = cg_trunc(x);
  return cg_where(cg_lt(x, t), cg_subs(t, 1.0), t);
}
static cg_tensor *ceil_body(cg_tensor *x, double p) {
  if (!cg__is_float(cg_tensor_dtype(x))) return same(x);
  cg_tensor *t = cg_trunc(x);
  return cg_where(cg_gt(x, t), cg_adds(t, 1.0), t);
}

cg_tensor *cg_sign(cg_tensor *a) { return unary(a, sign_body, 0, false); }
cg_tensor *cg_abs(cg_tensor *a) { return unary(a, abs_body, 0, false); }
cg_tensor *cg_floor(cg_tensor *a) { return unary(a, floor_body, 0, false); }
cg_tensor *cg_ceil(cg_tensor *a) { return unary(a, ceil_body, 0, false); }

/* ---- reductions ---- */

/* Number of elements the axes reduce (naxes 0 = all); -1 with an error on a bad axis. */
static int64_t reduced_count(const char *op, cg_tensor *a, int naxes, const int *axes) {
  if (naxes < 0 || naxes > cg_ndim(a) || (naxes > 0 && !axes)) {
    cg__op_error(op, CG_ERR_INVALID, "bad axis count %d for %s", naxes, cg__shape_str(a));
    return -1;
  }
  if (naxes == 0) return cg_numel(a);
  int64_t n = 1;
  for (int i = 0; i < naxes; i++) {
    int ax = cg__axis(op, a, axes[i]);
    if (ax < 0) return -1;
    n *= cg_dim(a, ax);
  }
  return n;
}

cg_tensor *cg_min(cg_tensor *a, int naxes, const int *axes, bool keepdim) {
  if (!a) return NULL;
  cg_scope_push();
  return finish(reverse_order(cg_max(reverse_order(a), naxes, axes, keepdim)));
}

cg_tensor *cg_mean(cg_tensor *a, int naxes, const int *axes, bool keepdim) {
  if (!a) return NULL;
  int64_t n = reduced_count("mean", a, naxes, axes);
  if (n < 0) return NULL;
  cg_scope_push();
  return finish(cg_muls(cg_sum(to_float(a), naxes, axes, keepdim), 1.0 / (double)n));
}

/* sum((x - mean)^2) / max(n - correction, 0) */
cg_tensor *cg_variance(cg_tensor *a, int naxes, const int *axes, bool keepdim, int correction) {
  if (!a) return NULL;
  int64_t n = reduced_count("variance", a, naxes, axes);
  if (n < 0) return NULL;
  cg_scope_push();
  cg_tensor *x = to_float(a);
  cg_tensor *d = cg_sub(x, cg_mean(x, naxes, axes, true));
  double dof = (double)(n - correction) > 0 ? (double)(n - correction) : 0.0;
  return finish(cg_divs(cg_sum(cg_mul(d, d), naxes, axes, keepdim), dof));
}

cg_tensor *cg_std(cg_tensor *a, int naxes, const int *axes, bool keepdim, int correction) {
  if (!a) return NULL;
  cg_scope_push();
  return finish(cg_sqrt(cg_variance(a, naxes, axes, keepdim, correction)));
}

/* int32 arange(n) shaped with every dim 1 except `axis` (to broadcast along axis), on
 * the device of ref. Comparisons with other int dtypes promote. */
static cg_tensor *arange_along(cg_tensor *ref, int ndim, int axis, int64_t n) {
  int64_t s[CG_MAX_DIMS];
  for (int i = 0; i < ndim; i++) s[i] = i == axis ? n : 1;
  cg_tensor *r = on_device_of(cg_arange(0, (double)n, 1, CG_INT32), ref);
  return r ? cg_reshape(r, ndim, s) : NULL;
}

/* First index of the max along axis: where(x == max, n - i, 0) has its max at the
 * first hit, and n - that is the index. NaN counts as the max, as in PyTorch. */
cg_tensor *cg_argmax(cg_tensor *a, int axis, bool keepdim) {
  if (!a) return NULL;
  int ax = cg__axis("argmax", a, axis);
  if (ax < 0) return NULL;
  cg_scope_push();
  int64_t n = cg_dim(a, ax);
  cg_tensor *m = cg_detach(cg_max(a, 1, &ax, true));
  cg_tensor *hit = cg_eq(a, m);
  if (cg__is_float(cg_tensor_dtype(a)))
    hit = cg_logical_or(hit, cg_logical_and(cg_ne(a, a), cg_ne(m, m)));
  cg_tensor *rev = cg_rsubs(arange_along(a, cg_ndim(a), ax, n), (double)n);
  cg_tensor *v = hit && rev ? cg_where(hit, rev, k_like(rev, 0)) : NULL;
  return finish(cg_rsubs(cg_max(v, 1, &ax, keepdim), (double)n));
}

cg_tensor *cg_argmin(cg_tensor *a, int axis, bool keepdim) {
  if (!a) return NULL;
  cg_scope_push();
  return finish(cg_argmax(reverse_order(a), axis, keepdim));
}

/* Max along axis (keepdim), detached: it only shifts values for stability. */
static cg_tensor *stable_shift(cg_tensor *x, int ax) { return cg_detach(cg_max(x, 1, &ax, true)); }

/* log(sum(exp(x - m))) + m; an infinite max is replaced by 0 so that rows of -inf give
 * -inf (not NaN) */
cg_tensor *cg_logsumexp(cg_tensor *a, int axis, bool keepdim) {
  if (!a) return NULL;
  int ax = cg__axis("logsumexp", a, axis);
  if (ax < 0) return NULL;
  cg_scope_push();
  cg_tensor *x = to_float(a), *m = stable_shift(x, ax);
  cg_tensor *inf = cg_eq(cg_abs(m), k_like(m, INFINITY));
  m = cg_where(inf, k_like(m, 0), m);
  cg_tensor *s = cg_log(cg_sum(cg_exp(cg_sub(x, m)), 1, &ax, true));
  cg_tensor *r = cg_add(s, m);
  return finish(keepdim ? r : cg_squeeze(r, ax));
}

/* e / sum(e), e = exp(x - max) */
cg_tensor *cg_softmax(cg_tensor *a, int axis) {
  if (!a) return NULL;
  int ax = cg__axis("softmax", a, axis);
  if (ax < 0) return NULL;
  cg_scope_push();
  cg_tensor *x = to_float(a);
  cg_tensor *e = cg_exp(cg_sub(x, stable_shift(x, ax)));
  return finish(cg_div(e, cg_sum(e, 1, &ax, true)));
}

/* (x - max) - log(sum(exp(x - max))) */
cg_tensor *cg_log_softmax(cg_tensor *a, int axis) {
  if (!a) return NULL;
  int ax = cg__axis("log_softmax", a, axis);
  if (ax < 0) return NULL;
  cg_scope_push();
  cg_tensor *x = to_float(a);
  cg_tensor *d = cg_sub(x, stable_shift(x, ax));
  return finish(cg_sub(d, cg_log(cg_sum(cg_exp(d), 1, &ax, true))));
}

/* ---- movement ---- */

cg_tensor *cg_transpose(cg_tensor *a, int dim0, int dim1) {
  if (!a) return NULL;
  int d0 = cg__axis("transpose", a, dim0), d1 = d0 < 0 ? -1 : cg__axis("transpose", a, dim1);
  if (d1 < 0) return NULL;
  int order[CG_MAX_DIMS];
  for (int i = 0; i < cg_ndim(a); i++) order[i] = i;
  order[d0] = d1;
  order[d1] = d0;
  return cg_permute(a, order);
}

/* Drops axis if its size is 1; otherwise a no-op view (as torch.squeeze). */
cg_tensor *cg_squeeze(cg_tensor *a, int axis) {
  if (!a) return NULL;
  int ax = cg__axis("squeeze", a, axis);
  if (ax < 0) return NULL;
  int64_t s[CG_MAX_DIMS];
  int n = shape_of(a, s);
  if (n == 0 || s[ax] != 1) return cg_reshape(a, n, s);
  memmove(s + ax, s + ax + 1, (size_t)(n - ax - 1) * sizeof(int64_t));
  return cg_reshape(a, n - 1, s);
}

cg_tensor *cg_unsqueeze(cg_tensor *a, int axis) {
  if (!a) return NULL;
  int64_t s[CG_MAX_DIMS + 1];
  int n = shape_of(a, s), ax = axis < 0 ? axis + n + 1 : axis;
  if (ax < 0 || ax > n || n >= CG_MAX_DIMS)
    return cg__op_error("unsqueeze", CG_ERR_INVALID, "axis %d out of range for %s", axis,
                        cg__shape_str(a));
  memmove(s + ax + 1, s + ax, (size_t)(n - ax) * sizeof(int64_t));
  s[ax] = 1;
  return cg_reshape(a, n + 1, s);
}

cg_tensor *cg_flatten(cg_tensor *a, int start_dim, int end_dim) {
  if (!a) return NULL;
  int64_t s[CG_MAX_DIMS];
  int n = shape_of(a, s);
  if (n == 0) return cg_reshape(a, 1, (int64_t[]){1});
  int lo = cg__axis("flatten", a, start_dim), hi = lo < 0 ? -1 : cg__axis("flatten", a, end_dim);
  if (hi < 0) return NULL;
  if (hi < lo)
    return cg__op_error("flatten", CG_ERR_INVALID, "start %d after end %d", start_dim, end_dim);
  for (int i = lo + 1; i <= hi; i++) s[lo] *= s[i];
  memmove(s + lo + 1, s + hi + 1, (size_t)(n - hi - 1) * sizeof(int64_t));
  return cg_reshape(a, n - (hi - lo), s);
}

/* Checks that ts agree on every dim but axis; returns the promoted dtype or -1. */
static int cat_check(int n, cg_tensor *const *ts, int ax) {
  cg_dtype dt = cg_tensor_dtype(ts[0]);
  for (int i = 1; i < n; i++) {
    bool ok = cg_ndim(ts[i]) == cg_ndim(ts[0]);
    for (int d = 0; ok && d < cg_ndim(ts[0]); d++)
      ok = d == ax || cg_dim(ts[i], d) == cg_dim(ts[0], d);
    if (!ok) {
      cg__op_error("cat", CG_ERR_SHAPE, "%s and %s differ outside axis %d",
                   cg__shape_str(ts[0]), cg__shape_str(ts[i]), ax);
      return -1;
    }
    dt = cg__promote(dt, cg_tensor_dtype(ts[i]));
  }
  return (int)dt;
}

/* Each input padded with zeros to the full length along axis, then all summed. */
cg_tensor *cg_cat(int n, cg_tensor *const *ts, int axis) {
  if (n <= 0 || !ts) return cg__op_error("cat", CG_ERR_INVALID, "no tensors");
  for (int i = 0; i < n; i++)
    if (!ts[i]) return NULL;
  int ax = real_axis("cat", ts[0], axis);
  int dt = ax < 0 ? -1 : cat_check(n, ts, ax);
  if (dt < 0) return NULL;
  int64_t total = 0, off = 0;
  for (int i = 0; i < n; i++) total += cg_dim(ts[i], ax);
  cg_scope_push();
  cg_tensor *acc = NULL;
  for (int i = 0; i < n; i++) {
    int64_t d = cg_dim(ts[i], ax);
    if (d == 0 && (acc || i + 1 < n)) continue; /* empty pieces add nothing */
    cg_tensor *p = pad_axis(cg_cast(ts[i], (cg_dtype)dt), ax, off, total - off - d);
    off += d;
    if (!acc) acc = p;
    else acc = dt == CG_BOOL ? cg_bitwise_or(acc, p) : cg_add(acc, p);
    if (!acc) break;
  }
  return finish(acc);
}

cg_tensor *cg_stack(int n, cg_tensor *const *ts, int axis) {
  if (n <= 0 || !ts) return cg__op_error("stack", CG_ERR_INVALID, "no tensors");
  for (int i = 0; i < n; i++) {
    if (!ts[i]) return NULL;
    if (cg_ndim(ts[i]) != cg_ndim(ts[0]) ||
        memcmp(cg_shape(ts[i]), cg_shape(ts[0]), sizeof(int64_t) * (size_t)cg_ndim(ts[0])))
      return cg__op_error("stack", CG_ERR_SHAPE, "tensors %s and %s differ in shape",
                          cg__shape_str(ts[0]), cg__shape_str(ts[i]));
  }
  cg_tensor **u = malloc((size_t)n * sizeof(*u));
  if (!u) return cg__op_error("stack", CG_ERR_NOMEM, "%d tensors", n);
  cg_scope_push();
  cg_tensor *r = NULL;
  int i = 0;
  while (i < n && (u[i] = cg_unsqueeze(ts[i], axis))) i++;
  if (i == n) r = cg_cat(n, u, axis);
  free(u);
  return finish(r);
}

/* Every step-th element from the start of axis (length len): pad to len*step,
 * split the axis into (len, step) and keep column 0. */
static cg_tensor *take_every(cg_tensor *x, int ax, int64_t len, int64_t step) {
  int64_t s[CG_MAX_DIMS + 1];
  int n = shape_of(x, s);
  int64_t have = s[ax];
  x = have < len * step ? pad_axis(x, ax, 0, len * step - have) : shrink_axis(x, ax, 0, len * step);
  memmove(s + ax + 2, s + ax + 1, (size_t)(n - ax - 1) * sizeof(int64_t));
  s[ax] = len;
  s[ax + 1] = step;
  x = x ? cg_reshape(x, n + 1, s) : NULL;
  x = shrink_axis(x, ax + 1, 0, 1);
  memmove(s + ax + 1, s + ax + 2, (size_t)(n - ax - 1) * sizeof(int64_t));
  return x ? cg_reshape(x, n, s) : NULL;
}

/* Python's slice.indices(): clamps start/stop and returns the length. */
static int64_t slice_len(int64_t n, int64_t *start, int64_t stop, int64_t step) {
  int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? n : n - 1;
  if (*start < 0) *start = *start < -n ? lo : *start + n;
  if (stop < 0) stop = stop < -n ? lo : stop + n;
  *start = *start < lo ? lo : *start > hi ? hi : *start;
  stop = stop < lo ? lo : stop > hi ? hi : stop;
  if (step > 0) return stop > *start ? (stop - *start - 1) / step + 1 : 0;
  return *start > stop ? (*start - stop - 1) / (-step) + 1 : 0;
}

cg_tensor *cg_slice(cg_tensor *a, int axis, int64_t start, int64_t stop, int64_t step) {
  if (!a) return NULL;
  int ax = real_axis("slice", a, axis);
  if (ax < 0) return NULL;
  if (step == 0) return cg__op_error("slice", CG_ERR_INVALID, "step 0");
  if ((step > 1 || step < -1) && cg_ndim(a) >= CG_MAX_DIMS)
    return cg__op_error("slice", CG_ERR_SHAPE, "step > 1 needs < %d dims", CG_MAX_DIMS);
  int64_t n = cg_dim(a, ax), len = slice_len(n, &start, stop, step);
  cg_scope_push();
  cg_tensor *x = a;
  if (step < 0) { /* index start - k|step| is index (n-1-start) + k|step| of the flip */
    x = cg_flip(a, 1, &ax);
    start = n - 1 - start;
    step = -step;
  }
  if (len == 0) return finish(shrink_axis(x, ax, 0, 0));
  x = shrink_axis(x, ax, start, start + (len - 1) * step + 1);
  if (step > 1 && x) x = take_every(x, ax, len, step);
  return finish(x);
}

/* out[..i..] = a[..index[..i..]..] along axis: compare index with an arange over a's
 * axis (a new last axis), keep the matching a values, sum the new axis away. */
cg_tensor *cg_gather(cg_tensor *a, int axis, cg_tensor *index) {
  if (!a || !index) return NULL;
  int ax = real_axis("gather", a, axis), nd = cg_ndim(a);
  if (ax < 0) return NULL;
  bool ok = cg_ndim(index) == nd && nd < CG_MAX_DIMS && cg__is_int(cg_tensor_dtype(index));
  for (int d = 0; ok && d < nd; d++) ok = d == ax || cg_dim(index, d) <= cg_dim(a, d);
  if (!ok)
    return cg__op_error("gather", CG_ERR_SHAPE, "index %s %s does not fit a %s on axis %d",
                        cg__shape_str(index), cg_dtype_name(cg_tensor_dtype(index)),
                        cg__shape_str(a), ax);
  cg_scope_push();
  int64_t n = cg_dim(a, ax), r[2 * CG_MAX_DIMS], s[CG_MAX_DIMS + 1];
  int order[CG_MAX_DIMS];
  for (int d = 0, j = 0; d < nd; d++) {
    r[2 * d] = 0;
    r[2 * d + 1] = d == ax ? n : cg_dim(index, d);
    s[d] = d == ax ? 1 : cg_dim(index, d);
    if (d != ax) order[j++] = d;
  }
  order[nd - 1] = ax;
  s[nd] = n;
  /* a values: (index dims with 1 at axis, n) */
  cg_tensor *vals = cg_reshape(cg_permute(cg_shrink(a, r), order), nd + 1, s);
  cg_tensor *hit = cg_eq(cg_unsqueeze(index, nd), arange_along(index, nd + 1, nd, n));
  cg_tensor *sel = vals && hit ? cg_where(hit, vals, k_like(vals, 0)) : NULL;
  int last = nd;
  return finish(cg_sum(sel, 1, &last, false));
}

cg_tensor *cg_one_hot(cg_tensor *labels, int64_t classes) {
  if (!labels) return NULL;
  int nd = cg_ndim(labels);
  if (!cg__is_int(cg_tensor_dtype(labels)) || classes <= 0 || nd >= CG_MAX_DIMS)
    return cg__op_error("one_hot", CG_ERR_INVALID, "needs int labels < %d dims and classes > 0, "
                        "got %s %s, %lld classes", CG_MAX_DIMS,
                        cg_dtype_name(cg_tensor_dtype(labels)), cg__shape_str(labels),
                        (long long)classes);
  cg_scope_push();
  cg_tensor *idx = arange_along(labels, nd + 1, nd, classes);
  return finish(cg_cast(cg_eq(cg_unsqueeze(labels, nd), idx), CG_FLOAT32));
}

/* ---- printing ---- */

/* Element i of a host array of dtype dt as a double (halves were cast to float32). */
static double load_as(const void *buf, cg_dtype dt, int64_t i) {
  switch (dt) {
  case CG_BOOL: return ((const bool *)buf)[i];
  case CG_INT8: return ((const int8_t *)buf)[i];
  case CG_INT16: return ((const int16_t *)buf)[i];
  case CG_INT32: return ((const int32_t *)buf)[i];
  case CG_INT64: return (double)((const int64_t *)buf)[i];
  case CG_UINT8: return ((const uint8_t *)buf)[i];
  case CG_UINT16: return ((const uint16_t *)buf)[i];
  case CG_UINT32: return ((const uint32_t *)buf)[i];
  case CG_UINT64: return (double)((const uint64_t *)buf)[i];
  case CG_FLOAT64: return ((const double *)buf)[i];
  default: return ((const float *)buf)[i];
  }
}

typedef struct {
  cg_str out;
  const void *buf;
  cg_dtype dt;
  int ndim;
  const int64_t *shape;
  int edge; /* show only `edge` items at each end of an axis (0 = all) */
} printer;

/* Prints the sub-array at dim d starting at flat offset off, numpy style. */
static void print_dim(printer *p, int d, int64_t off, int64_t stride) {
  if (d == p->ndim) {
    double v = load_as(p->buf, p->dt, off);
    if (cg__is_float(p->dt)) cg__str_printf(&p->out, "%.6g", v);
    else cg__str_printf(&p->out, "%.0f", v);
    return;
  }
  int64_t n = p->shape[d], inner = stride / (n ? n : 1);
  cg__str_printf(&p->out, "[");
  for (int64_t i = 0; i < n; i++) {
    if (i > 0 && d + 1 < p->ndim) cg__str_printf(&p->out, ",\n%*s", d + 1, "");
    else if (i > 0) cg__str_printf(&p->out, ", ");
    if (p->edge && n > 2 * p->edge && i == p->edge) { /* elide the middle */
      cg__str_printf(&p->out, "...");
      i = n - p->edge - 1;
      continue;
    }
    print_dim(p, d + 1, off + i * inner, inner);
  }
  cg__str_printf(&p->out, "]");
}

/* Logs the text in pieces that fit the logger's line buffer, split at newlines. */
static void log_long(const char *s) {
  while (*s) {
    size_t n = strlen(s);
    if (n > 3000) {
      n = 3000;
      while (n > 1 && s[n - 1] != '\n') n--;
      if (n <= 1) n = 3000;
    }
    cg__log(2, "%.*s", (int)n, s);
    s += n;
  }
}

cg_status cg_print(cg_tensor *t) {
  if (!t) return cg__error(CG_ERR_INVALID, "print: NULL tensor");
  cg_scope_push();
  cg_dtype dt = cg_tensor_dtype(t);
  cg_tensor *h = dt == CG_FLOAT16 || dt == CG_BFLOAT16 ? cg_cast(t, CG_FLOAT32) : t;
  cg_dtype hdt = h ? cg_tensor_dtype(h) : dt;
  int64_t n = cg_numel(t);
  size_t bytes = (size_t)n * cg_dtype_size(hdt);
  void *buf = malloc(bytes ? bytes : 1);
  cg_status st = !h ? CG_ERR_INVALID : !buf ? CG_ERR_NOMEM : cg_to_host(h, buf, bytes);
  if (st == CG_OK) {
    printer p = {{0}, buf, hdt, cg_ndim(t), cg_shape(t), n > 1000 ? 3 : 0};
    const char *dev = cg_tensor_device(t);
    cg__str_printf(&p.out, "tensor %s %s %s\n", cg__shape_str(t), cg_dtype_name(dt),
                   dev ? dev : "");
    print_dim(&p, 0, 0, n);
    log_long(p.out.s);
    free(p.out.s);
  } else if (!buf) {
    cg__error(st, "print: cannot allocate %zu bytes", bytes);
  }
  free(buf);
  cg_scope_pop();
  return st;
}
