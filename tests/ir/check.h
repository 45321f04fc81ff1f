/* Tiny test helpers shared by the IR tests: CHECK counts failures and prints where. */
#ifndef CG_IR_TEST_CHECK_H
#define CG_IR_TEST_CHECK_H
#include <stdio.h>

#include "../common/check.h"

/* Deterministic xorshift64 for fuzzing. */
static unsigned long long g_rng = 0x9e3779b97f4a7c15ull;
static inline unsigned long long rnd(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}
#endif
