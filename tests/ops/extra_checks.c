/* Op-test checks that have no PyTorch golden: random ops (statistics and determinism),
 * dropout in training, and the non-op API (gradient accumulation and zero_grad, assign,
 * realize_all, to_device with autograd across devices, scopes, item, print, graph_str).
 * References are computed here with plain C. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"

static void stat_check(tally *t, const char *be, const char *name, bool ok, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
static void stat_check(tally *t, const char *be, const char *name, bool ok, const char *fmt,
                       ...) {
  t->checks++;
  if (ok) {
    if (opt_verbose) printf("ok   %-5s %-22s\n", be, name);
    return;
  }
  t->fails++;
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL %-5s %-22s ", be, name);
  vprintf(fmt, ap);
  printf(" (%s)\n", cg_last_error());
  va_end(ap);
}

/* ---- random ops and dropout: statistics and determinism ---- */

static double *rand_values(cg_tensor *t, int64_t n) {
  cg_status st;
  double *v = t && cg_numel(t) == n ? read_back(t, &st) : NULL;
  return v;
}


static void moments(const double *v, int64_t n, double *mean, double *var, double *lo,
                    double *hi) {
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    s += v[i];
    if (v[i] < *lo) *lo = v[i];
    if (v[i] > *hi) *hi = v[i];
  }
  *mean = s / (double)n;
  for (int64_t i = 0; i < n; i++) s2 += (v[i] - *mean) * (v[i] - *mean);
  *var = s2 / (double)n;
}

enum { NR = 20000 };

static void check_rand(tally *t, const char *be) {
  const int64_t shape[] = {NR};
  double m, var, lo, hi;
  cg_manual_seed(42);
  double *a = rand_values(cg_rand(CG_FLOAT32, 1, shape), NR);
  cg_manual_seed(42);
  double *b = rand_values(cg_rand(CG_FLOAT32, 1, shape), NR);
  double *c = rand_values(cg_rand(CG_FLOAT32, 1, shape), NR); /* next draw, same seed run */
  cg_manual_seed(43);
  double *d = rand_values(cg_rand(CG_FLOAT32, 1, shape), NR);
  stat_check(t, be, "rand_runs", a && b && c && d, "cg_rand returned no data");
  if (a && b && c && d) {
    moments(a, NR, &m, &var, &lo, &hi);
    /* U[0,1): mean 1/2 (sd of the mean 0.002), variance 1/12 */
    stat_check(t, be, "rand_uniform", lo >= 0 && hi < 1 && fabs(m - 0.5) < 0.01 &&
                                          fabs(var - 1.0 / 12) < 0.004,
               "min %g max %g mean %g var %g", lo, hi, m, var);
    int same_ab = 0, same_ac = 0, same_ad = 0;
    for (int i = 0; i < NR; i++) {
      same_ab += a[i] == b[i];
      same_ac += a[i] == c[i];
      same_ad += a[i] == d[i];
    }
    stat_check(t, be, "rand_seed_repeat", same_ab == NR, "%d/%d equal after reseed", same_ab,
               NR);
    stat_check(t, be, "rand_fresh_draws", same_ac < NR / 100 && same_ad < NR / 100,
               "%d (next draw) and %d (other seed) of %d equal", same_ac, same_ad, NR);
    int64_t hist[10] = {0};
    for (int i = 0; i < NR; i++) hist[(int)(a[i] * 10) < 10 ? (int)(a[i] * 10) : 9]++;
    bool flat = true;
    for (int i = 0; i < 10; i++) flat &= labs((long)(hist[i] - NR / 10)) < NR / 40;
    stat_check(t, be, "rand_histogram", flat, "deciles not flat");
  }
  free(a), free(b), free(c), free(d);
}

