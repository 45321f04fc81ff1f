/* Verifier tests (sdk/src/ir_verify.c): a corpus of broken programs must be rejected
 * with a message naming the offending instruction, and garbage input (truncated
 * blocks, bad offsets and counts, random byte flips, misaligned blocks) must be
 * rejected without reading outside the given bytes (ASan builds check that). */
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

#include "check.h"

/* Every text case is PREFIX + body; the body's first instruction is %7. */
static const char PREFIX[] =
    "kernel k global 1 1 1 local 4 1 1\n"
    "param 0 f32 rw 16\nparam 1 f32 r 16\nparam 2 f32 w 16\nvar 0 n 0 9\n"
    "%0 = PARAM f32* 0\n%1 = PARAM f32* 1\n%2 = PARAM f32* 2\n%3 = CONST i32 0\n"
    "%4 = CONST i32 4\n%5 = CONST f32 1\n%6 = CONST bool true\n";

static const struct { const char *body, *want; } bad_insts[] = {
    {"%7 = ADD f32 %5 %8\n%8 = CONST f32 1\n", "inst 7 (ADD): source is not an earlier"},
    {"%7 = ADD f32 %5 %7\n", "inst 7 (ADD): source is not an earlier"},
    {"%7 = RANGE i32 %3 %4\n", "inst 7 (RANGE): never closed"},
    {"%7 = IF void %6\n%8 = RANGE i32 %3 %4\n%9 = ENDRANGE void %8\n", "inst 7 (IF): never closed"},
    {"%7 = ENDRANGE void %3\n", "inst 7 (ENDRANGE): does not close"},
    {"%7 = RANGE i32 %3 %4\n%8 = IF void %6\n%9 = ENDRANGE void %7\n%10 = ENDIF void %8\n",
     "inst 9 (ENDRANGE): does not close"},
    {"%7 = IF void %6\n%8 = ENDRANGE void %7\n", "inst 8 (ENDRANGE): does not close"},
    {"%7 = RANGE i32 %3 %4\n%8 = ADD i32 %7 %4\n%9 = ENDRANGE void %7\n%10 = ADD i32 %8 %4\n",
     "inst 10 (ADD): source defined in a closed"},
    {"%7 = RANGE i32 %3 %4\n%8 = ENDRANGE void %7\n%9 = ADD i32 %7 %4\n", "inst 9 (ADD): source defined in a closed"},
    {"%7 = IF void %6\n%8 = ADD f32 %5 %5\n%9 = ENDIF void %7\n%10 = ADD f32 %8 %5\n", "inst 10 (ADD): source defined"},
    {"%7 = ADD f32 %5 %3\n", "inst 7 (ADD): source types"},
    {"%7 = ADD f32 %0 %0\n", "inst 7 (ADD): source types"},
    {"%7 = ADD bool %6 %6\n", "inst 7 (ADD): not defined on bool"},
    {"%7 = IDIV f32 %5 %5\n", "inst 7 (IDIV): needs an integer"},
    {"%7 = FDIV i32 %3 %3\n", "inst 7 (FDIV): needs a float"},
    {"%7 = SQRT i32 %3\n", "inst 7 (SQRT): needs a float"},
    {"%7 = XOR f32 %5 %5\n", "inst 7 (XOR): needs an integer or bool"},
    {"%7 = ADD f32 %5 %5 %5\n", "inst 7 (ADD): wrong number of sources"},
    {"%7 = CMPLT f32 %5 %5\n", "inst 7 (CMPLT): result must be bool"},
    {"%7 = WHERE f32 %5 %5 %5\n", "inst 7 (WHERE): condition must be bool"},
    {"%7 = LOAD f32 %2\n", "inst 7 (LOAD): load from a write-only param"},
    {"%7 = STORE void %1 %5\n", "inst 7 (STORE): store to a read-only param"},
    {"%7 = INDEX f32* %1 %3\n%8 = STORE void %7 %5\n", "inst 8 (STORE): store to a read-only param"},
    {"%7 = LOAD i32 %0\n", "inst 7 (LOAD): result type"},
    {"%7 = LOAD f32 %0 %3 %5\n", "inst 7 (LOAD): gate must be"},
    {"%7 = LOAD f32 %0 %6\n", "inst 7 (LOAD): takes 1 or 3"},
    {"%7 = STORE void %0\n", "inst 7 (STORE): takes 2 or 3"},
    {"%7 = STORE f32 %0 %5\n", "inst 7 (STORE): must have type void"},
    {"%7 = INDEX f32* %5 %3\n", "inst 7 (INDEX): src 0 must be a pointer"},
    {"%7 = INDEX f32* %0 %5\n", "inst 7 (INDEX): index must be an integer"},
    {"%7 = INDEX i32* %0 %3\n", "inst 7 (INDEX): result must point"},
    {"%7 = PARAM f32* 5\n", "inst 7 (PARAM): param index out of range"},
    {"%7 = PARAM i32* 0\n", "inst 7 (PARAM): type must be"},
    {"%7 = VAR i32 3\n", "inst 7 (VAR): var index"},
    {"%7 = VAR f32 0\n", "inst 7 (VAR): type must be an integer"},
    {"%7 = SPECIAL i32 7\n", "inst 7 (SPECIAL): arg must be"},
    {"%7 = DEFINE_REG f32*reg 0\n", "inst 7 (DEFINE_REG): element count"},
    {"%7 = DEFINE_LOCAL f32*reg 4\n", "inst 7 (DEFINE_LOCAL): type must be"},
    {"%7 = CONST i8 300\n", "inst 7 (CONST): integer constant does not fit"},
    {"%7 = CONST u32 -1\n", "inst 7 (CONST): integer constant does not fit"},
    {"%7 = CONST bool 2\n", "inst 7 (CONST): integer constant does not fit"},
    {"%7 = CONST f32x2 1\n", "inst 7 (CONST): type must be a scalar"},
    {"%7 = CONST f32x0 1\n", "inst 7 (CONST): malformed type"},
    {"%7 = CONST f32x17 1\n", "inst 7 (CONST): malformed type"},
    {"%7 = CONST void* 0\n", "inst 7 (CONST): malformed type"},
    {"%7 = IF void %3\n%8 = ENDIF void %7\n", "inst 7 (IF): condition must be"},
    {"%7 = RANGE i64 %3 %4\n%8 = ENDRANGE void %7\n", "inst 7 (RANGE): start, end"},
    {"%7 = VECTORIZE f32x2 %5 %5\n%8 = GEP f32 %7 2\n", "inst 8 (GEP): lane out of range"},
    {"%7 = VECTORIZE f32x4 %5 %5\n", "inst 7 (VECTORIZE): needs one scalar source per lane"},
    {"%7 = VECTORIZE f32x2 %5 %3\n", "inst 7 (VECTORIZE): lanes must be"},
    {"%7 = BITCAST i64 %5\n", "inst 7 (BITCAST): sizes differ"},
    {"%7 = BITCAST bool %6\n", "inst 7 (BITCAST): needs non-bool"},
    {"%7 = CAST f32x2 %5\n", "inst 7 (CAST): needs value types of equal width"},
    {"%7 = STORE void %0 %5\n%8 = NEG f32 %7\n", "inst 8 (NEG): source has no value"},
    {"%7 = BARRIER f32\n", "inst 7 (BARRIER): must have type void"},
};

