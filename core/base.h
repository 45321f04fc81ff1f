/* Private core basics shared by every core file: error reporting, logging, DEBUG level,
 * counters and checked allocation. Never installed. */
#ifndef CG_BASE_H
#define CG_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CG_BUILDING_LIB
#define CG_BUILDING_LIB 1
#endif
#include "cgrad/cgrad.h"

/* Records status + formatted message as the thread's last error; returns the status. */
cg_status cg__error(cg_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg__clear_error(void);
/* Logging through the user's hook. level: 0 error, 1 warn, 2 info, 3 debug. */
void cg__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* DEBUG env level, read once. */
int cg__debug(void);
/* Integer env var with default. */
long cg__env_int(const char *name, long dflt);

/* Counters (cgrad.h cg_counters). */
extern cg_counters cg__counters;

/* Allocation that never returns NULL for n > 0 (aborts on OOM: an internal invariant). */
void *cg__xmalloc(size_t n);
void *cg__xcalloc(size_t n, size_t sz);
void *cg__xrealloc(void *p, size_t n);
char *cg__xstrdup(const char *s);

/* Growable byte string for printers. */
typedef struct { char *s; size_t len, cap; } cg_str;
void cg__str_printf(cg_str *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CG_MAX_DIMS 8

#endif
