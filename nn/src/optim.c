/* Optimizers: SGD with momentum and weight decay, Adam and AdamW. A step builds the
 * update of every parameter as lazy graph inside a scope, cg_assign's it into the
 * parameter (and its state tensors), then realizes everything with one cg_realize_all
 * so the scheduler sees all updates at once. Values that change between steps live on
 * the device as 0-d state tensors rather than being baked in as constants or uploaded
 * per step: the learning rate (cg_optim_set_lr assigns it) and Adam's beta1^t, beta2^t
 * (each step assigns beta*previous). So every step reuses the same compiled kernels, and
 * a step uploads no host data, which lets a cg_jit capture and replay it (docs/jit.md). */
#include <math.h>
#include <stdlib.h>

#include "nn_private.h"

typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW } opt_kind;

struct cg_optim {
  opt_kind kind;
  cg_params *params;  /* borrowed: must outlive the optimizer */
  int n;              /* parameters seen at creation */
  double lr, momentum, weight_decay, beta1, beta2, eps;
  int64_t t;          /* steps taken */
  cg_tensor *lr_t;    /* 0-d float32 learning rate on the device (owned) */
  cg_tensor *b1t, *b2t; /* Adam: 0-d float32 beta1^t, beta2^t (owned; NULL for SGD) */
  cg_tensor **m;      /* [n] SGD momentum buffer / Adam first moment (owned; NULL if unused) */
  cg_tensor **v;      /* [n] Adam second moment (owned; NULL for SGD) */
};

/* A realized zero tensor shaped like p; one reference owned by the caller. */
static cg_tensor *zeros_state(cg_tensor *p) {
  cg_scope_push();
  cg_tensor *z = cg_contiguous(cg_zeros_like(p));
  if (z && cg_realize(z) == CG_OK)
    cg_retain(z);
  else
    z = NULL;
  cg_scope_pop();
  return z;
}

/* A realized 0-d float32 tensor holding v; one reference owned by the caller. */
static cg_tensor *scalar_state(double v) {
  float f = (float)v;
  cg_scope_push();
  cg_tensor *t = cg_retain(cg_from_data(&f, CG_FLOAT32, 0, NULL));
  cg_scope_pop();
  return t;
}

/* Allocates one state tensor per parameter into *slot. */
static cg_status make_states(cg_optim *o, cg_tensor ***slot) {
  *slot = calloc((size_t)(o->n ? o->n : 1), sizeof **slot);
  if (!*slot) return cg__nn_error(CG_ERR_NOMEM, "optimizer: out of memory");
  for (int i = 0; i < o->n; i++) {
    (*slot)[i] = zeros_state(cg_params_get(o->params, i));
    if (!(*slot)[i]) return cg__nn_core_error("optimizer state");
  }
  return CG_OK;
}

static cg_optim *optim_new(opt_kind kind, cg_params *params, double lr) {
  if (!params) {
    cg__nn_error(CG_ERR_INVALID, "optimizer: NULL parameter list");
    return NULL;
  }
  if (!(lr >= 0)) {
    cg__nn_error(CG_ERR_INVALID, "optimizer: learning rate must be >= 0 (got %g)", lr);
    return NULL;
  }
  cg_optim *o = calloc(1, sizeof *o);
  if (!o) {
    cg__nn_error(CG_ERR_NOMEM, "optimizer: out of memory");
    return NULL;
  }
  o->kind = kind;
  o->params = params;
  o->n = cg_params_count(params);
  o->lr = lr;
  if (!(o->lr_t = scalar_state(lr))) {
    cg__nn_core_error("optimizer: learning rate");
    free(o);
    return NULL;
  }
  return o;
}

void cg_optim_free(cg_optim *o) {
  if (!o) return;
  for (int i = 0; i < o->n; i++) {
    if (o->m) cg_release(o->m[i]);
    if (o->v) cg_release(o->v[i]);
  }
  free(o->m);
  free(o->v);
  cg_release(o->lr_t);
  cg_release(o->b1t);
  cg_release(o->b2t);
  free(o);
}

