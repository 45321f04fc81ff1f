/* Optimizer tests: SGD (momentum, weight decay), Adam (with/without L2) and AdamW run 6
 * steps on a small quadratic loss sum(c*(w-t)^2); parameters after each step and the loss
 * realized together with the step are compared with the same update written as naive C
 * in double precision (the PyTorch formulas). Also checks the cg_params list API. */
#include <math.h>
#include <string.h>

#include "cgrad/nn.h"
#include "check.h"

#define N 4
#define STEPS 6
static const float W0[N] = {1.0f, -2.0f, 3.0f, 0.5f};
static const float T[N] = {0.5f, 1.0f, -1.0f, 2.0f};
static const float C[N] = {1.0f, 2.0f, 0.5f, 3.0f};

typedef enum { SGD, ADAM, ADAMW } kind;
typedef struct {
  kind k;
  double lr, mom, wd, b1, b2, eps;
} cfg;

/* Naive reference: one step of `c` on w (double), with state m, v and step t. */
static void ref_step(const cfg *c, double *w, double *m, double *v, int t) {
  for (int i = 0; i < N; i++) {
    double g = 2.0 * C[i] * (w[i] - T[i]);
    if (c->k == SGD) {
      g += c->wd * w[i];
      m[i] = c->mom * m[i] + g;
      w[i] -= c->lr * (c->mom > 0 ? m[i] : g);
      continue;
    }
    if (c->k == ADAM) g += c->wd * w[i];
    if (c->k == ADAMW) w[i] *= 1.0 - c->lr * c->wd;
    m[i] = c->b1 * m[i] + (1 - c->b1) * g;
    v[i] = c->b2 * v[i] + (1 - c->b2) * g * g;
    double mh = m[i] / (1 - pow(c->b1, t)), vh = v[i] / (1 - pow(c->b2, t));
    w[i] -= c->lr * mh / (sqrt(vh) + c->eps);
  }
}

static double ref_loss(const double *w) {
  double l = 0;
  for (int i = 0; i < N; i++) l += C[i] * (w[i] - T[i]) * (w[i] - T[i]);
  return l;
}

static void run(const cfg *c, const char *name) {
  int64_t shape[1] = {N};
  cg_tensor *w = cg_from_data(W0, CG_FLOAT32, 1, shape);
  cg_tensor *unused = cg_from_data(W0, CG_FLOAT32, 1, shape);
  cg_tensor *t = cg_from_data(T, CG_FLOAT32, 1, shape);
  cg_tensor *cc = cg_from_data(C, CG_FLOAT32, 1, shape);
  cg_params *ps = cg_params_new();
  CHECK(cg_params_add(ps, "w", w) == CG_OK, "%s: add", name);
  if (c->wd == 0) cg_params_add(ps, "unused", unused);
  cg_optim *o = c->k == SGD ? cg_optim_sgd_new(ps, c->lr, c->mom, c->wd)
              : c->k == ADAM ? cg_optim_adam_new(ps, c->lr, c->b1, c->b2, c->eps, c->wd)
                             : cg_optim_adamw_new(ps, c->lr, c->b1, c->b2, c->eps, c->wd);
  CHECK(o != NULL, "%s: optimizer: %s", name, cg_nn_last_error());
  double rw[N], rm[N] = {0}, rv[N] = {0};
  for (int i = 0; i < N; i++) rw[i] = W0[i];
  for (int step = 1; o && step <= STEPS; step++) {
    cg_scope_push();
    cg_optim_zero_grad(o);
    cg_tensor *d = cg_sub(w, t);
    cg_tensor *loss = cg_sum(cg_mul(cc, cg_mul(d, d)), 0, NULL, false);
    CHECK(cg_backward(loss) == CG_OK, "%s: backward: %s", name, cg_last_error());
    cg_status st = cg_optim_step_ex(o, 1, &loss);
    CHECK(st == CG_OK, "%s: step %d: %s", name, step, cg_nn_last_error());
    double want_loss = ref_loss(rw);
    CHECK(close_to(cg_item(loss), want_loss, 1e-5, 1e-5), "%s: step %d loss %g want %g", name,
          step, cg_item(loss), want_loss);
    cg_scope_pop();
    ref_step(c, rw, rm, rv, step);
    float got[N] = {0};
    CHECK(cg_to_host(w, got, sizeof got) == CG_OK, "%s: to_host: %s", name, cg_last_error());
    for (int i = 0; i < N; i++)
      CHECK(close_to(got[i], rw[i], 1e-5, 1e-5), "%s: step %d w[%d] = %.7g want %.7g", name, step,
            i, got[i], rw[i]);
  }
  CHECK(cg_params_get(ps, 0) == w, "%s: parameter identity", name);
  if (c->wd == 0) {
    float got[N] = {0};
    cg_to_host(unused, got, sizeof got);
    CHECK(memcmp(got, W0, sizeof got) == 0, "%s: parameter without gradient changed", name);
  }
  cg_optim_free(o);
  cg_params_free(ps);
  cg_release(w);
  cg_release(unused);
  cg_release(t);
  cg_release(cc);
}

