/* cgrad public API: lazy tensors with autograd, realized on pluggable backends.
 *
 * Ownership: every function returning a cg_tensor* (except cg_grad, cg_retain and
 * cg_keep) returns a NEW reference. Inside a scope (cg_scope_push/pop) the scope owns it
 * and releases it at cg_scope_pop unless cg_keep moved it out; outside any scope the
 * caller owns it and calls cg_release. cg_retain adds a reference that is always the
 * caller's (never a scope's). Ops never consume their arguments.
 *
 * Errors: ops return NULL and set cg_last_error() (op name, shapes, dtypes). Any op
 * given a NULL tensor returns NULL, so a chain of calls reports its first error.
 */
#ifndef CGRAD_CGRAD_H
#define CGRAD_CGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CG_BUILDING_LIB)
#define CG_API __attribute__((visibility("default")))
#else
#define CG_API
#endif

/* Status codes, X(name, value, message). */
#define CG_STATUS_LIST(X)                            \
  X(OK, 0, "ok")                                     \
  X(ERR_INVALID, -1, "invalid argument")             \
  X(ERR_SHAPE, -2, "shape mismatch")                 \
  X(ERR_DTYPE, -3, "unsupported dtype")              \
  X(ERR_NOMEM, -4, "out of memory")                  \
  X(ERR_DEVICE, -5, "device error")                  \
  X(ERR_PLUGIN, -6, "plugin error")                  \
  X(ERR_IO, -7, "i/o error")                         \
  X(ERR_FORMAT, -8, "malformed file")

typedef int cg_status;
enum {
#define CG_ST_X(n, v, m) CG_##n = v,
  CG_STATUS_LIST(CG_ST_X)
#undef CG_ST_X
};

typedef enum {
  CG_BOOL, CG_INT8, CG_INT16, CG_INT32, CG_INT64, CG_UINT8, CG_UINT16, CG_UINT32, CG_UINT64,
  CG_FLOAT16, CG_BFLOAT16, CG_FLOAT32, CG_FLOAT64, CG_DTYPE_COUNT
} cg_dtype;

typedef struct cg_tensor cg_tensor;

/* ---- errors, library ---- */
CG_API const char *cg_last_error(void);          /* message of the last failure, "" if none */
CG_API const char *cg_status_str(cg_status s);
CG_API const char *cg_dtype_name(cg_dtype d);    /* "float32", ... */
CG_API size_t cg_dtype_size(cg_dtype d);
CG_API const char *cg_default_device(void);      /* "CLANG:0", ...; NULL if none opens */
CG_API cg_status cg_set_default_device(const char *device);

/* ---- refcounts and scopes ---- */
CG_API cg_tensor *cg_retain(cg_tensor *t);
CG_API void cg_release(cg_tensor *t);
CG_API void cg_scope_push(void);
CG_API void cg_scope_pop(void);                   /* releases what the scope created */
CG_API cg_tensor *cg_keep(cg_tensor *t);         /* moves t to the enclosing scope */

/* ---- creation ---- */
CG_API cg_tensor *cg_from_data(const void *data, cg_dtype dtype, int ndim, const int64_t *shape);
CG_API cg_tensor *cg_full(cg_dtype dtype, int ndim, const int64_t *shape, double value);
CG_API cg_tensor *cg_zeros(cg_dtype dtype, int ndim, const int64_t *shape);
CG_API cg_tensor *cg_ones(cg_dtype dtype, int ndim, const int64_t *shape);
CG_API cg_tensor *cg_full_like(cg_tensor *t, double value);
CG_API cg_tensor *cg_zeros_like(cg_tensor *t);
CG_API cg_tensor *cg_ones_like(cg_tensor *t);
CG_API cg_tensor *cg_scalar(double value, cg_dtype dtype);
CG_API cg_tensor *cg_arange(double start, double stop, double step, cg_dtype dtype);
CG_API cg_tensor *cg_linspace(double start, double stop, int64_t steps, cg_dtype dtype);
CG_API cg_tensor *cg_eye(int64_t n, cg_dtype dtype);
CG_API void cg_manual_seed(uint64_t seed);
CG_API cg_tensor *cg_rand(cg_dtype dtype, int ndim, const int64_t *shape);  /* U[0,1) */
CG_API cg_tensor *cg_randn(cg_dtype dtype, int ndim, const int64_t *shape); /* N(0,1) */
CG_API cg_tensor *cg_randint(int64_t low, int64_t high, cg_dtype dtype, int ndim,
                             const int64_t *shape);                        /* [low,high) */

