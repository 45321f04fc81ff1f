/* Symbolic simplifier for kernel ASTs: constant folding, identities, and integer index
 * math in a canonical linear form with value ranges (div/mod folding, recombination
 * of (x/c)*c + x%c, mask folding). Without it every view costs divisions in the inner
 * loop; with it a contiguous view is a plain i*stride.
 *
 * Integer IDIV/MOD truncate (C semantics); folds that assume floor semantics are only
 * applied when value ranges prove both sides non-negative. */
#include <math.h>

#include "symbolic.h"

#define INF_LO ((int64_t)INT32_MIN)
#define INF_HI ((int64_t)INT32_MAX)

static bool is_c(const UOp *u) { return u->op == UOP_CONST; }
static bool is_intlike(cg_dtype d) { return d != CG_BOOL && d < CG_FLOAT16; }
/* index math: signed types whose values the rules may treat as plain integers */
static bool is_index(cg_dtype d) { return d == CG_INT32 || d == CG_INT64; }

/* ---- value ranges ---- */
static void range_of(const UOp *u, int64_t *lo, int64_t *hi);

/* Ranges are cached on the node (a pure function of its structure). */
void sym_range(const UOp *u, int64_t *lo, int64_t *hi) {
  if (!u->vrange) {
    UOp *m = (UOp *)u; /* the cache is not part of the node's identity */
    range_of(u, &m->vmin, &m->vmax);
    m->vrange = true;
  }
  *lo = u->vmin, *hi = u->vmax;
}

static void range_of(const UOp *u, int64_t *lo, int64_t *hi) {
  int64_t a, b, c, d;
  *lo = INF_LO, *hi = INF_HI;
  switch (u->op) {
  case UOP_CONST: *lo = *hi = (int64_t)u->val; return;
  case UOP_RANGE: *lo = 0; *hi = (int64_t)u->src[0]->val - 1; return;
  case UOP_VAR: *lo = u->args[0]; *hi = u->args[1]; return;
  case UOP_ADD:
    sym_range(u->src[0], &a, &b); sym_range(u->src[1], &c, &d);
    *lo = a + c; *hi = b + d; break;
  case UOP_SUB:
    sym_range(u->src[0], &a, &b); sym_range(u->src[1], &c, &d);
    *lo = a - d; *hi = b - c; break;
  case UOP_MUL:
    if (!is_c(u->src[1])) return;
    sym_range(u->src[0], &a, &b);
    c = (int64_t)u->src[1]->val;
    *lo = c >= 0 ? a * c : b * c; *hi = c >= 0 ? b * c : a * c; break;
  case UOP_IDIV:
    sym_range(u->src[0], &a, &b);
    if (!is_c(u->src[1]) || u->src[1]->val <= 0 || a < 0) return;
    *lo = a / (int64_t)u->src[1]->val; *hi = b / (int64_t)u->src[1]->val; return;
  case UOP_MOD:
    sym_range(u->src[0], &a, &b);
    if (!is_c(u->src[1]) || u->src[1]->val <= 0 || a < 0) return;
    *lo = 0; *hi = b < (int64_t)u->src[1]->val - 1 ? b : (int64_t)u->src[1]->val - 1; return;
  case UOP_MAX:
    sym_range(u->src[0], &a, &b); sym_range(u->src[1], &c, &d);
    *lo = a > c ? a : c; *hi = b > d ? b : d; return;
  case UOP_WHERE:
    sym_range(u->src[1], &a, &b); sym_range(u->src[2], &c, &d);
    *lo = a < c ? a : c; *hi = b > d ? b : d; return;
  case UOP_XOR: /* ~x = x ^ -1 = -x - 1 (cg_minimum on ints: ~max(~a, ~b)) */
    if (!is_c(u->src[1]) || u->src[1]->val != -1) return;
    sym_range(u->src[0], &a, &b);
    *lo = -b - 1; *hi = -a - 1; break;
  case UOP_CMPLT: case UOP_CMPNE: case UOP_CMPEQ: *lo = 0; *hi = 1; return;
  default: return;
  }
  if (*lo < INF_LO * 4 || *hi > INF_HI * 4) *lo = INF_LO, *hi = INF_HI;
}

