/* Op-table test runner: for every golden case (goldens.txt, from gen_goldens.py) and every
 * requested backend, builds the inputs with cg_from_data, runs the op from op_table.c and
 * compares the forward result; then computes loss = sum(out * cot), runs cg_backward and
 * compares each input's gradient. Also checks the random ops and dropout statistically.
 *
 * usage: cg_ops_test [-b REF,CLANG,LLVM] [-g goldens.txt] [-k substring] [-f] [-r] [-v]
 *   -b  backends (default: env CG_TEST_BACKENDS, else REF,CLANG,LLVM); one that does not
 *       open prints SKIP; if none opens the exit code is 77 (CTest skip)
 *   -r  a backend that does not open is a failure instead (its plugin was built)
 *   -k  only cases whose name contains the substring
 *   -f  fork per case, so a crash is reported as a failure and the run goes on (the
 *       parent then never opens a device)
 *   -v  print every passing check too
 * Prints one line per failure and a final "N passed, N failed, N skipped" line;
 * exits 1 on any failure. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golden.h"
#include "checks.h"
#include "op_table.h"

#ifndef CG_OPS_GOLDENS
#define CG_OPS_GOLDENS "goldens.txt"
#endif

bool opt_verbose;
static bool opt_fork, opt_fork, opt_require;
static const char *opt_filter;

/* ---- tolerances ---- */

/* Tolerance of a case: set by its lowest-precision floating dtype (inputs and output). */
static void case_tol(const gt_case *c, double scale, double *rtol, double *atol) {
  int rank = 3; /* 0 bf16, 1 f16, 2 f32, 3 f64/none */
  const gt_tensor *ts[GT_MAX_IN + 1];
  for (int i = 0; i < c->nin; i++) ts[i] = &c->in[i];
  ts[c->nin] = &c->out;
  for (int i = 0; i <= c->nin; i++) {
    cg_dtype d = ts[i]->dt;
    int r = d == CG_BFLOAT16 ? 0 : d == CG_FLOAT16 ? 1 : d == CG_FLOAT32 ? 2 : 3;
    if (r < rank) rank = r;
  }
  static const double rt[] = {4e-2, 1e-2, 1e-4, 1e-4}, at[] = {4e-2, 1e-2, 1e-5, 1e-5};
  *rtol = rt[rank] * scale;
  *atol = at[rank] * scale;
}

/* Cases using a dtype besides float32/int32/bool: a backend may lack it (CG_ERR_DTYPE
 * from realize is then a skip, not a failure). */
static bool optional_dtype(cg_dtype d) {
  return d != CG_FLOAT32 && d != CG_INT32 && d != CG_BOOL;
}

static bool case_uses_optional_dtype(const gt_case *c) {
  for (int i = 0; i < c->nin; i++)
    if (optional_dtype(c->in[i].dt)) return true;
  return optional_dtype(c->out.dt);
}

/* ---- host <-> tensor ---- */

static cg_tensor *make_tensor(const gt_tensor *t, const double *v) {
  size_t sz = gt_dtype_size(t->dt);
  void *buf = calloc((size_t)(t->n ? t->n : 1), sz);
  if (!buf) return NULL;
  for (int64_t i = 0; i < t->n; i++) gt_store(t->dt, buf, i, v[i]);
  static const int64_t none[1] = {1};
  cg_tensor *r = cg_from_data(buf, t->dt, t->ndim, t->ndim ? t->shape : none);
  free(buf);
  return r;
}

/* Realizes t and returns its values as doubles (caller frees), or NULL + *st. */
double *read_back(cg_tensor *t, cg_status *st) {
  int64_t n = cg_numel(t);
  cg_dtype dt = cg_tensor_dtype(t);
  size_t sz = gt_dtype_size(dt);
  void *buf = calloc((size_t)(n > 0 ? n : 1), sz ? sz : 1);
  double *out = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
  *st = (buf && out && n >= 0) ? cg_to_host(t, buf, (size_t)n * sz) : CG_ERR_NOMEM;
  if (*st == CG_OK)
    for (int64_t i = 0; i < n; i++) out[i] = gt_load_elem(dt, buf, i);
  free(buf);
  if (*st != CG_OK) {
    free(out);
    return NULL;
  }
  return out;
}

