/* Layers: Linear, Conv2d and BatchNorm2d as one opaque cg_layer with a kind tag.
 * Parameters are realized leaf tensors owned by the layer (one reference each);
 * initialisation follows PyTorch's defaults so results are comparable. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_private.h"

typedef enum { LAYER_LINEAR, LAYER_CONV2D, LAYER_BATCHNORM2D } layer_kind;

struct cg_layer {
  layer_kind kind;
  bool training;
  int stride, padding;       /* conv2d */
  double eps, momentum;      /* batchnorm2d */
  cg_tensor *weight;         /* linear [out,in]; conv [out,in,k,k]; bn [C] */
  cg_tensor *bias;           /* [out] / [C]; may be NULL */
  cg_tensor *running_mean;   /* bn [C] */
  cg_tensor *running_var;    /* bn [C] */
};

/* A realized float32 leaf of `shape` drawn from U(-bound, bound), or filled with `fill`
 * when bound is 0; requires_grad = grad. Returns one reference owned by the caller,
 * whatever scope is open. */
static cg_tensor *make_leaf(int ndim, const int64_t *shape, double bound, double fill, bool grad) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  float *host = malloc((size_t)n * sizeof *host);
  if (!host) {
    cg__nn_error(CG_ERR_NOMEM, "layer init: out of memory");
    return NULL;
  }
  cg_tensor *out = NULL;
  cg_scope_push();
  if (bound > 0) {
    cg_tensor *u = cg_muls(cg_subs(cg_muls(cg_rand(CG_FLOAT32, ndim, shape), 2.0), 1.0), bound);
    if (cg_to_host(u, host, (size_t)n * sizeof *host) != CG_OK) {
      cg__nn_core_error("layer init");
      goto done;
    }
  } else {
    for (int64_t i = 0; i < n; i++) host[i] = (float)fill;
  }
  out = cg_from_data(host, CG_FLOAT32, ndim, shape);
  if (!out || cg_realize(out) != CG_OK) {
    cg__nn_core_error("layer init");
    out = NULL;
    goto done;
  }
  cg_retain(out);  /* our reference survives the scope */
  cg_set_requires_grad(out, grad);
done:
  cg_scope_pop();
  free(host);
  return out;
}

static cg_layer *layer_alloc(layer_kind kind) {
  cg_layer *l = calloc(1, sizeof *l);
  if (!l) {
    cg__nn_error(CG_ERR_NOMEM, "layer: out of memory");
    return NULL;
  }
  l->kind = kind;
  l->training = true;
  return l;
}

void cg_layer_free(cg_layer *l) {
  if (!l) return;
  cg_release(l->weight);
  cg_release(l->bias);
  cg_release(l->running_mean);
  cg_release(l->running_var);
  free(l);
}

/* Weight and optional bias drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static cg_layer *init_affine(cg_layer *l, int ndim, const int64_t *wshape, int64_t fan_in,
                             bool bias) {
  double bound = 1.0 / sqrt((double)fan_in);
  l->weight = make_leaf(ndim, wshape, bound, 0, true);
  if (bias && l->weight) l->bias = make_leaf(1, wshape, bound, 0, true);
  if (!l->weight || (bias && !l->bias)) {
    cg_layer_free(l);
    return NULL;
  }
  return l;
}

cg_layer *cg_layer_linear_new(int64_t in_features, int64_t out_features, bool bias) {
  if (in_features <= 0 || out_features <= 0) {
    cg__nn_error(CG_ERR_INVALID, "cg_layer_linear_new: sizes must be positive (in %lld, out %lld)",
                 (long long)in_features, (long long)out_features);
    return NULL;
  }
  cg_layer *l = layer_alloc(LAYER_LINEAR);
  if (!l) return NULL;
  int64_t shape[2] = {out_features, in_features};
  return init_affine(l, 2, shape, in_features, bias);
}

cg_layer *cg_layer_conv2d_new(int64_t in_channels, int64_t out_channels, int kernel, int stride,
                              int padding, bool bias) {
  if (in_channels <= 0 || out_channels <= 0 || kernel <= 0 || stride <= 0 || padding < 0) {
    cg__nn_error(CG_ERR_INVALID,
                 "cg_layer_conv2d_new: bad arguments (in %lld, out %lld, kernel %d, stride %d, "
                 "padding %d)", (long long)in_channels, (long long)out_channels, kernel, stride,
                 padding);
    return NULL;
  }
  cg_layer *l = layer_alloc(LAYER_CONV2D);
  if (!l) return NULL;
  l->stride = stride;
  l->padding = padding;
  int64_t shape[4] = {out_channels, in_channels, kernel, kernel};
  return init_affine(l, 4, shape, in_channels * kernel * kernel, bias);
}

cg_layer *cg_layer_batchnorm2d_new(int64_t channels, double eps, double momentum) {
  if (channels <= 0 || !(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
    cg__nn_error(CG_ERR_INVALID, "cg_layer_batchnorm2d_new: bad arguments (channels %lld, eps %g, "
                 "momentum %g)", (long long)channels, eps, momentum);
    return NULL;
  }
  cg_layer *l = layer_alloc(LAYER_BATCHNORM2D);
  if (!l) return NULL;
  l->eps = eps;
  l->momentum = momentum;
  int64_t shape[1] = {channels};
  l->weight = make_leaf(1, shape, 0, 1.0, true);
  l->bias = make_leaf(1, shape, 0, 0.0, true);
  l->running_mean = make_leaf(1, shape, 0, 0.0, false);
  l->running_var = make_leaf(1, shape, 0, 1.0, false);
  if (!l->weight || !l->bias || !l->running_mean || !l->running_var) {
    cg_layer_free(l);
    return NULL;
  }
  return l;
}

void cg_layer_set_training(cg_layer *l, bool training) {
  if (l) l->training = training;
}

cg_tensor *cg_layer_tensor(cg_layer *l, const char *name) {
  if (!l || !name) return NULL;
  if (strcmp(name, "weight") == 0) return l->weight;
  if (strcmp(name, "bias") == 0) return l->bias;
  if (strcmp(name, "running_mean") == 0) return l->running_mean;
  if (strcmp(name, "running_var") == 0) return l->running_var;
  return NULL;
}

static cg_status collect_one(cg_params *p, const char *prefix, const char *name, cg_tensor *t,
                             bool buffer) {
  if (!t) return CG_OK;
  char full[256];
  if (prefix && prefix[0])
    snprintf(full, sizeof full, "%s.%s", prefix, name);
  else
    snprintf(full, sizeof full, "%s", name);
  return buffer ? cg_params_add_buffer(p, full, t) : cg_params_add(p, full, t);
}

cg_status cg_layer_collect(cg_layer *l, const char *prefix, cg_params *p) {
  if (!l || !p) return cg__nn_error(CG_ERR_INVALID, "cg_layer_collect: NULL layer or list");
  cg_status st = collect_one(p, prefix, "weight", l->weight, false);
  if (st == CG_OK) st = collect_one(p, prefix, "bias", l->bias, false);
  if (st == CG_OK) st = collect_one(p, prefix, "running_mean", l->running_mean, true);
  if (st == CG_OK) st = collect_one(p, prefix, "running_var", l->running_var, true);
  return st;
}

/* [C] -> [1, C, 1, 1] so it broadcasts over NCHW. */
static cg_tensor *per_channel(cg_tensor *t) {
  int64_t shape[4] = {1, cg_numel(t), 1, 1};
  return cg_reshape(t, 4, shape);
}

