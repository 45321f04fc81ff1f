/* Tile sweep of the TC opt (a tool, not a test): f16 matmul n x n x n, "NN" (a @ b, both
 * row-major) and "NT" (a @ b.T), timed by the core's DEBUG=2 launch lines (GPU time) for
 * each CG_OPTS list given ("" = the default heuristics), best of 5 runs.
 *   tc_sweep [-b CUDA] [-n 4096] "" "TC2:16 UNROLL2:2 UPCAST0:4 ..." ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/cgrad.h"

static double last_us;
static char last_name[128];

static void hook(int level, const char *msg, void *user) {
  (void)level, (void)user;
  const char *p = strstr(msg, " r_"), *l = strstr(msg, "local [");
  double us;
  if (!p || !l || !(l = strchr(l, ']')) || sscanf(l + 1, "%lf us", &us) != 1) return;
  last_us = us;
  sscanf(p + 1, "%127s", last_name);
}

int main(int argc, char **argv) {
  const char *be = "CUDA";
  int64_t n = 4096;
  int first = 1;
  for (; first < argc; first++) {
    if (!strcmp(argv[first], "-b") && first + 1 < argc) be = argv[++first];
    else if (!strcmp(argv[first], "-n") && first + 1 < argc) n = atoll(argv[++first]);
    else break;
  }
  setenv("DEBUG", "2", 1);
  cg_set_log(hook, NULL);
  if (cg_set_default_device(be) != CG_OK) {
    printf("SKIP: no %s device (%s)\n", be, cg_last_error());
    return 77;
  }
  int64_t s[2] = {n, n};
  int tr[2] = {1, 0};
  cg_tensor *a = cg_cast(cg_rand(CG_FLOAT32, 2, s), CG_FLOAT16);
  cg_tensor *b = cg_cast(cg_rand(CG_FLOAT32, 2, s), CG_FLOAT16);
  cg_realize(a);
  cg_realize(b);
  for (int i = first; i < argc; i++)
    for (int layout = 0; layout < 2; layout++) {
      if (*argv[i]) setenv("CG_OPTS", argv[i], 1);
      else unsetenv("CG_OPTS");
      double best = 1e30;
      for (int r = 0; r < 5; r++) {
        cg_scope_push();
        cg_tensor *y = cg_matmul(a, layout ? cg_permute(b, tr) : b);
        last_us = 0;
        if (cg_realize(y) != CG_OK) printf("error: %s\n", cg_last_error());
        float one;
        cg_to_host(cg_reshape(cg_shrink(cg_cast(y, CG_FLOAT32), (int64_t[]){0, 1, 0, 1}), 0, NULL), &one, 4);
        if (last_us > 0 && last_us < best) best = last_us;
        cg_scope_pop();
      }
      printf("%s %-60s %-48s %9.1f us %7.1f TFLOP/s\n", layout ? "NT" : "NN", last_name, *argv[i] ? argv[i] : "(heuristic)",
             best, 2.0 * (double)n * n * n / best * 1e-6);
    }
  return 0;
}
