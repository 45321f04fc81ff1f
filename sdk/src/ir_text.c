/* Canonical text form of the kernel IR: printer and parser (grammar in docs/ir.md).
 *
 *   kernel E_4_4 ir 1.0 global 16 1 1 local 1 1 1 flops 16 bytes 128
 *   param 0 f32 rw 16
 *   var 0 start 0 4095
 *   %0 = PARAM f32* 0
 *   %1 = SPECIAL i32 g0
 *   %2 = CONST f32 1.5
 *   %3 = INDEX f32* %0 %1
 *   %4 = LOAD f32 %3
 *   %5 = STORE void %3 %4
 *
 * One line per declaration/instruction; '#' starts a comment; indentation (two spaces
 * per open RANGE/IF) is cosmetic. Printing is canonical (print(parse(t)) is a fixed
 * point) and exact: float constants print as the shortest decimal that reads back to
 * the same double, NaNs with a payload as nan:0x<bits>.
 *
 * The printer tolerates semantically invalid programs (handy for bug reports) as long
 * as the header's tables lie inside the block; the parser only checks syntax, so call
 * cg_ir_verify on what it returns. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

/* ---------------------------------------------------------------- output buffer */

typedef struct {
  char *s;
  size_t len, cap;
  int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = 1;
      return;
    }
    if ((size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t ncap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
    char *p = realloc(b->s, ncap);
    if (!p) {
      b->failed = 1;
      return;
    }
    b->s = p;
    b->cap = ncap;
  }
}

/* ---------------------------------------------------------------- printer */

static void print_type(sbuf *b, cg_ir_type t) {
  static const char *const spaces[CG_IR_AS_COUNT] = {"", "*", "*local", "*reg"};
  sb_printf(b, "%s", cg_ir_scalar_name(t.scalar));
  if (t.vec != 1) sb_printf(b, "x%u", t.vec);
  if (t.space != CG_IR_AS_NONE) sb_printf(b, "%s", t.space < CG_IR_AS_COUNT ? spaces[t.space] : "*?");
}

/* Shortest decimal (up to 17 digits) that reads back as exactly d. */
static void print_double(sbuf *b, int64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  if (isnan(d)) {
    if (bits == (int64_t)0x7ff8000000000000ull) sb_printf(b, "nan");
    else sb_printf(b, "nan:0x%016" PRIx64, (uint64_t)bits);
    return;
  }
  if (isinf(d)) {
    sb_printf(b, d < 0 ? "-inf" : "inf");
    return;
  }
  char tmp[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d) break;
  }
  sb_printf(b, "%s", tmp);
}

/* The arg of an instruction, in the form its op uses. Ops that give arg no meaning
 * print it only when it is nonzero. */
static void print_arg(sbuf *b, const cg_ir_inst *in) {
  switch (in->op) {
  case CG_IR_PARAM: case CG_IR_VAR: case CG_IR_DEFINE_LOCAL: case CG_IR_DEFINE_REG:
  case CG_IR_GEP: case CG_IR_WMMA:
    sb_printf(b, " %" PRId64, in->arg);
    return;
  case CG_IR_SPECIAL:
    if (in->arg >= 0 && in->arg < 6) sb_printf(b, " %c%d", in->arg < 3 ? 'g' : 'l', (int)(in->arg % 3));
    else sb_printf(b, " %" PRId64, in->arg);
    return;
  case CG_IR_CONST:
    if (in->type.space != CG_IR_AS_NONE) break;
    if (cg_ir_is_float(in->type.scalar)) {
      sb_printf(b, " ");
      print_double(b, in->arg);
    } else if (in->type.scalar == CG_IR_BOOL && (in->arg == 0 || in->arg == 1)) {
      sb_printf(b, " %s", in->arg ? "true" : "false");
    } else if (in->type.scalar == CG_IR_UINT64) {
      sb_printf(b, " %" PRIu64, (uint64_t)in->arg);
    } else {
      sb_printf(b, " %" PRId64, in->arg);
    }
    return;
  default:
    break;
  }
  if (in->arg) sb_printf(b, " %" PRId64, in->arg);
}

