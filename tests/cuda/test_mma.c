/* Tensor cores through the IR: the two WMMA matmuls of mma_kernel.c (operands straight
 * from global memory; staged through shared memory), launched through the plugin,
 * against a naive double-precision loop (float16 and bfloat16 inputs, fp32
 * accumulation), on a size with several work-groups per axis.
 *
 *   cuda_test_mma PLUGIN               the test (SKIP without a GPU or tensor cores)
 *   cuda_test_mma PLUGIN bench [N]     speed of the N x N x N float16 matmul (default
 *                                      4096): median kernel time of 10 launches after 2
 *                                      warm-ups, 64 sampled entries checked; one JSON line
 *                                      per kernel
 *                                      (bench/gpu_bench.py --mma-bench runs it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mma_kernel.h"

static th_plugin T;

static float frand(void) { return 2.0f * (float)rand() / (float)RAND_MAX - 1.0f; }
static uint16_t to16(cg_ir_scalar dt, float f) { return dt == CG_IR_BFLOAT16 ? th_f2b(f) : th_f2h(f); }
static float from16(cg_ir_scalar dt, uint16_t h) { return dt == CG_IR_BFLOAT16 ? th_b2f(h) : th_h2f(h); }

/* Shape id of the device's tensor-core shape for dt, -1 if none. */
static int tc_shape(cg_ir_scalar dt) {
  cg_device_props pr = {.struct_size = sizeof pr};
  if (T.api->device_props(T.ctx, 0, &pr) != CG_P_OK) return -1;
  for (uint32_t s = 0; s < pr.n_tc_shapes; s++)
    if (pr.tc_shapes[s][0] == 16 && pr.tc_shapes[s][1] == 8 && pr.tc_shapes[s][2] == 16 && pr.tc_shapes[s][3] == dt)
      return (int)s;
  return -1;
}

typedef struct {
  int M, N, K;
  uint16_t *a, *b;
  float *c;
  void *buf[3]; /* C, A, B */
  void *h;
  cg_ir_program *p;
} mm;

typedef cg_ir_program *(*mm_kernel)(int M, int N, int K, cg_ir_scalar dt, int shape);

static int mm_setup(mm *m, mm_kernel kern, int M, int N, int K, cg_ir_scalar dt, int shape) {
  memset(m, 0, sizeof *m);
  m->M = M, m->N = N, m->K = K;
  m->a = malloc(sizeof(uint16_t) * (size_t)M * K);
  m->b = malloc(sizeof(uint16_t) * (size_t)N * K);
  m->c = malloc(sizeof(float) * (size_t)M * N);
  if (!m->a || !m->b || !m->c) return -1;
  for (size_t i = 0; i < (size_t)M * K; i++) m->a[i] = to16(dt, frand());
  for (size_t i = 0; i < (size_t)N * K; i++) m->b[i] = to16(dt, frand());
  m->p = kern(M, N, K, dt, shape);
  if (!m->p) return -1;
  m->h = th_build(&T, m->p);
  if (!m->h) return -1;
  size_t sz[3] = {sizeof(float) * (size_t)M * N, sizeof(uint16_t) * (size_t)M * K, sizeof(uint16_t) * (size_t)N * K};
  const void *src[3] = {NULL, m->a, m->b};
  for (int k = 0; k < 3; k++) {
    if (T.api->mem_alloc(T.dev, sz[k], &m->buf[k]) != CG_P_OK) return -1;
    if (src[k] && T.api->copy_in(T.dev, m->buf[k], 0, src[k], sz[k]) != CG_P_OK) return -1;
  }
  return 0;
}

static int mm_launch(mm *m, double *time_s) {
  cg_pstatus st = th_launch(&T, m->h, m->p, m->buf, NULL, time_s);
  return st == CG_P_OK && T.api->synchronize(T.dev) == CG_P_OK ? 0 : -1;
}

static void mm_free(mm *m) {
  for (int k = 0; k < 3; k++)
    if (m->buf[k]) T.api->mem_free(T.dev, m->buf[k]);
  if (m->h) T.api->program_unload(T.dev, m->h);
  free(m->p);
  free(m->a);
  free(m->b);
  free(m->c);
}

/* C[i][j] vs the double-precision dot product of the 16-bit inputs. */
static int mm_check(const mm *m, cg_ir_scalar dt, int i, int j) {
  double want = 0;
  for (int k = 0; k < m->K; k++)
    want += (double)from16(dt, m->a[(size_t)i * m->K + k]) * from16(dt, m->b[(size_t)j * m->K + k]);
  return th_close(m->c[(size_t)i * m->N + j], want, 1e-3, 1e-3);
}