static void check_randn(tally *t, const char *be) {
  const int64_t shape[] = {NR / 100, 100};
  double m, var, lo, hi;
  cg_manual_seed(7);
  double *a = rand_values(cg_randn(CG_FLOAT32, 2, shape), NR);
  cg_manual_seed(7);
  double *b = rand_values(cg_randn(CG_FLOAT32, 2, shape), NR);
  stat_check(t, be, "randn_runs", a && b, "cg_randn returned no data");
  if (a && b) {
    moments(a, NR, &m, &var, &lo, &hi);
    int within1 = 0, same = 0;
    for (int i = 0; i < NR; i++) {
      within1 += fabs(a[i]) < 1;
      same += a[i] == b[i];
    }
    /* N(0,1): mean 0 (sd 0.007), var 1, P(|x|<1) = 0.6827 */
    stat_check(t, be, "randn_normal",
               fabs(m) < 0.04 && fabs(var - 1) < 0.06 && isfinite(lo) && isfinite(hi) &&
                   fabs((double)within1 / NR - 0.6827) < 0.02,
               "mean %g var %g P(|x|<1) %g", m, var, (double)within1 / NR);
    stat_check(t, be, "randn_seed_repeat", same == NR, "%d/%d equal after reseed", same, NR);
  }
  free(a), free(b);
}

static void check_randint(tally *t, const char *be) {
  const int64_t shape[] = {NR};
  cg_manual_seed(3);
  cg_tensor *r = cg_randint(-3, 5, CG_INT32, 1, shape);
  double *a = rand_values(r, NR);
  stat_check(t, be, "randint_runs", a && cg_tensor_dtype(r) == CG_INT32,
             "cg_randint returned no int32 data");
  if (a) {
    int64_t hist[8] = {0};
    bool in_range = true;
    for (int i = 0; i < NR; i++) {
      in_range &= a[i] >= -3 && a[i] < 5 && a[i] == floor(a[i]);
      if (in_range) hist[(int)a[i] + 3]++;
    }
    bool flat = in_range;
    for (int i = 0; i < 8 && flat; i++) flat = labs((long)(hist[i] - NR / 8)) < NR / 40;
    stat_check(t, be, "randint_uniform", flat, "values out of [-3,5) or not uniform");
  }
  free(a);
}

/* dropout(ones, p=0.25, training): each output is 0 or 1/(1-p), ~25% zeros; the gradient
 * of sum(out) is exactly out. */
static void check_dropout(tally *t, const char *be) {
  const int64_t shape[] = {NR};
  const double p = 0.25, keep = 1 / (1 - p);
  cg_manual_seed(5);
  cg_tensor *x = cg_ones(CG_FLOAT32, 1, shape);
  cg_set_requires_grad(x, true);
  cg_tensor *y = cg_dropout(x, p, true);
  cg_tensor *loss = cg_sum(y, 0, NULL, false);
  double *v = rand_values(y, NR), *g = NULL;
  cg_status st = CG_ERR_INVALID;
  if (v && (st = cg_backward(loss)) == CG_OK && cg_grad(x)) g = rand_values(cg_grad(x), NR);
  stat_check(t, be, "dropout_runs", v && g, "no output or gradient (status %d)", st);
  if (v && g) {
    int zeros = 0, bad = 0, gbad = 0;
    for (int i = 0; i < NR; i++) {
      zeros += v[i] == 0;
      bad += v[i] != 0 && fabs(v[i] - keep) > 1e-6;
      gbad += fabs(g[i] - v[i]) > 1e-6;
    }
    stat_check(t, be, "dropout_train", !bad && fabs((double)zeros / NR - p) < 0.02,
               "%d values not in {0, %g}, zero fraction %g", bad, keep, (double)zeros / NR);
    stat_check(t, be, "dropout_grad", !gbad, "%d gradient entries differ from the mask", gbad);
  }
  free(v), free(g);
}

/* ---- the non-op API ---- */

static cg_tensor *vec(const float *v, int64_t n) { return cg_from_data(v, CG_FLOAT32, 1, &n); }

/* t holds exactly the n values ref (tolerance 1e-5 relative). */
static bool holds(cg_tensor *t, const double *ref, int64_t n) {
  cg_status st;
  double *v = t && cg_numel(t) == n ? read_back(t, &st) : NULL;
  bool ok = v != NULL;
  for (int64_t i = 0; ok && i < n; i++) ok = fabs(v[i] - ref[i]) <= 1e-5 * (1 + fabs(ref[i]));
  free(v);
  return ok;
}

