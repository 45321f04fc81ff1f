/* ref plugin tests: kernels built with the IR builder run through the plugin (loaded
 * with dlopen like the core does) and are compared with naive C loops or with known
 * bit patterns: elementwise maps of every op family, integer wraparound, division and
 * shifts edge cases, f16/bf16 rounding, casts, vectors, a DEFINE_REG reduction, gated
 * loads/stores, a local-memory tree reduction with barriers, run-time errors (out of
 * bounds, divergent barriers, bad arguments), and the struct_size rules of the ABI. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin_harness.h"

static plug P;

/* ---------------------------------------------------------------- map kernels */

/* out[i] = op(a[i], b[i], c[i]) for i < n, one work-item per element. nin sources of
 * scalar type in_s, result of type out_s. op may be CAST or BITCAST (nin = 1). */
static cg_pstatus map(cg_ir_op op, int out_s, int in_s, int nin, const void *a, const void *b,
                      const void *c, void *out, int n) {
  kernel_begin("map", (uint32_t)n, 1);
  int32_t po = param(out_s, CG_IR_PARAM_WRITE, n);
  int32_t pin[3] = {0}, x[3] = {0};
  for (int k = 0; k < nin; k++) pin[k] = param(k == 0 && op == CG_IR_WHERE ? CG_IR_BOOL : in_s, CG_IR_PARAM_READ, n);
  int32_t i = gidx(0);
  for (int k = 0; k < nin; k++) x[k] = load(pin[k], i, 1);
  int32_t y = E(op, T(out_s), 0, nin, x[0], x[1], x[2]);
  store(po, i, y);
  cg_ir_program *p = kernel_end();
  size_t osz = cg_ir_scalar_size((uint8_t)out_s) * (size_t)n, isz = cg_ir_scalar_size((uint8_t)in_s) * (size_t)n;
  hbuf bufs[4] = {{out, osz}, {(void *)a, op == CG_IR_WHERE ? (size_t)n : isz}, {(void *)b, isz}, {(void *)c, isz}};
  cg_pstatus st = run_prog(&P, p, bufs, 1 + nin, NULL, 0);
  CHECK(st == CG_P_OK, "map %s: %s", cg_ir_op_name(op), g_err);
  free(p);
  return st;
}

static int same_f32(float a, float b) {
  uint32_t x, y;
  memcpy(&x, &a, 4), memcpy(&y, &b, 4);
  return (isnan(a) && isnan(b)) || x == y;
}

static float f32_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---------------------------------------------------------------- integer semantics */

