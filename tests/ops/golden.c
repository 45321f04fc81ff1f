/* Golden file reader for the op tests and host-side dtype conversions.
 * The file is a stream of whitespace-separated tokens (format in gen_goldens.py); it is
 * read whole, tokens are cut in place, names point into the buffer. */
#include "golden.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/files.h"

/* ---- dtypes ---- */

static const struct {
  cg_dtype dt;
  const char *name;
  size_t size;
} dtypes[] = {
    {CG_BOOL, "bool", 1},         {CG_INT8, "int8", 1},       {CG_INT16, "int16", 2},
    {CG_INT32, "int32", 4},       {CG_INT64, "int64", 8},     {CG_UINT8, "uint8", 1},
    {CG_UINT16, "uint16", 2},     {CG_UINT32, "uint32", 4},   {CG_UINT64, "uint64", 8},
    {CG_FLOAT16, "float16", 2},   {CG_BFLOAT16, "bfloat16", 2}, {CG_FLOAT32, "float32", 4},
    {CG_FLOAT64, "float64", 8},
};

bool gt_dtype_parse(const char *s, cg_dtype *dt) {
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (strcmp(dtypes[i].name, s) == 0) {
      *dt = dtypes[i].dt;
      return true;
    }
  return false;
}

const char *gt_dtype_str(cg_dtype dt) {
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].dt == dt) return dtypes[i].name;
  return "?";
}

size_t gt_dtype_size(cg_dtype dt) {
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].dt == dt) return dtypes[i].size;
  return 0;
}

bool gt_is_float(cg_dtype dt) {
  return dt == CG_FLOAT16 || dt == CG_BFLOAT16 || dt == CG_FLOAT32 || dt == CG_FLOAT64;
}

/* float32 -> IEEE half, round to nearest even (subnormals, inf, nan handled). */
uint16_t gt_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
  int32_t e8 = (int32_t)((x >> 23) & 0xff), exp = e8 - 127 + 15;
  if (e8 == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
  if (exp <= 0) { /* half subnormal: value = h * 2^-24 */
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* carry may bump the exponent */
  return (uint16_t)(sign | h);
}

float gt_f16_to_f32(uint16_t h) {
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float v;
  if (e == 0)
    v = ldexpf((float)m, -24);
  else if (e == 31)
    v = m ? NAN : INFINITY;
  else
    v = ldexpf((float)(m | 0x400u), (int)e - 25);
  return (h & 0x8000u) ? -v : v;
}

uint16_t gt_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* nan */
  x += 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)(x >> 16);
}

float gt_bf16_to_f32(uint16_t h) {
  uint32_t x = (uint32_t)h << 16;
  float f;
  memcpy(&f, &x, 4);
  return f;
}

void gt_store(cg_dtype dt, void *buf, int64_t i, double v) {
  switch (dt) {
  case CG_BOOL: ((uint8_t *)buf)[i] = v != 0; break;
  case CG_INT8: ((int8_t *)buf)[i] = (int8_t)v; break;
  case CG_INT16: ((int16_t *)buf)[i] = (int16_t)v; break;
  case CG_INT32: ((int32_t *)buf)[i] = (int32_t)v; break;
  case CG_INT64: ((int64_t *)buf)[i] = (int64_t)v; break;
  case CG_UINT8: ((uint8_t *)buf)[i] = (uint8_t)v; break;
  case CG_UINT16: ((uint16_t *)buf)[i] = (uint16_t)v; break;
  case CG_UINT32: ((uint32_t *)buf)[i] = (uint32_t)v; break;
  case CG_UINT64: ((uint64_t *)buf)[i] = (uint64_t)v; break;
  case CG_FLOAT16: ((uint16_t *)buf)[i] = gt_f32_to_f16((float)v); break;
  case CG_BFLOAT16: ((uint16_t *)buf)[i] = gt_f32_to_bf16((float)v); break;
  case CG_FLOAT32: ((float *)buf)[i] = (float)v; break;
  case CG_FLOAT64: ((double *)buf)[i] = v; break;
  default: break;
  }
}

double gt_load_elem(cg_dtype dt, const void *buf, int64_t i) {
  switch (dt) {
  case CG_BOOL: return ((const uint8_t *)buf)[i] != 0;
  case CG_INT8: return ((const int8_t *)buf)[i];
  case CG_INT16: return ((const int16_t *)buf)[i];
  case CG_INT32: return ((const int32_t *)buf)[i];
  case CG_INT64: return (double)((const int64_t *)buf)[i];
  case CG_UINT8: return ((const uint8_t *)buf)[i];
  case CG_UINT16: return ((const uint16_t *)buf)[i];
  case CG_UINT32: return ((const uint32_t *)buf)[i];
  case CG_UINT64: return (double)((const uint64_t *)buf)[i];
  case CG_FLOAT16: return gt_f16_to_f32(((const uint16_t *)buf)[i]);
  case CG_BFLOAT16: return gt_bf16_to_f32(((const uint16_t *)buf)[i]);
  case CG_FLOAT32: return ((const float *)buf)[i];
  case CG_FLOAT64: return ((const double *)buf)[i];
  default: return NAN;
  }
}

