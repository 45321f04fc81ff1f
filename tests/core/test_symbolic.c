/* Unit tests of the symbolic index simplifier (core/symbolic.c): exact folds of the
 * patterns views produce, plus a randomized check that simplification never changes
 * the value of an expression for any value of its loop variables. */
#include <stdio.h>

#include "symbolic.h"

static int fails, checks;
#define CHECK(cond, ...) do { checks++; if (!(cond)) { fails++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static UOp *c(int64_t v) { return uop_const(CG_INT32, (double)v); }
static UOp *var(int id, int64_t end) {
  int64_t a[2] = {id, 0};
  UOp *e = c(end);
  return uop_new(UOP_RANGE, CG_INT32, 1, &e, 2, a, 0, NULL);
}
static UOp *add(UOp *a, UOp *b) { return uop_2(UOP_ADD, CG_INT32, a, b); }
static UOp *mul(UOp *a, int64_t k) { return uop_2(UOP_MUL, CG_INT32, a, c(k)); }
static UOp *dv(UOp *a, int64_t k) { return uop_2(UOP_IDIV, CG_INT32, a, c(k)); }
static UOp *md(UOp *a, int64_t k) { return uop_2(UOP_MOD, CG_INT32, a, c(k)); }

/* Evaluate an int expression with variable values vals[id]. */
static int64_t eval(UOp *u, const int64_t *vals) {
  int64_t a = u->nsrc > 0 ? eval(u->src[0], vals) : 0, b = u->nsrc > 1 ? eval(u->src[1], vals) : 0;
  switch (u->op) {
  case UOP_CONST: return (int64_t)u->val;
  case UOP_RANGE: return vals[u->args[0]];
  case UOP_ADD: return a + b;
  case UOP_SUB: return a - b;
  case UOP_MUL: return a * b;
  case UOP_IDIV: return b ? a / b : 0;
  case UOP_MOD: return b ? a % b : 0;
  case UOP_CMPLT: return a < b;
  case UOP_AND: return a && b;
  case UOP_NEG: return !a;
  case UOP_WHERE: return a ? b : eval(u->src[2], vals);
  default: printf("eval: unexpected %s\n", uop_names[u->op]); return 0;
  }
}

static int count_ops(UOp *u, int op) {
  int n = u->op == op;
  for (int i = 0; i < u->nsrc; i++) n += count_ops(u->src[i], op);
  return n;
}

static uint64_t rng = 12345;
static uint64_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static UOp *random_expr(UOp **vars, int nvars, int depth) {
  if (depth == 0 || rnd() % 4 == 0) return rnd() % 3 ? vars[rnd() % (uint64_t)nvars] : c((int64_t)(rnd() % 7));
  UOp *a = random_expr(vars, nvars, depth - 1);
  int64_t k = (int64_t)(rnd() % 6) + 1;
  switch (rnd() % 5) {
  case 0: return add(a, random_expr(vars, nvars, depth - 1));
  case 1: return mul(a, k);
  case 2: return dv(a, k);
  case 3: return md(a, k);
  default: return add(mul(dv(a, k), k), md(a, k));
  }
}

int main(void) {
  uop_pool_push();
  UOp *x = var(0, 24), *y = var(1, 4), *z = var(2, 8);
  CHECK(sym_simplify(add(mul(dv(x, 4), 4), md(x, 4))) == x, "(x/4)*4 + x%%4 -> x");
  /* flat index of a (2,3,4) view of a range over 24 elements */
  UOp *flat = add(add(mul(md(dv(x, 12), 2), 12), mul(md(dv(x, 4), 3), 4)), md(x, 4));
  CHECK(sym_simplify(flat) == x, "unflatten/flatten recombines to x");
  CHECK(sym_simplify(md(y, 8)) == y, "y%%8 -> y when 0<=y<4");
  CHECK(sym_simplify(dv(y, 4)) == c(0), "y/4 -> 0 when 0<=y<4");
  CHECK(sym_simplify(dv(add(mul(z, 4), y), 4)) == z, "(4z+y)/4 -> z");
  CHECK(sym_simplify(md(add(mul(z, 4), y), 4)) == y, "(4z+y)%%4 -> y");
  CHECK(sym_simplify(add(c(3), c(4))) == c(7), "3+4 -> 7");
  CHECK(sym_simplify(add(z, c(0))) == z, "z+0 -> z");
  CHECK(sym_simplify(mul(z, 1)) == z, "z*1 -> z");
  CHECK(sym_simplify(uop_2(UOP_CMPLT, CG_BOOL, z, c(8)))->val == 1, "z<8 -> true");
  CHECK(sym_simplify(uop_2(UOP_CMPLT, CG_BOOL, z, c(0)))->val == 0, "z<0 -> false");
  CHECK(sym_simplify(add(mul(z, 3), mul(z, 2))) == sym_simplify(mul(z, 5)), "3z+2z -> 5z");
  CHECK(count_ops(sym_simplify(dv(dv(x, 2), 3)), UOP_IDIV) == 1, "(x/2)/3 -> x/6");
  /* randomized: simplification preserves values */
  UOp *vars[3] = {x, y, z};
  for (int t = 0; t < 400; t++) {
    UOp *e = random_expr(vars, 3, 4), *s = sym_simplify(e);
    for (int64_t vx = 0; vx < 24; vx += 5)
      for (int64_t vy = 0; vy < 4; vy++)
        for (int64_t vz = 0; vz < 8; vz += 3) {
          int64_t v[3] = {vx, vy, vz};
          if (eval(e, v) != eval(s, v)) {
            char *a = uop_print(e), *b = uop_print(s);
            CHECK(0, "value changed at x=%lld y=%lld z=%lld:\n%s-> \n%s", (long long)vx, (long long)vy, (long long)vz, a, b);
            free(a); free(b);
            vx = 99; vy = 99; vz = 99;
          }
        }
  }
  uop_pool_pop();
  CHECK(uop_live_count() == 0, "all nodes freed, %zu live", uop_live_count());
  printf("%d passed, %d failed\n", checks - fails, fails);
  return fails != 0;
}