static void test_int_arith(void) {
  enum { N = 6 };
  int32_t a[N] = {INT32_MAX, INT32_MIN, -5, 123456789, 0, -1};
  int32_t b[N] = {1, -1, 7, 1000, 0, INT32_MIN};
  int32_t out[N];
  if (!map(CG_IR_ADD, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == (int32_t)((uint32_t)a[k] + (uint32_t)b[k]), "add %d", k);
  if (!map(CG_IR_SUB, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == (int32_t)((uint32_t)a[k] - (uint32_t)b[k]), "sub %d", k);
  if (!map(CG_IR_MUL, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == (int32_t)((uint32_t)a[k] * (uint32_t)b[k]), "mul %d", k);
  if (!map(CG_IR_MAX, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == (a[k] > b[k] ? a[k] : b[k]), "max %d", k);
  if (!map(CG_IR_NEG, CG_IR_INT32, CG_IR_INT32, 1, a, NULL, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == (int32_t)(0u - (uint32_t)a[k]), "neg %d", k);
  int8_t a8[4] = {127, -128, 100, -1}, b8[4] = {1, -1, 100, -1}, o8[4];
  if (!map(CG_IR_ADD, CG_IR_INT8, CG_IR_INT8, 2, a8, b8, NULL, o8, 4))
    CHECK(o8[0] == -128 && o8[1] == 127 && o8[2] == -56 && o8[3] == -2, "i8 add wraps: %d %d %d %d", o8[0], o8[1], o8[2], o8[3]);
  uint8_t u8a[3] = {0, 255, 200}, u8b[3] = {1, 1, 100}, u8o[3];
  if (!map(CG_IR_SUB, CG_IR_UINT8, CG_IR_UINT8, 2, u8a, u8b, NULL, u8o, 3))
    CHECK(u8o[0] == 255 && u8o[1] == 254 && u8o[2] == 100, "u8 sub wraps");
  if (!map(CG_IR_CMPLT, CG_IR_BOOL, CG_IR_UINT8, 2, u8a, u8b, NULL, o8, 3))
    CHECK(o8[0] == 1 && o8[1] == 0 && o8[2] == 0, "u8 cmplt is unsigned");
  int64_t a64[2] = {INT64_MAX, INT64_MIN}, b64[2] = {3, -1}, o64[2];
  if (!map(CG_IR_MUL, CG_IR_INT64, CG_IR_INT64, 2, a64, b64, NULL, o64, 2))
    CHECK(o64[0] == (int64_t)((uint64_t)INT64_MAX * 3u) && o64[1] == INT64_MIN, "i64 mul wraps");
  int64_t c64[2] = {10, 10};
  if (!map(CG_IR_MULACC, CG_IR_INT64, CG_IR_INT64, 3, a64, b64, c64, o64, 2))
    CHECK(o64[1] == (int64_t)((uint64_t)INT64_MIN + 10u), "i64 mulacc wraps");
}

/* Reference C semantics of IDIV/MOD with the IR's rules for 0 and INT_MIN/-1. */
static int64_t ref_idiv(int64_t a, int64_t b, int64_t min) { return b == 0 ? 0 : (a == min && b == -1) ? min : a / b; }
static int64_t ref_mod(int64_t a, int64_t b, int64_t min) { return b == 0 ? 0 : (a == min && b == -1) ? 0 : a % b; }

static void test_div_mod_shift(void) {
  enum { N = 9 };
  int32_t a[N] = {7, -7, 7, -7, 5, INT32_MIN, INT32_MIN, 0, INT32_MAX};
  int32_t b[N] = {2, 2, -2, -2, 0, -1, 1, 0, -1};
  int32_t out[N];
  if (!map(CG_IR_IDIV, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == ref_idiv(a[k], b[k], INT32_MIN), "idiv %d/%d = %d", a[k], b[k], out[k]);
  if (!map(CG_IR_MOD, CG_IR_INT32, CG_IR_INT32, 2, a, b, NULL, out, N))
    for (int k = 0; k < N; k++) CHECK(out[k] == ref_mod(a[k], b[k], INT32_MIN), "mod %d%%%d = %d", a[k], b[k], out[k]);
  int64_t a64[3] = {INT64_MIN, INT64_MIN, -9}, b64[3] = {-1, 0, 4}, o64[3];
  if (!map(CG_IR_IDIV, CG_IR_INT64, CG_IR_INT64, 2, a64, b64, NULL, o64, 3))
    CHECK(o64[0] == INT64_MIN && o64[1] == 0 && o64[2] == -2, "i64 idiv edge cases");
  if (!map(CG_IR_MOD, CG_IR_INT64, CG_IR_INT64, 2, a64, b64, NULL, o64, 3))
    CHECK(o64[0] == 0 && o64[1] == 0 && o64[2] == -1, "i64 mod edge cases");
  uint32_t ua[3] = {7, 0xffffffffu, 9}, ub[3] = {0, 2, 4}, uo[3];
  if (!map(CG_IR_IDIV, CG_IR_UINT32, CG_IR_UINT32, 2, ua, ub, NULL, uo, 3))
    CHECK(uo[0] == 0 && uo[1] == 0x7fffffffu && uo[2] == 2, "u32 idiv");
  if (!map(CG_IR_MOD, CG_IR_UINT32, CG_IR_UINT32, 2, ua, ub, NULL, uo, 3))
    CHECK(uo[0] == 0 && uo[1] == 1 && uo[2] == 1, "u32 mod");
  /* shifts: count masked to the width */
  int32_t sa[5] = {1, 1, -8, -1, 0x40000000}, sb[5] = {33, -1, 1, 31, 1};
  if (!map(CG_IR_SHL, CG_IR_INT32, CG_IR_INT32, 2, sa, sb, NULL, out, 5))
    CHECK(out[0] == 2 && out[1] == INT32_MIN && out[2] == -16 && out[3] == INT32_MIN && out[4] == INT32_MIN,
          "shl i32: %d %d %d %d %d", out[0], out[1], out[2], out[3], out[4]);
  if (!map(CG_IR_SHR, CG_IR_INT32, CG_IR_INT32, 2, sa, sb, NULL, out, 5))
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == -4 && out[3] == -1 && out[4] == 0x20000000, "shr i32 arithmetic");
  uint32_t sua[2] = {0x80000000u, 0xffffffffu}, sub[2] = {31, 36}, suo[2];
  if (!map(CG_IR_SHR, CG_IR_UINT32, CG_IR_UINT32, 2, sua, sub, NULL, suo, 2))
    CHECK(suo[0] == 1 && suo[1] == 0x0fffffffu, "shr u32 logical");
  int8_t s8a[2] = {-128, (int8_t)0x81}, s8b[2] = {9, 1}, s8o[2];
  if (!map(CG_IR_SHR, CG_IR_INT8, CG_IR_INT8, 2, s8a, s8b, NULL, s8o, 2))
    CHECK(s8o[0] == -64 && s8o[1] == -64, "shr i8: %d %d", s8o[0], s8o[1]);
  if (!map(CG_IR_SHL, CG_IR_INT8, CG_IR_INT8, 2, s8a, s8b, NULL, s8o, 2))
    CHECK(s8o[0] == 0 && s8o[1] == 2, "shl i8 wraps: %d %d", s8o[0], s8o[1]);
  uint16_t xa[2] = {0xf0f0, 0x1234}, xb[2] = {0xff00, 0xffff}, xo[2];
  if (!map(CG_IR_XOR, CG_IR_UINT16, CG_IR_UINT16, 2, xa, xb, NULL, xo, 2))
    CHECK(xo[0] == 0x0ff0 && xo[1] == 0xedcb, "xor u16");
  if (!map(CG_IR_AND, CG_IR_UINT16, CG_IR_UINT16, 2, xa, xb, NULL, xo, 2))
    CHECK(xo[0] == 0xf000 && xo[1] == 0x1234, "and u16");
}

static void test_bool_ops(void) {
  uint8_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1}, o[4];
  if (!map(CG_IR_AND, CG_IR_BOOL, CG_IR_BOOL, 2, a, b, NULL, o, 4)) CHECK(!o[0] && !o[1] && !o[2] && o[3], "bool and");
  if (!map(CG_IR_OR, CG_IR_BOOL, CG_IR_BOOL, 2, a, b, NULL, o, 4)) CHECK(!o[0] && o[1] && o[2] && o[3], "bool or");
  if (!map(CG_IR_XOR, CG_IR_BOOL, CG_IR_BOOL, 2, a, b, NULL, o, 4)) CHECK(!o[0] && o[1] && o[2] && !o[3], "bool xor");
  if (!map(CG_IR_NEG, CG_IR_BOOL, CG_IR_BOOL, 1, a, NULL, NULL, o, 4)) CHECK(o[0] && o[1] && !o[2] && !o[3], "bool not");
  if (!map(CG_IR_MAX, CG_IR_BOOL, CG_IR_BOOL, 2, a, b, NULL, o, 4)) CHECK(!o[0] && o[1] && o[2] && o[3], "bool max");
  if (!map(CG_IR_CMPLT, CG_IR_BOOL, CG_IR_BOOL, 2, a, b, NULL, o, 4)) CHECK(!o[0] && o[1] && !o[2] && !o[3], "bool lt");
  float x[4] = {1, 2, 3, 4}, y[4] = {-1, -2, -3, -4}, w[4];
  if (!map(CG_IR_WHERE, CG_IR_FLOAT32, CG_IR_FLOAT32, 3, b, x, y, w, 4))
    CHECK(w[0] == -1 && w[1] == 2 && w[2] == -3 && w[3] == 4, "where");
}

/* ---------------------------------------------------------------- float semantics */

static uint32_t rand_f32_bits(int k) {
  uint32_t u = (uint32_t)rnd();
  if (k % 5 == 0) u &= 0x807fffffu; /* subnormal */
  if (k % 11 == 0) u = (u & 0x80ffffffu) | 0x3f000000u; /* near 1 */
  return u;
}

/* f32 ops computed in double and rounded by the interpreter's own rounding code must
 * match the hardware's float arithmetic bit for bit. */
static void test_f32_vs_hardware(void) {
  enum { N = 2000 };
  static float a[N], b[N], o[N];
  for (int k = 0; k < N; k++) a[k] = f32_of(rand_f32_bits(k)), b[k] = f32_of(rand_f32_bits(k + 3));
  a[0] = FLT_MAX, b[0] = FLT_MAX;     /* overflow to inf */
  a[1] = 1e-45f, b[1] = 0.5f;         /* subnormal tie */
  a[2] = NAN, b[2] = 1;
  a[3] = INFINITY, b[3] = -INFINITY;
  static const cg_ir_op ops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_FDIV};
  for (size_t j = 0; j < sizeof ops / sizeof ops[0]; j++) {
    if (map(ops[j], CG_IR_FLOAT32, CG_IR_FLOAT32, 2, a, b, NULL, o, N)) continue;
    int bad = 0;
    for (int k = 0; k < N && bad < 5; k++) {
      volatile float x = a[k], y = b[k], want;
      if (ops[j] == CG_IR_FDIV && y == 0) continue;
      want = ops[j] == CG_IR_ADD ? x + y : ops[j] == CG_IR_SUB ? x - y : ops[j] == CG_IR_MUL ? x * y : x / y;
      if (!same_f32(o[k], want)) bad++;
      CHECK(same_f32(o[k], want), "%s(%a, %a) = %a, want %a", cg_ir_op_name(ops[j]), (double)x, (double)y,
            (double)o[k], (double)want);
    }
  }
  if (!map(CG_IR_SQRT, CG_IR_FLOAT32, CG_IR_FLOAT32, 1, a, NULL, NULL, o, N))
    for (int k = 0; k < N; k++) CHECK(same_f32(o[k], sqrtf(a[k])), "sqrt(%a)", (double)a[k]);
  if (!map(CG_IR_TRUNC, CG_IR_FLOAT32, CG_IR_FLOAT32, 1, a, NULL, NULL, o, N))
    for (int k = 0; k < N; k++) CHECK(same_f32(o[k], truncf(a[k])), "trunc(%a)", (double)a[k]);
  /* IEEE division by zero, MAX with NaN, compares with NaN */
  float z[6] = {1, -1, 0, 1, NAN, 2}, zz[6] = {0, 0, 0, -0.0f, 1, NAN}, zo[6];
  if (!map(CG_IR_FDIV, CG_IR_FLOAT32, CG_IR_FLOAT32, 2, z, zz, NULL, zo, 6))
    CHECK(zo[0] == INFINITY && zo[1] == -INFINITY && isnan(zo[2]) && zo[3] == -INFINITY, "x/0");
  if (!map(CG_IR_MAX, CG_IR_FLOAT32, CG_IR_FLOAT32, 2, z, zz, NULL, zo, 6))
    CHECK(zo[0] == 1 && zo[1] == 0 && isnan(zo[4]) && isnan(zo[5]), "max with NaN");
  if (!map(CG_IR_RECIP, CG_IR_FLOAT32, CG_IR_FLOAT32, 1, zz, NULL, NULL, zo, 6))
    CHECK(zo[0] == INFINITY && zo[3] == -INFINITY && zo[4] == 1, "recip");
  uint8_t bo[6];
  if (!map(CG_IR_CMPNE, CG_IR_BOOL, CG_IR_FLOAT32, 2, z, zz, NULL, bo, 6))
    CHECK(bo[0] && !bo[2] && bo[4] && bo[5], "cmpne: NaN is unequal");
  if (!map(CG_IR_CMPEQ, CG_IR_BOOL, CG_IR_FLOAT32, 2, z, zz, NULL, bo, 6))
    CHECK(bo[2] && !bo[4] && !bo[5], "cmpeq: 0 == -0, NaN != NaN");
  /* MULACC is unfused: (1+2^-12)^2 rounds to 1+2^-11 before adding -(1+2^-11) */
  float ma[1] = {1 + 0x1p-12f}, mc[1] = {-(1 + 0x1p-11f)}, mo[1];
  if (!map(CG_IR_MULACC, CG_IR_FLOAT32, CG_IR_FLOAT32, 3, ma, ma, mc, mo, 1)) CHECK(mo[0] == 0, "mulacc unfused: %a", (double)mo[0]);
  /* f64 transcendental ops are libm's */
  double d[4] = {0.5, 3, -2.25, 10}, e[4] = {2, 0.5, 3, -1}, dout[4];
  if (!map(CG_IR_EXP2, CG_IR_FLOAT64, CG_IR_FLOAT64, 1, d, NULL, NULL, dout, 4))
    for (int k = 0; k < 4; k++) CHECK(dout[k] == exp2(d[k]), "exp2");
  if (!map(CG_IR_LOG2, CG_IR_FLOAT64, CG_IR_FLOAT64, 1, d, NULL, NULL, dout, 4))
    CHECK(dout[0] == -1 && dout[1] == log2(3.0) && isnan(dout[2]), "log2");
  if (!map(CG_IR_SIN, CG_IR_FLOAT64, CG_IR_FLOAT64, 1, d, NULL, NULL, dout, 4))
    for (int k = 0; k < 4; k++) CHECK(dout[k] == sin(d[k]), "sin");
  if (!map(CG_IR_POW, CG_IR_FLOAT64, CG_IR_FLOAT64, 2, d, e, NULL, dout, 4))
    for (int k = 0; k < 4; k++) CHECK(dout[k] == pow(d[k], e[k]), "pow");
}

/* f16/bf16 arithmetic rounds after every op (round to nearest, ties to even). */
static void test_half_arith(void) {
  uint16_t a[4] = {0x3c00, 0x6800, 0x7bff, 0x3c00}; /* 1, 2048, 65504, 1 */
  uint16_t b[4] = {0x1000, 0x3c00, 0x4c00, 0x1200}; /* 2^-11, 1, 16, 3*2^-12 */
  uint16_t o[4];
  if (!map(CG_IR_ADD, CG_IR_FLOAT16, CG_IR_FLOAT16, 2, a, b, NULL, o, 4))
    CHECK(o[0] == 0x3c00 && o[1] == 0x6800 && o[2] == 0x7c00 && o[3] == 0x3c01,
          "f16 add rounding: %04x %04x %04x %04x", o[0], o[1], o[2], o[3]);
  uint16_t ba[3] = {0x3f80, 0x3f80, 0x7f7f}, bb[3] = {0x3b80, 0x3c40, 0x7f7f}, bo[3];
  /* 1 + 2^-8 (tie -> 1), 1 + 3*2^-8 (tie -> 1 + 2^-6), max + max -> inf */
  if (!map(CG_IR_ADD, CG_IR_BFLOAT16, CG_IR_BFLOAT16, 2, ba, bb, NULL, bo, 3))
    CHECK(bo[0] == 0x3f80 && bo[1] == 0x3f82 && bo[2] == 0x7f80, "bf16 add rounding: %04x %04x %04x", bo[0], bo[1], bo[2]);
}

/* ---------------------------------------------------------------- casts */

/* Independent IEEE binary16 decoder. */
static double f16_decode(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? m * 0x1p-24 : e == 31 ? (m ? NAN : INFINITY) : (1 + m / 1024.0) * pow(2, e - 15);
  return (h & 0x8000) ? -v : v;
}

/* Reference f32 -> bf16 with the usual integer trick (valid for non-NaN inputs). */
static uint16_t bf16_encode(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static void test_half_casts(void) {
  enum { NF = 16 };
  float fv[NF] = {1.0f, 65504.0f, 65520.0f, 65519.0f, 1.0f / 3, 0x1p-24f, 0x1p-25f, 3 * 0x1p-25f,
                  -0.0f, NAN, 1 + 0x1p-10f, 1 + 0x1p-11f, 1 + 3 * 0x1p-11f, -INFINITY, 1e9f, 0x1.ffcp-15f};
  uint16_t want[NF] = {0x3c00, 0x7bff, 0x7c00, 0x7bff, 0x3555, 0x0001, 0x0000, 0x0002,
                       0x8000, 0x7e00, 0x3c01, 0x3c00, 0x3c02, 0xfc00, 0x7c00, 0x0400};
  uint16_t h[NF];
  if (!map(CG_IR_CAST, CG_IR_FLOAT16, CG_IR_FLOAT32, 1, fv, NULL, NULL, h, NF))
    for (int k = 0; k < NF; k++) CHECK(h[k] == want[k], "f32 %a -> f16 %04x, want %04x", (double)fv[k], h[k], want[k]);
  /* every f16 bit pattern: decode exactly, and f16 -> f32 -> f16 is the identity */
  enum { NH = 65536 };
  static uint16_t all[NH], back[NH];
  static float wide[NH];
  for (int k = 0; k < NH; k++) all[k] = (uint16_t)k;
  if (!map(CG_IR_CAST, CG_IR_FLOAT32, CG_IR_FLOAT16, 1, all, NULL, NULL, wide, NH))
    for (int k = 0, bad = 0; k < NH && bad < 5; k++) {
      int ok = same_f32(wide[k], (float)f16_decode(all[k]));
      bad += !ok;
      CHECK(ok, "f16 %04x -> f32 %a", k, (double)wide[k]);
    }
  if (!map(CG_IR_CAST, CG_IR_FLOAT16, CG_IR_FLOAT32, 1, wide, NULL, NULL, back, NH))
    for (int k = 0, bad = 0; k < NH && bad < 5; k++) {
      uint16_t w = isnan(wide[k]) ? (uint16_t)((k & 0x8000) | 0x7e00) : (uint16_t)k;
      bad += back[k] != w;
      CHECK(back[k] == w, "f16 %04x -> f32 -> f16 gives %04x", k, back[k]);
    }
  /* bf16 from random f32 against the integer-trick reference */
  enum { NB = 4000 };
  static float bf[NB];
  static uint16_t bo[NB];
  for (int k = 0; k < NB; k++) {
    bf[k] = f32_of(rand_f32_bits(k));
    if (isnan(bf[k])) bf[k] = 1;
  }
  bf[0] = FLT_MAX, bf[1] = 1e-40f, bf[2] = -2.5f;
  if (!map(CG_IR_CAST, CG_IR_BFLOAT16, CG_IR_FLOAT32, 1, bf, NULL, NULL, bo, NB))
    for (int k = 0, bad = 0; k < NB && bad < 5; k++) {
      bad += bo[k] != bf16_encode(bf[k]);
      CHECK(bo[k] == bf16_encode(bf[k]), "f32 %a -> bf16 %04x, want %04x", (double)bf[k], bo[k], bf16_encode(bf[k]));
    }
  CHECK(bo[0] == 0x7f80 && bo[1] == 0x0001 && bo[2] == 0xc020, "bf16 known patterns");
  float nan1[1] = {NAN};
  if (!map(CG_IR_CAST, CG_IR_BFLOAT16, CG_IR_FLOAT32, 1, nan1, NULL, NULL, bo, 1)) CHECK(bo[0] == 0x7fc0, "bf16 NaN");
  /* integers to half types round once */
  int32_t iv[6] = {2049, 2051, 65519, 65520, -3, 257};
  uint16_t ih[6], ib[6];
  if (!map(CG_IR_CAST, CG_IR_FLOAT16, CG_IR_INT32, 1, iv, NULL, NULL, ih, 6))
    CHECK(ih[0] == 0x6800 && ih[1] == 0x6802 && ih[2] == 0x7bff && ih[3] == 0x7c00 && ih[4] == 0xc200,
          "i32 -> f16: %04x %04x %04x %04x %04x", ih[0], ih[1], ih[2], ih[3], ih[4]);
  if (!map(CG_IR_CAST, CG_IR_BFLOAT16, CG_IR_INT32, 1, iv, NULL, NULL, ib, 6))
    CHECK(ib[5] == 0x4380 && ib[0] == bf16_encode(2049.0f), "i32 -> bf16: %04x", ib[5]);
}

static void test_int_float_casts(void) {
  float f[8] = {3.9f, -3.9f, 1e10f, -1e10f, NAN, 300, -5, -200};
  int32_t i32[8];
  uint8_t u8[8];
  int8_t i8[8];
  if (!map(CG_IR_CAST, CG_IR_INT32, CG_IR_FLOAT32, 1, f, NULL, NULL, i32, 8))
    CHECK(i32[0] == 3 && i32[1] == -3 && i32[2] == INT32_MAX && i32[3] == INT32_MIN && i32[4] == 0 && i32[5] == 300,
          "f32 -> i32 truncates and saturates");
  if (!map(CG_IR_CAST, CG_IR_UINT8, CG_IR_FLOAT32, 1, f, NULL, NULL, u8, 8))
    CHECK(u8[0] == 3 && u8[1] == 0 && u8[2] == 255 && u8[4] == 0 && u8[5] == 255 && u8[6] == 0, "f32 -> u8 saturates");
  if (!map(CG_IR_CAST, CG_IR_INT8, CG_IR_FLOAT32, 1, f, NULL, NULL, i8, 8))
    CHECK(i8[5] == 127 && i8[7] == -128 && i8[1] == -3, "f32 -> i8 saturates");
  double d[4] = {1e19, -1e19, 1.8e19, 2e19};
  int64_t i64[4];
  uint64_t u64[4];
  if (!map(CG_IR_CAST, CG_IR_INT64, CG_IR_FLOAT64, 1, d, NULL, NULL, i64, 4))
    CHECK(i64[0] == INT64_MAX && i64[1] == INT64_MIN, "f64 -> i64 saturates");
  if (!map(CG_IR_CAST, CG_IR_UINT64, CG_IR_FLOAT64, 1, d, NULL, NULL, u64, 4))
    CHECK(u64[1] == 0 && u64[2] == 18000000000000000000ull && u64[3] == UINT64_MAX, "f64 -> u64 saturates");
  /* int -> int wraps; sign/zero extension */
  int32_t w[4] = {300, -1, 200, -129};
  uint16_t u16[4];
  if (!map(CG_IR_CAST, CG_IR_UINT8, CG_IR_INT32, 1, w, NULL, NULL, u8, 4)) CHECK(u8[0] == 44 && u8[1] == 255, "i32 -> u8");
  if (!map(CG_IR_CAST, CG_IR_INT8, CG_IR_INT32, 1, w, NULL, NULL, i8, 4)) CHECK(i8[2] == -56 && i8[3] == 127, "i32 -> i8");
  if (!map(CG_IR_CAST, CG_IR_UINT16, CG_IR_INT32, 1, w, NULL, NULL, u16, 4)) CHECK(u16[1] == 65535, "i32 -> u16");
  int8_t s8[2] = {-1, 5};
  if (!map(CG_IR_CAST, CG_IR_UINT64, CG_IR_INT8, 1, s8, NULL, NULL, u64, 2)) CHECK(u64[0] == UINT64_MAX && u64[1] == 5, "i8 -> u64");
  uint32_t u32[2] = {0xffffffffu, 1};
  if (!map(CG_IR_CAST, CG_IR_INT64, CG_IR_UINT32, 1, u32, NULL, NULL, i64, 2)) CHECK(i64[0] == 0xffffffffll, "u32 -> i64");
  /* i64/u64 -> f32 round once, like C's conversion */
  enum { N = 500 };
  static int64_t big[N];
  static uint64_t ubig[N];
  static float fo[N];
  for (int k = 0; k < N; k++) big[k] = (int64_t)(rnd() >> (k % 40)), ubig[k] = rnd() >> (k % 30);
  big[0] = (1ll << 53) + 1, big[1] = INT64_MIN, big[2] = ((1ll << 24) + 1) << 20;
  if (!map(CG_IR_CAST, CG_IR_FLOAT32, CG_IR_INT64, 1, big, NULL, NULL, fo, N))
    for (int k = 0; k < N; k++) CHECK(fo[k] == (float)big[k], "i64 %lld -> f32", (long long)big[k]);
  if (!map(CG_IR_CAST, CG_IR_FLOAT32, CG_IR_UINT64, 1, ubig, NULL, NULL, fo, N))
    for (int k = 0; k < N; k++) CHECK(fo[k] == (float)ubig[k], "u64 -> f32");
  /* to and from bool */
  float fb[4] = {0, -0.0f, NAN, 0.5f};
  uint8_t b[4];
  if (!map(CG_IR_CAST, CG_IR_BOOL, CG_IR_FLOAT32, 1, fb, NULL, NULL, b, 4)) CHECK(!b[0] && !b[1] && b[2] && b[3], "f32 -> bool");
  int32_t ib[3] = {0, 2, -1};
  if (!map(CG_IR_CAST, CG_IR_BOOL, CG_IR_INT32, 1, ib, NULL, NULL, b, 3)) CHECK(!b[0] && b[1] && b[2], "i32 -> bool");
  uint8_t bb[2] = {0, 1};
  if (!map(CG_IR_CAST, CG_IR_FLOAT32, CG_IR_BOOL, 1, bb, NULL, NULL, fb, 2)) CHECK(fb[0] == 0 && fb[1] == 1, "bool -> f32");
  /* BITCAST keeps the bits (non-NaN) */
  enum { NB = 300 };
  static uint32_t bits[NB], got[NB];
  static float fl[NB];
  for (int k = 0; k < NB; k++) {
    bits[k] = (uint32_t)rnd();
    if (isnan(f32_of(bits[k]))) bits[k] &= 0xbfffffffu;
  }
  if (!map(CG_IR_BITCAST, CG_IR_FLOAT32, CG_IR_UINT32, 1, bits, NULL, NULL, fl, NB) &&
      !map(CG_IR_BITCAST, CG_IR_UINT32, CG_IR_FLOAT32, 1, fl, NULL, NULL, got, NB))
    for (int k = 0; k < NB; k++) CHECK(got[k] == bits[k] && !memcmp(&fl[k], &bits[k], 4), "bitcast %08x", bits[k]);
}

/* ---------------------------------------------------------------- kernels */

/* c = a + b over 1000 floats: 250 groups of 4 work-items, index = g0*4 + l0. */
static void test_elementwise(void) {
  enum { N = 1000 };
  static float a[N], b[N], c[N];
  for (int k = 0; k < N; k++) a[k] = (float)k * 0.37f, b[k] = 1.0f / (float)(k + 1);
  kernel_begin("E_1000", N / 4, 4);
  int32_t pc = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  int32_t pa = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, N), pb = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, N);
  int32_t i = alu2(CG_IR_ADD, alu2(CG_IR_MUL, gidx(0), ci(CG_IR_INT32, 4)), lidx(0));
  store(pc, i, alu2(CG_IR_ADD, load(pa, i, 1), load(pb, i, 1)));
  cg_ir_program *p = kernel_end();
  hbuf bufs[3] = {{c, sizeof c}, {a, sizeof a}, {b, sizeof b}};
  CHECK(run_prog(&P, p, bufs, 3, NULL, 0) == CG_P_OK, "elementwise: %s", g_err);
  for (int k = 0; k < N; k++) CHECK(c[k] == a[k] + b[k], "c[%d]", k);
  free(p);
}

/* out[i] = sum_j a[i*K + j] with a DEFINE_REG accumulator and a RANGE loop. */
static void test_reduce(void) {
  enum { M = 5, K = 37 };
  static float a[M * K], out[M];
  for (int k = 0; k < M * K; k++) a[k] = (float)((k * 7919) % 101) / 7.0f;
  kernel_begin("r_5_37", M, 1);
  int32_t po = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, M), pa = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, M * K);
  int32_t acc = E(CG_IR_DEFINE_REG, TP(CG_IR_FLOAT32, 1, CG_IR_AS_REG), 1, 0);
  int32_t zero = ci(CG_IR_INT32, 0), i = gidx(0);
  store(acc, zero, cf(CG_IR_FLOAT32, 0));
  int32_t base = alu2(CG_IR_MUL, i, ci(CG_IR_INT32, K));
  int32_t j = E(CG_IR_RANGE, T(CG_IR_INT32), 0, 2, zero, ci(CG_IR_INT32, K));
  int32_t x = load(pa, alu2(CG_IR_ADD, base, j), 1);
  store(acc, zero, alu2(CG_IR_ADD, load(acc, zero, 1), x));
  E(CG_IR_ENDRANGE, VOID_T, 0, 1, j);
  store(po, i, load(acc, zero, 1));
  cg_ir_program *p = kernel_end();
  hbuf bufs[2] = {{out, sizeof out}, {a, sizeof a}};
  CHECK(run_prog(&P, p, bufs, 2, NULL, 0) == CG_P_OK, "reduce: %s", g_err);
  for (int m = 0; m < M; m++) {
    float s = 0;
    for (int k = 0; k < K; k++) s += a[m * K + k];
    CHECK(out[m] == s, "row %d: %g vs %g", m, (double)out[m], (double)s);
  }
  free(p);
}

