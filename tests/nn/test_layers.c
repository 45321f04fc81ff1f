/* Layer tests: PyTorch-style init bounds and spread; Linear, Conv2d (stride, padding) and
 * BatchNorm2d (training with batch stats, running-stat update, eval) forward values against
 * naive C loops; Linear gradients; parameter collection names; argument errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/nn.h"
#include "check.h"

static float frand(void) { return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f; }

/* Copies a tensor to a new host float array (NULL on failure). */
static float *host(cg_tensor *t) {
  int64_t n = cg_numel(t);
  float *h = calloc((size_t)(n > 0 ? n : 1), sizeof *h);
  if (cg_to_host(t, h, (size_t)n * sizeof *h) != CG_OK) {
    CHECK(0, "to_host: %s", cg_last_error());
    free(h);
    return NULL;
  }
  return h;
}

static void test_init(void) {
  cg_layer *l = cg_layer_linear_new(256, 64, true);
  CHECK(l != NULL, "linear_new: %s", cg_nn_last_error());
  if (!l) return;
  cg_tensor *w = cg_layer_tensor(l, "weight");
  CHECK(cg_ndim(w) == 2 && cg_dim(w, 0) == 64 && cg_dim(w, 1) == 256, "weight shape");
  CHECK(cg_ndim(cg_layer_tensor(l, "bias")) == 1 && cg_dim(cg_layer_tensor(l, "bias"), 0) == 64,
        "bias shape");
  float *h = host(w);
  double bound = 1.0 / 16.0, sum = 0, sq = 0;
  int out = 0;
  for (int i = 0; h && i < 64 * 256; i++) {
    out += fabs(h[i]) > bound;
    sum += h[i];
    sq += (double)h[i] * h[i];
  }
  double mean = sum / (64 * 256), sd = sqrt(sq / (64 * 256) - mean * mean);
  CHECK(out == 0, "%d weights outside +-1/sqrt(fan_in)", out);
  CHECK(fabs(mean) < 0.003 && close_to(sd, bound / sqrt(3.0), 0, 0.05), "U(-b,b) spread: mean %g sd %g",
        mean, sd);
  free(h);
  CHECK(cg_requires_grad(w), "parameters require grad from creation");
  cg_layer_free(l);
}

static void test_linear(void) {
  cg_layer *l = cg_layer_linear_new(5, 3, true);
  if (!l) {
    CHECK(0, "linear_new: %s", cg_nn_last_error());
    return;
  }
  cg_params *ps = cg_params_new();
  CHECK(cg_layer_collect(l, "fc", ps) == CG_OK && cg_params_count(ps) == 2, "collect");
  CHECK(strcmp(cg_params_name(ps, 0), "fc.weight") == 0 && strcmp(cg_params_name(ps, 1), "fc.bias") == 0,
        "names");
  float x[4 * 5];
  for (int i = 0; i < 20; i++) x[i] = frand();
  int64_t xs[2] = {4, 5};
  cg_scope_push();
  cg_tensor *tx = cg_from_data(x, CG_FLOAT32, 2, xs);
  cg_tensor *y = cg_layer_forward(l, tx);
  CHECK(y && cg_ndim(y) == 2 && cg_dim(y, 0) == 4 && cg_dim(y, 1) == 3, "linear shape");
  float *w = host(cg_layer_tensor(l, "weight")), *b = host(cg_layer_tensor(l, "bias"));
  float *hy = y ? host(y) : NULL;
  for (int n = 0; hy && w && b && n < 4; n++)
    for (int o = 0; o < 3; o++) {
      double r = b[o];
      for (int i = 0; i < 5; i++) r += (double)x[n * 5 + i] * w[o * 5 + i];
      CHECK(close_to(hy[n * 3 + o], r, 1e-5, 1e-5), "linear y[%d,%d] %g want %g", n, o, hy[n * 3 + o], r);
    }
  /* d/dW sum(y) = sum_n x[n,i] per row; d/db = batch size */
  CHECK(cg_backward(cg_sum(y, 0, NULL, false)) == CG_OK, "backward: %s", cg_last_error());
  float *gw = host(cg_grad(cg_layer_tensor(l, "weight"))), *gb = host(cg_grad(cg_layer_tensor(l, "bias")));
  for (int i = 0; gw && gb && i < 5; i++) {
    double s = 0;
    for (int n = 0; n < 4; n++) s += x[n * 5 + i];
    CHECK(close_to(gw[1 * 5 + i], s, 1e-5, 1e-5), "grad W[1,%d] %g want %g", i, gw[5 + i], s);
    CHECK(i >= 3 || close_to(gb[i], 4.0, 1e-6, 0), "grad b[%d] %g", i, gb[i]);
  }
  free(w), free(b), free(hy), free(gw), free(gb);
  cg_scope_pop();
  cg_params_free(ps);
  cg_layer_free(l);
}

