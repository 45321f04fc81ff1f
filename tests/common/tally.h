/* Named pass/fail checks for the tests that count both: check(ok, name, fmt, ...) counts
 * a pass, or a failure printed as "FAIL <name> <message> [cg_last_error()]" on stdout;
 * main prints n_pass and n_fail and fails when n_fail > 0. Include it as
 * "../common/tally.h". */
#ifndef CG_TESTS_TALLY_H
#define CG_TESTS_TALLY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <cgrad/cgrad.h>

static int n_pass, n_fail;

static inline void check(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void check(bool ok, const char *name, const char *fmt, ...) {
  if (ok) {
    n_pass++;
    return;
  }
  n_fail++;
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL %-18s ", name);
  vprintf(fmt, ap);
  printf(" [%s]\n", cg_last_error());
  va_end(ap);
}

#endif