/* Broken declarations (whole programs). */
static const struct { const char *text, *want; } bad_decls[] = {
    {"kernel k global 0 1 1\n", "launch dims"},
    {"kernel k local 1 1 0\n", "launch dims"},
    {"kernel k\nvar 0 n 5 1\n", "var 0: min > max"},
    {"kernel k\nparam 0 f32 0 4\n", "param 0: bad flags"},
    {"kernel k\nparam 0 f32 9 4\n", "param 0: bad flags"},
    {"kernel k\nparam 0 void r 4\n", "param 0: bad element type"},
    {"kernel k\nparam 0 f32 r -1\n", "param 0: negative count"},
};

static cg_ir_program *parse(const char *text) {
  char err[256];
  cg_ir_program *p = cg_ir_parse(text, err, sizeof err);
  CHECK(p != NULL, "does not parse: %s\n%s", err, text);
  return p;
}

/* Verifies p; checks the outcome and that the message contains want. */
static void expect_verify(const cg_ir_program *p, size_t size, const char *want, const char *what) {
  char err[256] = "";
  int rc = cg_ir_verify(p, size, err, sizeof err);
  if (!want) {
    CHECK(rc == 0, "%s: valid program rejected: %s", what, err);
    return;
  }
  CHECK(rc == -1, "%s: broken program accepted (want '%s')", what, want);
  CHECK(strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", what, err, want);
}

static void test_text_cases(void) {
  char text[4096];
  snprintf(text, sizeof text, "%s%%7 = ADD f32 %%5 %%5\n%%8 = STORE void %%0 %%7\n", PREFIX);
  cg_ir_program *p = parse(text);
  if (p) expect_verify(p, p->total_size, NULL, "base");
  free(p);
  for (size_t i = 0; i < sizeof bad_insts / sizeof bad_insts[0]; i++) {
    snprintf(text, sizeof text, "%s%s", PREFIX, bad_insts[i].body);
    p = parse(text);
    if (p) expect_verify(p, p->total_size, bad_insts[i].want, bad_insts[i].body);
    free(p);
  }
  for (size_t i = 0; i < sizeof bad_decls / sizeof bad_decls[0]; i++) {
    p = parse(bad_decls[i].text);
    if (p) expect_verify(p, p->total_size, bad_decls[i].want, bad_decls[i].text);
    free(p);
  }
}

/* A valid program with loops, local memory and a barrier, as the mutation base. */
static cg_ir_program *base_program(void) {
  char text[4096];
  snprintf(text, sizeof text, "%s%s", PREFIX,
           "%7 = DEFINE_LOCAL f32*local 4\n%8 = SPECIAL i32 l0\n%9 = INDEX f32* %1 %8\n"
           "%10 = LOAD f32 %9\n%11 = INDEX f32*local %7 %8\n%12 = STORE void %11 %10\n"
           "%13 = BARRIER void\n%14 = CMPEQ bool %8 %3\n%15 = IF void %14\n"
           "%16 = RANGE i32 %3 %4\n%17 = INDEX f32*local %7 %16\n%18 = LOAD f32 %17\n"
           "%19 = INDEX f32* %2 %16\n%20 = STORE void %19 %18 %6\n%21 = ENDRANGE void %16\n"
           "%22 = ENDIF void %15\n");
  return parse(text);
}

/* Copies p into a fresh allocation of exactly n bytes (so ASan sees overreads). */
static cg_ir_program *clone(const cg_ir_program *p, size_t n) {
  cg_ir_program *q = malloc(n ? n : 1);
  memcpy(q, p, n < p->total_size ? n : p->total_size);
  return q;
}

static void test_truncation(const cg_ir_program *p) {
  for (size_t n = 0; n < p->total_size; n++) {
    cg_ir_program *q = clone(p, n);
    char err[128];
    CHECK(cg_ir_verify(q, n, err, sizeof err) == -1, "truncated to %zu bytes accepted", n);
    free(q);
  }
}

/* Field edits of the header and tables, each of which must be rejected. */
static void test_binary_edits(const cg_ir_program *base) {
  size_t n = base->total_size;
  enum { NCASE = 22 };
  for (int c = 0; c < NCASE; c++) {
    cg_ir_program *q = clone(base, n);
    cg_ir_inst *ins = (cg_ir_inst *)((char *)q + q->insts_off);
    int32_t *srcs = (int32_t *)((char *)q + q->srcs_off);
    cg_ir_param *pa = (cg_ir_param *)((char *)q + q->params_off);
    cg_ir_var *va = (cg_ir_var *)((char *)q + q->vars_off);
    const char *want = NULL;
    switch (c) {
    case 0: q->magic ^= 1; want = "bad magic"; break;
    case 1: q->version_major = 2; want = "IR version"; break;
    case 2: q->version_minor = CG_IR_VERSION_MINOR + 1; want = "IR version"; break;
    case 3: q->total_size = (uint32_t)n + 8; want = "total_size"; break;
    case 4: q->total_size = 100; want = "total_size"; break;
    case 5: q->params_off += 4; want = "param table"; break;
    case 6: q->params_off = 0; want = "param table"; break;
    case 7: q->nparams = 0xffffffffu; want = "param table"; break;
    case 8: q->insts_off = (uint32_t)n; want = "inst table"; break;
    case 9: q->ninsts = 0x0aaaaaabu; want = "inst table"; break; /* * 24 wraps 32 bits */
    case 10: q->nsrcs = 0x40000001u; want = "src table"; break;  /* * 4 wraps 32 bits */
    case 11: q->vars_off = 0xfffffff8u; want = "var table"; break;
    case 12: srcs[ins[9].src_start] = -1; want = "inst 9 (INDEX): source is not an earlier"; break;
    case 13: ins[9].src_start = 0xfffffffeu; want = "inst 9 (INDEX): sources out of the src table"; break;
    case 14: ins[9].op = 999; want = "inst 9: unknown op 999"; break;
    case 15: memset(q->name, 'a', sizeof q->name); want = "kernel name"; break;
    case 16: q->name[0] = 0; want = "kernel name"; break;
    case 17: q->name[0] = '-'; want = "kernel name"; break;
    case 18: memset(va[0].name, 'v', sizeof va[0].name); want = "var 0: name"; break;
    case 19: pa[1].scalar = 200; want = "param 1: bad element type"; break;
    case 20: ins[21].op = CG_IR_NOP, ins[21].nsrc = 0; want = "inst 22 (ENDIF): does not close"; break;
    case 21: ins[9].type.vec = 0; want = "inst 9 (INDEX): malformed type"; break;
    }
    char what[32];
    snprintf(what, sizeof what, "binary edit %d", c);
    expect_verify(q, n, want, what);
    free(q);
  }
}

/* The verifier refuses a misaligned block instead of reading it misaligned. */
static void test_misaligned(const cg_ir_program *p) {
  char *buf = malloc(p->total_size + 8);
  memcpy(buf + 4, p, p->total_size);
  expect_verify((const cg_ir_program *)(buf + 4), p->total_size, "aligned", "misaligned");
  free(buf);
  expect_verify(NULL, 0, "NULL", "null program");
}

/* Random byte flips and garbage: never a crash; what passes must also print. */
static void test_fuzz(const cg_ir_program *p) {
  int accepted = 0;
  for (int iter = 0; iter < 20000; iter++) {
    cg_ir_program *q = clone(p, p->total_size);
    int edits = 1 + (int)(rnd() % 3);
    for (int e = 0; e < edits; e++) ((unsigned char *)q)[rnd() % p->total_size] ^= (unsigned char)(1u << (rnd() % 8));
    char err[128];
    if (cg_ir_verify(q, p->total_size, err, sizeof err) == 0) {
      accepted++;
      char *t = cg_ir_print(q);
      CHECK(t != NULL, "fuzz iter %d: valid program does not print", iter);
      free(t);
    }
    free(q);
  }
  CHECK(accepted > 0 && accepted < 20000, "fuzz: %d accepted: mutations ineffective", accepted);
  for (int iter = 0; iter < 2000; iter++) {
    size_t n = rnd() % 1024;
    unsigned char *g = malloc(n ? n : 1);
    for (size_t k = 0; k < n; k++) g[k] = (unsigned char)rnd();
    if (n >= 4) memcpy(g, &(uint32_t){CG_IR_MAGIC}, 4); /* get past the magic check */
    char err[128];
    cg_ir_verify((const cg_ir_program *)g, n, err, sizeof err);
    free(g);
  }
}

int main(void) {
  test_text_cases();
  cg_ir_program *p = base_program();
  if (p) {
    expect_verify(p, p->total_size, NULL, "mutation base");
    test_truncation(p);
    test_binary_edits(p);
    test_misaligned(p);
    test_fuzz(p);
  }
  free(p);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ir_verify: ok\n");
  return fails != 0;
}
