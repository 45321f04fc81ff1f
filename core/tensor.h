/* Private tensor layer: the cg_tensor struct, scopes, and the primitive constructors
 * that every composite op (tensor_fn.c, nn_fn.c) is written in. Never installed.
 *
 * A tensor is a refcounted handle on an interned lazy graph node (UOp). Movement and
 * ALU ops build new nodes; cg_realize schedules and runs kernels and replaces the
 * node's value by a BUFFER. Autograd state (requires_grad, grad) lives on the tensor. */
#ifndef CG_TENSOR_H
#define CG_TENSOR_H

#include "base.h"
#include "uop.h"

struct cg_tensor {
  int32_t rc;          /* references: scopes and callers */
  bool requires_grad;
  UOp *u;              /* retained graph node */
  cg_tensor *grad;     /* owned; accumulated by cg_backward */
};

/* Wrap a node into a new tensor reference (registered in the current scope). */
cg_tensor *cg__wrap(UOp *u);
/* Same, but the reference belongs to the caller whatever the scope (e.g. t->grad). */
cg_tensor *cg__wrap_owned(UOp *u);
/* Tensors with requires_grad (borrowed array of n). */
int cg__grad_tensors(cg_tensor ***out);
/* The default device (BACKEND or cg_set_default_device), NULL + error if none. */
struct cg_device *cg__default_device(void);
/* Report "op: message" naming shapes/dtypes; returns NULL for convenience. */
cg_tensor *cg__op_error(const char *op, cg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shape array as text "(2, 3)" in a static rotating buffer. */
const char *cg__dims_str(int nd, const int64_t *shape);
/* Whether the tensors broadcast together; if not, an error naming op and shapes. */
bool cg__broadcastable(const char *op, int n, cg_tensor *const *ts);
/* Normalise a possibly negative axis; -1 + error if out of range. */
int cg__axis(const char *op, const cg_tensor *t, int axis);
/* Shape as text "(2, 3)" in a static rotating buffer. */
const char *cg__shape_str(const cg_tensor *t);
/* Promotion lattice: the dtype both operands are cast to for a binary op. */
cg_dtype cg__promote(cg_dtype a, cg_dtype b);
bool cg__is_float(cg_dtype d);
bool cg__is_int(cg_dtype d);   /* signed or unsigned integer (not bool) */
/* Generic ALU on tensors with broadcasting and promotion (op = UOP_ADD ...). */
cg_tensor *cg__alu(const char *name, int op, int n, cg_tensor *const *srcs);
/* Constant with the dtype and shape of t (expanded view, no memory). */
cg_tensor *cg__const_like(cg_tensor *t, double v);

#endif