/* out[i] = i < n ? a[i] : -1 where a holds only 12 elements (the gate keeps the
 * out-of-bounds index from being read); out2[i] = i only where i is even. */
static void test_gated(void) {
  enum { N = 20, NA = 12 };
  float a[NA], out[N], out2[N];
  for (int k = 0; k < NA; k++) a[k] = (float)k + 0.5f;
  for (int k = 0; k < N; k++) out2[k] = 7;
  kernel_begin("gated", N, 1);
  int nv = cg_irb_var(B, "n", 0, NA);
  int32_t po = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pa = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, NA);
  int32_t po2 = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N);
  int32_t i = gidx(0), n = E(CG_IR_VAR, T(CG_IR_INT32), nv, 0);
  int32_t gate = cmp(CG_IR_CMPLT, i, n);
  int32_t v = E(CG_IR_LOAD, T(CG_IR_FLOAT32), 0, 3, at(pa, i, 1), gate, cf(CG_IR_FLOAT32, -1));
  store(po, i, v);
  int32_t even = cmp(CG_IR_CMPEQ, alu2(CG_IR_AND, i, ci(CG_IR_INT32, 1)), ci(CG_IR_INT32, 0));
  E(CG_IR_STORE, VOID_T, 0, 3, at(po2, i, 1), E(CG_IR_CAST, T(CG_IR_FLOAT32), 0, 1, i), even);
  cg_ir_program *p = kernel_end();
  hbuf bufs[3] = {{out, sizeof out}, {a, sizeof a}, {out2, sizeof out2}};
  int64_t vars[1] = {9};
  CHECK(run_prog(&P, p, bufs, 3, vars, 1) == CG_P_OK, "gated: %s", g_err);
  for (int k = 0; k < N; k++) {
    CHECK(out[k] == (k < 9 ? a[k] : -1), "gated load %d", k);
    CHECK(out2[k] == (k % 2 ? 7 : k), "gated store %d", k);
  }
  vars[0] = NA + 1; /* outside the declared range */
  CHECK(run_prog(&P, p, bufs, 3, vars, 1) == CG_P_ERR_INVALID && strstr(g_err, "outside"), "var range: %s", g_err);
  free(p);
}

