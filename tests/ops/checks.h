/* Shared pieces of the op-test runner: the pass/fail tally, the verbose flag, reading a
 * tensor back as doubles, and the extra (non-golden) checks in extra_checks.c. */
#ifndef CG_TEST_CHECKS_H
#define CG_TEST_CHECKS_H

#include <stdbool.h>

#include <cgrad/cgrad.h>

typedef struct {
  int checks, fails, skips;
} tally;

extern bool opt_verbose; /* print passing checks too */

/* Realizes t and returns its values as doubles (caller frees), or NULL + *st. */
double *read_back(cg_tensor *t, cg_status *st);

/* Random ops, dropout statistics and the non-op API (autograd accumulation, assign,
 * realize_all, to_device, scopes, item, print) on the current default device.
 * EXTRA_CHECKS: how many checks it runs (a crash counts them all as failed). */
enum { EXTRA_CHECKS = 30 };
tally run_extra_checks(const char *be);

#endif
