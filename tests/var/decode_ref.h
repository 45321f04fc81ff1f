/* Shared by tests/var and tests/jit: the toy KV-cache decode's naive C reference
 * (single-head attention over rows <= pos), deterministic data and a pass/fail counter.
 * The includer defines D and T (head size, cache rows) first. */
#ifndef CG_TEST_DECODE_REF_H
#define CG_TEST_DECODE_REF_H
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <cgrad/cgrad.h>

#include "../common/tally.h"

/* Deterministic data in [-1, 1). */
static inline void fill(float *v, int n, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (int i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = (float)((s >> 8) * (1.0 / 16777216.0)) * 2 - 1;
  }
}

static inline cg_tensor *input(const float *v, int64_t d0, int64_t d1) {
  int64_t shape[2] = {d0, d1};
  return cg_from_data(v, CG_FLOAT32, 2, shape);
}

/* Largest |got - ref| over n floats of t (INFINITY if it cannot be read). */
static inline double max_err(cg_tensor *t, const float *ref, int n) {
  float got[T * D];
  if (!t || cg_numel(t) != n || cg_to_host(t, got, sizeof(float) * (size_t)n) != CG_OK) return INFINITY;
  double e = 0;
  for (int i = 0; i < n; i++) e = fmax(e, fabs((double)got[i] - ref[i]));
  return e;
}

/* out[d] = sum_t softmax_t(q.K[t] / sqrt(D))[t] V[t][d] over t <= pos */
static inline void naive_attend(const float *K, const float *V, const float *q, int pos, float *out) {
  double s[T], m = -INFINITY, z = 0;
  for (int t = 0; t <= pos; t++) {
    s[t] = 0;
    for (int d = 0; d < D; d++) s[t] += (double)q[d] * K[t * D + d];
    s[t] /= sqrt((double)D);
    m = fmax(m, s[t]);
  }
  for (int t = 0; t <= pos; t++) z += s[t] = exp(s[t] - m);
  for (int d = 0; d < D; d++) {
    double acc = 0;
    for (int t = 0; t <= pos; t++) acc += s[t] / z * V[t * D + d];
    out[d] = (float)acc;
  }
}
#endif
