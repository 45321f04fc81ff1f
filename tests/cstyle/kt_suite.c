/* Numeric suite for the C-family backends: runs each sample kernel of kt_kernels.c on a
 * plugin device and compares with naive C references written here from the IR
 * semantics in ir.h (ints wrap, x/0 and x%0 give 0, MIN/-1 wraps, shift counts masked,
 * float->int saturates with NaN -> 0, ->bool is != 0, MAX propagates NaN, 16-bit floats
 * round to nearest even after every op). Float references compute in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt.h"

/* ---- references ---- */

/* x rounded to a binary format with p significant bits, minimum normal exponent emin
 * and largest finite value maxv (round to nearest even; overflow -> inf). */
static double round_fmt(double x, int p, int emin, double maxv) {
  if (isnan(x) || isinf(x) || x == 0) return x;
  int e = ilogb(x);
  if (e < emin) e = emin;
  double q = ldexp(nearbyint(ldexp(x, p - 1 - e)), e - (p - 1));
  return fabs(q) > maxv ? copysign(INFINITY, x) : q;
}
static double r16(double x) { return round_fmt(x, 11, -14, 65504.0); }
static double rb16(double x) { return round_fmt(x, 8, -126, 3.38953138925153547590470800371487866880e38); }
static double rf32(double x) { return (double)(float)x; }
static double rid(double x) { return x; }

/* Decode / encode 16-bit formats (encode takes a representable value). */
static double dec16(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}
static uint16_t enc16(double v) {
  uint16_t s = signbit(v) ? 0x8000 : 0;
  double a = fabs(v);
  if (isnan(v)) return 0x7e00;
  if (isinf(a)) return s | 0x7c00;
  if (a < ldexp(1, -14)) return s | (uint16_t)ldexp(a, 24);
  int e = ilogb(a);
  return s | (uint16_t)((e + 15) << 10) | (uint16_t)(ldexp(a, 10 - e) - 1024);
}
static double decb16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static uint16_t encb16(double v) {
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, 4);
  return isnan(v) ? 0x7fc0 : (uint16_t)(u >> 16);
}

static int bits_of(int s) { return s == CG_IR_BOOL ? 1 : (int)cg_ir_scalar_size((uint8_t)s) * 8; }
/* Wrap v to scalar s and sign-extend (signed) or zero-extend. */
static uint64_t norm(int s, uint64_t v) {
  int bits = bits_of(s);
  if (s == CG_IR_BOOL) return v != 0;
  if (bits == 64) return v;
  uint64_t m = (1ull << bits) - 1;
  v &= m;
  if (cg_ir_is_signed((uint8_t)s) && (v >> (bits - 1))) v |= ~m;
  return v;
}
static int64_t as_i64(uint64_t u) { int64_t v; memcpy(&v, &u, 8); return v; }

static uint64_t ref_int(int op, int s, uint64_t a, uint64_t b) {
  int sg = cg_ir_is_signed((uint8_t)s);
  unsigned sh = (unsigned)(b & (uint64_t)(bits_of(s) - 1));
  int lt = sg ? as_i64(a) < as_i64(b) : a < b;
  switch (op) {
  case CG_IR_ADD: return norm(s, a + b);
  case CG_IR_SUB: return norm(s, a - b);
  case CG_IR_MUL: return norm(s, a * b);
  case CG_IR_MULACC: return norm(s, a * b + a);
  case CG_IR_IDIV:
    if (b == 0) return 0;
    if (sg) return as_i64(b) == -1 ? norm(s, 0 - a) : norm(s, (uint64_t)(as_i64(a) / as_i64(b)));
    return a / b;
  case CG_IR_MOD:
    if (b == 0) return 0;
    if (sg) return as_i64(b) == -1 ? 0 : norm(s, (uint64_t)(as_i64(a) % as_i64(b)));
    return a % b;
  case CG_IR_MAX: return lt ? b : a;
  case CG_IR_CMPLT: return (uint64_t)lt;
  case CG_IR_CMPNE: return a != b;
  case CG_IR_CMPEQ: return a == b;
  case CG_IR_AND: return a & b;
  case CG_IR_OR: return a | b;
  case CG_IR_XOR: return a ^ b;
  case CG_IR_SHL: return norm(s, a << sh);
  case CG_IR_SHR: return sg ? norm(s, (uint64_t)(as_i64(a) < 0 ? ~(~a >> sh) : a >> sh)) : a >> sh;
  default: return 0;
  }
}

