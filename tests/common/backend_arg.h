/* Shared start of the tests that run on one backend: read `-b BACKEND` from the command
 * line and open it as the default device, or print SKIP so that the test exits 77 (CTest's
 * skip code, SKIP_RETURN_CODE 77). Header-only (static inline): a test includes it as
 * "../common/backend_arg.h" and needs no extra target or include path. */
#ifndef CG_TESTS_BACKEND_ARG_H
#define CG_TESTS_BACKEND_ARG_H

#include <stdio.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

/* Exit code a test returns when its backend is not available here. */
#define TEST_SKIP 77

/* The argument of the last `-b BACKEND` option, or NULL when there is none. Other options
 * are ignored; a test with more options parses them itself. */
static inline const char *test_backend_arg(int argc, char **argv) {
  const char *be = NULL;
  for (int o; (o = getopt(argc, argv, "b:")) != -1;)
    if (o == 'b') be = optarg;
  return be;
}

/* Makes be the default device (be NULL: the default one, which BACKEND picks). Returns 0
 * when it opens, else prints SKIP with the reason and returns TEST_SKIP. */
static inline int test_open_backend(const char *be) {
  if (be && cg_set_default_device(be) != CG_OK) {
    printf("SKIP %s: backend not available (%s)\n", be, cg_last_error());
    return TEST_SKIP;
  }
  if (!be && !cg_default_device()) {
    printf("SKIP: no device opens (%s)\n", cg_last_error());
    return TEST_SKIP;
  }
  return 0;
}

#endif
