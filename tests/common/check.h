/* CHECK(cond, fmt, ...) for the tests that count failures and go on: a false cond adds
 * one to `fails` and prints file:line, the condition and the message to stderr. Each
 * test decides its exit code from `fails`. Also test_golden, the golden-file check.
 * Include it as "../common/check.h". */
#ifndef CG_TESTS_CHECK_H
#define CG_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static int fails; /* failed CHECKs so far */

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fails++;                                                                 \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, "\n");                                                   \
    }                                                                          \
  } while (0)

/* Golden-file check: src must equal the file at path (a failure prints what differs,
 * `what` names it: "rendered source"); with CG_UPDATE_GOLDEN set, writes src there
 * instead. */
static inline void test_golden(const char *path, const char *src, const char *what) {
  if (getenv("CG_UPDATE_GOLDEN")) {
    CHECK(test_write_file(path, src), "cannot write %s", path);
    return;
  }
  char *want = test_read_file(path);
  CHECK(want, "missing golden file %s (run with CG_UPDATE_GOLDEN=1)", path);
  if (want && strcmp(want, src)) {
    fails++;
    fprintf(stderr, "FAIL: %s differs from the %s:\n%s\n", path, what, src);
  }
  free(want);
}

#endif