static double ieee_div(double a, double b) {
  if (b != 0) return a / b;
  if (a == 0 || isnan(a) || isnan(b)) return NAN;
  return signbit(a) != signbit(b) ? -INFINITY : INFINITY;
}

/* Float op on values of a format rounded by rnd. */
static double ref_float(int op, double (*rnd)(double), double a, double b) {
  switch (op) {
  case CG_IR_ADD: return rnd(a + b);
  case CG_IR_SUB: return rnd(a - b);
  case CG_IR_MUL: return rnd(a * b);
  case CG_IR_FDIV: return rnd(ieee_div(a, b));
  case CG_IR_MULACC: return rnd(rnd(a * b) + a);
  case CG_IR_MAX: return (isnan(a) || isnan(b)) ? NAN : a < b ? b : a;
  case CG_IR_POW: return rnd(pow(a, b));
  case CG_IR_SQRT: return rnd(a < 0 ? NAN : sqrt(a));
  case CG_IR_CMPLT: return a < b;
  case CG_IR_CMPNE: return a != b;
  case CG_IR_CMPEQ: return a == b;
  default: return NAN;
  }
}

/* Float -> int per ir.h: truncate, saturate, NaN -> 0; -> bool is != 0. */
static uint64_t ref_f2i(int to, double x) {
  if (to == CG_IR_BOOL) return x != 0;
  if (isnan(x)) return 0;
  x = trunc(x);
  int bits = bits_of(to);
  if (cg_ir_is_signed((uint8_t)to)) {
    double lim = ldexp(1, bits - 1);
    if (x >= lim) return norm(to, (1ull << (bits - 1)) - 1);
    if (x < -lim) return norm(to, 1ull << (bits - 1));
    return norm(to, (uint64_t)(int64_t)x);
  }
  if (x <= 0) return 0;
  if (x >= ldexp(1, bits)) return norm(to, ~0ull);
  return (uint64_t)x;
}

/* ---- element access by scalar type ---- */

static uint64_t get_int(int s, const void *base, size_t i) {
  const unsigned char *p = (const unsigned char *)base + i * cg_ir_scalar_size((uint8_t)s);
  uint64_t v = 0;
  memcpy(&v, p, cg_ir_scalar_size((uint8_t)s)); /* little-endian host */
  return norm(s, v);
}
static void put_int(int s, void *base, size_t i, uint64_t v) {
  memcpy((unsigned char *)base + i * cg_ir_scalar_size((uint8_t)s), &v, cg_ir_scalar_size((uint8_t)s));
}
static double get_f(int s, const void *base, size_t i) {
  switch (s) {
  case CG_IR_FLOAT16: return dec16(((const uint16_t *)base)[i]);
  case CG_IR_BFLOAT16: return decb16(((const uint16_t *)base)[i]);
  case CG_IR_FLOAT32: return ((const float *)base)[i];
  default: return ((const double *)base)[i];
  }
}
static void put_f(int s, void *base, size_t i, double v) {
  switch (s) {
  case CG_IR_FLOAT16: ((uint16_t *)base)[i] = enc16(v); break;
  case CG_IR_BFLOAT16: ((uint16_t *)base)[i] = encb16(v); break;
  case CG_IR_FLOAT32: ((float *)base)[i] = (float)v; break;
  default: ((double *)base)[i] = v; break;
  }
}

/* Equal values, both NaN, or within ulps units in the last place of a float. */
static int close_f(double got, double want, int ulps) {
  if (isnan(got) || isnan(want)) return isnan(got) && isnan(want);
  if (got == want) return 1;
  if (isinf(got) || isinf(want) || !ulps) return 0;
  float g = (float)got, w = (float)want;
  int32_t a, b;
  memcpy(&a, &g, 4);
  memcpy(&b, &w, 4);
  if ((a < 0) != (b < 0)) return 0;
  return abs(a - b) <= ulps;
}

static int has(const kt_dev *d, int s) { return d->props.dtypes >> s & 1; }

/* ---- cases ---- */

static const double fvals[] = {0.0, -0.0, 1.0, -1.0, 2.5, -3.75, 1e-30, 1e30, INFINITY, -INFINITY, NAN,
                               0.1, 3.0, 7.0, -0.5, 65504.0};
static const int64_t ivals[] = {0, 1, -1, 2, 3, -3, 7, -7, 31, 33, 64, 100, INT64_MIN, INT64_MAX,
                                INT32_MIN, (int64_t)INT32_MAX + 1};
enum { NV = 16, NPAIR = NV * NV };