/* ---- linear forms: sum(coef * atom) + k ---- */
#define LIN_MAX 24
typedef struct { UOp *atom; int64_t c; } term;
typedef struct { term t[LIN_MAX]; int n; int64_t k; bool overflow; } lin;

static UOp *simp_int(UOp *u);

static void lin_add_atom(lin *l, UOp *a, int64_t c) {
  for (int i = 0; i < l->n; i++)
    if (l->t[i].atom == a) { l->t[i].c += c; return; }
  if (l->n == LIN_MAX) { l->overflow = true; return; }
  l->t[l->n++] = (term){a, c};
}

static void to_lin(lin *l, UOp *u, int64_t scale) {
  if (is_c(u)) { l->k += (int64_t)u->val * scale; return; }
  if (u->op == UOP_ADD) { to_lin(l, u->src[0], scale); to_lin(l, u->src[1], scale); return; }
  if (u->op == UOP_SUB) { to_lin(l, u->src[0], scale); to_lin(l, u->src[1], -scale); return; }
  if (u->op == UOP_MUL && is_c(u->src[1])) { to_lin(l, u->src[0], scale * (int64_t)u->src[1]->val); return; }
  if (u->op == UOP_MUL && is_c(u->src[0])) { to_lin(l, u->src[1], scale * (int64_t)u->src[0]->val); return; }
  int64_t lo, hi;
  sym_range(u, &lo, &hi);
  if (lo == hi) l->k += lo * scale; /* an atom with one possible value is a constant */
  else lin_add_atom(l, u, scale);
}

static void lin_range(const lin *l, int64_t *lo, int64_t *hi) {
  *lo = *hi = l->k;
  for (int i = 0; i < l->n; i++) {
    int64_t a, b;
    sym_range(l->t[i].atom, &a, &b);
    if (a == INF_LO || b == INF_HI) { *lo = INF_LO; *hi = INF_HI; return; }
    int64_t c = l->t[i].c;
    *lo += c >= 0 ? a * c : b * c;
    *hi += c >= 0 ? b * c : a * c;
  }
}

static int term_cmp(const void *x, const void *y) {
  const term *a = x, *b = y;
  return a->atom->hash < b->atom->hash ? -1 : a->atom->hash > b->atom->hash;
}

static UOp *lin_build(lin *l, cg_dtype dt) {
  qsort(l->t, (size_t)l->n, sizeof(term), term_cmp);
  UOp *r = NULL;
  for (int i = 0; i < l->n; i++) {
    if (l->t[i].c == 0) continue;
    UOp *x = l->t[i].c == 1 ? l->t[i].atom : uop_2(UOP_MUL, dt, l->t[i].atom, uop_const(dt, (double)l->t[i].c));
    r = r ? uop_2(UOP_ADD, dt, r, x) : x;
  }
  if (!r) return uop_const(dt, (double)l->k);
  return l->k ? uop_2(UOP_ADD, dt, r, uop_const(dt, (double)l->k)) : r;
}

/* Recombine (x/c)*(k*c) + (x%c)*k -> x*k and ((x/a)%b)*(k*a) + (x%a)*k -> (x%(a*b))*k. */
static bool recombine(lin *l) {
  for (int i = 0; i < l->n; i++) {
    UOp *m = l->t[i].atom;
    if (m->op != UOP_MOD || !is_c(m->src[1]) || l->t[i].c == 0) continue;
    UOp *x = m->src[0];
    int64_t a = (int64_t)m->src[1]->val, k = l->t[i].c;
    for (int j = 0; j < l->n; j++) {
      UOp *d = l->t[j].atom;
      if (j == i || l->t[j].c != k * a) continue;
      if (d->op == UOP_IDIV && d->src[0] == x && d->src[1] == m->src[1]) {
        l->t[i].c = l->t[j].c = 0;
        to_lin(l, x, k);
        return true;
      }
      if (d->op == UOP_MOD && is_c(d->src[1]) && d->src[0]->op == UOP_IDIV &&
          d->src[0]->src[0] == x && d->src[0]->src[1] == m->src[1]) {
        l->t[i].c = l->t[j].c = 0;
        UOp *nm = simp_int(uop_2(UOP_MOD, m->dtype, x, uop_const(m->dtype, (double)(a * (int64_t)d->src[1]->val))));
        to_lin(l, nm, k);
        return true;
      }
    }
  }
  return false;
}