/* Group sums through local memory: a 2-D group of 8x2 items stores its values, then a
 * tree reduction with a BARRIER inside a RANGE loop; item 0 writes the sum. */
static void test_local_barrier(void) {
  enum { G = 3, L = 16 };
  int32_t a[G * L], out[G];
  for (int k = 0; k < G * L; k++) a[k] = k * k - 100;
  B = cg_irb_new("group_sum");
  uint32_t g[3] = {G, 1, 1}, l[3] = {8, 2, 1};
  cg_irb_set_launch(B, g, l);
  int32_t po = param(CG_IR_INT32, CG_IR_PARAM_WRITE, G), pa = param(CG_IR_INT32, CG_IR_PARAM_READ, G * L);
  int32_t sh = E(CG_IR_DEFINE_LOCAL, TP(CG_IR_INT32, 1, CG_IR_AS_LOCAL), L, 0);
  int32_t lid = alu2(CG_IR_ADD, lidx(0), alu2(CG_IR_MUL, lidx(1), ci(CG_IR_INT32, 8)));
  int32_t gi = alu2(CG_IR_ADD, alu2(CG_IR_MUL, gidx(0), ci(CG_IR_INT32, L)), lid);
  store(sh, lid, load(pa, gi, 1));
  E(CG_IR_BARRIER, VOID_T, 0, 0);
  int32_t k = E(CG_IR_RANGE, T(CG_IR_INT32), 0, 2, ci(CG_IR_INT32, 0), ci(CG_IR_INT32, 4));
  int32_t s = alu2(CG_IR_SHR, ci(CG_IR_INT32, 8), k);
  int32_t iff = E(CG_IR_IF, VOID_T, 0, 1, cmp(CG_IR_CMPLT, lid, s));
  store(sh, lid, alu2(CG_IR_ADD, load(sh, lid, 1), load(sh, alu2(CG_IR_ADD, lid, s), 1)));
  E(CG_IR_ENDIF, VOID_T, 0, 1, iff);
  E(CG_IR_BARRIER, VOID_T, 0, 0);
  E(CG_IR_ENDRANGE, VOID_T, 0, 1, k);
  int32_t first = E(CG_IR_IF, VOID_T, 0, 1, cmp(CG_IR_CMPEQ, lid, ci(CG_IR_INT32, 0)));
  store(po, gidx(0), load(sh, ci(CG_IR_INT32, 0), 1));
  E(CG_IR_ENDIF, VOID_T, 0, 1, first);
  cg_ir_program *p = kernel_end();
  hbuf bufs[2] = {{out, sizeof out}, {a, sizeof a}};
  CHECK(run_prog(&P, p, bufs, 2, NULL, 0) == CG_P_OK, "local: %s", g_err);
  for (int gg = 0; gg < G; gg++) {
    int32_t sum = 0;
    for (int j = 0; j < L; j++) sum += a[gg * L + j];
    CHECK(out[gg] == sum, "group %d: %d vs %d", gg, out[gg], sum);
  }
  free(p);
}