static void test_params_api(void) {
  int64_t s2[2] = {2, 3}, s1[1] = {5};
  cg_tensor *a = cg_zeros(CG_FLOAT32, 2, s2), *b = cg_zeros(CG_FLOAT32, 1, s1);
  cg_params *p = cg_params_new();
  CHECK(cg_params_add(p, "layer.weight", a) == CG_OK && cg_params_add(p, NULL, b) == CG_OK, "add");
  CHECK(cg_params_add_buffer(p, "stat", b) == CG_OK, "add buffer");
  CHECK(cg_params_count(p) == 2 && cg_params_buffer_count(p) == 1, "counts");
  CHECK(cg_params_numel(p) == 11, "numel %lld", (long long)cg_params_numel(p));
  CHECK(strcmp(cg_params_name(p, 0), "layer.weight") == 0 &&
        strcmp(cg_params_name(p, 1), "param1") == 0, "names");
  CHECK(cg_params_find(p, "layer.weight") == a && cg_params_find(p, "stat") == b &&
        cg_params_find(p, "nope") == NULL, "find");
  CHECK(cg_requires_grad(a) && cg_requires_grad(b), "requires_grad set");
  CHECK(cg_params_get(p, 2) == NULL && cg_params_get(p, -1) == NULL, "bounds");
  CHECK(cg_params_add(p, "x", NULL) == CG_ERR_INVALID && cg_nn_last_error()[0], "NULL tensor");
  CHECK(cg_optim_sgd_new(p, -1, 0, 0) == NULL && strstr(cg_nn_last_error(), "learning rate"),
        "negative lr");
  CHECK(cg_optim_adam_new(p, 1e-3, 1.0, 0.999, 1e-8, 0) == NULL, "beta1 = 1 refused");
  cg_params_free(p);
  cg_release(a);
  cg_release(b);
}

int main(void) {
  cg_manual_seed(1);
  test_params_api();
  cfg sgd_plain = {SGD, 0.05, 0, 0, 0, 0, 0};
  cfg sgd_mom = {SGD, 0.05, 0.9, 0.01, 0, 0, 0};
  cfg adam = {ADAM, 0.1, 0, 0, 0.9, 0.999, 1e-8};
  cfg adam_l2 = {ADAM, 0.1, 0, 0.05, 0.8, 0.99, 1e-6};
  cfg adamw = {ADAMW, 0.1, 0, 0.1, 0.9, 0.999, 1e-8};
  run(&sgd_plain, "sgd");
  run(&sgd_mom, "sgd-momentum-wd");
  run(&adam, "adam");
  run(&adam_l2, "adam-l2");
  run(&adamw, "adamw");
  return check_result("test_optim");
}
