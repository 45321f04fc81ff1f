/* Core basics: thread-local last error, the log hook, DEBUG level, counters, checked
 * allocation and a tiny string builder. */
#include "base.h"

static _Thread_local char last_error[1024];
cg_counters cg__counters;

static void default_log(int level, const char *msg, void *user) {
  (void)user;
  static const char *names[] = {"error", "warn", "info", "debug"};
  fprintf(stderr, "cgrad %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level], msg);
}
static cg_log_fn log_fn = default_log;
static void *log_user;

void cg_set_log(cg_log_fn fn, void *user) {
  log_fn = fn ? fn : default_log;
  log_user = user;
}

void cg__log(int level, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  log_fn(level, buf, log_user);
}

cg_status cg__error(cg_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  if (cg__debug() >= 1) cg__log(3, "error: %s", last_error);
  return st;
}

void cg__clear_error(void) { last_error[0] = 0; }
const char *cg_last_error(void) { return last_error; }

const char *cg_status_str(cg_status s) {
  switch (s) {
#define CG_ST_X(n, v, m) case CG_##n: return m;
    CG_STATUS_LIST(CG_ST_X)
#undef CG_ST_X
  }
  return "unknown status";
}

long cg__env_int(const char *name, long dflt) {
  const char *v = getenv(name);
  return v && *v ? strtol(v, NULL, 10) : dflt;
}

int cg__debug(void) {
  static int level = -1;
  if (level < 0) level = (int)cg__env_int("DEBUG", 0);
  return level;
}

cg_counters cg_get_counters(void) { return cg__counters; }

void *cg__xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) { fprintf(stderr, "cgrad: out of memory (%zu bytes)\n", n); abort(); }
  return p;
}
void *cg__xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p) { fprintf(stderr, "cgrad: out of memory\n"); abort(); }
  return p;
}
void *cg__xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) { fprintf(stderr, "cgrad: out of memory (%zu bytes)\n", n); abort(); }
  return p;
}
char *cg__xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(cg__xmalloc(n), s, n);
}

void cg__str_printf(cg_str *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->s && (size_t)n < room) { b->len += (size_t)n; return; }
    b->cap = (b->cap + (size_t)n + 1) * 2;
    b->s = cg__xrealloc(b->s, b->cap);
  }
}
