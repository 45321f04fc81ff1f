/* Optimizer test: every kernel of a set (matmuls, broadcast batched matmul, reductions
 * over several axes, elementwise with broadcast/permute/pad, conv2d, softmax, odd sizes)
 * is run with random legal opt lists (CG_OPT_FUZZ=seed) and with the default heuristics,
 * and compared with the same graph run with NOOPT=1 (tolerance for float reorders).
 * The kernel names carry the applied opts (DEBUG=2 launch lines), so the test also checks
 * that the opts it expects were exercised. Kernels 14 and 15 read a B whose rows are 8 KiB
 * apart: on CPUs the optimizer packs it into 64-column panels first (cg__pack_operand, its
 * own kernel, checked by name) and tiles the matmul 4 x 64 over them.
 *
 *   test_opt -b LLVM [-s seeds]     fuzz + heuristics on one backend (77 = no device);
 *                                   GPUs (OPENCL, CUDA): + fixed opt lists that stage
 *                                   operands in local memory (core/stage.c)
 *   test_opt -b LLVM --beam         BEAM=1 twice (two processes, one cache folder): the
 *                                   first searches, the second finds the cached opts
 *   test_opt -b LLVM --beam-jobs 2  BEAM=2 with CG_BEAM_JOBS=2 (candidates compiled on two
 *                                   threads) on several kernels: equal to NOOPT, every
 *                                   kernel searched, parallel compiles reported when the
 *                                   plugin declares CG_API_CAP_CONCURRENT_COMPILE */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgrad/cgrad.h"
#include "../common/backend_arg.h"

#define MAXN (1 << 20)

static int seen[128];            /* opt letters seen in launched kernel names */
static int staged;               /* launches of kernels with local-memory staging (_S) */
static int beam_searched, beam_cached, beam_threads; /* beam_threads: "N compile threads" */
static int packed_tiles;         /* packing kernels launched */

static void hook(int level, const char *msg, void *user) {
  (void)level, (void)user;
  if (strstr(msg, "beam: searched")) beam_searched++;
  const char *th = strstr(msg, " compile thread");
  if (strstr(msg, "beam: searched") && th) {
    while (th > msg && th[-1] >= '0' && th[-1] <= '9') th--;
    beam_threads = atoi(th);
  }
  if (strstr(msg, "beam: cached")) beam_cached++;
  const char *p = strstr(msg, " r_") ? strstr(msg, " r_") : strstr(msg, " E_");
  if (!p || !strstr(msg, "global [")) return;
  if (!strncmp(p, " E_32_256_64", 12)) packed_tiles++; /* B (256, 2048) packed: [32][256][64] */
  const char *end = strchr(p + 1, ' ');
  if (end && end - p > 2 && end[-2] == '_' && end[-1] == 'S') staged++;
  for (const char *q = p + 1; *q && *q != ' '; q++)
    if (q[0] == '_' && q[1] >= 'A' && q[1] <= 'Z' && q[2] >= '0' && q[2] <= '9') seen[(int)q[1]]++;
}

/* Deterministic inputs, fresh buffers each call (so nothing is reused across runs). */
static cg_tensor *input(int id, int ndim, const int64_t *shape) {
  static float buf[MAXN];
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  for (int64_t i = 0; i < n; i++) buf[i] = (float)sin(0.37 * (double)i + id) * (1.0f + 0.1f * (float)id);
  return cg_from_data(buf, CG_FLOAT32, ndim, shape);
}

static cg_tensor *sum_axes(cg_tensor *x, int n, const int *ax) { return cg_sum(x, n, ax, false); }

#define NKERNELS 16

