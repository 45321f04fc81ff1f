/* Scheduling-speed benchmark: one GPT-2-small training step (forward, cross-entropy,
 * backward, SGD update of every parameter) built with the public API and realized on
 * the `null` plugin, which accepts programs and launches without computing. Prints the
 * time the core spends scheduling (graph walk, kernel boundaries, memory planning),
 * lowering and linearizing every kernel, against the 100 ms target; the plugin side
 * (render, "compile", launch) is timed apart and excluded.
 *
 *   sched_bench [-T context] [-L layers] [-s steps] [-c] [-H]
 *
 * The step builds its graph in a scope that is popped before the realize, keeping only
 * the updated parameters and the loss (the pattern that lets the memory planner share
 * the storage of every intermediate); -H keeps every intermediate tensor alive instead,
 * which keeps each kernel output a tensor refers to realized.
 *
 * GPT-2 small: 12 layers, d_model 768, 12 heads, vocab 50257, batch 1, context 1024 by
 * default. Token embedding is one_hot(tokens) @ wte, the LM head is tied to wte.
 * With -c the bench checks what does not depend on values (the null plugin computes
 * none) and exits non-zero on a failure: the step realizes and assigns, every parameter
 * gets a gradient, and the planned peak memory is below the unplanned one. It runs with
 * BACKEND=NULL and CG_NO_CACHE=1 (no disk cache) unless the environment says otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrad/cgrad.h"
#include "schedule.h"

#define D 768
#define H 12
#define V 50257
#define MAXP 256

typedef struct {
  cg_tensor *p[MAXP];
  int n;
} params;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the process: well below the wall time when the machine is busy. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A trainable float32 parameter of the given shape filled with `fill` (the null plugin
 * computes nothing, so values do not matter; a constant fill keeps start-up fast). */
static cg_tensor *param(params *ps, int nd, const int64_t *shape, double fill) {
  cg_tensor *t = cg_full(CG_FLOAT32, nd, shape, fill);
  if (!t) return NULL;
  cg_set_requires_grad(t, true);
  ps->p[ps->n++] = t;
  return t;
}

typedef struct {
  cg_tensor *ln1w, *ln1b, *attw, *attb, *prw, *prb, *ln2w, *ln2b, *fcw, *fcb, *fpw, *fpb;
} block;

static void make_block(params *ps, block *b) {
  int64_t d[1] = {D}, qkv[2] = {3 * D, D}, pr[2] = {D, D}, fc[2] = {4 * D, D}, fp[2] = {D, 4 * D};
  int64_t d3[1] = {3 * D}, d4[1] = {4 * D};
  b->ln1w = param(ps, 1, d, 1);
  b->ln1b = param(ps, 1, d, 0);
  b->attw = param(ps, 2, qkv, 0.02);
  b->attb = param(ps, 1, d3, 0);
  b->prw = param(ps, 2, pr, 0.02);
  b->prb = param(ps, 1, d, 0);
  b->ln2w = param(ps, 1, d, 1);
  b->ln2b = param(ps, 1, d, 0);
  b->fcw = param(ps, 2, fc, 0.02);
  b->fcb = param(ps, 1, d4, 0);
  b->fpw = param(ps, 2, fp, 0.02);
  b->fpb = param(ps, 1, d, 0);
}

/* (T, D) -> (H, T, D/H) for head `part` (0 q, 1 k, 2 v) of the fused qkv projection. */
static cg_tensor *heads(cg_tensor *qkv, int part, int64_t T) {
  int64_t shp[3] = {T, H, D / H};
  int order[3] = {1, 0, 2};
  cg_tensor *s = cg_slice(qkv, 1, (int64_t)part * D, (int64_t)(part + 1) * D, 1);
  return cg_permute(cg_reshape(s, 3, shp), order);
}

/* Causal self-attention: softmax(q k^T / sqrt(dh) masked to j <= i) v, 12 heads. */
static cg_tensor *attention(const block *b, cg_tensor *x, cg_tensor *mask, int64_t T) {
  cg_tensor *qkv = cg_linear(x, b->attw, b->attb);
  cg_tensor *q = heads(qkv, 0, T), *k = heads(qkv, 1, T), *v = heads(qkv, 2, T);
  cg_tensor *att = cg_muls(cg_matmul(q, cg_transpose(k, 1, 2)), 1.0 / sqrt((double)(D / H)));
  att = cg_where(mask, att, cg_scalar(-INFINITY, CG_FLOAT32));
  cg_tensor *y = cg_matmul(cg_softmax(att, -1), v); /* (H, T, dh) */
  int order[3] = {1, 0, 2};
  int64_t shp[2] = {T, D};
  y = cg_reshape(cg_permute(y, order), 2, shp);
  return cg_linear(y, b->prw, b->prb);
}