/* out[4i..4i+3] = a[4i..4i+3] * 2 + (0,1,2,3) with f32x4 loads/stores; s[i] = sum of
 * the lanes via GEP; a gated vector load with a vector alternative. */
static void test_vectors(void) {
  enum { N = 8 };
  float a[4 * N], out[4 * N], s[N], g[4 * N];
  for (int k = 0; k < 4 * N; k++) a[k] = (float)k * 1.25f - 3;
  kernel_begin("vec4", N, 1);
  int32_t po = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 4 * N), pa = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, 4 * N);
  int32_t ps = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, N), pg = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 4 * N);
  int32_t i = gidx(0), i4 = alu2(CG_IR_MUL, i, ci(CG_IR_INT32, 4));
  int32_t v = load(pa, i4, 4);
  int32_t two = cf(CG_IR_FLOAT32, 2);
  int32_t twos = E(CG_IR_VECTORIZE, TV(CG_IR_FLOAT32, 4), 0, 4, two, two, two, two);
  int32_t ramp = E(CG_IR_VECTORIZE, TV(CG_IR_FLOAT32, 4), 0, 4, cf(CG_IR_FLOAT32, 0), cf(CG_IR_FLOAT32, 1),
                   cf(CG_IR_FLOAT32, 2), cf(CG_IR_FLOAT32, 3));
  store(po, i4, E(CG_IR_MULACC, TV(CG_IR_FLOAT32, 4), 0, 3, v, twos, ramp));
  int32_t sum = E(CG_IR_GEP, T(CG_IR_FLOAT32), 0, 1, v);
  for (int k = 1; k < 4; k++) sum = alu2(CG_IR_ADD, sum, E(CG_IR_GEP, T(CG_IR_FLOAT32), k, 1, v));
  store(ps, i, sum);
  int32_t odd = cmp(CG_IR_CMPEQ, alu2(CG_IR_AND, i, ci(CG_IR_INT32, 1)), ci(CG_IR_INT32, 1));
  int32_t gv = E(CG_IR_LOAD, TV(CG_IR_FLOAT32, 4), 0, 3, at(pa, i4, 4), odd, ramp);
  store(pg, i4, gv);
  cg_ir_program *p = kernel_end();
  hbuf bufs[4] = {{out, sizeof out}, {a, sizeof a}, {s, sizeof s}, {g, sizeof g}};
  CHECK(run_prog(&P, p, bufs, 4, NULL, 0) == CG_P_OK, "vectors: %s", g_err);
  for (int k = 0; k < 4 * N; k++) {
    CHECK(out[k] == a[k] * 2 + (float)(k % 4), "vec out[%d]", k);
    CHECK(g[k] == ((k / 4) % 2 ? a[k] : (float)(k % 4)), "gated vec load %d", k);
  }
  for (int k = 0; k < N; k++) CHECK(s[k] == ((a[4 * k] + a[4 * k + 1]) + a[4 * k + 2]) + a[4 * k + 3], "gep sum %d", k);
  free(p);
  /* vector bitcast: f32x2 -> u64 is the memory image */
  float pair[2] = {1.5f, -2.0f};
  uint64_t bits;
  kernel_begin("vbits", 1, 1);
  int32_t pu = param(CG_IR_UINT64, CG_IR_PARAM_WRITE, 1), pf = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, 2);
  store(pu, ci(CG_IR_INT32, 0), E(CG_IR_BITCAST, T(CG_IR_UINT64), 0, 1, load(pf, ci(CG_IR_INT32, 0), 2)));
  p = kernel_end();
  hbuf b2[2] = {{&bits, 8}, {pair, 8}};
  CHECK(run_prog(&P, p, b2, 2, NULL, 0) == CG_P_OK && !memcmp(&bits, pair, 8), "bitcast f32x2 -> u64: %s", g_err);
  free(p);
}

