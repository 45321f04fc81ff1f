/* Tiny assertion helpers for the nn tests: CHECK records a failure with its line and
 * goes on, so one run reports every broken case; main returns check_result(). */
#ifndef CG_TEST_CHECK_H
#define CG_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    if (!(cond)) {                                                \
      check_failures++;                                           \
      fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                               \
      fprintf(stderr, "\n");                                      \
    }                                                             \
  } while (0)

/* |a-b| <= atol + rtol*|b| */
static inline int close_to(double a, double b, double atol, double rtol) {
  return fabs(a - b) <= atol + rtol * fabs(b);
}

static inline int check_result(const char *name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    return 1;
  }
  printf("%s: all checks passed\n", name);
  return 0;
}

#endif
