/* JIT tests (cg_jit): a small MNIST-like training step (conv 1->4 3x3, relu, maxpool 2,
 * linear 64->4, cross-entropy, Adam from cgrad_nn) run STEPS times eagerly (calling the
 * step directly) and through a cg_jit, from the same initial weights and batches, with a
 * learning-rate change halfway (a state change outside the step). Checks:
 *  - replayed calls compile nothing and schedule nothing, yet run kernels (counters);
 *    on REF (whose plugin has the graph slot) they go through graph launches;
 *  - losses of every step and the final weights equal the eager run's (tolerance);
 *  - replay inputs of another shape / dtype / device / count fail with a clear error and run nothing;
 *  - JIT=0 never replays and still gives the same results;
 *  - a step that reads device data to the host during capture stays eager and correct.
 * Usage: test_jit [DEVICE]   (default: cgrad's default device) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgrad/cgrad.h"
#include "cgrad/nn.h"
#include "../common/backend_arg.h"
#include "../common/check.h"

enum { B = 8, HW = 8, CLS = 4, STEPS = 7, LR_STEP = 4, NW = 8 };

typedef struct {
  cg_layer *conv, *fc;
  cg_params *ps;
  cg_optim *opt;
  bool host_read;  /* the step calls cg_item (not replayable) */
} net;

typedef struct {
  float loss[STEPS];
  int nw;
  float *w;        /* every parameter, concatenated */
} result;

static void net_init(net *n) {
  memset(n, 0, sizeof *n);
  cg_manual_seed(7);
  n->conv = cg_layer_conv2d_new(1, 4, 3, 1, 1, true);
  n->fc = cg_layer_linear_new(4 * (HW / 2) * (HW / 2), CLS, true);
  n->ps = cg_params_new();
  cg_layer_collect(n->conv, "conv", n->ps);
  cg_layer_collect(n->fc, "fc", n->ps);
  n->opt = cg_optim_adam_new(n->ps, 1e-2, 0.9, 0.999, 1e-8, 0);
  if (!n->opt) fprintf(stderr, "adam: %s\n", cg_nn_last_error());
}

static void net_free(net *n) {
  cg_optim_free(n->opt);
  cg_layer_free(n->conv);
  cg_layer_free(n->fc);
  cg_params_free(n->ps);
}

/* The training step: in = {x [B,1,HW,HW] float32, y [B] int32}, out = {loss}. */
static cg_status step(int nin, cg_tensor *const *in, int nout, cg_tensor **out, void *user) {
  net *n = user;
  (void)nin, (void)nout;
  cg_tensor *h = cg_max_pool2d(cg_relu(cg_layer_forward(n->conv, in[0])), 2, 2);
  cg_tensor *loss = cg_cross_entropy(cg_layer_forward(n->fc, cg_flatten(h, 1, -1)), in[1]);
  cg_optim_zero_grad(n->opt);
  if (!loss || cg_backward(loss) != CG_OK) return CG_ERR_INVALID;
  if (cg_optim_step_ex(n->opt, 1, &loss) != CG_OK) return CG_ERR_INVALID;
  if (n->host_read && isnan(cg_item(loss))) return CG_ERR_INVALID;
  out[0] = loss;
  return CG_OK;
}

/* Batch s: deterministic pseudo-random images and labels (new tensors, current scope). */
static void batch(int s, int b, cg_dtype xdt, cg_tensor **x, cg_tensor **y) {
  static float img[64 * HW * HW];
  static int32_t lab[64];
  uint32_t r = 12345u + 977u * (uint32_t)s;
  for (int i = 0; i < b * HW * HW; i++) {
    r = r * 1664525u + 1013904223u;
    img[i] = (float)(r >> 8) / 16777216.0f;
  }
  for (int i = 0; i < b; i++) lab[i] = (int32_t)((s + i) % CLS);
  int64_t xs[4] = {b, 1, HW, HW}, ys[1] = {b};
  cg_tensor *xf = cg_from_data(img, CG_FLOAT32, 4, xs);
  *x = xdt == CG_FLOAT32 ? xf : cg_contiguous(cg_cast(xf, xdt));
  *y = cg_from_data(lab, CG_INT32, 1, ys);
}