/* Kernel k of the set. */
static cg_tensor *build(int k) {
  static const int64_t s17x33[] = {17, 33}, s33x19[] = {33, 19}, s64[] = {64, 64}, sA[] = {3, 1, 8, 16},
                       sB[] = {1, 2, 16, 12}, s3d[] = {6, 10, 14}, s1x33[] = {1, 33}, s17x1[] = {17, 1},
                       sx[] = {2, 3, 9, 9}, sw[] = {4, 3, 3, 3}, s4d[] = {2, 5, 4, 3},
                       sW[] = {1056, 512}, sv[] = {512, 1}, sP[] = {64, 256}, sQ[] = {256, 2048},
                       sX[] = {2, 64, 256}, sb[] = {2048};
  static const int ax0[] = {0}, ax1[] = {1}, ax02[] = {0, 2}, axm[] = {-1}, perm[] = {2, 0, 3, 1}, tr[] = {1, 0};
  static const int64_t pads[] = {1, 0, 0, 2, 1, 1, 0, 1};
  switch (k) {
  case 0: return cg_matmul(input(1, 2, s17x33), input(2, 2, s33x19));
  case 1: return cg_matmul(input(3, 2, s64), input(4, 2, s64));
  case 2: return cg_matmul(input(5, 4, sA), input(6, 4, sB)); /* batch broadcast */
  case 3: return sum_axes(input(7, 3, s3d), 1, ax0);
  case 4: return sum_axes(input(8, 3, s3d), 1, ax1);
  case 5: return sum_axes(input(9, 3, s3d), 2, ax02);
  case 6: return cg_max(input(10, 2, s17x33), 1, axm, true);
  case 7: return cg_add(input(11, 2, s17x33), cg_mul(input(12, 2, s1x33), input(13, 2, s17x1)));
  case 8: return cg_adds(cg_pad(cg_permute(input(14, 4, s4d), perm), pads, 0.5), 1.0);
  case 9: return cg_conv2d(input(15, 4, sx), input(16, 4, sw), NULL, 1, 1);
  case 10: return cg_softmax(input(17, 2, s17x33), 1);
  case 11: return cg_exp(cg_sub(input(18, 2, s64), cg_max(input(18, 2, s64), 1, axm, true)));
  case 12: return cg_matmul(cg_permute(input(19, 2, s64), tr), input(20, 2, s64));
  case 13: return cg_matmul(input(21, 2, sW), input(22, 2, sv)); /* GEMV: vector UNROLL, GROUP, rows */
  case 14: return cg_matmul(input(23, 2, sP), input(24, 2, sQ)); /* B packed on CPUs */
  case 15: return cg_relu(cg_add(cg_matmul(input(25, 3, sX), input(26, 2, sQ)), input(27, 1, sb)));
  default: return NULL;
  }
}

/* Run kernel k; values into out (n elements). 0 ok. */
static int run(int k, float *out, int64_t *n) {
  cg_scope_push();
  cg_tensor *t = build(k);
  int rc = -1;
  if (t && cg_realize(t) == CG_OK) {
    *n = cg_numel(t);
    rc = *n <= MAXN && cg_to_host(t, out, sizeof(float) * (size_t)*n) == CG_OK ? 0 : -1;
  }
  if (rc) printf("kernel %d: %s\n", k, cg_last_error());
  cg_scope_pop();
  return rc;
}

static int compare(int k, const char *what, const float *ref, const float *got, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    double e = fabs((double)ref[i] - got[i]), tol = 1e-4 + 1e-4 * fabs((double)ref[i]);
    if (!(e <= tol)) {
      printf("FAIL kernel %d %s: [%lld] got %.7g expected %.7g\n", k, what, (long long)i, got[i], ref[i]);
      return 1;
    }
  }
  return 0;
}