static void case_unary(kt_dev *d) {
  enum { N = 64 };
  static const int ops[7] = {CG_IR_EXP2, CG_IR_LOG2, CG_IR_SIN, CG_IR_SQRT, CG_IR_RECIP, CG_IR_NEG, CG_IR_TRUNC};
  float a[N], out[7 * N];
  for (int i = 0; i < N; i++) a[i] = i < NV ? (float)fvals[i] : (float)((i * 37 % 200) - 100) / 7.0f;
  a[NV] = 1e-40f; /* subnormal */
  void *io[2] = {out, a};
  size_t bytes[2] = {sizeof out, sizeof a};
  cg_ir_program *p = kt_unary(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "unary run");
  for (int k = 0; k < 7; k++)
    for (int i = 0; i < N; i++) {
      double x = a[i], w;
      switch (ops[k]) {
      case CG_IR_EXP2: w = exp2(x); break;
      case CG_IR_LOG2: w = x < 0 ? NAN : x == 0 ? -INFINITY : log2(x); break;
      case CG_IR_SIN: w = isinf(x) ? NAN : fabs(x) > 1e6 ? out[k * N + i] : sin(x); break; /* huge args: any value */
      case CG_IR_SQRT: w = x < 0 ? NAN : sqrt(x); break;
      case CG_IR_RECIP: w = ieee_div(1.0, x); break;
      case CG_IR_NEG: w = -x; break;
      default: w = trunc(x); break;
      }
      int exact = ops[k] == CG_IR_NEG || ops[k] == CG_IR_TRUNC || ops[k] == CG_IR_SQRT || ops[k] == CG_IR_RECIP;
      KT_CHECK(d, close_f(out[k * N + i], rf32(w), exact ? 0 : 4), "unary %s(%g) = %.9g, want %.9g",
               cg_ir_op_name(ops[k]), x, out[k * N + i], rf32(w));
    }
  free(p);
}

static void case_binop(kt_dev *d, int s) {
  static const int iops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_IDIV, CG_IR_MOD, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE,
                             CG_IR_CMPEQ, CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_SHL, CG_IR_SHR, CG_IR_MULACC};
  static const int fops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_FDIV, CG_IR_MAX, CG_IR_POW, CG_IR_CMPLT,
                             CG_IR_CMPNE, CG_IR_CMPEQ, CG_IR_MULACC};
  static const int bops[] = {CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE, CG_IR_CMPEQ};
  int fl = cg_ir_is_float((uint8_t)s);
  const int *ops = s == CG_IR_BOOL ? bops : fl ? fops : iops;
  int nops = s == CG_IR_BOOL ? 7 : fl ? 10 : 15;
  size_t es = cg_ir_scalar_size((uint8_t)s);
  if (!has(d, s)) { printf("[%s] binop %s: dtype not supported, skipped\n", d->tag, cg_ir_scalar_name(s)); return; }
  unsigned char *a = calloc(NPAIR, es), *b = calloc(NPAIR, es), *out = calloc((size_t)nops * NPAIR, es);
  double (*rnd)(double) = s == CG_IR_FLOAT32 ? rf32 : rid;
  for (int i = 0; i < NPAIR; i++) {
    if (fl) {
      put_f(s, a, (size_t)i, s == CG_IR_FLOAT32 ? rf32(fvals[i / NV]) : fvals[i / NV]);
      put_f(s, b, (size_t)i, s == CG_IR_FLOAT32 ? rf32(fvals[i % NV]) : fvals[i % NV]);
    } else {
      put_int(s, a, (size_t)i, norm(s, (uint64_t)ivals[i / NV]));
      put_int(s, b, (size_t)i, norm(s, (uint64_t)ivals[i % NV]));
    }
  }
  void *io[3] = {out, a, b};
  size_t bytes[3] = {(size_t)nops * NPAIR * es, NPAIR * es, NPAIR * es};
  cg_ir_program *p = kt_binop((cg_ir_scalar)s, NPAIR, ops, nops);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "binop %s run", cg_ir_scalar_name(s));
  for (int k = 0; k < nops; k++)
    for (int i = 0; i < NPAIR; i++) {
      size_t o = (size_t)k * NPAIR + (size_t)i;
      if (fl) {
        double x = get_f(s, a, (size_t)i), y = get_f(s, b, (size_t)i);
        double w = ref_float(ops[k], rnd, x, y);
        double g = get_f(s, out, o);
        KT_CHECK(d, close_f(g, w, ops[k] == CG_IR_POW ? 4 : 0), "%s %s(%g, %g) = %.17g, want %.17g",
                 cg_ir_scalar_name(s), cg_ir_op_name(ops[k]), x, y, g, w);
      } else {
        uint64_t x = get_int(s, a, (size_t)i), y = get_int(s, b, (size_t)i), g = get_int(s, out, o);
        uint64_t w = norm(s, ref_int(ops[k], s, x, y));
        KT_CHECK(d, g == w, "%s %s(%lld, %lld) = %lld, want %lld", cg_ir_scalar_name(s), cg_ir_op_name(ops[k]),
                 (long long)x, (long long)y, (long long)g, (long long)w);
      }
    }
  free(p);
  free(a);
  free(b);
  free(out);
}

