/* Bad-input tests: every misuse of the public API returns NULL or an error status, never
 * crashes, and cg_last_error() names the op and the offending shapes/dtypes. A chain of
 * calls reports its first failure. Each check runs in its own child process, so a crash
 * is reported as that check's failure.
 * usage: cg_errors_test [-b BACKEND] [-v] */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cgrad/cgrad.h>

#include "../common/backend_arg.h"

static char why[512]; /* reason of the current check's failure */

/* ---- helpers ---- */

static cg_tensor *t2(int64_t a, int64_t b) {
  const int64_t s[] = {a, b};
  return cg_ones(CG_FLOAT32, 2, s);
}

static cg_tensor *tn(int ndim, const int64_t *s, cg_dtype dt) { return cg_ones(dt, ndim, s); }

/* Does the last error contain `want`, ignoring spaces ("(2, 3)" matches "2,3")? */
static bool msg_has(const char *want) {
  char a[1024], b[128];
  size_t n = 0, m = 0;
  for (const char *p = cg_last_error(); *p && n < sizeof a - 1; p++)
    if (*p != ' ') a[n++] = *p;
  a[n] = 0;
  for (const char *p = want; *p && m < sizeof b - 1; p++)
    if (*p != ' ') b[m++] = *p;
  b[m] = 0;
  return strstr(a, b) != NULL;
}

/* The message names everything in words[] (NULL-terminated). */
static bool names(const char *const *words) {
  for (int i = 0; words[i]; i++)
    if (!msg_has(words[i])) {
      snprintf(why, sizeof why, "message lacks \"%s\": \"%s\"", words[i], cg_last_error());
      return false;
    }
  return true;
}

/* r must be NULL and the message must name the words. */
static bool null_naming(cg_tensor *r, const char *const *words) {
  if (r) {
    snprintf(why, sizeof why, "returned a tensor instead of NULL");
    return false;
  }
  return names(words);
}