const char *gt_shape_str(int ndim, const int64_t *shape, char *buf, size_t len) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, len - o, "(");
  for (int i = 0; i < ndim && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (o < len) snprintf(buf + o, len - o, ")");
  return buf;
}

/* ---- reader ---- */

typedef struct {
  char *p;
  char *err;
  size_t errlen;
  int line;
} lexer;

/* Next token (cut in place), or NULL at end of input. */
static char *next_tok(lexer *lx) {
  char *p = lx->p;
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
    if (*p == '\n') lx->line++;
    p++;
  }
  if (!*p) {
    lx->p = p;
    return NULL;
  }
  char *start = p;
  while (*p && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') p++;
  if (*p) {
    if (*p == '\n') lx->line++;
    *p++ = 0;
  }
  lx->p = p;
  return start;
}

static bool fail(lexer *lx, const char *what) {
  snprintf(lx->err, lx->errlen, "goldens line %d: %s", lx->line, what);
  return false;
}

static bool expect(lexer *lx, const char *word) {
  char *t = next_tok(lx);
  if (!t || strcmp(t, word) != 0) return fail(lx, word);
  return true;
}

static bool read_num(lexer *lx, double *v) {
  char *t = next_tok(lx), *end;
  if (!t) return fail(lx, "number expected, got end of file");
  errno = 0;
  *v = strtod(t, &end);
  if (*end) return fail(lx, "bad number");
  return true;
}

static bool read_int(lexer *lx, int64_t *v) {
  double d;
  if (!read_num(lx, &d)) return false;
  *v = (int64_t)d;
  return true;
}

static bool read_values(lexer *lx, int64_t n, double **out) {
  *out = calloc((size_t)(n ? n : 1), sizeof(double));
  if (!*out) return fail(lx, "out of memory");
  for (int64_t i = 0; i < n; i++)
    if (!read_num(lx, &(*out)[i])) return false;
  return true;
}

/* "t <dtype> <ndim> <dims...> <values...>" */
static bool read_tensor(lexer *lx, gt_tensor *t) {
  if (!expect(lx, "t")) return false;
  char *dts = next_tok(lx);
  if (!dts || !gt_dtype_parse(dts, &t->dt)) return fail(lx, "bad dtype");
  int64_t nd;
  if (!read_int(lx, &nd) || nd < 0 || nd > GT_MAX_DIMS) return fail(lx, "bad ndim");
  t->ndim = (int)nd;
  t->n = 1;
  for (int i = 0; i < t->ndim; i++) {
    if (!read_int(lx, &t->shape[i]) || t->shape[i] < 0) return fail(lx, "bad dim");
    t->n *= t->shape[i];
  }
  return read_values(lx, t->n, &t->v);
}

static bool read_case(lexer *lx, gt_case *c) {
  int64_t nin, hg;
  c->name = next_tok(lx);
  c->key = next_tok(lx);
  if (!c->key || !read_int(lx, &nin) || !read_int(lx, &hg)) return fail(lx, "bad case line");
  if (nin < 0 || nin > GT_MAX_IN) return fail(lx, "too many inputs");
  c->nin = (int)nin;
  c->has_grad = hg != 0;
  for (int i = 0; i < c->nin; i++)
    if (!read_tensor(lx, &c->in[i])) return false;
  if (!read_tensor(lx, &c->out)) return false;
  if (!c->has_grad) return true;
  c->cot = c->out;
  c->cot.v = NULL;
  if (!expect(lx, "c") || !read_values(lx, c->out.n, &c->cot.v)) return false;
  for (int i = 0; i < c->nin; i++) {
    int64_t flag;
    if (!expect(lx, "g") || !read_int(lx, &flag)) return false;
    c->has_g[i] = flag != 0;
    if (c->has_g[i] && !read_values(lx, c->in[i].n, &c->g[i])) return false;
  }
  return true;
}

bool gt_load(const char *path, gt_file *f, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  f->buf = test_read_file(path);
  if (!f->buf) {
    snprintf(err, errlen, "cannot read %s", path);
    return false;
  }
  lexer lx = {f->buf, err, errlen, 1};
  char *magic = next_tok(&lx), *ver = next_tok(&lx);
  if (!magic || strcmp(magic, "cgrad-op-goldens") != 0 || !ver || strcmp(ver, "1") != 0)
    return fail(&lx, "not a cgrad-op-goldens 1 file");
  int cap = 0;
  for (char *t; (t = next_tok(&lx));) {
    if (strcmp(t, "case") != 0) return fail(&lx, "'case' expected");
    if (f->n == cap) {
      cap = cap ? cap * 2 : 256;
      gt_case *nc = realloc(f->cases, (size_t)cap * sizeof *nc);
      if (!nc) return fail(&lx, "out of memory");
      f->cases = nc;
    }
    gt_case *c = &f->cases[f->n++];
    memset(c, 0, sizeof *c);
    if (!read_case(&lx, c)) return false;
  }
  return true;
}

void gt_free(gt_file *f) {
  for (int i = 0; i < f->n; i++) {
    gt_case *c = &f->cases[i];
    for (int j = 0; j < c->nin; j++) {
      free(c->in[j].v);
      free(c->g[j]);
    }
    free(c->out.v);
    free(c->cot.v);
  }
  free(f->cases);
  free(f->buf);
  memset(f, 0, sizeof *f);
}