cg_optim *cg_optim_sgd_new(cg_params *params, double lr, double momentum, double weight_decay) {
  if (!(momentum >= 0) || !(weight_decay >= 0)) {
    cg__nn_error(CG_ERR_INVALID, "cg_optim_sgd_new: momentum %g and weight_decay %g must be >= 0",
                 momentum, weight_decay);
    return NULL;
  }
  cg_optim *o = optim_new(OPT_SGD, params, lr);
  if (!o) return NULL;
  o->momentum = momentum;
  o->weight_decay = weight_decay;
  if (momentum > 0 && make_states(o, &o->m) != CG_OK) {
    cg_optim_free(o);
    return NULL;
  }
  return o;
}

static cg_optim *adam_new(opt_kind kind, cg_params *params, double lr, double beta1,
                          double beta2, double eps, double weight_decay) {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) ||
      !(weight_decay >= 0)) {
    cg__nn_error(CG_ERR_INVALID, "adam: bad hyperparameters (beta1 %g, beta2 %g, eps %g, "
                 "weight_decay %g)", beta1, beta2, eps, weight_decay);
    return NULL;
  }
  cg_optim *o = optim_new(kind, params, lr);
  if (!o) return NULL;
  o->beta1 = beta1;
  o->beta2 = beta2;
  o->eps = eps;
  o->weight_decay = weight_decay;
  if (make_states(o, &o->m) != CG_OK || make_states(o, &o->v) != CG_OK ||
      !(o->b1t = scalar_state(1)) || !(o->b2t = scalar_state(1))) {
    cg_optim_free(o);
    return NULL;
  }
  return o;
}

cg_optim *cg_optim_adam_new(cg_params *params, double lr, double beta1, double beta2, double eps,
                            double weight_decay) {
  return adam_new(OPT_ADAM, params, lr, beta1, beta2, eps, weight_decay);
}

cg_optim *cg_optim_adamw_new(cg_params *params, double lr, double beta1, double beta2,
                             double eps, double weight_decay) {
  return adam_new(OPT_ADAMW, params, lr, beta1, beta2, eps, weight_decay);
}

/* Assigns the device copy too (a cg_jit replaying a step follows the assign). */
void cg_optim_set_lr(cg_optim *o, double lr) {
  if (!o || !(lr >= 0)) return;
  o->lr = lr;
  cg_scope_push();
  if (cg_assign(o->lr_t, cg_scalar(lr, CG_FLOAT32)) != CG_OK) cg__nn_core_error("cg_optim_set_lr");
  cg_scope_pop();
}

double cg_optim_lr(const cg_optim *o) { return o ? o->lr : NAN; }

void cg_optim_zero_grad(cg_optim *o) {
  if (o) cg_params_zero_grad(o->params);
}

/* A 0-d float32 device value h in p's dtype. */
static cg_tensor *as_dtype(cg_tensor *h, cg_tensor *p) {
  cg_dtype d = cg_tensor_dtype(p);
  return d == CG_FLOAT32 ? h : cg_cast(h, d);
}

/* SGD for one parameter: g += wd*p; buf = momentum*buf + g; p -= lr*buf. */
static cg_status sgd_update(cg_optim *o, int i, cg_tensor *p, cg_tensor *g, cg_tensor *lr) {
  cg_tensor *pd = cg_detach(p);
  if (o->weight_decay > 0) g = cg_add(g, cg_muls(pd, o->weight_decay));
  cg_tensor *upd = g;
  if (o->m) {
    upd = cg_add(cg_muls(o->m[i], o->momentum), g);
    if (!upd || cg_assign(o->m[i], upd) != CG_OK) return cg__nn_core_error("sgd step");
  }
  cg_tensor *np = cg_sub(pd, cg_mul(upd, as_dtype(lr, p)));
  if (!np || cg_assign(p, np) != CG_OK) return cg__nn_core_error("sgd step");
  return CG_OK;
}

/* Adam for one parameter, with the bias corrections folded into two scalars:
 *   p -= a * m / (sqrt(v) + e),  a = lr*sqrt(1-b2^t)/(1-b1^t),  e = eps*sqrt(1-b2^t)
 * which equals lr * mhat / (sqrt(vhat) + eps). a and e are 0-d device values. */