static void test_conv2d(void) {
  enum { NB = 2, CI = 2, CO = 3, H = 7, W = 6, K = 3, S = 2, P = 1, OH = 4, OW = 3 };
  cg_layer *l = cg_layer_conv2d_new(CI, CO, K, S, P, true);
  if (!l) {
    CHECK(0, "conv2d_new: %s", cg_nn_last_error());
    return;
  }
  float x[NB * CI * H * W];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = frand();
  int64_t xs[4] = {NB, CI, H, W};
  cg_scope_push();
  cg_tensor *y = cg_layer_forward(l, cg_from_data(x, CG_FLOAT32, 4, xs));
  CHECK(y && cg_dim(y, 0) == NB && cg_dim(y, 1) == CO && cg_dim(y, 2) == OH && cg_dim(y, 3) == OW,
        "conv shape: %s", cg_nn_last_error());
  float *w = host(cg_layer_tensor(l, "weight")), *b = host(cg_layer_tensor(l, "bias"));
  float *hy = y ? host(y) : NULL;
  double bound = 1.0 / sqrt(CI * K * K);
  for (int i = 0; w && i < CO * CI * K * K; i++) CHECK(fabs(w[i]) <= bound, "conv init bound");
  for (int n = 0; hy && w && b && n < NB; n++)
    for (int o = 0; o < CO; o++)
      for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
          double r = b[o];
          for (int c = 0; c < CI; c++)
            for (int ky = 0; ky < K; ky++)
              for (int kx = 0; kx < K; kx++) {
                int iy = oy * S - P + ky, ix = ox * S - P + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                r += (double)x[((n * CI + c) * H + iy) * W + ix] * w[((o * CI + c) * K + ky) * K + kx];
              }
          float got = hy[((n * CO + o) * OH + oy) * OW + ox];
          CHECK(close_to(got, r, 1e-5, 1e-4), "conv y[%d,%d,%d,%d] %g want %g", n, o, oy, ox, got, r);
        }
  free(w), free(b), free(hy);
  int64_t bad[2] = {3, 3};
  CHECK(cg_layer_forward(l, cg_zeros(CG_FLOAT32, 2, bad)) == NULL &&
        strstr(cg_nn_last_error(), "NCHW"), "2-D input to conv refused");
  cg_scope_pop();
  cg_layer_free(l);
}

/* Naive batch norm with the given per-channel mean/var. */
static void bn_ref(const float *x, int nb, int c, int hw, const double *mean, const double *var,
                   double eps, double *y) {
  for (int n = 0; n < nb; n++)
    for (int k = 0; k < c; k++)
      for (int i = 0; i < hw; i++) {
        int at = (n * c + k) * hw + i;
        y[at] = (x[at] - mean[k]) / sqrt(var[k] + eps);
      }
}