/* ---------------------------------------------------------------- errors */

/* A kernel that reads a[idx] (no gate) for a constant idx, with a declared count. */
static cg_pstatus read_at(int64_t idx, int64_t count, size_t buf_elems, int vec) {
  float a[8] = {0}, o[8];
  kernel_begin("oob", 1, 1);
  int32_t po = param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 8), pa = param(CG_IR_FLOAT32, CG_IR_PARAM_READ, count);
  store(po, ci(CG_IR_INT32, 0), load(pa, ci(CG_IR_INT64, idx), vec));
  cg_ir_program *p = kernel_end();
  hbuf bufs[2] = {{o, sizeof o}, {a, buf_elems * sizeof(float)}};
  cg_pstatus st = run_prog(&P, p, bufs, 2, NULL, 0);
  free(p);
  return st;
}

static void test_errors(void) {
  CHECK(read_at(7, 8, 8, 1) == CG_P_OK, "in bounds read: %s", g_err);
  CHECK(read_at(8, 8, 8, 1) == CG_P_ERR_LAUNCH && strstr(g_err, "out of bounds"), "index == count: %s", g_err);
  CHECK(read_at(-1, 8, 8, 1) == CG_P_ERR_LAUNCH, "negative index");
  CHECK(read_at(INT64_MIN, 8, 8, 1) == CG_P_ERR_LAUNCH, "INT64_MIN index");
  CHECK(read_at(6, 8, 8, 4) == CG_P_ERR_LAUNCH, "vector load past the end");
  CHECK(read_at(5, 8, 4, 1) == CG_P_ERR_LAUNCH, "buffer smaller than the param count");
  /* wrong number of buffers */
  kernel_begin("two", 1, 1);
  param(CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 1);
  param(CG_IR_FLOAT32, CG_IR_PARAM_READ, 1);
  cg_ir_program *p = kernel_end();
  float x = 0;
  hbuf one[1] = {{&x, 4}};
  CHECK(run_prog(&P, p, one, 1, NULL, 0) == CG_P_ERR_INVALID && strstr(g_err, "buffers"), "buffer count: %s", g_err);
  free(p);
  /* a barrier only item 0 reaches */
  B = cg_irb_new("divergent");
  uint32_t g[3] = {1, 1, 1}, l[3] = {4, 1, 1};
  cg_irb_set_launch(B, g, l);
  int32_t iff = E(CG_IR_IF, VOID_T, 0, 1, cmp(CG_IR_CMPEQ, lidx(0), ci(CG_IR_INT32, 0)));
  E(CG_IR_BARRIER, VOID_T, 0, 0);
  E(CG_IR_ENDIF, VOID_T, 0, 1, iff);
  p = kernel_end();
  CHECK(run_prog(&P, p, NULL, 0, NULL, 0) == CG_P_ERR_LAUNCH && strstr(g_err, "barrier"), "divergent barrier: %s", g_err);
  free(p);
  /* too many work-items per group */
  kernel_begin("big_group", 1, 512);
  p = kernel_end();
  CHECK(run_prog(&P, p, NULL, 0, NULL, 0) == CG_P_ERR_INVALID, "512 items per group accepted");
  void *hb = NULL;
  cg_launch_args wrap = {.struct_size = sizeof wrap, .local = {1u << 22, 1u << 22, 1u << 20}}; /* product 2^64 */
  CHECK(P.api->program_load(P.dev, p, NULL, 0, &hb) == CG_P_OK && P.api->launch(P.dev, hb, &wrap) == CG_P_ERR_INVALID,
        "local dims whose product wraps accepted");
  P.api->program_unload(P.dev, hb);
  free(p);
  /* invalid program: rejected at load with the verifier's message */
  char err[128];
  cg_ir_program *bad = cg_ir_parse("kernel bad\n%0 = CONST i32 1\n%1 = ADD i32 %0 %2\n%2 = CONST i32 2\n", err, sizeof err);
  void *h = NULL;
  CHECK(bad && P.api->program_load(P.dev, bad, NULL, 0, &h) == CG_P_ERR_INVALID && strstr(g_err, "inst 1"),
        "invalid program: %s", g_err);
  free(bad);
  /* WMMA is not implemented yet */
  kernel_begin("wmma", 1, 1);
  int32_t c = cf(CG_IR_FLOAT32, 1);
  E(CG_IR_WMMA, T(CG_IR_FLOAT32), 0, 3, c, c, c);
  p = kernel_end();
  CHECK(P.api->program_load(P.dev, p, NULL, 0, &h) == CG_P_ERR_UNSUPPORTED, "WMMA load");
  free(p);
  /* copies outside a buffer */
  void *buf = NULL;
  char bytes[16] = {0};
  CHECK(P.api->mem_alloc(P.dev, 8, &buf) == CG_P_OK, "alloc");
  CHECK(P.api->copy_in(P.dev, buf, 4, bytes, 8) == CG_P_ERR_INVALID, "copy_in past the end");
  CHECK(P.api->copy_out(P.dev, bytes, buf, SIZE_MAX, 2) == CG_P_ERR_INVALID, "copy_out offset overflow");
  CHECK(P.api->copy_in(P.dev, buf, 8, bytes, 0) == CG_P_OK, "empty copy at the end");
  P.api->mem_free(P.dev, buf);
  void *empty = NULL;
  CHECK(P.api->mem_alloc(P.dev, 0, &empty) == CG_P_OK && empty, "0-byte alloc");
  P.api->mem_free(P.dev, empty);
}

