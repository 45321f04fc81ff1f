/* clang plugin tests: the numeric suite of tests/cstyle (every sample kernel against
 * naive C references), plus the failure paths: compiler errors carry the compiler's
 * message, bad launches and copies are refused, garbage blobs do not crash, and the
 * thread pool gives the same results with many threads as with one.
 * Usage: test_clang <plugin.so> [suite|errors|threads|cache|fork] */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cgrad/cstyle.h>

#include "kt.h"

static int t_suite(kt_dev *d) { return kt_suite(d); }

static int t_errors(kt_dev *d) {
  const cg_plugin_api *api = d->api;
  cg_ir_program *p = kt_grid3(2, 2, 2);
  void *blob = NULL, *h = NULL, *buf = NULL, *small = NULL;
  size_t n = 0;
  /* compiler error: the message carries the compiler's diagnostics */
  cg_pstatus st = api->compile(d->dev, p, "void grid3(void) { this is not C; }\n", &blob, &n);
  KT_CHECK(d, st == CG_P_ERR_COMPILE, "bad source: status %d", st);
  KT_CHECK(d, strstr(kt_last_error(), "error") != NULL, "compiler output missing: %s", kt_last_error());
  /* a garbage blob is refused */
  st = api->program_load(d->dev, p, "not an ELF object", 17, &h);
  KT_CHECK(d, st != CG_P_OK && h == NULL, "garbage blob loaded");
  /* device index out of range */
  cg_device_props props = {.struct_size = sizeof props};
  KT_CHECK(d, api->device_props(d->ctx, 1, &props) == CG_P_ERR_NODEV, "device 1 exists?");
  /* out-of-bounds copies */
  KT_CHECK(d, api->mem_alloc(d->dev, 16, &buf) == CG_P_OK, "alloc");
  char tmp[32] = {0};
  KT_CHECK(d, api->copy_in(d->dev, buf, 8, tmp, 16) == CG_P_ERR_INVALID, "copy_in past the end accepted");
  KT_CHECK(d, api->copy_out(d->dev, tmp, buf, 17, 0) == CG_P_ERR_INVALID, "copy_out offset past the end accepted");
  KT_CHECK(d, api->mem_alloc(d->dev, 0, &small) == CG_P_OK, "zero-byte alloc");
  /* launches with wrong buffers */
  char *src = NULL;
  const char *lang = NULL;
  KT_CHECK(d, api->render(d->dev, p, &src, &lang) == CG_P_OK && !strcmp(lang, "c"), "render");
  KT_CHECK(d, api->compile(d->dev, p, src, &blob, &n) == CG_P_OK, "compile: %s", kt_last_error());
  KT_CHECK(d, api->program_load(d->dev, p, blob, n, &h) == CG_P_OK, "load: %s", kt_last_error());
  if (h) {
    void *bufs[1] = {small};
    cg_launch_args a = {.struct_size = sizeof a, .nbufs = 0, .bufs = bufs, .global = {2, 2, 2}, .local = {1, 1, 1}};
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_ERR_INVALID, "launch with 0 buffers accepted");
    a.nbufs = 1;
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_ERR_INVALID, "launch with a too-small buffer accepted");
    a.local[0] = 4;
    bufs[0] = NULL;
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_ERR_INVALID, "local size 4 accepted");
    api->program_unload(d->dev, h);
  }
  api->release(src);
  api->release(blob);
  api->mem_free(d->dev, buf);
  /* `small` is left for device_close to free (no leak under ASan) */
  free(p);
  return d->failures;
}

