/* Numerical conformance tables (rules 7.x) as read from sdk/conformance/cases/<name>.yaml by
 * cases.c and run by numerics.c. One YAML entry is one table: a kernel kind, the ops
 * (or target types) it covers, the element types and the shapes; entries sharing an id
 * form one numbered rule. */
#ifndef CG_CONF_NUM_H
#define CG_CONF_NUM_H

#include "conf_impl.h"

enum { NUM_MAX_OPS = 24, NUM_MAX_SHAPES = 8 };

typedef enum {
  K_UNARY,       /* out_k = OP_k(a) */
  K_BINARY,      /* out_k = OP_k(a, b) */
  K_COMPARE,     /* out_k (bool) = OP_k(a, b) */
  K_TERNARY,     /* WHERE(cond, a, b), MULACC(a, b, c) */
  K_CAST,        /* out_T = CAST<T>(a) for each T in `to` */
  K_BITCAST,     /* out_T = BITCAST<T>(a) for each same-size T in `to` */
  K_ELEMENTWISE, /* v = a; v = OP_k(v, b) for each op; out = v + CAST(var k); over 1-3-D grids */
  K_REDUCE,      /* out_k[g] = OP_k over a[g*K .. g*K+K) with a DEFINE_REG accumulator */
  K_GATED,       /* gated LOAD with alt, gated STORE, IF-guarded store, against a var */
  K_COUNT
} num_kind;

typedef struct {
  char file[160];
  int line;
  num_kind kind;
  int ops[NUM_MAX_OPS], nops;
  int dtypes[CG_IR_VOID], ndtypes;
  int to[CG_IR_VOID], nto;
  int64_t shapes[NUM_MAX_SHAPES][3];   /* unused dims are 1 */
  int ndims[NUM_MAX_SHAPES], nshapes;
  bool has_range;
  double lo, hi;                       /* input value range */
  bool specials;                       /* inputs start with 0, -0, +-1, +-inf, NaN, ... */
  double rtol[CG_IR_SCALAR_COUNT], atol[CG_IR_SCALAR_COUNT]; /* per output type */
} num_table;

struct numrule {
  char id[16], title[160];
  num_table *tables;
  int ntables;
};

const char *num_kind_name(num_kind k);

#endif