static void read_weights(net *n, result *r) {
  r->nw = 0;
  for (int i = 0; i < cg_params_count(n->ps); i++) r->nw += (int)cg_numel(cg_params_get(n->ps, i));
  r->w = calloc((size_t)r->nw, sizeof *r->w);
  for (int i = 0, off = 0; i < cg_params_count(n->ps); i++) {
    cg_tensor *p = cg_params_get(n->ps, i);
    CHECK(cg_to_host(p, r->w + off, (size_t)cg_numel(p) * 4) == CG_OK, "read weights: %s", cg_last_error());
    off += (int)cg_numel(p);
  }
}

/* Runs STEPS steps, eagerly (j NULL) or through j; fills r. */
static void train(net *n, cg_jit *j, result *r) {
  for (int s = 0; s < STEPS; s++) {
    if (s == LR_STEP) cg_optim_set_lr(n->opt, 3e-3);
    cg_scope_push();
    cg_tensor *x, *y, *out[1] = {NULL};
    batch(s, B, CG_FLOAT32, &x, &y);
    cg_tensor *in[2] = {x, y};
    cg_status st = j ? cg_jit_run(j, 2, in, 1, out) : step(2, in, 1, out, n);
    CHECK(st == CG_OK, "step %d: %s / %s", s, cg_last_error(), cg_nn_last_error());
    r->loss[s] = st == CG_OK ? (float)cg_item(out[0]) : NAN;
    cg_scope_pop();
  }
  read_weights(n, r);
}

static void compare(const char *what, const result *a, const result *b) {
  for (int s = 0; s < STEPS; s++)
    CHECK(fabsf(a->loss[s] - b->loss[s]) <= 1e-5f * (1 + fabsf(a->loss[s])), "%s: loss of step %d: %.8g vs eager %.8g",
          what, s, b->loss[s], a->loss[s]);
  CHECK(a->nw == b->nw, "%s: weight counts", what);
  int bad = 0;
  for (int i = 0; i < a->nw && i < b->nw; i++)
    if (!(fabsf(a->w[i] - b->w[i]) <= 1e-5f * (1 + fabsf(a->w[i])))) bad++;
  CHECK(bad == 0, "%s: %d of %d weights differ from the eager run", what, bad, a->nw);
  CHECK(a->loss[STEPS - 1] != a->loss[STEPS - 2], "%s: losses do not change", what);
}

/* Wrong inputs after capture: an error naming the input, and nothing runs. */
static void check_mismatch(cg_jit *j, net *n) {
  result before, after;
  read_weights(n, &before);
  cg_counters c0 = cg_get_counters();
  cg_scope_push();
  cg_tensor *x, *y, *out[1] = {NULL};
  batch(0, B / 2, CG_FLOAT32, &x, &y);
  cg_tensor *in[2] = {x, y};
  cg_status st = cg_jit_run(j, 2, in, 1, out);
  CHECK(st == CG_ERR_SHAPE && strstr(cg_last_error(), "input 0") && strstr(cg_last_error(), "shape"),
        "shape mismatch: status %d, '%s'", st, cg_last_error());
  batch(0, B, CG_FLOAT64, &x, &y);
  in[0] = x, in[1] = y;
  cg_counters c1 = cg_get_counters();
  st = cg_jit_run(j, 2, in, 1, out);
  CHECK(st == CG_ERR_DTYPE && strstr(cg_last_error(), "float64") && strstr(cg_last_error(), "float32"),
        "dtype mismatch: status %d, '%s'", st, cg_last_error());
  if (strncasecmp(cg_default_device(), "REF", 3)) {  /* another device than the capture's */
    batch(0, B, CG_FLOAT32, &x, &y);
    cg_tensor *in_ref[2] = {cg_to_device(x, "REF"), y};
    st = cg_jit_run(j, 2, in_ref, 1, out);
    CHECK(st == CG_ERR_DEVICE && strstr(cg_last_error(), "REF"), "device mismatch: status %d, '%s'", st,
          cg_last_error());
  }
  st = cg_jit_run(j, 1, in, 1, out);
  CHECK(st == CG_ERR_INVALID && strstr(cg_last_error(), "inputs"), "count mismatch: status %d, '%s'", st,
        cg_last_error());
  cg_counters c2 = cg_get_counters();
  CHECK(c2.kernels == c1.kernels && c2.jit_replays == c0.jit_replays, "a refused replay ran kernels");
  CHECK(out[0] == NULL, "a refused replay produced an output");
  cg_scope_pop();
  read_weights(n, &after);
  int bad = 0;
  for (int i = 0; i < before.nw; i++) bad += before.w[i] != after.w[i];
  CHECK(bad == 0, "a refused replay changed %d weights", bad);
  free(before.w);
  free(after.w);
}