static void case_reduce(kt_dev *d) {
  enum { G = 37, K = 129 };
  static float a[G * K], out[G];
  for (int i = 0; i < G * K; i++) a[i] = (float)((i * 7919) % 1000) / 97.0f - 5.0f;
  void *io[2] = {out, a};
  size_t bytes[2] = {sizeof out, sizeof a};
  cg_ir_program *p = kt_reduce(G, K);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "reduce run");
  for (int g = 0; g < G; g++) {
    float acc = 0;
    for (int j = 0; j < K; j++) acc += a[g * K + j];
    KT_CHECK(d, out[g] == acc, "reduce[%d] = %.9g, want %.9g", g, out[g], acc);
  }
  free(p);
}

static void case_gated(kt_dev *d) {
  enum { N = 50 };
  float a[N], out[N], out2[N];
  int64_t n = 30;
  for (int i = 0; i < N; i++) a[i] = (float)i + 0.25f, out[i] = 0, out2[i] = 7;
  void *io[3] = {out, out2, a};
  size_t bytes[3] = {sizeof out, sizeof out2, sizeof a};
  cg_ir_program *p = kt_gated(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, &n, NULL) == CG_P_OK, "gated run");
  for (int i = 0; i < N; i++) {
    KT_CHECK(d, out[i] == (i < n ? a[i] : -1.0f), "gated load [%d] = %g", i, out[i]);
    KT_CHECK(d, out2[i] == (i % 2 == 0 ? a[i] : 7.0f), "gated store [%d] = %g", i, out2[i]);
  }
  free(p);
}

static void case_casts(kt_dev *d) {
  static const float src[] = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, 2.5f, -1.5f, 127.9f, -128.9f, 255.5f, 256.0f,
                              3e9f, -3e9f, 1e10f, -1e10f, 1e20f, 65519.0f, 65520.0f, 6e-8f, 2.9e-8f, 1e-8f,
                              1.00390625f, 1.01171875f, 3e38f, -3.39e38f, 1.0009765625f, 0.33333334f,
                              INFINITY, -INFINITY, NAN};
  enum { N = sizeof src / sizeof src[0] };
  static const int to[9] = {CG_IR_INT32, CG_IR_UINT8, CG_IR_INT8, CG_IR_UINT64, CG_IR_BOOL,
                            CG_IR_FLOAT16, CG_IR_BFLOAT16, CG_IR_FLOAT64, CG_IR_INT64};
  for (int k = 0; k < 9; k++)
    if (!has(d, to[k])) { printf("[%s] casts: %s not supported, skipped\n", d->tag, cg_ir_scalar_name(to[k])); return; }
  unsigned char outs[9][N * 8];
  float a[N];
  memcpy(a, src, sizeof a);
  memset(outs, 0x55, sizeof outs);
  void *io[10];
  size_t bytes[10];
  for (int k = 0; k < 9; k++) io[k] = outs[k], bytes[k] = N * cg_ir_scalar_size((uint8_t)to[k]);
  io[9] = a, bytes[9] = sizeof a;
  cg_ir_program *p = kt_casts(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "casts run");
  for (int k = 0; k < 9; k++)
    for (int i = 0; i < N; i++) {
      int s = to[k];
      double x = a[i];
      if (cg_ir_is_float((uint8_t)s)) {
        double w = s == CG_IR_FLOAT16 ? r16(x) : s == CG_IR_BFLOAT16 ? rb16(x) : x, g = get_f(s, outs[k], (size_t)i);
        KT_CHECK(d, close_f(g, w, 0) && signbit(g) == signbit(w), "cast %.9g -> %s = %.9g, want %.9g", x,
                 cg_ir_scalar_name(s), g, w);
      } else {
        uint64_t g = get_int(s, outs[k], (size_t)i), w = ref_f2i(s, x);
        KT_CHECK(d, g == w, "cast %.9g -> %s = %lld, want %lld", x, cg_ir_scalar_name(s), (long long)g, (long long)w);
      }
    }
  free(p);
}