static int fuzz(int seeds, bool gpu) {
  static float ref[MAXN], got[MAXN];
  int fails = 0, runs = 0;
  for (int k = 0; k < NKERNELS; k++) {
    int64_t n = 0, m = 0;
    setenv("NOOPT", "1", 1);
    int rc = run(k, ref, &n);
    unsetenv("NOOPT");
    if (rc) { fails++; continue; }
    for (int s = 0; s <= seeds; s++) {
      char v[32];
      snprintf(v, sizeof v, "%d", s * 7919 + k);
      if (s) setenv("CG_OPT_FUZZ", v, 1); /* seed 0: the default heuristics */
      rc = run(k, got, &m);
      unsetenv("CG_OPT_FUZZ");
      snprintf(v, sizeof v, s ? "fuzz seed %d" : "heuristics", s * 7919 + k);
      fails += rc || m != n || compare(k, v, ref, got, n);
      runs++;
    }
  }
  printf("%d runs, %d failed; opts seen: UPCAST %d UNROLL %d LOOP %d LOCAL %d GROUP %d\n", runs, fails,
         seen['U'], seen['R'], seen['L'], seen['W'], seen['G']);
  if (!seen['U'] || !seen['R'] || !seen['L'] || (gpu && (!seen['W'] || !seen['G']))) {
    printf("FAIL: an opt kind was never exercised\n");
    fails++;
  }
  printf("packing kernels run: %d\n", packed_tiles);
  if (!gpu && !packed_tiles) {
    printf("FAIL: no matmul over a packed operand (cg__pack_operand) was run\n");
    fails++;
  }
  return fails;
}

/* GPU: fixed opt lists whose UNROLL + 2-D LOCAL make the linearizer stage operands in
 * local memory (core/stage.c): padded transposed tiles, a tile not a multiple of the
 * threads, batch broadcast, conv2d, a permuted operand, GEMV; one gated LOCAL (whose
 * loads depend on every local dim through the gate: not staged, still correct). Each runs
 * with CG_STAGE=3 (prefetched copies), 2 (the default: vector tile reads) and 1. */
static int staging(void) {
  static const struct { int k; const char *opts; } cases[] = {
      {1, "UPCAST0:4 UPCAST1:4 LOCAL0:4 LOCAL1:8 UNROLL2:4"},
      {1, "UPCAST0:2 UPCAST1:8 LOCAL0:8 LOCAL1:4 UNROLL2:16"},
      {0, "UPCAST0:17 LOCAL1:19 UNROLL2:11"},
      {0, "UPCAST0:17 LOCAL1:5 UNROLL2:11"}, /* gated LOCAL: loads depend on it, not staged */
      {2, "UPCAST2:2 LOCAL3:4 LOCAL2:4 UNROLL4:4"},
      {9, "LOCAL1:4 LOCAL3:3 UPCAST2:3 UNROLL6:3"},
      {12, "UPCAST0:4 UPCAST1:4 LOCAL0:4 LOCAL1:4 UNROLL2:8"},
      {13, "UPCAST0:2 LOCAL0:16 UNROLL1:8"},
  };
  static float ref[MAXN], got[MAXN];
  int fails = 0, before = staged;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t n = 0, m = 0;
    setenv("NOOPT", "1", 1);
    int rc = run(cases[i].k, ref, &n);
    unsetenv("NOOPT");
    int was = staged;
    setenv("CG_OPTS", cases[i].opts, 1);
    for (int level = 3; level >= 1; level--) { /* + prefetch; default: vector reads; scalar */
      setenv("CG_STAGE", level == 3 ? "3" : level == 2 ? "2" : "1", 1);
      rc |= run(cases[i].k, got, &m);
      fails += rc || m != n || compare(cases[i].k, cases[i].opts, ref, got, n);
    }
    unsetenv("CG_STAGE");
    unsetenv("CG_OPTS");
    printf("  kernel %d %s:%s\n", cases[i].k, cases[i].opts, staged > was ? " staged" : "");
  }
  printf("staging: %d fixed opt lists, %d failed, %d staged launches\n", (int)(sizeof cases / sizeof cases[0]),
         fails, staged - before);
  if (staged - before < 21) {
    printf("FAIL: local-memory staging was not used\n");
    fails++;
  }
  return fails;
}

static int beam_once(void) {
  static float out[MAXN];
  int64_t n;
  setenv("BEAM", "1", 1);
  return run(1, out, &n);
}

