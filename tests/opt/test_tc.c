/* TC opt on a real device (CUDA): f16 and bf16 matmuls (plain, transposed operands,
 * batched, broadcast batch, forced opt lists, sizes TC can't take) against a naive double
 * loop on exactly representable inputs (every product and partial sum exact in f32) and
 * against the same graph run with NOOPT=1; the kernel names (DEBUG=2 launch lines) must
 * show the TC opt ('_T') wherever the sizes allow it.
 *
 *   test_tc [-b CUDA] [--beam]   77 = no such device or it declares no tensor-core shapes
 *   test_tc -b CLANG --no-tc      a device without shapes: the same checks, TC never used
 *   --beam: also BEAM=2 (short budget) on one matmul: its pick must be right too */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/cgrad.h"
#include "runtime.h"

static int tc_launches, launches;

static void hook(int level, const char *msg, void *user) {
  (void)level, (void)user;
  if (!strstr(msg, "global [")) return;
  launches++;
  const char *p = strstr(msg, " r_");
  if (p && strstr(p, "_T")) tc_launches++;
}

/* Exact inputs: k/8 for k in -8..8 (f16 and bf16 hold them; products and sums are exact). */
static float val(int id, int64_t i) { return (float)((int)((i * 7 + id * 3 + i / 5) % 17) - 8) / 8.0f; }

static cg_tensor *input(int id, cg_dtype dt, int ndim, const int64_t *shape, float *host) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  for (int64_t i = 0; i < n; i++) host[i] = val(id, i);
  cg_tensor *t = cg_cast(cg_from_data(host, CG_FLOAT32, ndim, shape), dt);
  cg_realize(t); /* a 16-bit buffer: the matmul kernel loads f16/bf16 */
  return t;
}

typedef struct {
  const char *name;
  int64_t batch_a, batch_b, m, n, k; /* batch 0: 2-D */
  bool ta, tb;                       /* operand stored transposed (a as K x M, b as N x K) */
  bool tc;                           /* the sizes allow TC */
  const char *opts;                  /* CG_OPTS, or NULL for the heuristics */
  bool epi;                          /* relu(a @ b + bias[n]): a fused epilogue */
} mcase;

static const mcase cases[] = {
    {"plain 128x256x64", 0, 0, 128, 256, 64, false, false, true, NULL},
    {"B transposed", 0, 0, 128, 256, 64, false, true, true, NULL},
    {"A transposed", 0, 0, 64, 128, 96, true, false, true, NULL},
    {"both transposed", 0, 0, 48, 40, 32, true, true, true, NULL},
    {"batched 3x32x16x48", 3, 3, 32, 16, 48, false, false, true, NULL},
    {"broadcast batch", 1, 4, 64, 32, 32, false, true, true, NULL},
    {"512 cube", 0, 0, 512, 512, 512, false, false, true, NULL},
    {"forced opts", 0, 0, 128, 128, 128, false, false, true, "TC2:16 UNROLL2:4 UPCAST1:2 LOCAL0:4 LOCAL1:2"},
    {"forced, k odd steps", 0, 0, 64, 64, 48, false, true, true, "TC2:16 UPCAST0:2 UNROLL2:3"},
    {"no TC: 17x19x33", 0, 0, 17, 19, 33, false, false, false, NULL},
    {"epilogue relu(a @ b + bias)", 0, 0, 64, 32, 48, false, false, true, NULL, true},
};

static float ha[1 << 20], hb[1 << 20], hbias[4096], got[1 << 20], ref0[1 << 20];

/* The case's product with the current env; n elements as f32 into out. 0 ok. */
static int run(const mcase *c, cg_dtype dt, float *out) {
  cg_scope_push();
  int64_t sa[3], sb[3];
  int na = 0, nb = 0;
  if (c->batch_a) sa[na++] = c->batch_a;
  if (c->batch_b) sb[nb++] = c->batch_b;
  sa[na++] = c->ta ? c->k : c->m, sa[na++] = c->ta ? c->m : c->k;
  sb[nb++] = c->tb ? c->n : c->k, sb[nb++] = c->tb ? c->k : c->n;
  cg_tensor *a = input(1, dt, na, sa, ha), *b = input(2, dt, nb, sb, hb);
  int sw2[3] = {0, 2, 1}, sw[2] = {1, 0};
  if (c->ta) a = cg_permute(a, na == 3 ? sw2 : sw);
  if (c->tb) b = cg_permute(b, nb == 3 ? sw2 : sw);
  cg_tensor *mm = cg_matmul(a, b);
  if (c->epi) mm = cg_relu(cg_add(mm, input(3, dt, 1, &c->n, hbias)));
  cg_tensor *y = cg_cast(mm, CG_FLOAT32);
  int rc = y && cg_realize(y) == CG_OK && cg_to_host(y, out, sizeof(float) * (size_t)cg_numel(y)) == CG_OK ? 0 : -1;
  if (rc) printf("%s: %s\n", c->name, cg_last_error());
  cg_scope_pop();
  return rc;
}

