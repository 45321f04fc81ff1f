/* Tests of the IR text form (sdk/src/ir_text.c) and builder:
 *  - goldens: each golden/<name>.cgir holds an input program, a "### expect" line and the
 *    canonical print of that input; the print must match, be a fixed point, and the
 *    input and expected text must give byte-identical binary programs;
 *  - exact round trip of builder programs, including random double constants;
 *  - syntax errors are reported with their line number;
 *  - random mutations of the goldens never crash the parser or the printer.
 * Run with --update to rewrite the expected sections (then review the diff). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

#include "check.h"

#define SEP "### expect\n"

/* Parses text, failing the test with the parser's message if it does not parse. */
static cg_ir_program *parse_ok(const char *text, const char *what) {
  char err[256];
  cg_ir_program *p = cg_ir_parse(text, err, sizeof err);
  CHECK(p != NULL, "%s: parse failed: %s", what, err);
  return p;
}

static int same_program(const cg_ir_program *a, const cg_ir_program *b) {
  return a && b && a->total_size == b->total_size && !memcmp(a, b, a->total_size);
}

static void golden_one(const char *dir, const char *name, int update) {
  char path[1024], err[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *text = test_read_file(path);
  char *sep = text ? strstr(text, SEP) : NULL;
  CHECK(sep != NULL, "%s: cannot read or no '%s'", path, "### expect");
  if (!sep) return free(text);
  *sep = 0;
  const char *expect = sep + strlen(SEP);
  cg_ir_program *p = parse_ok(text, name);
  char *out = p ? cg_ir_print(p) : NULL;
  if (p) CHECK(cg_ir_verify(p, p->total_size, err, sizeof err) == 0, "%s: verify: %s", name, err);
  if (out && update) {
    FILE *f = fopen(path, "wb");
    if (f) fprintf(f, "%s%s%s", text, SEP, out), fclose(f);
  } else if (out) {
    CHECK(!strcmp(out, expect), "%s: print differs.\n--- got:\n%s--- expected:\n%s", name, out, expect);
    cg_ir_program *q = parse_ok(expect, name);
    char *again = q ? cg_ir_print(q) : NULL;
    CHECK(again && !strcmp(again, expect), "%s: expected text is not a fixed point", name);
    CHECK(same_program(p, q), "%s: input and expected text give different binaries", name);
    free(again);
    free(q);
  }
  free(out);
  free(p);
  free(text);
}

static void test_goldens(int update) {
  DIR *d = opendir(CG_IR_GOLDEN_DIR);
  CHECK(d != NULL, "no golden dir %s", CG_IR_GOLDEN_DIR);
  if (!d) return;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len > 5 && !strcmp(e->d_name + len - 5, ".cgir")) golden_one(CG_IR_GOLDEN_DIR, e->d_name, update), n++;
  }
  closedir(d);
  CHECK(n >= 4, "only %d golden files", n);
}

/* A builder program with many random float constants survives print + parse exactly. */
static void test_builder_roundtrip(void) {
  cg_ir_builder *b = cg_irb_new("round trip!"); /* '!' and ' ' become '_' */
  cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_READ, 7);
  cg_irb_var(b, "k", -3, 3);
  uint32_t g[3] = {3, 2, 1}, l[3] = {4, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_irb_set_cost(b, 123, 456);
  for (int i = 0; i < 2000; i++) {
    uint64_t bits = rnd();
    if (i % 3 == 0) bits &= 0x800fffffffffffffull;        /* subnormals and zeros */
    if (i % 7 == 0) bits |= 0x7ff0000000000000ull;        /* inf and NaN payloads */
    double d;
    memcpy(&d, &bits, sizeof d);
    cg_irb_const_f(b, i % 2 ? CG_IR_FLOAT64 : CG_IR_FLOAT32, d);
    cg_irb_const_i(b, CG_IR_INT64, (int64_t)rnd());
    cg_irb_const_i(b, CG_IR_UINT64, (int64_t)rnd());
  }
  cg_ir_program *p = cg_irb_finish(b);
  CHECK(p && !strcmp(p->name, "round_trip_"), "name not sanitized");
  char err[256];
  CHECK(p && cg_ir_verify(p, p->total_size, err, sizeof err) == 0, "verify: %s", err);
  char *t = p ? cg_ir_print(p) : NULL;
  cg_ir_program *q = t ? parse_ok(t, "builder") : NULL;
  CHECK(same_program(p, q), "builder program does not round-trip byte for byte");
  free(t);
  free(q);
  free(p);
  cg_irb_free(b);
}