static void print_header(sbuf *b, const cg_ir_program *p) {
  sb_printf(b, "kernel %.64s ir %u.%u global %u %u %u local %u %u %u flops %" PRIu64 " bytes %" PRIu64 "\n",
            p->name, p->version_major, p->version_minor, p->global[0], p->global[1], p->global[2],
            p->local[0], p->local[1], p->local[2], p->flops, p->bytes);
  static const char *const flags[4] = {"0", "r", "w", "rw"};
  const cg_ir_param *pa = cg_ir_params(p);
  for (uint32_t k = 0; k < p->nparams; k++) {
    sb_printf(b, "param %u %s ", k, cg_ir_scalar_name(pa[k].scalar));
    if (pa[k].flags < 4) sb_printf(b, "%s", flags[pa[k].flags]);
    else sb_printf(b, "%u", pa[k].flags);
    sb_printf(b, " %" PRId64 "\n", pa[k].count);
  }
  const cg_ir_var *va = cg_ir_vars(p);
  for (uint32_t k = 0; k < p->nvars; k++)
    sb_printf(b, "var %u %.32s %" PRId64 " %" PRId64 "\n", k, va[k].name, va[k].min, va[k].max);
}

static void print_inst(sbuf *b, const cg_ir_program *p, uint32_t i, int depth) {
  const cg_ir_inst *in = &cg_ir_insts(p)[i];
  sb_printf(b, "%*s%%%u = %s ", 2 * depth, "", i, cg_ir_op_name(in->op));
  print_type(b, in->type);
  uint64_t end = (uint64_t)in->src_start + in->nsrc;
  for (uint64_t k = in->src_start; k < end && k < p->nsrcs; k++)
    sb_printf(b, " %%%d", cg_ir_srcs(p)[k]);
  print_arg(b, in);
  sb_printf(b, "\n");
}

/* The tables must lie inside the block, or printing would read out of it. */
static int layout_ok(const cg_ir_program *p) {
  uint64_t t = p->total_size;
  return p->magic == CG_IR_MAGIC && t >= sizeof *p &&
         p->params_off % 8 == 0 && (uint64_t)p->params_off + (uint64_t)p->nparams * sizeof(cg_ir_param) <= t &&
         p->vars_off % 8 == 0 && (uint64_t)p->vars_off + (uint64_t)p->nvars * sizeof(cg_ir_var) <= t &&
         p->insts_off % 8 == 0 && (uint64_t)p->insts_off + (uint64_t)p->ninsts * sizeof(cg_ir_inst) <= t &&
         p->srcs_off % 4 == 0 && (uint64_t)p->srcs_off + (uint64_t)p->nsrcs * sizeof(int32_t) <= t;
}

char *cg_ir_print(const cg_ir_program *p) {
  if (!p || !layout_ok(p)) return NULL;
  sbuf b = {0};
  print_header(&b, p);
  int depth = 0;
  for (uint32_t i = 0; i < p->ninsts; i++) {
    int op = cg_ir_insts(p)[i].op;
    if ((op == CG_IR_ENDRANGE || op == CG_IR_ENDIF) && depth > 0) depth--;
    print_inst(&b, p, i, depth);
    if (op == CG_IR_RANGE || op == CG_IR_IF) depth++;
  }
  if (b.failed || !b.s) {
    free(b.s);
    return NULL;
  }
  return b.s;
}

/* ---------------------------------------------------------------- parser */

#define MAX_TOKENS 64

typedef struct {
  cg_ir_builder *b;
  int line;
  char *err;
  size_t errlen;
  int have_kernel;
  int nparams, nvars; /* declarations seen so far */
  unsigned ir_minor;
} pctx;

