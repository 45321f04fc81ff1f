/* The op table of the op tests: golden key -> wrapper calling the public API. */
#ifndef CG_TEST_OP_TABLE_H
#define CG_TEST_OP_TABLE_H

#include <cgrad/cgrad.h>

/* Applies the op to the case inputs x[0..n_inputs-1]; returns a new reference or NULL. */
typedef cg_tensor *(*op_fn)(cg_tensor *const *x);

typedef struct {
  const char *key;   /* matches the golden case's key */
  op_fn fn;
  double tol_scale;  /* multiplies the dtype's default tolerances */
} op_entry;

extern const op_entry op_table[];
extern const int op_table_len;

#endif