int main(int argc, char **argv) {
  const char *dev = argc > 1 ? argv[1] : NULL;
  if (test_open_backend(dev)) return TEST_SKIP;
  bool expect_graph = dev && !strcasecmp(dev, "REF");
  unsetenv("JIT");

  /* eager reference */
  net a;
  net_init(&a);
  result ra;
  train(&a, NULL, &ra);

  /* through the JIT: call 1 eager, 2 captured, 3.. replayed */
  net b;
  net_init(&b);
  cg_jit *j = cg_jit_new(step, &b);
  result rb;
  cg_counters c0 = cg_get_counters();
  train(&b, j, &rb);
  cg_counters c1 = cg_get_counters();
  CHECK(cg_jit_captured(j), "the jit did not capture");
  CHECK(c1.jit_replays - c0.jit_replays == STEPS - 2, "%llu replays, expected %d",
        (unsigned long long)(c1.jit_replays - c0.jit_replays), STEPS - 2);
  compare("jit", &ra, &rb);

  /* replayed steps alone: no compile, no schedule, kernels run */
  cg_counters r0 = cg_get_counters();
  for (int s = 0; s < 3; s++) {
    cg_scope_push();
    cg_tensor *x, *y, *out[1] = {NULL};
    batch(s, B, CG_FLOAT32, &x, &y);
    cg_tensor *in[2] = {x, y};
    CHECK(cg_jit_run(j, 2, in, 1, out) == CG_OK, "replay: %s", cg_last_error());
    cg_scope_pop();
  }
  cg_counters r1 = cg_get_counters();
  printf("3 replayed steps: %llu kernels, %llu compiles, %llu schedules, %llu graph launches\n",
         (unsigned long long)(r1.kernels - r0.kernels), (unsigned long long)(r1.compiles - r0.compiles),
         (unsigned long long)(r1.schedules - r0.schedules), (unsigned long long)(r1.graph_launches - r0.graph_launches));
  CHECK(r1.compiles == r0.compiles, "replay compiled %llu programs", (unsigned long long)(r1.compiles - r0.compiles));
  CHECK(r1.schedules == r0.schedules, "replay scheduled %llu times", (unsigned long long)(r1.schedules - r0.schedules));
  CHECK(r1.kernels - r0.kernels >= 3 * 10, "replay ran only %llu kernels", (unsigned long long)(r1.kernels - r0.kernels));
  CHECK(r1.jit_replays - r0.jit_replays == 3, "replay counter");
  if (expect_graph) CHECK(r1.graph_launches - r0.graph_launches >= 3, "REF replay did not use the graph slot");
  check_mismatch(j, &b);
  cg_jit_free(j);

  /* JIT=0: always eager, same results */
  net c;
  net_init(&c);
  setenv("JIT", "0", 1);
  cg_jit *j0 = cg_jit_new(step, &c);
  unsetenv("JIT");
  result rc;
  cg_counters e0 = cg_get_counters();
  train(&c, j0, &rc);
  cg_counters e1 = cg_get_counters();
  CHECK(!cg_jit_captured(j0) && e1.jit_replays == e0.jit_replays, "JIT=0 replayed");
  CHECK(e1.schedules - e0.schedules >= STEPS, "JIT=0 did not schedule every step");
  compare("JIT=0", &ra, &rc);
  cg_jit_free(j0);

  /* a host read inside the step: no capture, stays eager and correct */
  net d;
  net_init(&d);
  d.host_read = true;
  cg_jit *jh = cg_jit_new(step, &d);
  result rd;
  cg_counters h0 = cg_get_counters();
  train(&d, jh, &rd);
  cg_counters h1 = cg_get_counters();
  CHECK(!cg_jit_captured(jh) && h1.jit_replays == h0.jit_replays, "a step with a host read was replayed");
  compare("host read", &ra, &rd);
  cg_jit_free(jh);

  CHECK(cg_jit_new(NULL, NULL) == NULL && strstr(cg_last_error(), "NULL"), "cg_jit_new(NULL)");
  CHECK(cg_jit_run(NULL, 0, NULL, 0, NULL) == CG_ERR_INVALID, "cg_jit_run(NULL)");

  free(ra.w), free(rb.w), free(rc.w), free(rd.w);
  net_free(&a), net_free(&b), net_free(&c), net_free(&d);
  printf("%s: %s\n", cg_default_device(), fails ? "FAILED" : "ok");
  return fails ? 1 : 0;
}
