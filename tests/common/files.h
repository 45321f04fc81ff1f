/* Whole-file reads and writes for the tests (golden files, generated sources). Include
 * it as "../common/files.h". */
#ifndef CG_TESTS_FILES_H
#define CG_TESTS_FILES_H

#include <stdio.h>
#include <stdlib.h>

/* The file's bytes plus a terminating NUL (caller frees), or NULL when it cannot be read. */
static inline char *test_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

/* Writes s to path; returns 1, or 0 when it cannot. */
static inline int test_write_file(const char *path, const char *s) {
  FILE *f = fopen(path, "wb");
  int ok = f && fputs(s, f) >= 0;
  if (f && fclose(f)) ok = 0;
  return ok;
}

#endif