/* Same big reduction with the pool at several sizes: identical results. */
static int t_threads(const char *path) {
  int fails = 0;
  enum { G = 20000, K = 33 };
  float *a = malloc(sizeof(float) * G * K), *ref = NULL;
  for (int i = 0; i < G * K; i++) a[i] = (float)(i % 1013) * 0.01f;
  cg_ir_program *p = kt_reduce(G, K);
  const char *counts[] = {"1", "3", "8"};
  for (int c = 0; c < 3; c++) {
    setenv("CG_THREADS", counts[c], 1);
    kt_dev d = {.tag = "clang-threads"};
    float *out = calloc(G, sizeof *out);
    void *io[2] = {out, a};
    size_t bytes[2] = {sizeof(float) * G, sizeof(float) * G * K};
    if (kt_load(&d, path) || kt_open(&d, 0) || kt_run(&d, p, io, bytes, NULL, NULL) != CG_P_OK) fails++;
    if (!ref) ref = out;
    else {
      fails += memcmp(ref, out, sizeof(float) * G) != 0;
      free(out);
    }
    kt_unload(&d);
  }
  float acc = 0;
  for (int j = 0; j < K; j++) acc += a[(G - 1) * K + j];
  fails += ref[G - 1] != acc;
  printf("threads: %d failures\n", fails);
  free(ref);
  free(a);
  free(p);
  return fails;
}

/* A child of fork() (only the forking thread survives) still runs kernels on a
 * thread pool of its own; the alarm turns a deadlock into a failure. */
static int t_fork(kt_dev *d) {
  enum { G = 4000, K = 9 };
  static float a[G * K], out[G];
  for (int i = 0; i < G * K; i++) a[i] = (float)(i % 7);
  void *io[2] = {out, a};
  size_t bytes[2] = {sizeof out, sizeof a};
  cg_ir_program *p = kt_reduce(G, K);
  KT_CHECK(d, kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK, "parent run");
  pid_t pid = fork();
  if (pid == 0) {
    alarm(60);
    memset(out, 0, sizeof out);
    int ok = kt_run(d, p, io, bytes, NULL, NULL) == CG_P_OK;
    for (int g = 0; g < G && ok; g++) {
      float acc = 0;
      for (int j = 0; j < K; j++) acc += a[g * K + j];
      ok = out[g] == acc;
    }
    _exit(ok ? 0 : 3);
  }
  int status = 0;
  KT_CHECK(d, pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait");
  KT_CHECK(d, WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed or hung (status %d)", status);
  free(p);
  return d->failures;
}

/* A second compile of the same source comes from the plugin's object cache. */
static int t_cache(kt_dev *d) {
  cg_ir_program *p = kt_local(4);
  char *src = NULL;
  const char *lang;
  void *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  KT_CHECK(d, d->api->render(d->dev, p, &src, &lang) == CG_P_OK, "render");
  KT_CHECK(d, d->api->compile(d->dev, p, src, &b1, &n1) == CG_P_OK, "compile 1");
  KT_CHECK(d, d->api->compile(d->dev, p, src, &b2, &n2) == CG_P_OK, "compile 2");
  KT_CHECK(d, n1 == n2 && n1 > 0 && !memcmp(b1, b2, n1), "cached object differs");
  const char *cid = d->api->compiler_id(d->dev);
  KT_CHECK(d, cid && strstr(cid, "-ffp-contract=off"), "compiler id: %s", cid ? cid : "(null)");
  d->api->release(src);
  d->api->release(b1);
  d->api->release(b2);
  free(p);
  return d->failures;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s plugin.so [suite|errors|threads|cache|fork]\n", argv[0]);
    return 2;
  }
  const char *what = argc > 2 ? argv[2] : "suite";
  if (!strcmp(what, "threads")) return t_threads(argv[1]) ? 1 : 0;
  kt_dev d = {.tag = "clang"};
  if (kt_load(&d, argv[1]) || kt_open(&d, 0)) {
    fprintf(stderr, "cannot open the clang device: %s\n", kt_last_error());
    kt_unload(&d);
    return 1;
  }
  KT_CHECK(&d, d.props.kind == CG_DEVICE_CPU && d.props.max_local_size == 1, "props");
  int fails = !strcmp(what, "errors") ? t_errors(&d) : !strcmp(what, "cache") ? t_cache(&d)
              : !strcmp(what, "fork")  ? t_fork(&d)
                                       : t_suite(&d);
  fails += d.failures && !fails;
  kt_unload(&d);
  printf("%s: %s\n", what, fails ? "FAILED" : "ok");
  return fails ? 1 : 0;
}
