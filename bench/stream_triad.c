/* STREAM-like peer for the thread-scaling check of issue 4.4: o = a*b + c over n float32
 * with 1 and 2 OpenMP threads, ordinary stores and non-temporal (streaming) stores.
 * It shows what this machine's memory system allows a memory-bound elementwise kernel
 * on 2 cores, independent of cgrad. Buffers are 64-byte aligned and touched before
 * timing (no page faults in the timed loop) and, like the llvm plugin's large buffers,
 * advised to use transparent huge pages (unless the third argument is "4k"); each case
 * reports the best of `reps` runs, interleaving the thread counts so that a busy
 * neighbour hits both alike.
 *
 *   stream_triad [n_floats (default 16M)] [reps (default 15)] [4k] */
#define _DEFAULT_SOURCE
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* o = a*b + c, 8 floats at a time (AVX; SSE otherwise) so that the compiler's
 * vectorizer does not decide the result. nt = 1: non-temporal stores (the line goes to
 * memory without being read first), else ordinary stores (read for ownership). o is
 * 64-byte aligned and each thread's slice starts at a multiple of 16 floats. */
static void triad_part(float *o, const float *a, const float *b, const float *c, long lo, long hi,
                       int nt) {
  long i = lo;
#if defined(__AVX__)
  for (; i + 8 <= hi; i += 8) {
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)), _mm256_loadu_ps(c + i));
    if (nt) _mm256_stream_ps(o + i, v);
    else _mm256_store_ps(o + i, v);
  }
#elif defined(__x86_64__)
  for (; i + 4 <= hi; i += 4) {
    __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)), _mm_loadu_ps(c + i));
    if (nt) _mm_stream_ps(o + i, v);
    else _mm_store_ps(o + i, v);
  }
#endif
  for (; i < hi; i++) o[i] = a[i] * b[i] + c[i];
#if defined(__x86_64__)
  if (nt) _mm_sfence();
#endif
}

/* Sum of a + b + c over [lo, hi): reads only, the memory system's read bandwidth. */
static float read_part(const float *a, const float *b, const float *c, long lo, long hi) {
  long i = lo;
  float s = 0;
#if defined(__AVX__)
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (; i + 16 <= hi; i += 16) {
    s0 = _mm256_add_ps(s0, _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)), _mm256_loadu_ps(c + i)));
    s1 = _mm256_add_ps(s1, _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)),
                                         _mm256_loadu_ps(c + i + 8)));
  }
  float l[8];
  _mm256_storeu_ps(l, _mm256_add_ps(s0, s1));
  for (int k = 0; k < 8; k++) s += l[k];
#endif
  for (; i < hi; i++) s += a[i] + b[i] + c[i];
  return s;
}

static volatile float g_sink;

/* Contiguous slices, one per thread (like OpenMP's static schedule). kind 0: triad with
 * stores, 1: triad with non-temporal stores, 2: read a, b, c only. */
static void run(float *o, const float *a, const float *b, const float *c, long n, int kind) {
#pragma omp parallel
  {
    long t = omp_get_thread_num(), T = omp_get_num_threads();
    long per = (n / T + 15) / 16 * 16;
    long lo = t * per < n ? t * per : n, hi = lo + per < n ? lo + per : n;
    if (kind < 2) triad_part(o, a, b, c, lo, hi, kind);
    else g_sink = read_part(a, b, c, lo, hi);
  }
}

static float *alloc_floats(long n, float v, int huge) {
  void *p = NULL;
  size_t bytes = ((size_t)n * sizeof(float) + 4095) & ~(size_t)4095;
  if (posix_memalign(&p, 4096, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
  if (huge) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  float *f = p;
  for (long i = 0; i < n; i++) f[i] = v + (float)(i & 7);
  return f;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 16L << 20;
  int reps = argc > 2 ? atoi(argv[2]) : 15;
  int huge = !(argc > 3 && strcmp(argv[3], "4k") == 0);
  if (n <= 0 || reps <= 0) {
    fprintf(stderr, "usage: stream_triad [n_floats] [reps]\n");
    return 2;
  }
  float *o = alloc_floats(n, 0, huge), *a = alloc_floats(n, 1, huge), *b = alloc_floats(n, 2, huge),
        *c = alloc_floats(n, 3, huge);
  if (!o || !a || !b || !c) {
    fprintf(stderr, "stream_triad: out of memory\n");
    return 1;
  }
  /* bytes moved: the triad reads 3 arrays and writes 1, plus (ordinary stores) 1 read
   * for ownership of the output line; the read kernel reads 3 */
  const char *names[3] = {"o=a*b+c stores", "o=a*b+c nontemporal", "read a, b, c"};
  const double arrays[3] = {5, 4, 3};
  double best[3][3] = {{1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}, {1e30, 1e30, 1e30}};
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < 3; k++)
      for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        double t0 = now_s();
        run(o, a, b, c, n, k);
        double dt = now_s() - t0;
        if (dt < best[k][t]) best[k][t] = dt;
      }
  printf("# stream_triad n=%ld floats (%.0f MiB per array, %s pages), best of %d\n", n,
         (double)n * sizeof(float) / 1048576.0, huge ? "huge" : "4 KiB", reps);
  printf("| kernel | 1 thread ms | 2 threads ms | speedup | DRAM GB/s (1 / 2 threads) |\n|---|---|---|---|---|\n");
  for (int k = 0; k < 3; k++) {
    double bytes = arrays[k] * (double)n * sizeof(float);
    printf("| %s | %.2f | %.2f | %.2f | %.1f / %.1f |\n", names[k], best[k][1] * 1e3, best[k][2] * 1e3,
           best[k][1] / best[k][2], bytes / best[k][1] * 1e-9, bytes / best[k][2] * 1e-9);
  }
  free(o);
  free(a);
  free(b);
  free(c);
  return 0;
}