/* ---------------------------------------------------------------- fuzz */

/* Random byte flips in the instruction and source tables of real kernels: whatever the
 * verifier accepts must run (or fail cleanly) without a crash, an out-of-bounds access
 * or undefined behaviour (ASan/UBSan builds check), within a step budget. */
static void fuzz_program(const cg_ir_program *base, int iters) {
  size_t lo = base->insts_off, hi = base->srcs_off + (size_t)base->nsrcs * 4;
  int ran = 0;
  for (int it = 0; it < iters; it++) {
    cg_ir_program *q = malloc(base->total_size);
    memcpy(q, base, base->total_size);
    int edits = 1 + (int)(rnd() % 2);
    for (int e = 0; e < edits; e++) ((unsigned char *)q)[lo + rnd() % (hi - lo)] ^= (unsigned char)(1u << (rnd() % 8));
    char err[128];
    if (cg_ir_verify(q, q->total_size, err, sizeof err) == 0) {
      hbuf bufs[8];
      int64_t vars[4] = {0, 0, 0, 0};
      for (uint32_t k = 0; k < q->nparams; k++) {
        const cg_ir_param *pa = &cg_ir_params(q)[k];
        bufs[k].bytes = (size_t)pa->count * cg_ir_scalar_size(pa->scalar);
        bufs[k].data = calloc(1, bufs[k].bytes + 1);
      }
      for (uint32_t k = 0; k < q->nvars; k++) vars[k] = cg_ir_vars(q)[k].min;
      run_prog(&P, q, bufs, (int)q->nparams, vars, (int)q->nvars);
      for (uint32_t k = 0; k < q->nparams; k++) free(bufs[k].data);
      ran++;
    }
    free(q);
  }
  CHECK(ran > iters / 50, "fuzz: only %d of %d mutants verified", ran, iters);
  printf("fuzz: %d of %d mutants verified and ran\n", ran, iters);
}