static cg_tensor *mlp(const block *b, cg_tensor *x) {
  return cg_linear(cg_gelu(cg_linear(x, b->fcw, b->fcb)), b->fpw, b->fpb);
}

typedef struct {
  double build, backward, realize;  /* wall seconds of graph building, cg_backward, realize */
  double realize_cpu;               /* process CPU seconds of the realize */
  cg_sched_stats st;                /* scheduler stats accumulated over the realize */
  int kernels;
} step_times;

static cg_sched_stats stats_diff(cg_sched_stats a, cg_sched_stats b) {
  cg_sched_stats d = b;
  d.sched_ns = b.sched_ns - a.sched_ns;
  d.lower_ns = b.lower_ns - a.lower_ns;
  d.linearize_ns = b.linearize_ns - a.linearize_ns;
  d.backend_ns = b.backend_ns - a.backend_ns;
  d.kernels = b.kernels - a.kernels;
  d.core_cpu_ns = b.core_cpu_ns - a.core_cpu_ns;
  return d;
}

/* One training step; returns 0 or -1 with a message. */
static int step(params *ps, block *blk, cg_tensor *wte, cg_tensor *wpe, cg_tensor *lnfw,
                cg_tensor *lnfb, int L, int64_t T, step_times *tm, bool check, bool hold) {
  cg_scope_push(); /* the step: roots of the realize */
  cg_scope_push(); /* the graph's intermediate tensors */
  double t0 = now_s();
  int32_t *tok = malloc(sizeof(int32_t) * (size_t)T), *lab = malloc(sizeof(int32_t) * (size_t)T);
  for (int64_t i = 0; i < T; i++) tok[i] = (int32_t)((i * 7919) % V), lab[i] = (int32_t)((i * 104729 + 1) % V);
  int64_t tshape[1] = {T};
  cg_tensor *tokens = cg_from_data(tok, CG_INT32, 1, tshape), *labels = cg_from_data(lab, CG_INT32, 1, tshape);
  free(tok);
  free(lab);
  int64_t r2[2] = {T, 1}, c2[2] = {1, T}, wshape[2] = {T, D};
  cg_tensor *ar = cg_arange(0, (double)T, 1, CG_INT32);
  cg_tensor *mask = cg_le(cg_reshape(ar, 2, c2), cg_reshape(ar, 2, r2)); /* j <= i */
  cg_tensor *pos = cg_slice(wpe, 0, 0, T, 1);
  cg_tensor *x = cg_add(cg_matmul(cg_one_hot(tokens, V), wte), cg_reshape(pos, 2, wshape));
  for (int l = 0; l < L; l++) {
    x = cg_add(x, attention(&blk[l], cg_layernorm(x, 1, blk[l].ln1w, blk[l].ln1b, 1e-5), mask, T));
    x = cg_add(x, mlp(&blk[l], cg_layernorm(x, 1, blk[l].ln2w, blk[l].ln2b, 1e-5)));
  }
  x = cg_layernorm(x, 1, lnfw, lnfb, 1e-5);
  cg_tensor *logits = cg_matmul(x, cg_transpose(wte, 0, 1));
  cg_tensor *loss = cg_cross_entropy(logits, labels);
  double t1 = now_s();
  if (!loss || cg_backward(loss) != CG_OK) {
    fprintf(stderr, "sched_bench: building the graph failed: %s\n", cg_last_error());
    cg_scope_pop();
    cg_scope_pop();
    return -1;
  }
  double t2 = now_s();
  cg_tensor *roots[MAXP + 1];
  int nr = 0;
  for (int i = 0; i < ps->n; i++) {
    cg_tensor *g = cg_grad(ps->p[i]);
    if (!g) continue;
    roots[nr++] = cg_keep(cg_sub(cg_detach(ps->p[i]), cg_muls(g, 1e-4)));
  }
  roots[nr++] = cg_keep(loss);
  /* without -H the intermediate tensors are released before realizing (their nodes
   * live on in the graph), so the planner may share their storage */
  if (!hold) cg_scope_pop();
  cg_sched_stats s0 = cg__sched_stats();
  double t3 = now_s(), c3 = cpu_s();
  cg_status st = cg_realize_all(nr, roots);
  double t4 = now_s();
  tm->realize_cpu = cpu_s() - c3;
  tm->st = stats_diff(s0, cg__sched_stats());
  int rc = 0;
  if (st != CG_OK) {
    fprintf(stderr, "sched_bench: realize failed: %s\n", cg_last_error());
    rc = -1;
  }
  for (int i = 0, r = 0; rc == 0 && i < ps->n; i++) {
    if (!cg_grad(ps->p[i])) continue;
    if (cg_assign(ps->p[i], roots[r++]) != CG_OK) {
      fprintf(stderr, "sched_bench: assign failed: %s\n", cg_last_error());
      rc = -1;
    }
    cg_zero_grad(ps->p[i]);
  }
  if (check && rc == 0 && nr != ps->n + 1) {
    fprintf(stderr, "sched_bench: %d of %d parameters got a gradient\n", nr - 1, ps->n);
    rc = -1;
  }
  tm->build = (t1 - t0) + (t3 - t2);
  tm->backward = t2 - t1;
  tm->realize = t4 - t3;
  tm->kernels = (int)tm->st.kernels;
  if (hold) cg_scope_pop();
  cg_scope_pop();
  return rc;
}