static cg_status adam_update(cg_optim *o, int i, cg_tensor *p, cg_tensor *g, cg_tensor *a, cg_tensor *e) {
  cg_tensor *pd = cg_detach(p);
  if (o->kind == OPT_ADAM && o->weight_decay > 0) g = cg_add(g, cg_muls(pd, o->weight_decay));
  if (o->kind == OPT_ADAMW && o->weight_decay > 0)
    pd = cg_sub(pd, cg_mul(pd, as_dtype(cg_muls(o->lr_t, o->weight_decay), p)));
  cg_tensor *m = cg_add(cg_muls(o->m[i], o->beta1), cg_muls(g, 1 - o->beta1));
  cg_tensor *v = cg_add(cg_muls(o->v[i], o->beta2), cg_muls(cg_mul(g, g), 1 - o->beta2));
  cg_tensor *den = cg_add(cg_sqrt(v), as_dtype(e, p));
  cg_tensor *np = cg_sub(pd, cg_mul(as_dtype(a, p), cg_div(m, den)));
  if (!np || cg_assign(o->m[i], m) != CG_OK || cg_assign(o->v[i], v) != CG_OK ||
      cg_assign(p, np) != CG_OK)
    return cg__nn_core_error("adam step");
  return CG_OK;
}

/* Queues the update of every parameter with a gradient; appends targets to `out`. */
static cg_status queue_updates(cg_optim *o, cg_tensor **out, int *nout) {
  cg_tensor *a = NULL, *e = NULL;
  if (o->kind != OPT_SGD) {  /* beta^t advance on the device; a, e as above */
    if (cg_assign(o->b1t, cg_muls(o->b1t, o->beta1)) != CG_OK ||
        cg_assign(o->b2t, cg_muls(o->b2t, o->beta2)) != CG_OK)
      return cg__nn_core_error("adam step");
    cg_tensor *sbc2 = cg_sqrt(cg_rsubs(o->b2t, 1));
    a = cg_div(cg_mul(o->lr_t, sbc2), cg_rsubs(o->b1t, 1));
    e = cg_muls(sbc2, o->eps);
    out[(*nout)++] = o->b1t;
    out[(*nout)++] = o->b2t;
  }
  for (int i = 0; i < o->n; i++) {
    cg_tensor *p = cg_params_get(o->params, i), *g = cg_grad(p);
    if (!g) continue;
    /* the gradient feeds several assigns (state and parameter): make it one buffer so
     * each assign kernel reads it instead of recomputing the backward reduction */
    if (o->m) g = cg_contiguous(g);
    cg_status st = o->kind == OPT_SGD ? sgd_update(o, i, p, g, o->lr_t) : adam_update(o, i, p, g, a, e);
    if (st != CG_OK) return st;
    out[(*nout)++] = p;
    if (o->m) out[(*nout)++] = o->m[i];
    if (o->v) out[(*nout)++] = o->v[i];
  }
  return CG_OK;
}

cg_status cg_optim_step_ex(cg_optim *o, int n, cg_tensor *const *extra) {
  if (!o) return cg__nn_error(CG_ERR_INVALID, "cg_optim_step: NULL optimizer");
  if (n < 0 || (n > 0 && !extra)) return cg__nn_error(CG_ERR_INVALID, "cg_optim_step: bad extras");
  for (int i = 0; i < n; i++)
    if (!extra[i]) return cg__nn_error(CG_ERR_INVALID, "cg_optim_step: extra tensor %d is NULL", i);
  int nbuf = cg_params_buffer_count(o->params);
  cg_tensor **targets = malloc((size_t)(3 * o->n + nbuf + n + 3) * sizeof *targets);
  if (!targets) return cg__nn_error(CG_ERR_NOMEM, "cg_optim_step: out of memory");
  o->t++;
  int nt = 0;
  cg_scope_push();
  cg_status st = queue_updates(o, targets, &nt);
  for (int i = 0; i < nbuf; i++) targets[nt++] = cg_params_buffer(o->params, i);
  for (int i = 0; i < n; i++) targets[nt++] = extra[i];
  if (st == CG_OK && nt > 0 && cg_realize_all(nt, targets) != CG_OK)
    st = cg__nn_core_error("cg_optim_step: realize");
  cg_scope_pop();
  free(targets);
  return st;
}

cg_status cg_optim_step(cg_optim *o) { return cg_optim_step_ex(o, 0, NULL); }