static void lin_of(lin *l, UOp *u) {
  memset(l, 0, sizeof *l);
  to_lin(l, u, 1);
  for (int i = 0; i < l->n; i++) {
    UOp *s = simp_int(l->t[i].atom);
    if (s != l->t[i].atom) {
      int64_t c = l->t[i].c;
      l->t[i].c = 0;
      to_lin(l, s, c);
    }
  }
  while (!l->overflow && recombine(l)) {}
}

static int64_t gcd64(int64_t a, int64_t b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b) { int64_t t = a % b; a = b; b = t; }
  return a;
}

/* x // c or x % c for c > 0, with x's linear form l. */
static UOp *divmod(UOp *u, bool is_mod) {
  int64_t c = (int64_t)u->src[1]->val, lo, hi;
  lin l, q = {0}, r = {0};
  lin_of(&l, u->src[0]);
  lin_range(&l, &lo, &hi);
  if (l.overflow || lo < 0) return NULL;
  if (hi < c) return is_mod ? lin_build(&l, u->dtype) : uop_const(u->dtype, 0);
  for (int i = 0; i < l.n; i++) {
    if (l.t[i].c % c == 0) lin_add_atom(&q, l.t[i].atom, l.t[i].c / c);
    else lin_add_atom(&r, l.t[i].atom, l.t[i].c);
  }
  q.k = l.k / c; r.k = l.k % c;
  lin_range(&r, &lo, &hi);
  if (lo < 0) return NULL;
  if (is_mod) {
    if (hi < c) return lin_build(&r, u->dtype);
    if (q.n == 0 && q.k == 0) return NULL;
    return uop_2(UOP_MOD, u->dtype, lin_build(&r, u->dtype), u->src[1]);
  }
  UOp *rest = NULL;
  if (hi >= c) {
    int64_t g = c;
    for (int i = 0; i < r.n; i++) g = gcd64(g, r.t[i].c);
    g = gcd64(g, r.k);
    if (g > 1) {
      for (int i = 0; i < r.n; i++) r.t[i].c /= g;
      r.k /= g;
    }
    if (q.n == 0 && q.k == 0 && g == 1) return NULL;
    rest = uop_2(UOP_IDIV, u->dtype, lin_build(&r, u->dtype), uop_const(u->dtype, (double)(c / g)));
    lin_add_atom(&q, rest, 1);
  }
  return lin_build(&q, u->dtype);
}

/* Simplify one integer node whose srcs are already simplified. NULL = unchanged. */
static UOp *simp_int_node(UOp *u) {
  if (!is_index(u->dtype)) return NULL;
  if ((u->op == UOP_IDIV || u->op == UOP_MOD) && is_c(u->src[1]) && u->src[1]->val > 0) {
    UOp *s = u->src[0];
    int64_t c = (int64_t)u->src[1]->val, lo, hi;
    sym_range(s, &lo, &hi);
    if (c == 1) return u->op == UOP_IDIV ? s : uop_const(u->dtype, 0);
    /* (x//a)//b -> x//(a*b) and (x%a)%b -> x%b when b divides a, for x >= 0 */
    if (u->op == UOP_IDIV && s->op == UOP_IDIV && is_c(s->src[1]) && lo >= 0)
      return uop_2(UOP_IDIV, u->dtype, s->src[0], uop_const(u->dtype, s->src[1]->val * (double)c));
    if (u->op == UOP_MOD && s->op == UOP_MOD && is_c(s->src[1]) && lo >= 0 &&
        (int64_t)s->src[1]->val % c == 0)
      return uop_2(UOP_MOD, u->dtype, s->src[0], u->src[1]);
    return divmod(u, u->op == UOP_MOD);
  }
  if (u->op == UOP_ADD || u->op == UOP_SUB || (u->op == UOP_MUL && (is_c(u->src[0]) || is_c(u->src[1])))) {
    lin l;
    lin_of(&l, u);
    if (l.overflow) return NULL;
    UOp *r = lin_build(&l, u->dtype);
    return r == u ? NULL : r;
  }
  return NULL;
}