static void test_matmul(mm_kernel kern, const char *kname, cg_ir_scalar dt) {
  const char *name = dt == CG_IR_BFLOAT16 ? "bf16" : "f16";
  int shape = tc_shape(dt);
  if (shape < 0) {
    printf("mma matmul %s: no m16n8k16 %s tensor-core shape on this device, skipped\n", name, name);
    return;
  }
  mm m;
  enum { M = 256, N = 256, K = 160 };
  if (mm_setup(&m, kern, M, N, K, dt, shape) != 0 || mm_launch(&m, NULL) != 0) {
    CHECK(0, "mma matmul %s %s: setup/launch failed: %s", kname, name, th_last_error());
    mm_free(&m);
    return;
  }
  CHECK(T.api->copy_out(T.dev, m.c, m.buf[0], 0, sizeof(float) * M * N) == CG_P_OK, "copy_out");
  int bad = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++)
      if (!mm_check(&m, dt, i, j) && bad++ < 5) CHECK(0, "mma %s %s C[%d][%d] = %g", kname, name, i, j, m.c[i * N + j]);
  printf("mma matmul (%s) %s %dx%dx%d: %d/%d mismatches\n", kname, name, M, N, K, bad, M * N);
  mm_free(&m);
}

static int cmp_d(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static int bench1(mm_kernel kern, const char *kname, int n, int shape) {
  mm m;
  if (mm_setup(&m, kern, n, n, n, CG_IR_FLOAT16, shape) != 0) {
    fprintf(stderr, "setup failed: %s\n", th_last_error());
    mm_free(&m);
    return 1;
  }
  double t[10];
  for (int r = 0; r < 12; r++) {
    double s = 0;
    if (mm_launch(&m, &s) != 0) {
      fprintf(stderr, "launch failed: %s\n", th_last_error());
      mm_free(&m);
      return 1;
    }
    if (r >= 2) t[r - 2] = s;
  }
  qsort(t, 10, sizeof t[0], cmp_d);
  double med = 0.5 * (t[4] + t[5]);
  int bad = 0;
  if (T.api->copy_out(T.dev, m.c, m.buf[0], 0, sizeof(float) * (size_t)n * n) != CG_P_OK) bad = -1;
  for (int s = 0; s < 64 && bad >= 0; s++) bad += !mm_check(&m, CG_IR_FLOAT16, rand() % n, rand() % n);
  printf("{\"case\": \"mma matmul f16 NT %d (%s)\", \"kernel_ms\": %.4f, \"tflops\": %.2f, \"sampled_mismatches\": %d}\n",
         n, kname, med * 1e3, 2.0 * n * n * (double)n / med * 1e-12, bad);
  mm_free(&m);
  return bad ? 1 : 0;
}

/* Both kernels at n x n x n (n a multiple of 128). */
static int bench(int n) {
  int shape = tc_shape(CG_IR_FLOAT16);
  if (shape < 0) {
    printf("{\"skip\": \"no float16 tensor-core shape\"}\n");
    return SKIP_CODE;
  }
  int rc = bench1(mma_matmul_ir, "global", n, shape);
  return rc | bench1(mma_matmul_smem_ir, "shared", n, shape);
}

int main(int argc, char **argv) {
  int rc = th_start(&T, argc, argv);
  if (rc) return rc;
  srand(7);
  if (argc > 2 && !strcmp(argv[2], "bench")) {
    rc = bench(argc > 3 ? atoi(argv[3]) : 4096);
    th_unload(&T);
    return rc;
  }
  if (tc_shape(CG_IR_FLOAT16) < 0 && tc_shape(CG_IR_BFLOAT16) < 0) {
    printf("SKIP: no tensor cores (sm_80+) on this device\n");
    th_unload(&T);
    return SKIP_CODE;
  }
  test_matmul(mma_matmul_ir, "global", CG_IR_FLOAT16);
  test_matmul(mma_matmul_ir, "global", CG_IR_BFLOAT16);
  test_matmul(mma_matmul_smem_ir, "shared", CG_IR_FLOAT16);
  test_matmul(mma_matmul_smem_ir, "shared", CG_IR_BFLOAT16);
  return th_finish(&T);
}