static void case_half(kt_dev *d, int s) {
  static const int ops[6] = {CG_IR_ADD, CG_IR_MUL, CG_IR_FDIV, CG_IR_SQRT, CG_IR_MULACC, CG_IR_MAX};
  static const double va[] = {1.0, 1.5, -2.25, 1000.0, 60000.0, 0.0009765625, 3.14159, 0.1, -0.0, 1e-7,
                              INFINITY, NAN, 2.0, 7.0, 255.0, 0.33};
  if (!has(d, s)) { printf("[%s] %s arithmetic: not supported, skipped\n", d->tag, cg_ir_scalar_name(s)); return; }
  double (*rnd)(double) = s == CG_IR_FLOAT16 ? r16 : rb16;
  uint16_t a[NPAIR], b[NPAIR], out[6 * NPAIR];
  for (int i = 0; i < NPAIR; i++) {
    put_f(s, a, (size_t)i, rnd(va[i / NV]));
    put_f(s, b, (size_t)i, rnd(va[i % NV]));
  }
  void *io[3] = {out, a, b};
  size_t bytes[3] = {sizeof out, sizeof a, sizeof b};
  cg_ir_program *p = kt_half((cg_ir_scalar)s, NPAIR);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "%s run", cg_ir_scalar_name(s));
  for (int k = 0; k < 6; k++)
    for (int i = 0; i < NPAIR; i++) {
      double x = get_f(s, a, (size_t)i), y = get_f(s, b, (size_t)i), g = get_f(s, out, (size_t)(k * NPAIR + i));
      double w = ref_float(ops[k], rnd, x, y);
      KT_CHECK(d, close_f(g, w, 0), "%s %s(%g, %g) = %.9g, want %.9g", cg_ir_scalar_name(s), cg_ir_op_name(ops[k]),
               x, y, g, w);
    }
  free(p);
}

static void case_vector(kt_dev *d) {
  enum { N = 16 };
  float a[4 * N], b[4 * N], out[4 * N], wout[4 * N];
  int32_t xi[4 * N], iout[4 * N];
  for (int i = 0; i < 4 * N; i++) {
    a[i] = (float)(i % 9) - 4.5f, b[i] = (float)((i * 5) % 11) * 0.5f - 2.0f;
    xi[i] = i == 5 ? INT32_MIN : i - 20;
  }
  xi[6] = 2; /* 2 / (2 - 3) */
  void *io[6] = {out, iout, wout, a, b, xi};
  size_t bytes[6] = {sizeof out, sizeof iout, sizeof wout, sizeof a, sizeof b, sizeof xi};
  cg_ir_program *p = kt_vector(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "vector run");
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 4; k++) {
      int j = 4 * i + 3 - k, o = 4 * i + k;
      float m = a[j] * b[j];
      m = m + a[j];
      KT_CHECK(d, out[o] == m, "vec mulacc/gep [%d] = %g, want %g", o, out[o], m);
      int64_t den = (int64_t)xi[o] - 3;
      int32_t w = (int32_t)ref_int(CG_IR_IDIV, CG_IR_INT32, norm(CG_IR_INT32, (uint64_t)(int64_t)xi[o]),
                                   norm(CG_IR_INT32, (uint64_t)den));
      KT_CHECK(d, iout[o] == w, "vec idiv %d / %lld = %d, want %d", xi[o], (long long)den, iout[o], w);
      KT_CHECK(d, wout[o] == (a[o] < b[o] ? a[o] : b[o]), "vec where [%d]", o);
    }
  free(p);
}

static void case_grid3(kt_dev *d) {
  enum { GX = 5, GY = 3, GZ = 4 };
  int32_t out[GX * GY * GZ];
  memset(out, 0xff, sizeof out);
  void *io[1] = {out};
  size_t bytes[1] = {sizeof out};
  cg_ir_program *p = kt_grid3(GX, GY, GZ);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "grid3 run");
  for (int z = 0; z < GZ; z++)
    for (int y = 0; y < GY; y++)
      for (int x = 0; x < GX; x++)
        KT_CHECK(d, out[(z * GY + y) * GX + x] == x + 100 * y + 10000 * z, "grid3 (%d,%d,%d)", x, y, z);
  free(p);
}