static int perr(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(pctx *c, const char *fmt, ...) {
  if (c->err && c->errlen) {
    int n = snprintf(c->err, c->errlen, "line %d: ", c->line);
    if (n >= 0 && (size_t)n < c->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

/* Whole-token integer parsers; return 0 on success. */
static int parse_i64(const char *s, int64_t *out) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}
static int parse_u64(const char *s, uint64_t *out) {
  if (!*s || *s == '-' || *s == '+') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}
static int parse_u32(const char *s, uint32_t *out) {
  uint64_t v;
  if (parse_u64(s, &v) || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

static int parse_scalar(const char *s, size_t n) {
  for (int k = 0; k < CG_IR_SCALAR_COUNT; k++) {
    const char *name = cg_ir_scalar_name(k);
    if (strlen(name) == n && !memcmp(name, s, n)) return k;
  }
  return -1;
}

/* scalar ["x" lanes] ["*" ["local" | "reg"]] */
static int parse_type(const char *s, cg_ir_type *t) {
  size_t n = strcspn(s, "x*");
  int sc = parse_scalar(s, n);
  if (sc < 0) return -1;
  t->scalar = (uint8_t)sc, t->vec = 1, t->space = CG_IR_AS_NONE, t->pad = 0;
  s += n;
  if (*s == 'x') {
    char num[8];
    size_t m = strcspn(++s, "*");
    if (m == 0 || m >= sizeof num) return -1;
    memcpy(num, s, m);
    num[m] = 0;
    uint32_t v;
    if (parse_u32(num, &v) || v > 255) return -1;
    t->vec = (uint8_t)v;
    s += m;
  }
  if (*s == '*') {
    s++;
    if (!*s) t->space = CG_IR_AS_GLOBAL;
    else if (!strcmp(s, "local")) t->space = CG_IR_AS_LOCAL;
    else if (!strcmp(s, "reg")) t->space = CG_IR_AS_REG;
    else return -1;
  } else if (*s) {
    return -1;
  }
  return 0;
}

/* A float constant: decimal, inf, -inf, nan, nan:0x<16 hex digits>. */
static int parse_double_bits(const char *s, int64_t *bits) {
  double d;
  if (!strcmp(s, "nan")) {
    *bits = (int64_t)0x7ff8000000000000ull;
    return 0;
  }
  if (!strncmp(s, "nan:0x", 6)) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s + 6, &end, 16);
    if (errno || *end || s[6] == 0 || s[6] == '-' || s[6] == '+') return -1;
    *bits = (int64_t)v;
    return 0;
  }
  if (!strcmp(s, "inf")) d = INFINITY;
  else if (!strcmp(s, "-inf")) d = -INFINITY;
  else {
    char *end;
    if (!*s || strchr(s, 'n') || strchr(s, 'N') || strchr(s, 'x') || strchr(s, 'X')) return -1;
    d = strtod(s, &end);
    if (*end) return -1;
  }
  memcpy(bits, &d, sizeof d);
  return 0;
}

static int parse_arg(pctx *c, cg_ir_op op, cg_ir_type t, const char *s, int64_t *arg) {
  if (op == CG_IR_SPECIAL && (s[0] == 'g' || s[0] == 'l') && s[1] >= '0' && s[1] <= '2' && !s[2]) {
    *arg = (s[0] == 'l' ? 3 : 0) + (s[1] - '0');
    return 0;
  }
  if (op == CG_IR_CONST && t.space == CG_IR_AS_NONE) {
    if (cg_ir_is_float(t.scalar)) {
      if (parse_double_bits(s, arg)) return perr(c, "bad float constant '%s'", s);
      return 0;
    }
    if (t.scalar == CG_IR_BOOL && (!strcmp(s, "true") || !strcmp(s, "false"))) {
      *arg = !strcmp(s, "true");
      return 0;
    }
    uint64_t u;
    if (t.scalar == CG_IR_UINT64 && !parse_u64(s, &u)) {
      memcpy(arg, &u, sizeof u);
      return 0;
    }
  }
  if (parse_i64(s, arg)) return perr(c, "bad argument '%s'", s);
  return 0;
}

static int parse_op(const char *s) {
  for (int k = 0; k < CG_IR_OP_COUNT; k++)
    if (!strcmp(cg_ir_op_name(k), s)) return k;
  return -1;
}

static int is_ident(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return 0;
  for (; *s; s++) {
    char ch = *s;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
      return 0;
  }
  return 1;
}

/* kernel NAME [ir M.m] [global X Y Z] [local X Y Z] [flops N] [bytes N] */
static int parse_kernel(pctx *c, char **tok, int n) {
  if (c->have_kernel) return perr(c, "second 'kernel' line");
  if (n < 2 || !is_ident(tok[1], 64)) return perr(c, "'kernel' needs a name of [A-Za-z0-9_], < 64 chars");
  c->have_kernel = 1;
  c->b = cg_irb_new(tok[1]);
  if (!c->b) return perr(c, "out of memory");
  uint32_t g[3] = {1, 1, 1}, l[3] = {1, 1, 1};
  uint64_t flops = 0, bytes = 0;
  for (int k = 2; k < n;) {
    const char *key = tok[k];
    if (!strcmp(key, "ir") && k + 1 < n) {
      unsigned maj, min;
      char extra;
      if (sscanf(tok[k + 1], "%u.%u%c", &maj, &min, &extra) != 2 || maj != CG_IR_VERSION_MAJOR ||
          min > CG_IR_VERSION_MINOR)
        return perr(c, "unsupported IR version '%s'", tok[k + 1]);
      c->ir_minor = min;
      k += 2;
    } else if ((!strcmp(key, "global") || !strcmp(key, "local")) && k + 3 < n) {
      uint32_t *d = key[0] == 'g' ? g : l;
      for (int a = 0; a < 3; a++)
        if (parse_u32(tok[k + 1 + a], &d[a])) return perr(c, "bad %s size '%s'", key, tok[k + 1 + a]);
      k += 4;
    } else if ((!strcmp(key, "flops") || !strcmp(key, "bytes")) && k + 1 < n) {
      if (parse_u64(tok[k + 1], key[0] == 'f' ? &flops : &bytes)) return perr(c, "bad %s '%s'", key, tok[k + 1]);
      k += 2;
    } else {
      return perr(c, "unexpected '%s' in kernel line", key);
    }
  }
  cg_irb_set_launch(c->b, g, l);
  cg_irb_set_cost(c->b, flops, bytes);
  return 0;
}

/* param K SCALAR (r|w|rw|<flags>) COUNT */
static int parse_param(pctx *c, char **tok, int n, int expect) {
  uint32_t k, fl;
  int64_t count;
  if (n != 5) return perr(c, "'param' needs: param K TYPE FLAGS COUNT");
  if (parse_u32(tok[1], &k) || (int)k != expect) return perr(c, "param index must be %d", expect);
  int sc = parse_scalar(tok[2], strlen(tok[2]));
  if (sc < 0) return perr(c, "bad param type '%s'", tok[2]);
  if (!strcmp(tok[3], "r")) fl = CG_IR_PARAM_READ;
  else if (!strcmp(tok[3], "w")) fl = CG_IR_PARAM_WRITE;
  else if (!strcmp(tok[3], "rw")) fl = CG_IR_PARAM_READ | CG_IR_PARAM_WRITE;
  else if (parse_u32(tok[3], &fl) || fl > 255) return perr(c, "bad param flags '%s'", tok[3]);
  if (parse_i64(tok[4], &count)) return perr(c, "bad param count '%s'", tok[4]);
  return cg_irb_param(c->b, (cg_ir_scalar)sc, (int)fl, count) < 0 ? perr(c, "out of memory") : 0;
}

/* var K NAME MIN MAX */
static int parse_var(pctx *c, char **tok, int n, int expect) {
  uint32_t k;
  int64_t lo, hi;
  if (n != 5) return perr(c, "'var' needs: var K NAME MIN MAX");
  if (parse_u32(tok[1], &k) || (int)k != expect) return perr(c, "var index must be %d", expect);
  if (!is_ident(tok[2], 32)) return perr(c, "var name must be [A-Za-z0-9_], < 32 chars");
  if (parse_i64(tok[3], &lo) || parse_i64(tok[4], &hi)) return perr(c, "bad var range");
  return cg_irb_var(c->b, tok[2], lo, hi) < 0 ? perr(c, "out of memory") : 0;
}

/* %N = OP TYPE [%src ...] [ARG] */
static int parse_inst(pctx *c, char **tok, int n) {
  uint32_t idx;
  int32_t srcs[MAX_TOKENS];
  int nsrc = 0;
  if (parse_u32(tok[0] + 1, &idx) || (int32_t)idx != cg_irb_count(c->b))
    return perr(c, "instruction must be numbered %%%d", cg_irb_count(c->b));
  if (n < 4 || strcmp(tok[1], "=")) return perr(c, "expected '%%N = OP TYPE ...'");
  int op = parse_op(tok[2]);
  if (op < 0) return perr(c, "unknown op '%s'", tok[2]);
  cg_ir_type t;
  if (parse_type(tok[3], &t)) return perr(c, "bad type '%s'", tok[3]);
  int k = 4;
  for (; k < n && tok[k][0] == '%'; k++) {
    uint32_t s;
    if (parse_u32(tok[k] + 1, &s) || s > INT32_MAX) return perr(c, "bad source '%s'", tok[k]);
    srcs[nsrc++] = (int32_t)s;
  }
  int64_t arg = 0;
  if (k < n && parse_arg(c, (cg_ir_op)op, t, tok[k++], &arg)) return -1;
  if (k < n) return perr(c, "unexpected '%s'", tok[k]);
  return cg_irb_emit(c->b, (cg_ir_op)op, t, nsrc, srcs, arg) < 0 ? perr(c, "out of memory") : 0;
}

/* Splits line (modified in place) at blanks, dropping a '#' comment. */
static int tokenize(char *line, char **tok) {
  char *hash = strchr(line, '#');
  if (hash) *hash = 0;
  int n = 0;
  for (char *s = line; *s;) {
    while (*s == ' ' || *s == '\t' || *s == '\r') *s++ = 0;
    if (!*s) break;
    if (n == MAX_TOKENS) return -1;
    tok[n++] = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '\r') s++;
  }
  return n;
}

static int parse_line(pctx *c, char *line) {
  char *tok[MAX_TOKENS];
  int n = tokenize(line, tok);
  if (n < 0) return perr(c, "too many tokens");
  if (n == 0) return 0;
  if (!strcmp(tok[0], "kernel")) return parse_kernel(c, tok, n);
  if (!c->have_kernel) return perr(c, "expected 'kernel NAME ...' first");
  if (!strcmp(tok[0], "param")) return parse_param(c, tok, n, c->nparams++);
  if (!strcmp(tok[0], "var")) return parse_var(c, tok, n, c->nvars++);
  if (tok[0][0] == '%') return parse_inst(c, tok, n);
  return perr(c, "unexpected '%s'", tok[0]);
}

cg_ir_program *cg_ir_parse(const char *text, char *err, size_t errlen) {
  pctx c = {.err = err, .errlen = errlen, .ir_minor = CG_IR_VERSION_MINOR};
  if (err && errlen) err[0] = 0;
  if (!text) {
    perr(&c, "no text");
    return NULL;
  }
  int rc = 0;
  char *line = NULL;
  for (const char *s = text; *s && !rc;) {
    size_t n = strcspn(s, "\n");
    char *l = realloc(line, n + 1);
    if (!l) {
      rc = perr(&c, "out of memory");
      break;
    }
    line = l;
    memcpy(line, s, n);
    line[n] = 0;
    c.line++;
    rc = parse_line(&c, line);
    s += n + (s[n] == '\n');
  }
  free(line);
  if (!rc && !c.have_kernel) rc = perr(&c, "no 'kernel' line");
  cg_ir_program *p = rc ? NULL : cg_irb_finish(c.b);
  if (!rc && !p) perr(&c, "out of memory or too many instructions");
  if (p) p->version_minor = (uint16_t)c.ir_minor;
  cg_irb_free(c.b);
  return p;
}
