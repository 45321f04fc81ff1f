/* Symbolic simplifier interface (symbolic.c): rule-table rewrite of kernel ASTs. */
#ifndef CG_SYMBOLIC_H
#define CG_SYMBOLIC_H
#include "uop.h"

/* Simplify a kernel AST (or one index expression) to a fixed point. Pool-owned result. */
UOp *sym_simplify(UOp *root);
/* Conservative integer value range of an expression ([INT32_MIN, INT32_MAX] if unknown). */
void sym_range(const UOp *u, int64_t *lo, int64_t *hi);
#endif