static UOp *simp_int(UOp *u) {
  UOp *r = simp_int_node(u);
  return r ? r : u;
}

/* ---- rules ---- */
static double wrap_int(cg_dtype dt, double v) {
  switch (dt) {
  case CG_BOOL: return v != 0;
  case CG_INT8: return (double)(int8_t)(int64_t)v;
  case CG_INT16: return (double)(int16_t)(int64_t)v;
  case CG_INT32: return (double)(int32_t)(int64_t)v;
  case CG_UINT8: return (double)(uint8_t)(int64_t)v;
  case CG_UINT16: return (double)(uint16_t)(int64_t)v;
  case CG_UINT32: return (double)(uint32_t)(int64_t)v;
  case CG_FLOAT32: return (double)(float)v;
  default: return v;
  }
}

/* op(c1, c2, ...) -> c, for the ops whose result is unambiguous in double arithmetic */
static UOp *fold_const(UOp *u, void *ctx) {
  if (!(uop_groups[u->op] & G_A) || u->nsrc == 0) return NULL;
  for (int i = 0; i < u->nsrc; i++)
    if (!is_c(u->src[i])) return NULL;
  double a = u->src[0]->val, b = u->nsrc > 1 ? u->src[1]->val : 0, r;
  bool fl = u->dtype >= CG_FLOAT16 || (u->nsrc > 1 && u->src[0]->dtype >= CG_FLOAT16);
  if (u->dtype == CG_INT64 || u->dtype == CG_UINT64 || u->dtype == CG_FLOAT16 || u->dtype == CG_BFLOAT16)
    return NULL;
  switch (u->op) {
  case UOP_ADD: r = a + b; break;
  case UOP_SUB: r = a - b; break;
  case UOP_MUL: r = a * b; break;
  case UOP_NEG: r = u->dtype == CG_BOOL ? !a : -a; break;
  case UOP_MAX: if (fl) return NULL; r = a > b ? a : b; break;
  case UOP_CMPLT: r = a < b; break;
  case UOP_CMPEQ: r = a == b; break;
  case UOP_CMPNE: r = a != b; break;
  case UOP_IDIV: if (fl) return NULL; r = b == 0 ? 0 : trunc(a / b); break;
  case UOP_MOD: if (fl) return NULL; r = b == 0 ? 0 : fmod(a, b); break;
  case UOP_AND: if (u->dtype != CG_BOOL) return NULL; r = a && b; break;
  case UOP_OR: if (u->dtype != CG_BOOL) return NULL; r = a || b; break;
  case UOP_WHERE: r = a ? b : u->src[2]->val; break;
  case UOP_CAST:
    if (u->dtype == CG_BOOL) { r = a != 0; break; }
    if (u->dtype >= CG_FLOAT16) { r = a; break; }
    if (!(a > -2147483648.0 && a < 2147483648.0)) return NULL;
    r = trunc(a); break;
  default: return NULL;
  }
  if (fl && u->op != UOP_CMPLT && u->op != UOP_CMPEQ && u->op != UOP_CMPNE && u->op != UOP_WHERE &&
      u->op != UOP_CAST && fabs(r) > 1e300) return NULL;
  return uop_const(u->dtype, wrap_int(u->dtype, r));
}