/* ---- inspection and data movement ---- */
CG_API int cg_ndim(const cg_tensor *t);
CG_API int64_t cg_dim(const cg_tensor *t, int axis);      /* negative axes count from end */
CG_API const int64_t *cg_shape(const cg_tensor *t);       /* borrowed, ndim entries */
CG_API int64_t cg_numel(const cg_tensor *t);
CG_API cg_dtype cg_tensor_dtype(const cg_tensor *t);
CG_API const char *cg_tensor_device(const cg_tensor *t);  /* "CLANG:0", ... */
CG_API cg_status cg_realize(cg_tensor *t);
CG_API cg_status cg_realize_all(int n, cg_tensor *const *ts); /* one schedule for all */
CG_API cg_status cg_to_host(cg_tensor *t, void *dst, size_t nbytes); /* row-major */
CG_API double cg_item(cg_tensor *t);                       /* 1-element tensor; NaN on error */
CG_API cg_tensor *cg_to_device(cg_tensor *t, const char *device);
CG_API cg_tensor *cg_contiguous(cg_tensor *t);
CG_API cg_tensor *cg_detach(cg_tensor *t);
/* Replace the value of `dst` with `src` (same shape/dtype; broadcasting allowed).
 * dst keeps its identity (other holders see the new value); no gradient. */
CG_API cg_status cg_assign(cg_tensor *dst, cg_tensor *src);