/* First process searches, second one reads the cache (no search). */
static int beam_test(const char *dir) {
  setenv("CG_CACHE_DIR", dir, 1);
  pid_t pid = fork();
  if (pid == 0) {
    cg_set_log(hook, NULL);
    int rc = beam_once();
    _exit(rc == 0 && beam_searched == 1 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) { printf("FAIL: first BEAM run did not search once\n"); return 1; }
  cg_set_log(hook, NULL);
  int rc = beam_once();
  printf("second run: searched %d, cached %d\n", beam_searched, beam_cached);
  return rc || beam_searched != 0 || beam_cached != 1;
}

/* BEAM=2 with CG_BEAM_JOBS=jobs in a fresh cache folder, against NOOPT=1. */
static int beam_jobs_test(const char *be, int jobs) {
  static const int ks[] = {0, 1, 9, 13};
  static float ref[MAXN], got[MAXN];
  char dir[] = "/tmp/cg_opt_jobs_XXXXXX", v[16];
  if (!mkdtemp(dir)) return 1;
  setenv("CG_CACHE_DIR", dir, 1);
  setenv("CG_BEAM_BUDGET", "60", 1);
  snprintf(v, sizeof v, "%d", jobs);
  setenv("CG_BEAM_JOBS", v, 1);
  cg_set_log(hook, NULL);
  int fails = 0;
  if (cg_set_default_device(be) != CG_OK) {
    printf("SKIP: no %s device (%s)\n", be, cg_last_error());
    return 77;
  }
  uint64_t c0 = cg_get_counters().compiles;
  size_t nk = strcmp(be, "LLVM") ? 2 : sizeof ks / sizeof ks[0]; /* slower compilers: fewer kernels */
  for (size_t i = 0; i < nk; i++) {
    int64_t n = 0, m = 0;
    setenv("NOOPT", "1", 1);
    int rc = run(ks[i], ref, &n);
    unsetenv("NOOPT");
    setenv("BEAM", "2", 1);
    int before = beam_searched;
    rc = rc || run(ks[i], got, &m);
    unsetenv("BEAM");
    fails += rc || m != n || compare(ks[i], "BEAM=2", ref, got, n);
    if (beam_searched == before) printf("FAIL kernel %d: BEAM did not search\n", ks[i]), fails++;
  }
  uint64_t compiles = cg_get_counters().compiles - c0;
  printf("%d searches, %llu compiles, compile threads %d\n", beam_searched, (unsigned long long)compiles,
         beam_threads);
  /* llvm, clang and opencl declare the cap: the log must say the candidates were compiled on
   * `jobs` threads (other plugins compile one by one and report 1) */
  bool capable = !strcmp(be, "LLVM") || !strcmp(be, "CLANG") || !strcmp(be, "OPENCL");
  if (beam_threads != (capable ? jobs : 1)) printf("FAIL: expected %d compile threads\n", capable ? jobs : 1), fails++;
  if (compiles < 8) printf("FAIL: BEAM compiled only %llu programs\n", (unsigned long long)compiles), fails++;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) {}
  printf("%s\n", fails ? "FAIL" : "ok");
  return fails ? 1 : 0;
}

int main(int argc, char **argv) {
  const char *be = "LLVM";
  int seeds = 6;
  bool beam = false;
  int jobs = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-b") && i + 1 < argc) be = argv[++i];
    else if (!strcmp(argv[i], "-s") && i + 1 < argc) seeds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--beam")) beam = true;
    else if (!strcmp(argv[i], "--beam-jobs") && i + 1 < argc) jobs = atoi(argv[++i]);
  }
  setenv("DEBUG", "2", 1); /* launch lines carry the kernel names (read once) */
  unsetenv("NOOPT");
  unsetenv("BEAM");
  if (jobs > 0) return beam_jobs_test(be, jobs);
  if (beam) {
    char dir[] = "/tmp/cg_opt_beam_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    setenv("BACKEND", be, 1);
    int rc = beam_test(dir);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    printf("%s\n", rc ? "FAIL" : "ok");
    return rc ? 1 : 0;
  }
  cg_set_log(hook, NULL);
  if (test_open_backend(be)) return TEST_SKIP;
  bool gpu = !strcmp(be, "OPENCL") || !strcmp(be, "CUDA");
  int fails = fuzz(seeds, gpu);
  if (gpu) fails += staging();
  printf("%s\n", fails ? "FAIL" : "ok");
  return fails ? 1 : 0;
}