static void test_batchnorm(void) {
  enum { NB = 4, C = 3, HW = 4 };
  const double eps = 1e-5, mom = 0.1;
  cg_layer *l = cg_layer_batchnorm2d_new(C, eps, mom);
  if (!l) {
    CHECK(0, "bn_new: %s", cg_nn_last_error());
    return;
  }
  cg_params *ps = cg_params_new();
  cg_layer_collect(l, "bn", ps);
  CHECK(cg_params_count(ps) == 2 && cg_params_buffer_count(ps) == 2 &&
        cg_params_find(ps, "bn.running_var") == cg_layer_tensor(l, "running_var"), "bn collect");
  float x[NB * C * HW];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = frand() * 2 + (float)(i % 3);
  double mean[C] = {0}, var[C] = {0}, want[NB * C * HW];
  for (int k = 0; k < C; k++) {
    for (int n = 0; n < NB; n++)
      for (int i = 0; i < HW; i++) mean[k] += x[(n * C + k) * HW + i] / (NB * HW);
    for (int n = 0; n < NB; n++)
      for (int i = 0; i < HW; i++) {
        double d = x[(n * C + k) * HW + i] - mean[k];
        var[k] += d * d / (NB * HW);
      }
  }
  int64_t xs[4] = {NB, C, 2, 2};
  cg_scope_push();
  cg_tensor *tx = cg_from_data(x, CG_FLOAT32, 4, xs);
  cg_tensor *y = cg_layer_forward(l, tx);
  float *hy = y ? host(y) : NULL;
  bn_ref(x, NB, C, HW, mean, var, eps, want);
  for (int i = 0; hy && i < NB * C * HW; i++)
    CHECK(close_to(hy[i], want[i], 1e-4, 1e-4), "bn train y[%d] %g want %g", i, hy[i], want[i]);
  free(hy);
  cg_tensor *stats[2] = {cg_layer_tensor(l, "running_mean"), cg_layer_tensor(l, "running_var")};
  CHECK(cg_realize_all(2, stats) == CG_OK, "realize running stats: %s", cg_last_error());
  cg_scope_pop();
  float *rm = host(stats[0]), *rv = host(stats[1]);
  double rmd[C], rvd[C];
  for (int k = 0; rm && rv && k < C; k++) {
    rmd[k] = mom * mean[k];
    rvd[k] = (1 - mom) + mom * var[k] * (NB * HW) / (NB * HW - 1.0);
    CHECK(close_to(rm[k], rmd[k], 1e-5, 1e-4) && close_to(rv[k], rvd[k], 1e-5, 1e-4),
          "running stats [%d]: %g %g want %g %g", k, rm[k], rv[k], rmd[k], rvd[k]);
  }
  free(rm), free(rv);
  cg_layer_set_training(l, false);
  cg_scope_push();
  hy = host(cg_layer_forward(l, cg_from_data(x, CG_FLOAT32, 4, xs)));
  bn_ref(x, NB, C, HW, rmd, rvd, eps, want);
  for (int i = 0; hy && i < NB * C * HW; i++)
    CHECK(close_to(hy[i], want[i], 1e-4, 1e-4), "bn eval y[%d] %g want %g", i, hy[i], want[i]);
  free(hy);
  cg_scope_pop();
  cg_params_free(ps);
  cg_layer_free(l);
}

static void test_errors(void) {
  CHECK(cg_layer_linear_new(0, 3, true) == NULL && strstr(cg_nn_last_error(), "positive"), "linear 0");
  CHECK(cg_layer_conv2d_new(1, 1, 3, 0, 0, true) == NULL && cg_nn_last_error()[0], "stride 0");
  CHECK(cg_layer_batchnorm2d_new(3, 0, 0.1) == NULL, "eps 0");
  CHECK(cg_layer_forward(NULL, NULL) == NULL && cg_nn_last_error()[0], "NULL layer");
  CHECK(cg_layer_tensor(NULL, "weight") == NULL, "NULL layer tensor");
}

int main(void) {
  srand(7);
  cg_manual_seed(3);
  test_init();
  test_linear();
  test_conv2d();
  test_batchnorm();
  test_errors();
  return check_result("test_layers");
}
