/* CHECK(cond, fmt, ...) for the tests that count failures and go on: a false cond adds
 * one to `fails` and prints file:line, the condition and the message to stderr. Each
 * test decides its exit code from `fails`. Include it as "../common/check.h". */
#ifndef CG_TESTS_CHECK_H
#define CG_TESTS_CHECK_H

#include <stdio.h>

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

#endif