/* ---- checking ---- */

static void report(const char *be, const gt_case *c, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(const char *be, const gt_case *c, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL %-5s %-22s %-8s ", be, c->name, what);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

static bool same_shape(cg_tensor *t, int ndim, const int64_t *shape) {
  if (cg_ndim(t) != ndim) return false;
  const int64_t *s = cg_shape(t);
  for (int i = 0; i < ndim; i++)
    if (!s || s[i] != shape[i]) return false;
  return true;
}

/* Compares values; prints the worst element on failure. */
static bool compare(const char *be, const gt_case *c, const char *what, const double *got,
                    const double *exp, int64_t n, bool fl, double rtol, double atol) {
  int64_t worst = -1;
  double worst_excess = 0, max_err = 0;
  for (int64_t i = 0; i < n; i++) {
    double err = fabs(got[i] - exp[i]);
    double lim = fl ? atol + rtol * fabs(exp[i]) : 0;
    if (isnan(got[i]) != isnan(exp[i])) err = INFINITY;
    if (err > max_err) max_err = err;
    if (err > lim && (worst < 0 || err - lim > worst_excess)) {
      worst = i;
      worst_excess = err - lim;
    }
  }
  if (worst < 0) return true;
  report(be, c, what, "max err %.3g at [%lld]: got %.8g expected %.8g (rtol %.0e atol %.0e)",
         max_err, (long long)worst, got[worst], exp[worst], rtol, atol);
  return false;
}

/* Forward: shape, dtype and values of out. Returns false on failure. */
static bool check_forward(const char *be, const gt_case *c, cg_tensor *out, double rtol,
                          double atol, cg_status *st) {
  char b1[96], b2[96];
  *st = CG_OK;
  if (!same_shape(out, c->out.ndim, c->out.shape)) {
    report(be, c, "forward", "shape %s, expected %s",
           gt_shape_str(cg_ndim(out), cg_shape(out), b1, sizeof b1),
           gt_shape_str(c->out.ndim, c->out.shape, b2, sizeof b2));
    return false;
  }
  bool ok = true;
  if (cg_tensor_dtype(out) != c->out.dt) {
    report(be, c, "forward", "dtype %s, expected %s", gt_dtype_str(cg_tensor_dtype(out)),
           gt_dtype_str(c->out.dt));
    ok = false;
  }
  double *got = read_back(out, st);
  if (!got) {
    if (*st != CG_ERR_DTYPE || !case_uses_optional_dtype(c))
      report(be, c, "forward", "realize failed (%s): %s", cg_status_str(*st), cg_last_error());
    return false;
  }
  ok &= compare(be, c, "forward", got, c->out.v, c->out.n, gt_is_float(c->out.dt), rtol, atol);
  free(got);
  return ok;
}

/* Gradient of sum(out * cot) w.r.t. every input that has a golden gradient. */
static bool check_grad(const char *be, const gt_case *c, cg_tensor *const *x, cg_tensor *out,
                       double rtol, double atol) {
  cg_tensor *cot = make_tensor(&c->cot, c->cot.v);
  cg_tensor *loss = cg_sum(cg_mul(out, cot), 0, NULL, false);
  cg_status st = loss ? cg_backward(loss) : CG_ERR_INVALID;
  if (st != CG_OK) {
    report(be, c, "backward", "failed (%s): %s", cg_status_str(st), cg_last_error());
    return false;
  }
  bool ok = true;
  for (int i = 0; i < c->nin; i++) {
    if (!c->has_g[i]) continue;
    char what[24], b1[96], b2[96];
    snprintf(what, sizeof what, "grad[%d]", i);
    cg_tensor *g = cg_grad(x[i]);
    double *got = NULL;
    if (!g) { /* no gradient recorded: acceptable only where the gradient is zero */
      got = calloc((size_t)(c->in[i].n ? c->in[i].n : 1), sizeof(double));
    } else if (!same_shape(g, c->in[i].ndim, c->in[i].shape)) {
      report(be, c, what, "shape %s, expected %s",
             gt_shape_str(cg_ndim(g), cg_shape(g), b1, sizeof b1),
             gt_shape_str(c->in[i].ndim, c->in[i].shape, b2, sizeof b2));
      ok = false;
      continue;
    } else if (!(got = read_back(g, &st))) {
      report(be, c, what, "realize failed (%s): %s", cg_status_str(st), cg_last_error());
      ok = false;
      continue;
    }
    ok &= compare(be, c, what, got, c->g[i], c->in[i].n, true, rtol, atol);
    free(got);
  }
  return ok;
}

/* Runs one case on the current default device. */
static tally run_case(const gt_case *c, const op_entry *op, const char *be) {
  tally t = {1 + c->has_grad, 0, 0};
  double rtol, atol;
  case_tol(c, op->tol_scale, &rtol, &atol);
  cg_scope_push();
  cg_tensor *x[GT_MAX_IN] = {0};
  for (int i = 0; i < c->nin; i++) {
    x[i] = make_tensor(&c->in[i], c->in[i].v);
    if (!x[i]) {
      report(be, c, "input", "cg_from_data failed: %s", cg_last_error());
      t.fails = t.checks;
      goto done;
    }
    if (c->has_grad && c->has_g[i]) cg_set_requires_grad(x[i], true);
  }
  cg_tensor *out = op->fn(x);
  if (!out) {
    report(be, c, "forward", "op returned NULL: %s", cg_last_error());
    t.fails = t.checks;
    goto done;
  }
  cg_status st;
  if (!check_forward(be, c, out, rtol, atol, &st)) {
    if (st == CG_ERR_DTYPE && case_uses_optional_dtype(c)) { /* dtype not supported by the backend */
      t.skips = t.checks;
      t.checks = 0;
      goto done;
    }
    t.fails++;
  } else if (opt_verbose) {
    printf("ok   %-5s %-22s forward\n", be, c->name);
  }
  if (c->has_grad) {
    if (!check_grad(be, c, x, out, rtol, atol))
      t.fails++;
    else if (opt_verbose)
      printf("ok   %-5s %-22s grad\n", be, c->name);
  }
done:
  cg_scope_pop();
  return t;
}

/* ---- driver ---- */

static const op_entry *find_op(const char *key) {
  for (int i = 0; i < op_table_len; i++)
    if (strcmp(op_table[i].key, key) == 0) return &op_table[i];
  return NULL;
}

/* Every golden key has a wrapper and every wrapper has goldens. */
static int check_table(const gt_file *gf) {
  int bad = 0;
  for (int i = 0; i < gf->n; i++)
    if (!find_op(gf->cases[i].key)) {
      printf("FAIL table: golden case %s uses unknown key %s\n", gf->cases[i].name,
             gf->cases[i].key);
      bad++;
    }
  for (int i = 0; i < op_table_len; i++) {
    bool used = false;
    for (int j = 0; j < gf->n && !used; j++) used = strcmp(gf->cases[j].key, op_table[i].key) == 0;
    if (!used) {
      printf("FAIL table: op %s has no golden case\n", op_table[i].key);
      bad++;
    }
  }
  return bad;
}

/* Opens backend be as the default device; prints SKIP (or FAIL with -r) if it can't. */
static bool open_backend(const char *be) {
  if (cg_set_default_device(be) == CG_OK) return true;
  printf("%s %s: backend not available (%s)\n", opt_require ? "FAIL" : "SKIP", be,
         cg_last_error());
  return false;
}

/* Runs a case (c != NULL) or the random checks in a child process that opens the backend
 * itself, so the parent never starts plugin threads (a forked child would lack them) and
 * a crash becomes a failure of that unit only. The child's tally comes back through a
 * pipe. checks: how many checks a crash counts as failed. */
static tally run_forked(const gt_case *c, const op_entry *op, const char *be, int checks) {
  tally t = {checks, checks, 0};
  const char *name = c ? c->name : "extra";
  int fd[2];
  fflush(stdout);
  pid_t pid = pipe(fd) == 0 ? fork() : -1;
  if (pid == 0) {
    close(fd[0]);
    tally r = {checks, checks, 0};
    if (open_backend(be)) r = c ? run_case(c, op, be) : run_extra_checks(be);
    fflush(stdout);
    ssize_t w = write(fd[1], &r, sizeof r);
    _exit(w == (ssize_t)sizeof r ? 0 : 1);
  }
  if (pid < 0) {
    printf("FAIL %-5s %-22s cannot fork\n", be, name);
    return t;
  }
  close(fd[1]);
  tally r;
  ssize_t got = read(fd[0], &r, sizeof r);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    printf("FAIL %-5s %-22s crash    signal %d\n", be, name, WTERMSIG(status));
  else if (got != (ssize_t)sizeof r)
    printf("FAIL %-5s %-22s crash    exit status %d (sanitizer or exit() in the library)\n",
           be, name, WEXITSTATUS(status));
  else
    t = r;
  return t;
}

/* Probes whether be opens, in a child (see run_forked). */
static bool backend_opens_forked(const char *be) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    bool ok = open_backend(be);
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

static void run_backend(const gt_file *gf, const char *be, tally *tot) {

  for (int i = 0; i < gf->n; i++) {
    const gt_case *c = &gf->cases[i];
    const op_entry *op = find_op(c->key);
    if (!op || (opt_filter && !strstr(c->name, opt_filter))) continue;
    tally t = opt_fork ? run_forked(c, op, be, 1 + c->has_grad) : run_case(c, op, be);
    tot->checks += t.checks, tot->fails += t.fails, tot->skips += t.skips;
  }
  if (!opt_filter || strcmp(opt_filter, "extra") == 0) {
    tally t = opt_fork ? run_forked(NULL, NULL, be, EXTRA_CHECKS) : run_extra_checks(be);
    tot->checks += t.checks, tot->fails += t.fails;
  }
}

int main(int argc, char **argv) {
  const char *backends = getenv("CG_TEST_BACKENDS"), *golden = CG_OPS_GOLDENS;
  if (!backends || !*backends) backends = "REF,CLANG,LLVM";
  for (int o; (o = getopt(argc, argv, "b:g:k:frv")) != -1;) {
    if (o == 'b') backends = optarg;
    else if (o == 'g') golden = optarg;
    else if (o == 'k') opt_filter = optarg;
    else if (o == 'f') opt_fork = true;
    else if (o == 'r') opt_require = true;
    else if (o == 'v') opt_verbose = true;
    else return 2;
  }
  gt_file gf;
  char err[256];
  if (!gt_load(golden, &gf, err, sizeof err)) {
    printf("FAIL %s\n", err);
    gt_free(&gf);
    return 1;
  }
  tally tot = {0, 0, 0};
  tot.fails = check_table(&gf);
  tot.checks = tot.fails;
  int ran = 0;
  char list[256];
  snprintf(list, sizeof list, "%s", backends);
  for (char *save = NULL, *be = strtok_r(list, ",", &save); be; be = strtok_r(NULL, ",", &save)) {
    if (!(opt_fork ? backend_opens_forked(be) : open_backend(be))) {
      tot.checks += opt_require, tot.fails += opt_require;
      continue;
    }
    ran++;
    tally before = tot;
    run_backend(&gf, be, &tot);
    printf("%-5s: %d passed, %d failed, %d skipped\n", be,
           (tot.checks - before.checks) - (tot.fails - before.fails), tot.fails - before.fails,
           tot.skips - before.skips);
  }
  gt_free(&gf);
  printf("%d passed, %d failed, %d skipped\n", tot.checks - tot.fails, tot.fails, tot.skips);
  if (tot.fails) return 1;
  return ran ? 0 : 77;
}
