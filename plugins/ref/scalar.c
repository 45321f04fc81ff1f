/* Semantics of one lane of every IR ALU op, cast and memory format: the numeric part
 * of the executable spec. No undefined behaviour for any input:
 *  - integers compute in uint64_t and wrap to the type (ref_norm);
 *  - IDIV/MOD by zero give 0, INT_MIN / -1 wraps to INT_MIN, INT_MIN % -1 is 0;
 *  - shift counts are masked to the type's width (count & (bits-1));
 *  - floats compute in double and round to the type (round-to-nearest-even) after
 *    every op; f32/f16/bf16 +,-,*,/,sqrt are thus correctly rounded (double has more
 *    than 2p+2 bits); MULACC is unfused (a*b rounded, then +c rounded);
 *  - float -> int truncates toward zero and saturates; NaN -> 0;
 *  - x/0 follows IEEE (inf or NaN) and is computed without a division by zero. */
#include <math.h>
#include <string.h>

#include "ref.h"

static int bits_of(int s) { return s == CG_IR_BOOL ? 1 : (int)cg_ir_scalar_size((uint8_t)s) * 8; }

uint64_t ref_norm(int s, uint64_t v) {
  if (s == CG_IR_BOOL) return v != 0;
  int bits = bits_of(s);
  if (bits >= 64) return v;
  uint64_t mask = (1ull << bits) - 1;
  v &= mask;
  if (cg_ir_is_signed((uint8_t)s) && (v >> (bits - 1))) v |= ~mask; /* sign-extend */
  return v;
}

int64_t ref_as_i64(uint64_t u) {
  if (u <= (uint64_t)INT64_MAX) return (int64_t)u;
  return -(int64_t)(~u) - 1; /* ~u <= INT64_MAX here */
}

/* ---------------------------------------------------------------- float rounding */

/* Round-half-to-even of y to an integer (y >= 0, exact in double), independent of the
 * FPU rounding mode. */
static double rne(double y) {
  double fl = floor(y), diff = y - fl;
  if (diff > 0.5 || (diff == 0.5 && fmod(fl, 2.0) != 0.0)) fl += 1.0;
  return fl;
}

/* Round x to a binary format with p significant bits and normal exponents
 * emin..emax (subnormals below, inf above). */
static double round_format(double x, int p, int emin, int emax) {
  if (isnan(x) || isinf(x) || x == 0) return x;
  double a = fabs(x);
  int e;
  frexp(a, &e); /* a in [2^(e-1), 2^e) */
  int E = e - 1 < emin ? emin : e - 1;
  double quantum = ldexp(1.0, E - (p - 1));
  double r = rne(a / quantum) * quantum; /* a/quantum is exact: a power-of-two scaling */
  if (r >= ldexp(1.0, emax + 1)) r = INFINITY;
  return copysign(r, x);
}

double ref_round(int s, double x) {
  switch (s) {
  case CG_IR_FLOAT16: return round_format(x, 11, -14, 15);
  case CG_IR_BFLOAT16: return round_format(x, 8, -126, 127);
  case CG_IR_FLOAT32: return round_format(x, 24, -126, 127);
  default: return x;
  }
}

/* An integer magnitude rounded once (RNE) to p significant bits, exact as a double. */
static double u64_to_p_bits(uint64_t m, int p) {
  int top = 63;
  while (top > 0 && !(m >> top)) top--;
  if (top < p) return (double)m; /* fits: exact */
  int drop = top + 1 - p;
  uint64_t kept = m >> drop, rest = m & ((1ull << drop) - 1), half = 1ull << (drop - 1);
  if (rest > half || (rest == half && (kept & 1))) kept++;
  return ldexp((double)kept, drop);
}

static int float_bits(int s) {
  return s == CG_IR_FLOAT16 ? 11 : s == CG_IR_BFLOAT16 ? 8 : s == CG_IR_FLOAT32 ? 24 : 53;
}

/* ---------------------------------------------------------------- memory formats */

uint16_t ref_f16_bits(double x) {
  x = ref_round(CG_IR_FLOAT16, x);
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  if (isnan(x)) return sign | 0x7e00;
  double a = fabs(x);
  if (isinf(a)) return sign | 0x7c00;
  if (a < ldexp(1.0, -14)) return sign | (uint16_t)ldexp(a, 24); /* subnormal or 0 */
  int e;
  double fr = frexp(a, &e); /* a = fr * 2^e, fr in [0.5, 1) */
  uint16_t mant = (uint16_t)(ldexp(fr, 11) - 1024.0);
  return sign | (uint16_t)((e - 1 + 15) << 10) | mant;
}

