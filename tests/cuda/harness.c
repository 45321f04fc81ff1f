/* Test harness for the CUDA plugin tests (see harness.h). */
#include "harness.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int th_failures;
static char last_error[8192];

const char *th_last_error(void) { return last_error; }
void th_clear_error(void) { last_error[0] = 0; }

static void host_log(void *ctx, int level, const char *msg) {
  (void)ctx;
  fprintf(stderr, "[plugin log %d] %s\n", level, msg);
}
static void host_set_error(void *ctx, const char *msg) {
  (void)ctx;
  snprintf(last_error, sizeof last_error, "%s", msg);
}
static const char *host_get_option(void *ctx, const char *key) {
  (void)ctx;
  return getenv(key);
}

static const cg_host_services host = {
    .struct_size = sizeof(cg_host_services),
    .log = host_log,
    .set_error = host_set_error,
    .get_option = host_get_option,
};

int th_load(th_plugin *t, const char *path) {
  memset(t, 0, sizeof *t);
  t->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!t->lib) {
    fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return -1;
  }
  cg_plugin_entry_fn entry;
  void *sym = dlsym(t->lib, "cg_plugin_entry");
  memcpy(&entry, &sym, sizeof sym);
  if (!entry) {
    fprintf(stderr, "no cg_plugin_entry in %s\n", path);
    return -1;
  }
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &host};
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  if (entry(&q, &r) != CG_P_OK || !r.api) {
    fprintf(stderr, "handshake failed: %s\n", last_error);
    return -1;
  }
  t->api = r.api;
  if (t->api->init(&t->ctx) != CG_P_OK) {
    fprintf(stderr, "init failed: %s\n", last_error);
    return -1;
  }
  t->api->device_count(t->ctx, &t->ndev);
  return 0;
}

int th_open(th_plugin *t) {
  if (t->ndev == 0) return 1;
  if (t->api->device_open(t->ctx, 0, &t->dev) != CG_P_OK) {
    fprintf(stderr, "device_open failed: %s\n", last_error);
    return -1;
  }
  return 0;
}

void th_unload(th_plugin *t) {
  if (t->dev) t->api->device_close(t->dev);
  if (t->ctx) t->api->shutdown(t->ctx);
  /* the library stays loaded, as the core does */
  memset(t, 0, sizeof *t);
}

int th_start(th_plugin *t, int argc, char **argv) {
  if (argc < 2 || th_load(t, argv[1]) != 0) return 1;
  int o = th_open(t);
  if (o == 1) {
    printf("SKIP: no CUDA device\n");
    th_unload(t);
    return SKIP_CODE;
  }
  return o != 0 ? 1 : 0;
}

int th_finish(th_plugin *t) {
  th_unload(t);
  printf("%s: %d failure(s)\n", th_failures ? "FAILED" : "ok", th_failures);
  return th_failures ? 1 : 0;
}

void *th_build(th_plugin *t, const cg_ir_program *prog) {
  char err[512];
  char *src = NULL, *text = NULL;
  const char *lang = NULL;
  void *blob = NULL, *handle = NULL;
  size_t blob_size = 0;
  if (cg_ir_verify(prog, prog->total_size, err, sizeof err) != 0) {
    fprintf(stderr, "IR of %s does not verify: %s\n", prog->name, err);
    goto done;
  }
  if (t->api->render(t->dev, prog, &src, &lang) != CG_P_OK) {
    fprintf(stderr, "render %s failed: %s\n", prog->name, last_error);
    goto done;
  }
  if (getenv("CG_TEST_SHOW_SRC")) fprintf(stderr, "--- %s (%s)\n%s\n", prog->name, lang, src);
  if (t->api->compile(t->dev, prog, src, &blob, &blob_size) != CG_P_OK) {
    text = cg_ir_print(prog);
    fprintf(stderr, "compile %s failed: %s\nsource:\n%s\nIR:\n%s\n", prog->name, last_error, src,
            text ? text : "?");
    goto done;
  }
  if (t->api->program_load(t->dev, prog, blob, blob_size, &handle) != CG_P_OK) {
    fprintf(stderr, "load %s failed: %s\n", prog->name, last_error);
    handle = NULL;
  }
done:
  if (src) t->api->release(src);
  if (blob) t->api->release(blob);
  free(text);
  return handle;
}

cg_pstatus th_launch(th_plugin *t, void *h, const cg_ir_program *p, void **bufs, const int64_t *vars,
                     double *time_s) {
  cg_launch_args a = {sizeof a, p->nparams, bufs, NULL, p->nvars, 0, vars, {0}, {0}, time_s};
  memcpy(a.global, p->global, sizeof a.global);
  memcpy(a.local, p->local, sizeof a.local);
  return t->api->launch(t->dev, h, &a);
}

void *th_upload(th_plugin *t, const void *src, size_t bytes) {
  void *b = NULL;
  CHECK(t->api->mem_alloc(t->dev, bytes, &b) == CG_P_OK, "mem_alloc: %s", last_error);
  if (b && src) CHECK(t->api->copy_in(t->dev, b, 0, src, bytes) == CG_P_OK, "copy_in: %s", last_error);
  return b;
}

void th_download(th_plugin *t, void *dst, void *buf, size_t bytes) {
  CHECK(t->api->copy_out(t->dev, dst, buf, 0, bytes) == CG_P_OK, "copy_out: %s", last_error);
}

int th_close(double got, double want, double rel, double abs_tol) {
  if (isnan(want)) return isnan(got);
  return fabs(got - want) <= abs_tol + rel * fabs(want);
}

int32_t th_op(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int n, int32_t a, int32_t c,
              int32_t d, int64_t arg) {
  int32_t s[3] = {a, c, d};
  return cg_irb_emit(b, op, t, n, s, arg);
}

int32_t th_gid(cg_ir_builder *b, int local_size) {
  cg_ir_type i32 = cg_ir_t(CG_IR_INT32);
  int32_t g = th_op(b, CG_IR_SPECIAL, i32, 0, 0, 0, 0, 0 + 3 * CG_IR_SPECIAL_GROUP);
  int32_t l = th_op(b, CG_IR_SPECIAL, i32, 0, 0, 0, 0, 0 + 3 * CG_IR_SPECIAL_LOCAL);
  int32_t ls = cg_irb_const_i(b, CG_IR_INT32, local_size);
  int32_t gl = th_op(b, CG_IR_MUL, i32, 2, g, ls, 0, 0);
  return th_op(b, CG_IR_ADD, i32, 2, gl, l, 0, 0);
}

int32_t th_at(cg_ir_builder *b, int32_t buf, int32_t idx) {
  return th_op(b, CG_IR_INDEX, cg_irb_type(b, buf), 2, buf, idx, 0, 0);
}

float th_h2f(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
  if (e == 0) {
    float v = ldexpf((float)m, -24);
    return sign ? -v : v;
  }
  if (e == 31) bits = sign | 0x7f800000u | (m << 13);
  else bits = sign | ((e + 112) << 23) | (m << 13);
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t th_f2h(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return sign | (a > 0x7f800000u ? 0x7e00 : 0x7c00);
  if (a >= 0x477ff000u) return sign | 0x7c00; /* >= 65520 rounds to inf */
  if (a < 0x38800000u) {                      /* below 2^-14: subnormal half */
    float v;
    memcpy(&v, &a, sizeof v);
    return sign | (uint16_t)nearbyintf(v * 16777216.0f);
  }
  uint32_t h = (((a >> 23) - 112) << 10) | ((a & 0x7fffff) >> 13), rem = a & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return sign | (uint16_t)h;
}

float th_b2f(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t th_f2b(float f) {
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}
