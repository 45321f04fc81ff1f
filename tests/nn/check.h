/* Tiny assertion helpers for the nn tests: CHECK records a failure with its line and
 * goes on, so one run reports every broken case; main returns check_result(). */
#ifndef CG_TEST_CHECK_H
#define CG_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

#include "../common/check.h"

/* |a-b| <= atol + rtol*|b| */
static inline int close_to(double a, double b, double atol, double rtol) {
  return fabs(a - b) <= atol + rtol * fabs(b);
}

static inline int check_result(const char *name) {
  if (fails) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, fails);
    return 1;
  }
  printf("%s: all checks passed\n", name);
  return 0;
}

#endif