/* integer index math -> canonical linear form, div/mod folding */
static UOp *int_math(UOp *u, void *ctx) { return simp_int_node(u); }

static UOp *cmplt_range(UOp *u, void *ctx) {
  if (!is_intlike(u->src[0]->dtype)) return NULL;
  int64_t a, b, c, d;
  sym_range(u->src[0], &a, &b);
  sym_range(u->src[1], &c, &d);
  if (a == INF_LO || c == INF_LO) return NULL;
  if (b < c) return uop_const(CG_BOOL, 1);  /* a < b always */
  if (a >= d) return uop_const(CG_BOOL, 0); /* a >= b always */
  return NULL;
}

static UOp *and_const(UOp *u, void *ctx) {
  if (u->dtype != CG_BOOL) return NULL;
  for (int i = 0; i < 2; i++) {
    UOp *c = u->src[i], *o = u->src[1 - i];
    if (is_c(c)) return c->val ? o : c; /* x & true -> x, x & false -> false */
  }
  return u->src[0] == u->src[1] ? u->src[0] : NULL; /* x & x -> x */
}

static UOp *where_const(UOp *u, void *ctx) {
  if (is_c(u->src[0])) return u->src[0]->val ? u->src[1] : u->src[2]; /* where(c,a,b) -> a|b */
  return u->src[1] == u->src[2] ? u->src[1] : NULL;                   /* where(c,a,a) -> a */
}

static UOp *identities(UOp *u, void *ctx) {
  UOp *a = u->src[0], *b = u->src[1];
  bool ib = is_c(b), ia = is_c(a);
  if (u->op == UOP_ADD && ib && b->val == 0) return a;                 /* x+0 -> x */
  if (u->op == UOP_ADD && ia && a->val == 0) return b;                 /* 0+x -> x */
  if (u->op == UOP_MUL && ib && b->val == 1) return a;                 /* x*1 -> x */
  if (u->op == UOP_MUL && ia && a->val == 1) return b;                 /* 1*x -> x */
  if (u->op == UOP_MUL && is_intlike(u->dtype) && ((ib && b->val == 0) || (ia && a->val == 0)))
    return uop_const(u->dtype, 0);                                     /* x*0 -> 0 (ints) */
  if (u->op == UOP_FDIV && ib && b->val == 1) return a;                /* x/1 -> x */
  return NULL;
}

static UOp *cast_noop(UOp *u, void *ctx) {
  return u->src[0]->dtype == u->dtype ? u->src[0] : NULL; /* cast(x:T, T) -> x */
}

static const uop_rule rules[] = {
    {-1, fold_const, "op(c1, c2) -> c"},
    {UOP_ADD, identities, "x+0 -> x"},
    {UOP_MUL, identities, "x*1 -> x; x*0 -> 0 for ints"},
    {UOP_FDIV, identities, "x/1 -> x"},
    {UOP_ADD, int_math, "int sums -> sorted linear form, (x/c)*c + x%c -> x"},
    {UOP_SUB, int_math, "a-b -> a + (-1)*b linear form"},
    {UOP_MUL, int_math, "(a+b)*c -> a*c + b*c"},
    {UOP_IDIV, int_math, "(c*q + r)/c -> q + r/c; x/c -> 0 when 0<=x<c"},
    {UOP_MOD, int_math, "(c*q + r)%c -> r%c; x%c -> x when 0<=x<c"},
    {UOP_CMPLT, cmplt_range, "a<b -> true/false when ranges decide"},
    {UOP_AND, and_const, "x&true -> x; x&false -> false"},
    {UOP_WHERE, where_const, "where(true,a,b) -> a"},
    {UOP_CAST, cast_noop, "cast(x:T,T) -> x"},
};

UOp *sym_simplify(UOp *root) { return uop_rewrite(root, rules, (int)CG_ARRAY_LEN(rules), NULL); }