static cg_tensor *sum_sq(cg_tensor *x) { return cg_sum(cg_mul(x, x), 0, NULL, false); }

/* Gradients accumulate over backward calls; zero_grad clears them. */
static void check_grad_accumulate(tally *t, const char *be) {
  const float xv[] = {1, -2, 3};
  const double g2[] = {2, -4, 6}, g4[] = {4, -8, 12}, zero[] = {0, 0, 0};
  cg_tensor *x = vec(xv, 3);
  cg_set_requires_grad(x, true);
  stat_check(t, be, "requires_grad", cg_requires_grad(x), "flag not set");
  bool ok1 = cg_backward(sum_sq(x)) == CG_OK && holds(cg_grad(x), g2, 3);
  bool ok2 = cg_backward(sum_sq(x)) == CG_OK && holds(cg_grad(x), g4, 3);
  stat_check(t, be, "grad_accumulate", ok1 && ok2, "grad after 1 and 2 backward: %d %d", ok1,
             ok2);
  cg_zero_grad(x);
  bool z = !cg_grad(x) || holds(cg_grad(x), zero, 3);
  bool ok3 = z && cg_backward(sum_sq(x)) == CG_OK && holds(cg_grad(x), g2, 3);
  stat_check(t, be, "zero_grad", ok3, "zero_grad then backward (cleared: %d)", z);
}

/* assign replaces the value in place, with broadcasting; x = x + 1 twice. */
static void check_assign(tally *t, const char *be) {
  const float av[] = {1, 2, 3}, bv[] = {7, 8, 9};
  const double want_b[] = {7, 8, 9}, want_5[] = {5, 5, 5}, want_7[] = {7, 7, 7};
  cg_tensor *a = vec(av, 3), *b = vec(bv, 3);
  cg_tensor *alias = cg_retain(a);
  bool ok = cg_realize(a) == CG_OK && cg_assign(a, b) == CG_OK && holds(alias, want_b, 3);
  stat_check(t, be, "assign", ok, "values after assign");
  ok = cg_assign(a, cg_scalar(5, CG_FLOAT32)) == CG_OK && holds(a, want_5, 3);
  stat_check(t, be, "assign_broadcast", ok, "assign of a scalar");
  ok = cg_assign(a, cg_adds(a, 1)) == CG_OK && cg_assign(a, cg_adds(a, 1)) == CG_OK &&
       holds(a, want_7, 3);
  stat_check(t, be, "assign_increment", ok, "a = a + 1 twice from 5");
  cg_release(alias); /* cg_retain's reference is the caller's, not the scope's */
}

/* realize_all of two outputs sharing a subexpression; item of a sum. */
static void check_realize_all(tally *t, const char *be) {
  const float xv[] = {0, 1, 2};
  const double e[] = {1, exp(1.0), exp(2.0)}, s[] = {1 + exp(1.0) + exp(2.0)};
  cg_tensor *x = vec(xv, 3), *y1 = cg_exp(x), *y2 = cg_sum(y1, 0, NULL, false);
  cg_tensor *both[] = {y1, y2};
  bool ok = cg_realize_all(2, both) == CG_OK && holds(y1, e, 3) && holds(y2, s, 1);
  stat_check(t, be, "realize_all", ok, "two outputs");
  double it = cg_item(y2);
  stat_check(t, be, "item", fabs(it - s[0]) < 1e-4, "item %g expected %g", it, s[0]);
  cg_counters c0 = cg_get_counters();
  bool realized = cg_realize(cg_muls(x, 3)) == CG_OK;
  cg_counters c1 = cg_get_counters();
  stat_check(t, be, "counters", realized && c1.kernels > c0.kernels && c1.realizes > c0.realizes,
             "kernels %llu -> %llu, realizes %llu -> %llu", (unsigned long long)c0.kernels,
             (unsigned long long)c1.kernels, (unsigned long long)c0.realizes,
             (unsigned long long)c1.realizes);
}