/* ---- elementwise (binary ops broadcast; scalars adopt the tensor's dtype) ---- */
CG_API cg_tensor *cg_add(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_sub(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_mul(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_div(cg_tensor *a, cg_tensor *b);   /* true division (ints -> float32) */
CG_API cg_tensor *cg_idiv(cg_tensor *a, cg_tensor *b);  /* floor division for ints */
CG_API cg_tensor *cg_pow(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_maximum(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_minimum(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_adds(cg_tensor *a, double s);      /* scalar forms */
CG_API cg_tensor *cg_subs(cg_tensor *a, double s);
CG_API cg_tensor *cg_muls(cg_tensor *a, double s);
CG_API cg_tensor *cg_divs(cg_tensor *a, double s);
CG_API cg_tensor *cg_pows(cg_tensor *a, double s);
CG_API cg_tensor *cg_rsubs(cg_tensor *a, double s);     /* s - a */
/* comparisons -> bool */
CG_API cg_tensor *cg_lt(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_le(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_gt(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_ge(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_eq(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_ne(cg_tensor *a, cg_tensor *b);
/* logical (any dtype, nonzero = true) -> bool; bitwise (ints and bool) */
CG_API cg_tensor *cg_logical_and(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_logical_or(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_logical_not(cg_tensor *a);
CG_API cg_tensor *cg_bitwise_and(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_bitwise_or(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_bitwise_xor(cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_bitwise_not(cg_tensor *a);
CG_API cg_tensor *cg_shl(cg_tensor *a, int bits);
CG_API cg_tensor *cg_shr(cg_tensor *a, int bits);
CG_API cg_tensor *cg_where(cg_tensor *cond, cg_tensor *a, cg_tensor *b);
CG_API cg_tensor *cg_clamp(cg_tensor *a, double lo, double hi);
/* unary */
CG_API cg_tensor *cg_neg(cg_tensor *a);
CG_API cg_tensor *cg_reciprocal(cg_tensor *a);
CG_API cg_tensor *cg_exp(cg_tensor *a);
CG_API cg_tensor *cg_exp2(cg_tensor *a);
CG_API cg_tensor *cg_log(cg_tensor *a);
CG_API cg_tensor *cg_log2(cg_tensor *a);
CG_API cg_tensor *cg_sqrt(cg_tensor *a);
CG_API cg_tensor *cg_rsqrt(cg_tensor *a);
CG_API cg_tensor *cg_sin(cg_tensor *a);
CG_API cg_tensor *cg_cos(cg_tensor *a);
CG_API cg_tensor *cg_tan(cg_tensor *a);
CG_API cg_tensor *cg_tanh(cg_tensor *a);
CG_API cg_tensor *cg_sigmoid(cg_tensor *a);
CG_API cg_tensor *cg_relu(cg_tensor *a);
CG_API cg_tensor *cg_leaky_relu(cg_tensor *a, double slope);
CG_API cg_tensor *cg_elu(cg_tensor *a, double alpha);
CG_API cg_tensor *cg_gelu(cg_tensor *a);                 /* tanh approximation */
CG_API cg_tensor *cg_silu(cg_tensor *a);
CG_API cg_tensor *cg_softplus(cg_tensor *a);
CG_API cg_tensor *cg_abs(cg_tensor *a);
CG_API cg_tensor *cg_sign(cg_tensor *a);
CG_API cg_tensor *cg_trunc(cg_tensor *a);
CG_API cg_tensor *cg_floor(cg_tensor *a);
CG_API cg_tensor *cg_ceil(cg_tensor *a);
CG_API cg_tensor *cg_cast(cg_tensor *a, cg_dtype dtype);

/* ---- reductions (naxes 0 = all axes; negative axes allowed) ---- */
CG_API cg_tensor *cg_sum(cg_tensor *a, int naxes, const int *axes, bool keepdim);
CG_API cg_tensor *cg_prod(cg_tensor *a, int naxes, const int *axes, bool keepdim);
CG_API cg_tensor *cg_max(cg_tensor *a, int naxes, const int *axes, bool keepdim);
CG_API cg_tensor *cg_min(cg_tensor *a, int naxes, const int *axes, bool keepdim);
CG_API cg_tensor *cg_mean(cg_tensor *a, int naxes, const int *axes, bool keepdim);
CG_API cg_tensor *cg_variance(cg_tensor *a, int naxes, const int *axes, bool keepdim, int correction);
CG_API cg_tensor *cg_std(cg_tensor *a, int naxes, const int *axes, bool keepdim, int correction);
CG_API cg_tensor *cg_argmax(cg_tensor *a, int axis, bool keepdim);  /* int32, first max */
CG_API cg_tensor *cg_argmin(cg_tensor *a, int axis, bool keepdim);
CG_API cg_tensor *cg_logsumexp(cg_tensor *a, int axis, bool keepdim);
CG_API cg_tensor *cg_softmax(cg_tensor *a, int axis);
CG_API cg_tensor *cg_log_softmax(cg_tensor *a, int axis);

/* ---- movement (views: no data is copied until a kernel reads them) ---- */
CG_API cg_tensor *cg_reshape(cg_tensor *a, int ndim, const int64_t *shape); /* one -1 allowed */
CG_API cg_tensor *cg_permute(cg_tensor *a, const int *order);
CG_API cg_tensor *cg_expand(cg_tensor *a, int ndim, const int64_t *shape);
CG_API cg_tensor *cg_pad(cg_tensor *a, const int64_t *pads, double value); /* (before,after) per axis */
CG_API cg_tensor *cg_shrink(cg_tensor *a, const int64_t *ranges);  /* (start,end) per axis */
CG_API cg_tensor *cg_flip(cg_tensor *a, int naxes, const int *axes);
CG_API cg_tensor *cg_transpose(cg_tensor *a, int dim0, int dim1);
CG_API cg_tensor *cg_squeeze(cg_tensor *a, int axis);      /* axis of size 1 */
CG_API cg_tensor *cg_unsqueeze(cg_tensor *a, int axis);
CG_API cg_tensor *cg_flatten(cg_tensor *a, int start_dim, int end_dim);
CG_API cg_tensor *cg_cat(int n, cg_tensor *const *ts, int axis);
CG_API cg_tensor *cg_stack(int n, cg_tensor *const *ts, int axis);
/* a[start:stop:step] on one axis (python semantics, negative step allowed) */
CG_API cg_tensor *cg_slice(cg_tensor *a, int axis, int64_t start, int64_t stop, int64_t step);
CG_API cg_tensor *cg_gather(cg_tensor *a, int axis, cg_tensor *index); /* torch.gather */
CG_API cg_tensor *cg_one_hot(cg_tensor *labels, int64_t classes);    /* int -> float32 */

/* ---- symbolic variables (docs/symbolic.md) ----
 * A variable is a named bounded integer, e.g. the position of a KV-cache decode step:
 *     cg_tensor *pos_v = cg_var("pos", 0, 127);          (once)
 *     cg_tensor *pos = cg_var_bind(pos_v, step);         (every step)
 * A bound variable is a 0-d int32 tensor usable in any elementwise op (masks such as
 * cg_lt(cg_arange(...), pos + 1), writes such as cg_where(arange == pos, new, cache))
 * and as the start of cg_slice_var. The value is passed to kernels as an int32 argument
 * and is not part of the compiled code: kernels that differ only in the value compile
 * once. Shapes stay static; an axis may carry a symbolic length (cg_var_len below). */
/* New unbound variable (0-d int32) over [min, max] (int32). name: identifier, < 32
 * chars; variables are identified by name (same name = same variable). Realizing a graph
 * that uses it unbound fails with an error naming it. */
CG_API cg_tensor *cg_var(const char *name, int64_t min, int64_t max);
/* The variable bound to value (error if outside [min, max]): a new 0-d int32 tensor.
 * var may be unbound or bound (rebinding). */
CG_API cg_tensor *cg_var_bind(cg_tensor *var, int64_t value);
/* a[start : start+length] on one axis, start a 0-d int32 expression of bound variables
 * and constants (e.g. pos, cg_adds(pos, -3)); every value start's range allows must fit
 * (error otherwise). A view: reads index the source at the runtime offset. */
CG_API cg_tensor *cg_slice_var(cg_tensor *a, int axis, cg_tensor *start, int64_t length);
/* Symbolic length: a with only the first `length` elements of `axis` valid, length a 0-d
 * int32 expression of bound variables and constants whose range fits the axis (e.g.
 * cg_adds(pos, 1) for cache[:pos+1]). The shape keeps the static size (allocation); a
 * reduce over the axis visits only the valid elements (its loop ends at the length, one
 * compiled kernel for every value), elementwise results keep the length and their
 * elements past it are undefined (not written). Reshape merging the axis, pad / shrink /
 * flip / expand along it, mixing two lengths, assigning it: error. Gradients flow
 * through (0 past the length where the source has none). */
CG_API cg_tensor *cg_var_len(cg_tensor *a, int axis, cg_tensor *length);
/* a[start : start+length] with the symbolic length `length` <= max_length: the view
 * cg_slice_var(a, axis, start, max_length) (start NULL: a[0:max_length]) then
 * cg_var_len. For a KV cache: cg_slice_var_len(K, 0, NULL, cg_adds(pos, 1), T). */
CG_API cg_tensor *cg_slice_var_len(cg_tensor *a, int axis, cg_tensor *start, cg_tensor *length,
                                   int64_t max_length);

/* ---- linear algebra and nn functions ---- */
CG_API cg_tensor *cg_matmul(cg_tensor *a, cg_tensor *b);            /* batched, broadcasting */
CG_API cg_tensor *cg_linear(cg_tensor *x, cg_tensor *w, cg_tensor *b); /* x@w.T + b, b may be NULL */
CG_API cg_tensor *cg_conv2d(cg_tensor *x, cg_tensor *w, cg_tensor *bias, int stride, int padding);
CG_API cg_tensor *cg_conv2d_ex(cg_tensor *x, cg_tensor *w, cg_tensor *bias, int stride,
                               int padding, int dilation, int groups);
CG_API cg_tensor *cg_max_pool2d(cg_tensor *x, int kernel, int stride);
CG_API cg_tensor *cg_avg_pool2d(cg_tensor *x, int kernel, int stride);
CG_API cg_tensor *cg_layernorm(cg_tensor *x, int naxes, cg_tensor *weight, cg_tensor *bias,
                               double eps);             /* over the last naxes axes */
CG_API cg_tensor *cg_dropout(cg_tensor *x, double p, bool training);
CG_API cg_tensor *cg_cross_entropy(cg_tensor *logits, cg_tensor *labels); /* mean over batch */
CG_API cg_tensor *cg_nll_loss(cg_tensor *logprobs, cg_tensor *labels);    /* mean over batch */
CG_API cg_tensor *cg_mse_loss(cg_tensor *a, cg_tensor *b);

/* ---- autograd ---- */
CG_API void cg_set_requires_grad(cg_tensor *t, bool on);
CG_API bool cg_requires_grad(const cg_tensor *t);
CG_API cg_status cg_backward(cg_tensor *loss);   /* loss must be a scalar; grads accumulate */
CG_API cg_tensor *cg_grad(cg_tensor *t);         /* borrowed; NULL if none */
CG_API void cg_zero_grad(cg_tensor *t);

/* ---- JIT ----
 * Capture the kernels a step function launches once and replay them on later calls with
 * new input buffers, without rebuilding the graph, scheduling or compiling (docs/jit.md).
 * Call 1 runs fn eagerly, call 2 runs it while recording every kernel launch and buffer
 * copy, calls 3.. replay the recording: fn is not called. Replay goes through the
 * plugin's graph slot (CUDA graphs) when the device has one, else launch by launch.
 * JIT=0 in the environment (read by cg_jit_new) makes every call eager.
 *
 * fn reads in[0..nin) and stores in out[0..nout) the tensors it computes (created in
 * fn, which runs inside a scope of cg_jit_run, or kept out of fn's own scopes). Rules
 * for fn: same input shapes/dtypes/device every call; no host reads of device data
 * (cg_item, cg_to_host) inside it; state it changes (weights, optimizer moments) is
 * changed with cg_assign; tensors it reads besides in[] keep their identity (change
 * them between calls with cg_assign, never by swapping the C pointer); host data it
 * uploads (cg_from_data) is baked in at capture.
 *
 * cg_jit_run realizes the outputs and stores NEW references in out[] (the current
 * scope's, like any op result). A replay writes the same output buffers again: a kept
 * output holds the latest call's value. Replay inputs of another count, shape, dtype
 * or device than at capture: an error (CG_ERR_INVALID / _SHAPE / _DTYPE / _DEVICE)
 * naming the input, nothing run. An input may be a bound symbolic variable
 * (cg_var_bind): replays launch the captured kernels with the new input's value; it must
 * be bound, of the same name and within the captured range (else CG_ERR_INVALID). */
typedef struct cg_jit cg_jit;
typedef cg_status (*cg_jit_fn)(int nin, cg_tensor *const *in, int nout, cg_tensor **out,
                               void *user);
CG_API cg_jit *cg_jit_new(cg_jit_fn fn, void *user);   /* NULL + error if fn is NULL */
CG_API cg_status cg_jit_run(cg_jit *j, int nin, cg_tensor *const *in, int nout, cg_tensor **out);
CG_API void cg_jit_free(cg_jit *j);                     /* releases what the capture holds */
CG_API bool cg_jit_captured(const cg_jit *j);           /* true once calls replay */

/* ---- debugging ---- */
CG_API cg_status cg_print(cg_tensor *t);          /* realizes; prints values (logger) */
CG_API char *cg_graph_str(cg_tensor *t);         /* text form of the lazy graph; free() it */
/* Counters since start: kernels launched, programs compiled, schedules built. */
/* jit_replays: cg_jit_run calls that replayed; graph_launches: batches launched through a
 * plugin's graph slot (their kernels count in kernels too). Append-only. */
typedef struct {
  uint64_t kernels, compiles, schedules, realizes;
  uint64_t jit_replays, graph_launches;
} cg_counters;
CG_API cg_counters cg_get_counters(void);
/* Log hook: library code prints only through this (default: stderr). */
typedef void (*cg_log_fn)(int level, const char *msg, void *user);
CG_API void cg_set_log(cg_log_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