double ref_f16_value(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

uint16_t ref_bf16_bits(double x) {
  x = ref_round(CG_IR_BFLOAT16, x);
  if (isnan(x)) return (signbit(x) ? 0x8000 : 0) | 0x7fc0;
  float f = (float)x; /* exact: x is a bfloat16 value */
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (uint16_t)(u >> 16);
}

double ref_bf16_value(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

void ref_store(int s, ref_lane v, unsigned char *p) {
  size_t n = cg_ir_scalar_size((uint8_t)s);
  switch (s) {
  case CG_IR_FLOAT16: { uint16_t h = ref_f16_bits(v.f); memcpy(p, &h, 2); return; }
  case CG_IR_BFLOAT16: { uint16_t h = ref_bf16_bits(v.f); memcpy(p, &h, 2); return; }
  case CG_IR_FLOAT32: { float f = (float)v.f; memcpy(p, &f, 4); return; }
  case CG_IR_FLOAT64: memcpy(p, &v.f, 8); return;
  default: break;
  }
  /* integers: the low n bytes of the value, in host byte order */
  uint8_t b1 = (uint8_t)v.u;
  uint16_t b2 = (uint16_t)v.u;
  uint32_t b4 = (uint32_t)v.u;
  if (n == 1) memcpy(p, &b1, 1);
  else if (n == 2) memcpy(p, &b2, 2);
  else if (n == 4) memcpy(p, &b4, 4);
  else memcpy(p, &v.u, 8);
}

ref_lane ref_load(int s, const unsigned char *p) {
  ref_lane v = {0};
  switch (s) {
  case CG_IR_FLOAT16: { uint16_t h; memcpy(&h, p, 2); v.f = ref_f16_value(h); return v; }
  case CG_IR_BFLOAT16: { uint16_t h; memcpy(&h, p, 2); v.f = ref_bf16_value(h); return v; }
  case CG_IR_FLOAT32: { float f; memcpy(&f, p, 4); v.f = f; return v; }
  case CG_IR_FLOAT64: memcpy(&v.f, p, 8); return v;
  case CG_IR_BOOL: v.u = p[0] != 0; return v;
  default: break;
  }
  size_t n = cg_ir_scalar_size((uint8_t)s);
  uint8_t b1;
  uint16_t b2;
  uint32_t b4;
  if (n == 1) memcpy(&b1, p, 1), v.u = b1;
  else if (n == 2) memcpy(&b2, p, 2), v.u = b2;
  else if (n == 4) memcpy(&b4, p, 4), v.u = b4;
  else memcpy(&v.u, p, 8);
  v.u = ref_norm(s, v.u);
  return v;
}

/* ---------------------------------------------------------------- constants, casts */

ref_lane ref_from_i64(int s, int64_t x) {
  ref_lane v;
  if (cg_ir_is_float((uint8_t)s)) {
    v.f = ref_cast(s, CG_IR_INT64, (ref_lane){.u = (uint64_t)x}).f;
  } else {
    v.u = ref_norm(s, (uint64_t)x);
  }
  return v;
}

ref_lane ref_const(int s, int64_t arg) {
  ref_lane v;
  if (cg_ir_is_float((uint8_t)s)) {
    double d;
    memcpy(&d, &arg, sizeof d);
    v.f = ref_round(s, d);
  } else {
    v.u = ref_norm(s, (uint64_t)arg);
  }
  return v;
}

/* Float -> integer type `to`: truncate toward zero, saturate, NaN -> 0; -> bool is != 0. */
static uint64_t float_to_int(int to, double x) {
  if (to == CG_IR_BOOL) return x != 0; /* NaN is true */
  if (isnan(x)) return 0;
  x = trunc(x);
  int bits = bits_of(to);
  if (cg_ir_is_signed((uint8_t)to)) {
    double lim = ldexp(1.0, bits - 1); /* 2^(bits-1) */
    if (x >= lim) return ref_norm(to, (1ull << (bits - 1)) - 1);
    if (x < -lim) return ref_norm(to, 1ull << (bits - 1));
    return ref_norm(to, (uint64_t)(int64_t)x);
  }
  if (x <= 0) return 0;
  if (x >= ldexp(1.0, bits)) return ref_norm(to, ~0ull);
  return (uint64_t)x;
}

/* Integer (normalized lane of type from) -> float type to, rounded once. */
static double int_to_float(int to, int from, uint64_t u) {
  int neg = cg_ir_is_signed((uint8_t)from) && ref_as_i64(u) < 0;
  uint64_t mag = neg ? 0 - u : u;
  double d = u64_to_p_bits(mag, float_bits(to)); /* exact double */
  return ref_round(to, neg ? -d : d);             /* only overflow can change it now */
}

ref_lane ref_cast(int to, int from, ref_lane v) {
  ref_lane r;
  int ff = cg_ir_is_float((uint8_t)from), tf = cg_ir_is_float((uint8_t)to);
  if (ff && tf) r.f = ref_round(to, v.f);
  else if (ff) r.u = float_to_int(to, v.f);
  else if (tf) r.f = int_to_float(to, from, v.u);
  else r.u = ref_norm(to, v.u); /* int/bool -> int/bool: wrap; -> bool is != 0 */
  return r;
}

/* ---------------------------------------------------------------- ALU */

int ref_less(int s, ref_lane a, ref_lane b) {
  if (cg_ir_is_float((uint8_t)s)) return a.f < b.f;
  if (cg_ir_is_signed((uint8_t)s)) return ref_as_i64(a.u) < ref_as_i64(b.u);
  return a.u < b.u;
}

/* IEEE division without dividing by zero (UBSan's float-divide-by-zero stays quiet). */
static double ieee_div(double a, double b) {
  if (b != 0) return a / b;
  if (a == 0 || isnan(a) || isnan(b)) return NAN;
  return (signbit(a) != signbit(b)) ? -INFINITY : INFINITY;
}

static ref_lane float_alu(int op, int s, double a, double b, double c) {
  ref_lane r = {0};
  double x;
  switch (op) {
  case CG_IR_EXP2: x = exp2(a); break;
  case CG_IR_LOG2: x = a < 0 ? NAN : a == 0 ? -INFINITY : log2(a); break;
  case CG_IR_SIN: x = sin(a); break;
  case CG_IR_SQRT: x = a < 0 ? NAN : sqrt(a); break;
  case CG_IR_RECIP: x = ieee_div(1.0, a); break;
  case CG_IR_NEG: x = -a; break;
  case CG_IR_TRUNC: x = trunc(a); break;
  case CG_IR_ADD: x = a + b; break;
  case CG_IR_SUB: x = a - b; break;
  case CG_IR_MUL: x = a * b; break;
  case CG_IR_FDIV: x = ieee_div(a, b); break;
  case CG_IR_MAX: x = (isnan(a) || isnan(b)) ? NAN : (a < b ? b : a); break;
  case CG_IR_POW: x = pow(a, b); break;
  case CG_IR_MULACC: x = ref_round(s, a * b) + c; break;
  case CG_IR_CMPLT: r.u = a < b; return r;
  case CG_IR_CMPNE: r.u = a != b; return r;
  case CG_IR_CMPEQ: r.u = a == b; return r;
  default: x = NAN; break; /* not reached for verified programs */
  }
  r.f = ref_round(s, x);
  return r;
}

/* Signed division and remainder on normalized values; no UB for 0 or INT_MIN/-1. */
static uint64_t sdivmod(int op, uint64_t ua, uint64_t ub) {
  int64_t a = ref_as_i64(ua), b = ref_as_i64(ub);
  if (b == 0) return 0;
  if (b == -1) return op == CG_IR_IDIV ? 0 - ua : 0; /* -a wraps for INT_MIN */
  return (uint64_t)(op == CG_IR_IDIV ? a / b : a % b);
}

/* Arithmetic shift right of a normalized signed value. */
static uint64_t sar(uint64_t u, unsigned n) { return ref_as_i64(u) < 0 ? ~(~u >> n) : u >> n; }

static ref_lane int_alu(int op, int s, uint64_t a, uint64_t b, uint64_t c) {
  int sgn = cg_ir_is_signed((uint8_t)s);
  unsigned sh = (unsigned)(b & (uint64_t)(bits_of(s) - 1));
  ref_lane ra = {.u = a}, rb = {.u = b};
  uint64_t x;
  switch (op) {
  case CG_IR_NEG: x = s == CG_IR_BOOL ? !a : 0 - a; break;
  case CG_IR_ADD: x = a + b; break;
  case CG_IR_SUB: x = a - b; break;
  case CG_IR_MUL: x = a * b; break;
  case CG_IR_IDIV: x = sgn ? sdivmod(op, a, b) : (b ? a / b : 0); break;
  case CG_IR_MOD: x = sgn ? sdivmod(op, a, b) : (b ? a % b : 0); break;
  case CG_IR_MAX: x = ref_less(s, ra, rb) ? b : a; break;
  case CG_IR_CMPLT: x = ref_less(s, ra, rb); return (ref_lane){.u = x};
  case CG_IR_CMPNE: return (ref_lane){.u = a != b};
  case CG_IR_CMPEQ: return (ref_lane){.u = a == b};
  case CG_IR_AND: x = a & b; break;
  case CG_IR_OR: x = a | b; break;
  case CG_IR_XOR: x = a ^ b; break;
  case CG_IR_SHL: x = a << sh; break;
  case CG_IR_SHR: x = sgn ? sar(a, sh) : a >> sh; break;
  case CG_IR_MULACC: x = a * b + c; break;
  default: x = 0; break; /* not reached for verified programs */
  }
  return (ref_lane){.u = ref_norm(s, x)};
}

ref_lane ref_alu(int op, int s, ref_lane a, ref_lane b, ref_lane c) {
  if (op == CG_IR_WHERE) return a.u ? b : c;
  if (cg_ir_is_float((uint8_t)s)) return float_alu(op, s, a.f, b.f, c.f);
  return int_alu(op, s, a.u, b.u, c.u);
}