/* Naive double loop over the same inputs (after run filled ha, hb). */
static double naive(const mcase *c, int64_t bi, int64_t i, int64_t j, double *sum) {
  int64_t ba = c->batch_a > 1 ? bi : 0, bb = c->batch_b > 1 ? bi : 0;
  double s = 0;
  for (int64_t k = 0; k < c->k; k++) {
    double x = ha[ba * c->m * c->k + (c->ta ? k * c->m + i : i * c->k + k)];
    double y = hb[bb * c->k * c->n + (c->tb ? j * c->k + k : k * c->n + j)];
    s += x * y;
  }
  *sum = s;
  return c->epi ? fmax(s + hbias[j], 0) : s;
}

static bool expect_tc = true;

static int check(const mcase *c, cg_dtype dt) {
  bool want_tc = c->tc && expect_tc;
  int64_t nbatch = c->batch_a > c->batch_b ? c->batch_a : c->batch_b, n = (nbatch ? nbatch : 1) * c->m * c->n;
  double rel = dt == CG_FLOAT16 ? 1.0 / 1024 : 1.0 / 128;
  const char *dn = dt == CG_FLOAT16 ? "f16" : "bf16";
  if (c->opts) setenv("CG_OPTS", c->opts, 1);
  int before = tc_launches, rc = run(c, dt, got);
  unsetenv("CG_OPTS");
  bool used = tc_launches > before;
  setenv("NOOPT", "1", 1);
  rc |= run(c, dt, ref0);
  unsetenv("NOOPT");
  if (rc) return 1;
  int bad = 0;
  for (int64_t e = 0; e < n && bad < 3; e++) {
    int64_t bi = e / (c->m * c->n), i = e / c->n % c->m, j = e % c->n;
    double sum, want = naive(c, bi, i, j, &sum), tol = rel * (fabs(want) + fabs(sum)) + 1e-3; /* 2 roundings */
    if (!(fabs(got[e] - want) <= tol) || !(fabs(ref0[e] - want) <= tol)) {
      printf("FAIL %s %s: [%lld, %lld, %lld] TC %.6g NOOPT %.6g naive %.6g\n", c->name, dn, (long long)bi,
             (long long)i, (long long)j, got[e], ref0[e], want);
      bad++;
    }
  }
  if (used != want_tc)
    printf("FAIL %s %s: TC %s, expected %s\n", c->name, dn, used ? "used" : "not used", want_tc ? "TC" : "none");
  else if (!bad) printf("ok   %s %s (%s)\n", c->name, dn, used ? "TC" : "no TC");
  return bad || used != want_tc;
}

int main(int argc, char **argv) {
  const char *be = "CUDA";
  bool beam = false, no_tc = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-b") && i + 1 < argc) be = argv[++i];
    else if (!strcmp(argv[i], "--beam")) beam = true;
    else if (!strcmp(argv[i], "--no-tc")) no_tc = true;
  }
  setenv("DEBUG", "2", 1); /* launch lines carry the kernel names (read once) */
  unsetenv("NOOPT");
  unsetenv("BEAM");
  unsetenv("CG_OPTS");
  cg_set_log(hook, NULL);
  if (cg_set_default_device(be) != CG_OK) {
    printf("SKIP: no %s device (%s)\n", be, cg_last_error());
    return 77;
  }
  cg_device *dev = cg__device_get(be);
  const cg_device_props *pr = dev ? cg__device_props(dev) : NULL;
  if (!pr || (!pr->n_tc_shapes && !no_tc) || (pr->n_tc_shapes && no_tc)) {
    printf("SKIP: %s declares no tensor-core shapes\n", be);
    return 77;
  }
  int fails = 0;
  expect_tc = !no_tc;
  for (int d = 0; d < 2; d++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      if (!no_tc || cases[i].m < 512) fails += check(&cases[i], d ? CG_FLOAT16 : CG_BFLOAT16); /* CPU: small */
  if (beam) {
    char dir[] = "/tmp/cg_tc_beam_XXXXXX";
    if (mkdtemp(dir)) setenv("CG_CACHE_DIR", dir, 1);
    setenv("BEAM", "2", 1);
    setenv("CG_BEAM_BUDGET", "20", 1);
    static const mcase bc = {"BEAM 256 cube", 0, 0, 256, 256, 256, false, false, true, NULL};
    int before = tc_launches;
    int rc = run(&bc, CG_FLOAT16, got);
    unsetenv("BEAM");
    printf("BEAM: %s, its pick %s TC\n", rc ? "failed" : "ran", tc_launches > before ? "uses" : "does not use");
    if (!rc) {
      for (int64_t e = 0; e < 256 * 256 && !rc; e++) {
        double sum, want = naive(&bc, 0, e / 256, e % 256, &sum);
        if (!(fabs(got[e] - want) <= fabs(want) / 1024 + 1e-3)) printf("FAIL BEAM [%lld]\n", (long long)e), rc = 1;
      }
    }
    fails += rc;
  }
  printf("%d TC launches of %d; %s\n", tc_launches, launches, fails ? "FAIL" : "ok");
  return fails ? 1 : 0;
}