int main(int argc, char **argv) {
  int64_t T = 1024;
  int L = 12, steps = 3;
  bool check = false, hold = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-T") && i + 1 < argc) T = atoll(argv[++i]);
    else if (!strcmp(argv[i], "-L") && i + 1 < argc) L = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-s") && i + 1 < argc) steps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-c")) check = true;
    else if (!strcmp(argv[i], "-H")) hold = true;
    else {
      fprintf(stderr, "usage: sched_bench [-T context] [-L layers] [-s steps] [-c] [-H]\n");
      return 2;
    }
  }
  if (T < 1 || T > 1024 || L < 1 || L > 12 || steps < 1) {
    fprintf(stderr, "sched_bench: need 1 <= T <= 1024, 1 <= L <= 12, steps >= 1\n");
    return 2;
  }
  setenv("BACKEND", "NULL", 0);
  setenv("CG_NO_CACHE", "1", 0);
  if (cg_set_default_device(getenv("BACKEND")) != CG_OK) {
    printf("SKIP: device %s: %s\n", getenv("BACKEND"), cg_last_error());
    return 77;
  }
  params ps = {.n = 0};
  block blk[12];
  int64_t we[2] = {V, D}, pe[2] = {1024, D}, d[1] = {D};
  cg_tensor *wte = param(&ps, 2, we, 0.02), *wpe = param(&ps, 2, pe, 0.01);
  for (int l = 0; l < L; l++) make_block(&ps, &blk[l]);
  cg_tensor *lnfw = param(&ps, 1, d, 1), *lnfb = param(&ps, 1, d, 0);
  for (int i = 0; i < ps.n; i++)
    if (!ps.p[i]) {
      fprintf(stderr, "sched_bench: creating parameters failed: %s\n", cg_last_error());
      return 1;
    }
  printf("GPT-2 small training step on %s: %d layers, d_model %d, %d heads, vocab %d, batch 1, "
         "context %lld, %d parameter tensors\n",
         cg_default_device(), L, D, H, V, (long long)T, ps.n);
  int rc = 0;
  double best = 1e30, best_cpu = 1e30;
  for (int s = 0; s < steps && rc == 0; s++) {
    step_times tm;
    if (step(&ps, blk, wte, wpe, lnfw, lnfb, L, T, &tm, check, hold)) { rc = 1; break; }
    double core = (double)(tm.st.sched_ns + tm.st.lower_ns + tm.st.linearize_ns) * 1e-6;
    double ccpu = (double)tm.st.core_cpu_ns * 1e-6;
    if (core < best) best = core;
    if (ccpu < best_cpu) best_cpu = ccpu;
    printf("step %d: %d kernels | schedule %.1f ms + lower %.1f ms + linearize %.1f ms = %.1f ms "
           "(%.2fx the 100 ms target; cpu %.1f ms) | plugin %.1f ms | realize wall %.1f ms, cpu %.1f ms | "
           "graph build %.1f ms, backward %.1f ms | peak memory %.1f MiB planned, %.1f MiB unplanned\n",
           s + 1, tm.kernels, (double)tm.st.sched_ns * 1e-6, (double)tm.st.lower_ns * 1e-6,
           (double)tm.st.linearize_ns * 1e-6, core, core / 100.0, ccpu, (double)tm.st.backend_ns * 1e-6,
           tm.realize * 1e3, tm.realize_cpu * 1e3, tm.build * 1e3, tm.backward * 1e3,
           (double)tm.st.last_peak_bytes / 1048576.0, (double)tm.st.last_naive_bytes / 1048576.0);
    if (check && tm.st.last_peak_bytes >= tm.st.last_naive_bytes) {
      fprintf(stderr, "sched_bench: planned peak is not below the unplanned one\n");
      rc = 1;
    }
  }
  if (rc == 0)
    printf("best step: scheduling + lowering + linearizing %.1f ms wall = %.2fx the 100 ms target "
           "(%.1f ms of CPU)\n", best, best / 100.0, best_cpu);
  for (int i = 0; i < ps.n; i++) cg_release(ps.p[i]);
  if (check && rc == 0) printf("sched_bench: checks passed\n");
  return rc;
}