/* to_device to REF and back; the gradient flows back across the copy. */
static void check_to_device(tally *t, const char *be) {
  const float xv[] = {1, -2, 3};
  const double want[] = {1, -2, 3}, g[] = {2, -4, 6};
  cg_tensor *x = vec(xv, 3);
  const char *dev = cg_tensor_device(x);
  stat_check(t, be, "device_name", dev && strncmp(dev, be, strlen(be)) == 0,
             "tensor device %s on backend %s", dev ? dev : "(null)", be);
  cg_set_requires_grad(x, true);
  cg_tensor *r = cg_to_device(x, "REF");
  cg_tensor *back = cg_to_device(r, be);
  const char *rd = r ? cg_tensor_device(r) : NULL;
  bool ok = r && back && rd && strncmp(rd, "REF", 3) == 0 && holds(r, want, 3) &&
            holds(back, want, 3);
  stat_check(t, be, "to_device", ok, "copy to REF and back");
  ok = r && cg_backward(sum_sq(r)) == CG_OK && holds(cg_grad(x), g, 3);
  stat_check(t, be, "to_device_grad", ok, "gradient of sum(to_device(x)^2)");
}

/* cg_keep moves a tensor out of the scope; the rest is released at pop. */
static void check_scopes(tally *t, const char *be) {
  const float xv[] = {4, 5};
  const double want[] = {8, 10};
  cg_scope_push();
  cg_tensor *kept = cg_keep(cg_muls(vec(xv, 2), 2));
  cg_scope_pop();
  stat_check(t, be, "scope_keep", holds(kept, want, 2), "kept tensor lost its value");
}

static char logbuf[4096];
static void capture(int level, const char *msg, void *user) {
  (void)level, (void)user;
  size_t n = strlen(logbuf);
  snprintf(logbuf + n, sizeof logbuf - n, "%s", msg);
}

/* print goes through the log hook and shows the values; graph_str describes the graph. */
static void check_print(tally *t, const char *be) {
  const float xv[] = {1.5f, -2.25f};
  cg_tensor *x = vec(xv, 2);
  logbuf[0] = 0;
  cg_set_log(capture, NULL);
  cg_status st = cg_print(x);
  cg_set_log(NULL, NULL);
  stat_check(t, be, "print", st == CG_OK && strstr(logbuf, "1.5") && strstr(logbuf, "-2.25"),
             "printed \"%.60s\"", logbuf);
  char *g = cg_graph_str(cg_exp(cg_adds(x, 1)));
  stat_check(t, be, "graph_str", g && strlen(g) > 0, "empty graph text");
  free(g);
}

/* Inspection: ndim, negative dim, shape, numel, dtype. */
static void check_inspect(tally *t, const char *be) {
  const int64_t s[] = {2, 3, 4};
  cg_tensor *x = cg_zeros(CG_FLOAT16, 3, s);
  const int64_t *sh = x ? cg_shape(x) : NULL;
  bool ok = x && cg_ndim(x) == 3 && cg_dim(x, -1) == 4 && cg_dim(x, 0) == 2 && sh &&
            sh[1] == 3 && cg_numel(x) == 24 && cg_tensor_dtype(x) == CG_FLOAT16;
  stat_check(t, be, "inspect", ok, "ndim/dim/shape/numel/dtype of zeros(2,3,4) float16");
  const char *dn = cg_dtype_name(CG_BFLOAT16), *sn = cg_status_str(CG_ERR_SHAPE);
  ok = dn && strcmp(dn, "bfloat16") == 0 && cg_dtype_size(CG_FLOAT16) == 2 &&
       cg_dtype_size(CG_INT64) == 8 && sn && strstr(sn, "shape") && cg_default_device();
  stat_check(t, be, "names", ok, "dtype_name/dtype_size/status_str/default_device");
}

tally run_extra_checks(const char *be) {
  tally t = {0, 0, 0};
  cg_scope_push(); /* releases every tensor made here */
  check_rand(&t, be);
  check_randn(&t, be);
  check_randint(&t, be);
  check_dropout(&t, be);
  check_grad_accumulate(&t, be);
  check_assign(&t, be);
  check_realize_all(&t, be);
  check_to_device(&t, be);
  check_scopes(&t, be);
  check_print(&t, be);
  check_inspect(&t, be);
  cg_scope_pop();
  return t;
}