/* Builds the kernels of the numeric tests again (small sizes) and fuzzes them. */
static void test_fuzz(void) {
  g_max_steps = "20000";
  kernel_begin("fz", 4, 2);
  int nv = cg_irb_var(B, "n", 0, 3);
  int32_t po = param(CG_IR_INT32, CG_IR_PARAM_WRITE, 8), pa = param(CG_IR_INT32, CG_IR_PARAM_READ, 8);
  int32_t sh = E(CG_IR_DEFINE_LOCAL, TP(CG_IR_INT32, 1, CG_IR_AS_LOCAL), 2, 0);
  int32_t acc = E(CG_IR_DEFINE_REG, TP(CG_IR_INT32, 1, CG_IR_AS_REG), 4, 0);
  int32_t z = ci(CG_IR_INT32, 0), l = lidx(0), n = E(CG_IR_VAR, T(CG_IR_INT32), nv, 0);
  int32_t i = alu2(CG_IR_ADD, alu2(CG_IR_MUL, gidx(0), ci(CG_IR_INT32, 2)), l);
  int32_t x = E(CG_IR_LOAD, T(CG_IR_INT32), 0, 3, at(pa, i, 1), cmp(CG_IR_CMPLT, n, i), ci(CG_IR_INT32, 5));
  store(sh, l, alu2(CG_IR_SHL, x, n));
  E(CG_IR_BARRIER, VOID_T, 0, 0);
  store(acc, z, z);
  int32_t k = E(CG_IR_RANGE, T(CG_IR_INT32), 0, 2, z, ci(CG_IR_INT32, 2));
  int32_t v = load(sh, k, 1);
  store(acc, z, alu2(CG_IR_ADD, load(acc, z, 1), alu2(CG_IR_IDIV, v, alu2(CG_IR_SUB, k, n))));
  E(CG_IR_ENDRANGE, VOID_T, 0, 1, k);
  int32_t f = E(CG_IR_CAST, T(CG_IR_FLOAT16), 0, 1, load(acc, z, 1));
  int32_t vec = E(CG_IR_VECTORIZE, TV(CG_IR_FLOAT16, 2), 0, 2, f, f);
  int32_t bits = E(CG_IR_BITCAST, T(CG_IR_INT32), 0, 1, vec);
  store(po, i, alu2(CG_IR_MOD, bits, ci(CG_IR_INT32, 1000)));
  cg_ir_program *p = kernel_end();
  if (p) fuzz_program(p, 20000);
  free(p);
  g_max_steps = "50";
  kernel_begin("spin", 1, 1);
  int32_t r = E(CG_IR_RANGE, T(CG_IR_INT32), 0, 2, ci(CG_IR_INT32, 0), ci(CG_IR_INT32, 1000));
  E(CG_IR_ENDRANGE, VOID_T, 0, 1, r);
  p = kernel_end();
  CHECK(run_prog(&P, p, NULL, 0, NULL, 0) == CG_P_ERR_LAUNCH && strstr(g_err, "REF_MAX_STEPS"), "step budget: %s", g_err);
  free(p);
  g_max_steps = NULL;
}

/* ---------------------------------------------------------------- ABI rules */

static void test_struct_sizes(void) {
  /* a smaller props struct: fields past it stay untouched */
  unsigned char raw[sizeof(cg_device_props) + 64];
  memset(raw, 0xab, sizeof raw);
  cg_device_props *pr = (cg_device_props *)raw;
  pr->struct_size = (uint32_t)offsetof(cg_device_props, dtypes);
  CHECK(P.api->device_props(P.ctx, 0, pr) == CG_P_OK, "props (small)");
  CHECK(!strncmp(pr->name, "REF", 3) && raw[offsetof(cg_device_props, dtypes)] == 0xab, "small props overwritten");
  CHECK(pr->struct_size == offsetof(cg_device_props, dtypes), "struct_size changed");
  /* a larger one: the tail stays untouched, the known part is filled */
  memset(raw, 0xab, sizeof raw);
  pr->struct_size = (uint32_t)sizeof raw;
  CHECK(P.api->device_props(P.ctx, 0, pr) == CG_P_OK, "props (large)");
  CHECK(raw[sizeof(cg_device_props)] == 0xab && pr->max_local_size == 256 && pr->warp_size == 1 &&
            pr->dtypes == 0x1fff && !(pr->native_ops & (1ull << CG_IR_WMMA)) && (pr->native_ops & (1ull << CG_IR_SIN)),
        "large props");
  /* launch args without the time_s field */
  kernel_begin("empty", 2, 1);
  cg_ir_program *p = kernel_end();
  void *h = NULL;
  CHECK(P.api->program_load(P.dev, p, NULL, 0, &h) == CG_P_OK, "load empty");
  double t = -1;
  cg_launch_args a = {.struct_size = (uint32_t)offsetof(cg_launch_args, time_s), .time_s = &t};
  CHECK(P.api->launch(P.dev, h, &a) == CG_P_OK && t == -1, "short launch args wrote time_s");
  a.struct_size = sizeof a;
  CHECK(P.api->launch(P.dev, h, &a) == CG_P_OK && t >= 0, "time_s not written");
  P.api->program_unload(P.dev, h);
  /* render gives the canonical text */
  char *src = NULL;
  const char *lang = NULL;
  char *want = cg_ir_print(p);
  CHECK(P.api->render(P.dev, p, &src, &lang) == CG_P_OK && src && want && !strcmp(src, want) && !strcmp(lang, "cgir"),
        "render");
  P.api->release(src);
  free(want);
  free(p);
  /* entry: a reply too small for the api pointer keeps its tail; wrong major refused */
  cg_plugin_reply r[2];
  memset(r, 0xcd, sizeof r);
  r[0].struct_size = (uint32_t)offsetof(cg_plugin_reply, api);
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, 0, 0, 0, &g_services};
  CHECK(P.entry(&q, &r[0]) == CG_P_OK && r[0].major == CG_PLUGIN_ABI_MAJOR, "small reply");
  unsigned char tail;
  memcpy(&tail, (char *)&r[0] + offsetof(cg_plugin_reply, api), 1);
  CHECK(tail == 0xcd, "small reply overwritten");
  q.host_major = CG_PLUGIN_ABI_MAJOR + 1;
  r[1].struct_size = sizeof r[1];
  CHECK(P.entry(&q, &r[1]) == CG_P_ERR_VERSION, "wrong major accepted");
  q.host_major = CG_PLUGIN_ABI_MAJOR;
  CHECK(P.entry(&q, &r[1]) == CG_P_OK && r[1].api == P.api, "renegotiate");
}

int main(void) {
  if (plug_open(&P)) {
    plug_close(&P);
    return 1;
  }
  test_int_arith();
  test_div_mod_shift();
  test_bool_ops();
  test_f32_vs_hardware();
  test_half_arith();
  test_half_casts();
  test_int_float_casts();
  test_elementwise();
  test_reduce();
  test_gated();
  test_local_barrier();
  test_vectors();
  test_errors();
  test_fuzz();
  test_struct_sizes();
  plug_close(&P);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ir_ref: ok\n");
  return fails != 0;
}