static void case_local(kt_dev *d) {
  enum { N = 10 };
  float a[N], out[N];
  for (int i = 0; i < N; i++) a[i] = (float)i * 1.5f;
  void *io[2] = {out, a};
  size_t bytes[2] = {sizeof out, sizeof a};
  cg_ir_program *p = kt_local(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "local run");
  for (int i = 0; i < N; i++) KT_CHECK(d, out[i] == 2 * a[i], "local [%d] = %g", i, out[i]);
  free(p);
}

static void case_bitcast(kt_dev *d) {
  enum { N = 6 };
  float a[N] = {1.0f, -2.5f, 0.0f, -0.0f, INFINITY, 1e-40f}, of[N];
  uint16_t h[N] = {0x3c00, 0xc100, 0x0001, 0x8000, 0x7c00, 0x7bff}, oh[N];
  uint32_t ou[N];
  void *io[5] = {ou, of, oh, a, h};
  size_t bytes[5] = {sizeof ou, sizeof of, sizeof oh, sizeof a, sizeof h};
  if (!has(d, CG_IR_FLOAT16)) { printf("[%s] bitcast: f16 not supported, skipped\n", d->tag); return; }
  cg_ir_program *p = kt_bitcast(N);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "bitcast run");
  for (int i = 0; i < N; i++) {
    uint32_t u;
    memcpy(&u, &a[i], 4);
    KT_CHECK(d, ou[i] == u, "bitcast f32->u32 [%d] = %08x want %08x", i, ou[i], u);
    KT_CHECK(d, of[i] == -a[i] && signbit(of[i]) != signbit(a[i]), "bitcast sign flip [%d] = %g", i, of[i]);
    KT_CHECK(d, oh[i] == h[i], "bitcast f16->u16 [%d] = %04x want %04x", i, oh[i], h[i]);
  }
  free(p);
}

/* Work-groups of 8 cooperating through local memory (devices with groups only). */
static void case_groupsum(kt_dev *d) {
  enum { G = 13, L = 8 };
  float a[G * L], out[G];
  if (d->props.max_local_size < L) { printf("[%s] groupsum: no work-groups of %d, skipped\n", d->tag, L); return; }
  for (int i = 0; i < G * L; i++) a[i] = (float)(i % 17) * 0.75f - 3.0f;
  void *io[2] = {out, a};
  size_t bytes[2] = {sizeof out, sizeof a};
  cg_ir_program *p = kt_groupsum(G, L);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "groupsum run");
  for (int g = 0; g < G; g++) {
    float acc = 0;
    for (int j = 0; j < L; j++) acc += a[g * L + j];
    KT_CHECK(d, out[g] == acc, "groupsum[%d] = %g, want %g", g, out[g], acc);
  }
  free(p);
}

static void case_regacc(kt_dev *d) {
  float x[30], y[24], out[20];
  for (int i = 0; i < 30; i++) x[i] = (float)(i % 7) - 2.5f;
  for (int i = 0; i < 24; i++) y[i] = (float)(i % 5) * 0.5f + 0.25f;
  void *io[3] = {out, x, y};
  size_t bytes[3] = {sizeof out, sizeof x, sizeof y};
  cg_ir_program *p = kt_regacc();
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "regacc run");
  for (int r = 0; r < 20; r++) {
    float acc = 0;
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 3; b++) acc = acc + x[r / 4 + 15 * a + 5 * b] * y[12 * a + r % 4 + 4 * b];
    KT_CHECK(d, out[r] == acc, "regacc[%d] = %g, want %g", r, out[r], acc);
  }
  free(p);
}

int kt_suite(kt_dev *d) {
  static const int dts[] = {CG_IR_BOOL, CG_IR_INT8, CG_IR_INT16, CG_IR_INT32, CG_IR_INT64, CG_IR_UINT8,
                            CG_IR_UINT16, CG_IR_UINT32, CG_IR_UINT64, CG_IR_FLOAT32, CG_IR_FLOAT64};
  int before = d->failures;
  case_unary(d);
  for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) case_binop(d, dts[k]);
  case_reduce(d);
  case_gated(d);
  case_casts(d);
  case_half(d, CG_IR_FLOAT16);
  case_half(d, CG_IR_BFLOAT16);
  case_vector(d);
  case_grid3(d);
  case_local(d);
  case_bitcast(d);
  case_groupsum(d);
  case_regacc(d);
  printf("[%s] suite: %d checks, %d failed\n", d->tag, d->checks, d->failures - before);
  return d->failures - before;
}