/* Training: normalise with batch statistics, then queue the running-stat updates:
 *   mean = E[x], var = E[(x-mean)^2] over N,H,W
 *   running = (1-m)*running + m*stat (unbiased var) -- assigned, realized by a later
 *   realize of the running tensors (an optimizer step realizes its list's buffers). */
static cg_tensor *batchnorm_train(cg_layer *l, cg_tensor *x) {
  static const int axes[3] = {0, 2, 3};
  cg_tensor *mean = cg_mean(x, 3, axes, true);
  cg_tensor *diff = cg_sub(x, mean);
  cg_tensor *var = cg_mean(cg_mul(diff, diff), 3, axes, true);
  cg_tensor *y = cg_mul(diff, cg_rsqrt(cg_adds(var, l->eps)));
  y = cg_add(cg_mul(y, per_channel(l->weight)), per_channel(l->bias));
  if (!y) return NULL;
  int64_t n = cg_dim(x, 0) * cg_dim(x, 2) * cg_dim(x, 3);
  int64_t c[1] = {cg_dim(x, 1)};
  double m = l->momentum, unbias = n > 1 ? (double)n / (double)(n - 1) : 1.0;
  cg_tensor *bm = cg_reshape(cg_detach(mean), 1, c);
  cg_tensor *bv = cg_muls(cg_reshape(cg_detach(var), 1, c), unbias);
  cg_tensor *rm = cg_add(cg_muls(l->running_mean, 1 - m), cg_muls(bm, m));
  cg_tensor *rv = cg_add(cg_muls(l->running_var, 1 - m), cg_muls(bv, m));
  if (!rm || !rv || cg_assign(l->running_mean, rm) != CG_OK ||
      cg_assign(l->running_var, rv) != CG_OK)
    return NULL;
  return y;
}

static cg_tensor *batchnorm_eval(cg_layer *l, cg_tensor *x) {
  cg_tensor *inv = cg_rsqrt(cg_adds(per_channel(l->running_var), l->eps));
  cg_tensor *y = cg_mul(cg_sub(x, per_channel(l->running_mean)), inv);
  return cg_add(cg_mul(y, per_channel(l->weight)), per_channel(l->bias));
}

cg_tensor *cg_layer_forward(cg_layer *l, cg_tensor *x) {
  if (!l || !x) {
    cg__nn_error(CG_ERR_INVALID, "cg_layer_forward: NULL layer or input");
    return NULL;
  }
  if (l->kind != LAYER_LINEAR && cg_ndim(x) != 4) {
    cg__nn_error(CG_ERR_SHAPE, "cg_layer_forward: %s expects NCHW input, got %d dims",
                 l->kind == LAYER_CONV2D ? "conv2d" : "batchnorm2d", cg_ndim(x));
    return NULL;
  }
  cg_scope_push();
  cg_tensor *y = NULL;
  switch (l->kind) {
    case LAYER_LINEAR: y = cg_linear(x, l->weight, l->bias); break;
    case LAYER_CONV2D: y = cg_conv2d(x, l->weight, l->bias, l->stride, l->padding); break;
    case LAYER_BATCHNORM2D:
      y = l->training ? batchnorm_train(l, x) : batchnorm_eval(l, x);
      break;
  }
  if (y)
    cg_keep(y);
  else
    cg__nn_core_error("cg_layer_forward");
  cg_scope_pop();
  return y;
}