static bool status_naming(cg_status st, const char *const *words) {
  if (st == CG_OK) {
    snprintf(why, sizeof why, "returned CG_OK");
    return false;
  }
  return names(words);
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- checks (each returns true when the API behaved) ---- */

static bool add_shapes(void) { return null_naming(cg_add(t2(2, 3), t2(4, 5)), W("add", "2,3", "4,5")); }
static bool mul_shapes(void) { return null_naming(cg_mul(t2(3, 2), t2(5, 4)), W("mul", "3,2", "5,4")); }
static bool matmul_inner(void) {
  return null_naming(cg_matmul(t2(2, 3), t2(4, 5)), W("matmul", "2,3", "4,5"));
}
static bool matmul_1d(void) {
  const int64_t a[] = {3}, b[] = {4};
  return null_naming(cg_matmul(tn(1, a, CG_FLOAT32), tn(1, b, CG_FLOAT32)), W("matmul", "3", "4"));
}
static bool bitwise_float(void) {
  return null_naming(cg_bitwise_and(t2(2, 3), t2(2, 3)), W("bitwise_and", "float32"));
}
static bool bitwise_not_float(void) {
  return null_naming(cg_bitwise_not(t2(2, 3)), W("bitwise_not", "float32"));
}
static bool shl_float(void) { return null_naming(cg_shl(t2(2, 3), 2), W("shl", "float32")); }
static bool sum_axis(void) {
  const int ax[] = {2};
  return null_naming(cg_sum(t2(2, 3), 1, ax, false), W("sum", "2,3"));
}
static bool max_axis_neg(void) {
  const int ax[] = {-3};
  return null_naming(cg_max(t2(2, 3), 1, ax, false), W("max", "2,3"));
}
static bool softmax_axis(void) { return null_naming(cg_softmax(t2(2, 3), 3), W("softmax", "2,3")); }
static bool argmax_axis(void) { return null_naming(cg_argmax(t2(2, 3), -3, false), W("argmax", "2,3")); }
static bool transpose_axis(void) {
  return null_naming(cg_transpose(t2(2, 3), 0, 5), W("transpose", "2,3"));
}
static bool permute_dup(void) {
  const int o[] = {0, 0};
  return null_naming(cg_permute(t2(2, 3), o), W("permute", "2,3"));
}
static bool reshape_numel(void) {
  const int64_t s[] = {4, 2};
  return null_naming(cg_reshape(t2(2, 3), 2, s), W("reshape", "2,3", "4,2"));
}
static bool reshape_two_infer(void) {
  const int64_t s[] = {-1, -1};
  return null_naming(cg_reshape(t2(2, 3), 2, s), W("reshape", "2,3"));
}
static bool expand_bad(void) {
  const int64_t s[] = {4, 3};
  return null_naming(cg_expand(t2(2, 3), 2, s), W("expand", "2,3", "4,3"));
}
static bool cat_shapes(void) {
  cg_tensor *ts[] = {t2(2, 3), t2(2, 4)};
  return null_naming(cg_cat(2, ts, 0), W("cat", "2,3", "2,4"));
}
static bool stack_shapes(void) {
  cg_tensor *ts[] = {t2(2, 3), t2(3, 2)};
  return null_naming(cg_stack(2, ts, 0), W("stack", "2,3", "3,2"));
}
static bool where_shapes(void) {
  const int64_t c[] = {3};
  return null_naming(cg_where(tn(1, c, CG_BOOL), t2(2, 4), t2(2, 4)), W("where", "3", "2,4"));
}
static bool conv_channels(void) {
  const int64_t x[] = {1, 3, 5, 5}, w[] = {4, 2, 3, 3};
  return null_naming(cg_conv2d(tn(4, x, CG_FLOAT32), tn(4, w, CG_FLOAT32), NULL, 1, 0),
                     W("conv2d", "1,3,5,5", "4,2,3,3"));
}
static bool conv_groups(void) {
  const int64_t x[] = {1, 3, 5, 5}, w[] = {4, 1, 3, 3};
  return null_naming(cg_conv2d_ex(tn(4, x, CG_FLOAT32), tn(4, w, CG_FLOAT32), NULL, 1, 0, 1, 2),
                     W("conv2d", "1,3,5,5"));
}
static bool linear_shapes(void) {
  return null_naming(cg_linear(t2(3, 4), t2(5, 6), NULL), W("linear", "3,4", "5,6"));
}
static bool gather_float_index(void) {
  return null_naming(cg_gather(t2(3, 4), 1, t2(3, 2)), W("gather", "float32"));
}
static bool cross_entropy_batch(void) {
  const int64_t l[] = {3};
  return null_naming(cg_cross_entropy(t2(4, 5), tn(1, l, CG_INT32)), W("cross_entropy", "4,5", "3"));
}
static bool layernorm_weight(void) {
  const int64_t w[] = {7};
  return null_naming(cg_layernorm(t2(3, 8), 1, tn(1, w, CG_FLOAT32), NULL, 1e-5),
                     W("layernorm", "3,8", "7"));
}
static bool mse_shapes(void) { return null_naming(cg_mse_loss(t2(2, 3), t2(4, 5)), W("mse_loss", "2,3", "4,5")); }
static bool slice_step0(void) { return null_naming(cg_slice(t2(4, 3), 0, 0, 4, 0), W("slice")); }
static bool pool_too_big(void) {
  const int64_t x[] = {1, 1, 4, 4};
  return null_naming(cg_max_pool2d(tn(4, x, CG_FLOAT32), 5, 1), W("max_pool2d", "1,1,4,4"));
}
static bool cast_bad_dtype(void) { return null_naming(cg_cast(t2(2, 2), CG_DTYPE_COUNT), W("cast")); }
static bool one_hot_float(void) { return null_naming(cg_one_hot(t2(2, 2), 3), W("one_hot", "float32")); }
static bool arange_step0(void) { return null_naming(cg_arange(0, 5, 0, CG_FLOAT32), W("arange")); }
static bool full_negative_dim(void) {
  const int64_t s[] = {2, -3};
  return null_naming(cg_full(CG_FLOAT32, 2, s, 1.0), W("-3"));
}
static bool from_data_bad(void) {
  const int64_t s[] = {2, 2};
  const float d[4] = {0};
  return !cg_from_data(d, CG_FLOAT32, -1, s) && !cg_from_data(NULL, CG_FLOAT32, 2, s) &&
         !cg_from_data(d, CG_FLOAT32, 2, NULL) && !cg_from_data(d, CG_DTYPE_COUNT, 2, s);
}
static bool pad_null(void) { return null_naming(cg_pad(t2(2, 2), NULL, 0), W("pad")); }
static bool backward_nonscalar(void) {
  cg_tensor *x = t2(2, 3);
  cg_set_requires_grad(x, true);
  return status_naming(cg_backward(cg_mul(x, x)), W("backward", "2,3"));
}
static bool backward_null(void) { return status_naming(cg_backward(NULL), W("backward")); }
static bool assign_shapes(void) {
  return status_naming(cg_assign(t2(2, 3), t2(4, 5)), W("assign", "2,3", "4,5"));
}
static bool to_host_size(void) {
  float buf[4];
  return status_naming(cg_to_host(t2(2, 3), buf, sizeof buf), W("2,3"));
}
static bool item_many(void) {
  double v = cg_item(t2(2, 3));
  if (!isnan(v)) {
    snprintf(why, sizeof why, "cg_item of 6 elements returned %g, not NaN", v);
    return false;
  }
  return names(W("item", "2,3"));
}
static bool bad_device(void) { return status_naming(cg_set_default_device("NOPE:0"), W("NOPE")); }
static bool to_bad_device(void) { return null_naming(cg_to_device(t2(2, 2), "NOPE:3"), W("NOPE")); }

/* A chain of calls returns NULL and reports its first failure, not a later one. */
static bool chain_first_error(void) {
  cg_tensor *w = t2(9, 2);
  cg_tensor *r = cg_exp(cg_matmul(cg_add(t2(7, 3), t2(4, 9)), w));
  if (!null_naming(r, W("add", "7,3", "4,9"))) return false;
  if (msg_has("exp") || msg_has("matmul")) {
    snprintf(why, sizeof why, "later op overwrote the message: \"%s\"", cg_last_error());
    return false;
  }
  return true;
}

/* NULL tensors anywhere: NULL or error status, no crash. */
static bool null_args(void) {
  cg_tensor *x = t2(2, 2);
  cg_tensor *ts[] = {x, NULL};
  const int64_t s[] = {4};
  const int ax[] = {0};
  float buf[4];
  bool ok = !cg_add(NULL, x) && !cg_add(x, NULL) && !cg_relu(NULL) &&
            !cg_sum(NULL, 1, ax, false) && !cg_matmul(x, NULL) && !cg_reshape(NULL, 1, s) &&
            !cg_cat(2, ts, 0) && !cg_where(NULL, x, x) && !cg_softmax(NULL, 0) &&
            !cg_conv2d(NULL, NULL, NULL, 1, 0) && !cg_cast(NULL, CG_INT32) &&
            !cg_linear(x, NULL, NULL) && !cg_cross_entropy(NULL, NULL) &&
            !cg_layernorm(NULL, 1, NULL, NULL, 1e-5) && !cg_zeros_like(NULL) &&
            !cg_detach(NULL) && !cg_contiguous(NULL) && !cg_to_device(NULL, "REF") &&
            cg_realize(NULL) != CG_OK && cg_to_host(NULL, buf, sizeof buf) != CG_OK &&
            isnan(cg_item(NULL)) && !cg_grad(NULL);
  cg_release(NULL);
  cg_set_requires_grad(NULL, true);
  cg_zero_grad(NULL);
  if (!ok) snprintf(why, sizeof why, "an op accepted a NULL tensor");
  return ok;
}

/* Inspection of NULL: no crash (values unspecified beyond "not a real tensor"). */
static bool null_inspect(void) {
  bool ok = cg_numel(NULL) <= 0 && cg_ndim(NULL) <= 0 && cg_shape(NULL) == NULL;
  (void)cg_dim(NULL, 0);
  (void)cg_tensor_dtype(NULL);
  (void)cg_requires_grad(NULL);
  if (!ok) snprintf(why, sizeof why, "numel/ndim/shape of NULL look like a tensor");
  return ok;
}

/* After an error the library still works. */
static bool recovers(void) {
  (void)cg_add(t2(2, 3), t2(4, 5));
  cg_tensor *r = cg_add(t2(2, 3), t2(2, 3));
  float buf[6] = {0};
  bool ok = r && cg_to_host(r, buf, sizeof buf) == CG_OK && buf[0] == 2 && buf[5] == 2;
  if (!ok) snprintf(why, sizeof why, "valid op after an error failed: %s", cg_last_error());
  return ok;
}

typedef struct {
  const char *name;
  bool (*fn)(void);
} check;

#define C(f) {#f, f}
static const check checks[] = {
    C(add_shapes), C(mul_shapes), C(matmul_inner), C(matmul_1d), C(bitwise_float),
    C(bitwise_not_float), C(shl_float), C(sum_axis), C(max_axis_neg), C(softmax_axis),
    C(argmax_axis), C(transpose_axis), C(permute_dup), C(reshape_numel), C(reshape_two_infer),
    C(expand_bad), C(cat_shapes), C(stack_shapes), C(where_shapes), C(conv_channels),
    C(conv_groups), C(linear_shapes), C(gather_float_index), C(cross_entropy_batch),
    C(layernorm_weight), C(mse_shapes), C(slice_step0), C(pool_too_big), C(cast_bad_dtype),
    C(one_hot_float), C(arange_step0), C(full_negative_dim), C(from_data_bad), C(pad_null),
    C(backward_nonscalar), C(backward_null), C(assign_shapes), C(to_host_size), C(item_many),
    C(bad_device), C(to_bad_device), C(chain_first_error), C(null_args), C(null_inspect),
    C(recovers),
};

/* Runs one check in a child; returns true on pass. */
static bool run_check(const check *c, bool verbose) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    cg_scope_push();
    bool ok = c->fn();
    cg_scope_pop();
    if (!ok) printf("FAIL %-20s %s\n", c->name, why);
    else if (verbose) printf("ok   %-20s %s\n", c->name, cg_last_error());
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) {
    printf("FAIL %-20s cannot fork\n", c->name);
    return false;
  }
  if (WIFSIGNALED(status)) {
    printf("FAIL %-20s crashed (signal %d)\n", c->name, WTERMSIG(status));
    return false;
  }
  return WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
  const char *be = NULL;
  bool verbose = false;
  for (int o; (o = getopt(argc, argv, "b:v")) != -1;) {
    if (o == 'b') be = optarg;
    if (o == 'v') verbose = true;
  }
  if (test_open_backend(be)) return TEST_SKIP;
  int pass = 0, fail = 0;
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    if (run_check(&checks[i], verbose)) pass++;
    else fail++;
  }
  printf("%d passed, %d failed\n", pass, fail);
  return fail ? 1 : 0;
}