/* Syntax errors carry the right line number. */
static void test_parse_errors(void) {
  static const struct { const char *text, *want; } cases[] = {
      {"", "no 'kernel' line"},
      {"param 0 f32 r 4\n", "line 1:"},
      {"kernel k\n%0 = CONST f33 1\n", "line 2: bad type"},
      {"kernel k\n%0 = FROB f32 1\n", "line 2: unknown op"},
      {"kernel k\n%1 = CONST f32 1\n", "line 2: instruction must be numbered %0"},
      {"kernel k\n\n%0 = CONST f32 1x\n", "line 3: bad float"},
      {"kernel k\n%0 = CONST i32 1 2\n", "line 2: unexpected '2'"},
      {"kernel k\nparam 1 f32 r 4\n", "line 2: param index"},
      {"kernel k\nvar 0 a-b 0 1\n", "line 2: var name"},
      {"kernel k ir 2.0\n", "line 1: unsupported IR version"},
      {"kernel k global 1 2\n", "line 1: unexpected"},
      {"kernel k\nkernel j\n", "line 2: second"},
      {"kernel k\n%0 = CONST f32x300 1\n", "line 2: bad type"},
      {"kernel k\n%0 = CONST i32 99999999999999999999\n", "line 2: bad argument"},
      {"kernel k\n%0 = CONST f32 nan:0x\n", "line 2: bad float"},
      {"kernel bad-name\n", "line 1:"},
      {"kernel k\n%0 = CONST i32 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 "
       "%0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 "
       "%0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0 %0\n", "line 2: too many tokens"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256] = "";
    cg_ir_program *p = cg_ir_parse(cases[i].text, err, sizeof err);
    CHECK(p == NULL, "case %zu parsed", i);
    CHECK(strstr(err, cases[i].want) != NULL, "case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
    free(p);
  }
}

/* Random byte edits of a golden: the parser and printer must never crash, and whatever
 * parses must print to a fixed point. */
static void test_parse_fuzz(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/local.cgir", CG_IR_GOLDEN_DIR);
  char *text = test_read_file(path);
  CHECK(text != NULL, "cannot read %s", path);
  if (!text) return;
  char *sep = strstr(text, SEP);
  if (sep) *sep = 0; /* the input part only */
  size_t n = strlen(text);
  static const char alphabet[] = "%= \n#0123456789-.xf*ilgbuvr:nakTEPARMCONSV";
  int parsed = 0;
  for (int iter = 0; iter < 4000; iter++) {
    char *m = malloc(n + 1);
    memcpy(m, text, n + 1);
    int edits = 1 + (int)(rnd() % 4);
    for (int e = 0; e < edits; e++) m[rnd() % n] = alphabet[rnd() % (sizeof alphabet - 1)];
    char err[128];
    cg_ir_program *p = cg_ir_parse(m, err, sizeof err);
    if (p) {
      parsed++;
      cg_ir_verify(p, p->total_size, err, sizeof err);
      char *t = cg_ir_print(p);
      cg_ir_program *q = t ? cg_ir_parse(t, err, sizeof err) : NULL;
      char *t2 = q ? cg_ir_print(q) : NULL;
      CHECK(t2 && !strcmp(t, t2), "fuzz iter %d: print is not a fixed point", iter);
      free(t), free(t2), free(q), free(p);
    }
    free(m);
  }
  CHECK(parsed > 100, "only %d mutants parsed: the fuzz exercises nothing", parsed);
  free(text);
}

int main(int argc, char **argv) {
  int update = argc > 1 && !strcmp(argv[1], "--update");
  test_goldens(update);
  if (!update) {
    test_builder_roundtrip();
    test_parse_errors();
    test_parse_fuzz();
  }
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ir_text: ok\n");
  return fails != 0;
}
