/* Plugin harness for the C-family backend tests: loads a plugin through dlopen +
 * cg_plugin_entry with minimal host services (options come from the environment, the
 * last error message is kept), and runs one IR program over host arrays. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "kt.h"

static char g_err[16384];

static void h_set_error(void *ctx, const char *msg) { snprintf(g_err, sizeof g_err, "%s", msg ? msg : ""); }
static void h_log(void *ctx, int level, const char *msg) {
  if (getenv("KT_VERBOSE")) fprintf(stderr, "[plugin log %d] %s\n", level, msg);
}
static const char *h_get_option(void *ctx, const char *key) { return getenv(key); }
static const cg_host_services g_host = {sizeof(cg_host_services), NULL, h_log, h_set_error, h_get_option};

const char *kt_last_error(void) { return g_err; }

int kt_load(kt_dev *d, const char *path) {
  cg_plugin_entry_fn entry;
  d->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!d->lib) {
    fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
    return -1;
  }
  void *sym = dlsym(d->lib, "cg_plugin_entry");
  if (!sym) {
    fprintf(stderr, "%s: no cg_plugin_entry\n", path);
    return -1;
  }
  memcpy(&entry, &sym, sizeof entry);
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &g_host};
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  if (entry(&q, &r) != CG_P_OK || !r.api || r.api->init(&d->ctx) != CG_P_OK) {
    fprintf(stderr, "%s: entry/init failed: %s\n", path, g_err);
    return -1;
  }
  d->api = r.api;
  return 0;
}

int kt_open(kt_dev *d, int index) {
  int count = 0;
  if (d->api->device_count(d->ctx, &count) != CG_P_OK) return -1;
  if (index >= count) {
    if (!g_err[0]) snprintf(g_err, sizeof g_err, "no device %d (%d devices)", index, count);
    return 1;
  }
  memset(&d->props, 0, sizeof d->props);
  d->props.struct_size = sizeof d->props;
  if (d->api->device_props(d->ctx, index, &d->props) != CG_P_OK) return -1;
  return d->api->device_open(d->ctx, index, &d->dev) == CG_P_OK ? 0 : -1;
}

void kt_unload(kt_dev *d) {
  if (d->dev) d->api->device_close(d->dev);
  if (d->ctx) d->api->shutdown(d->ctx);
  if (d->lib && !getenv("KT_KEEP_LIBS")) dlclose(d->lib); /* keep: symbolized leak reports */
  d->dev = d->ctx = d->lib = NULL;
}

int kt_device_test(const char *path, const char *id, const char *nodev) {
  kt_dev d = {.tag = id};
  if (kt_load(&d, path)) return 1;
  KT_CHECK(&d, !strcmp(d.api->id, id), "api id %s", d.api->id);
  int count = -1;
  KT_CHECK(&d, d.api->device_count(d.ctx, &count) == CG_P_OK && count >= 0, "device_count");
  if (count == 0) {
    void *dev = NULL;
    cg_device_props props = {.struct_size = sizeof props};
    KT_CHECK(&d, d.api->device_open(d.ctx, 0, &dev) == CG_P_ERR_NODEV && !dev, "device_open without a device");
    KT_CHECK(&d, strstr(g_err, nodev) != NULL, "message: %s", g_err);
    KT_CHECK(&d, d.api->device_props(d.ctx, 0, &props) == CG_P_ERR_NODEV, "device_props without a device");
    printf("%s device: %s: the clean no-device path passed\n", id, g_err);
  } else {
    int r = kt_open(&d, 0);
    KT_CHECK(&d, r == 0, "open device 0: %s", g_err);
    if (r == 0) {
      printf("%s device: %s (%s)\n", id, d.props.name, d.props.arch);
      kt_suite(&d);
    }
  }
  int failed = d.failures;
  kt_unload(&d);
  return failed;
}

/* Render (if the plugin renders) and compile (if it compiles), then load. */
static cg_pstatus build(kt_dev *d, const cg_ir_program *p, void **handle) {
  const cg_plugin_api *api = d->api;
  char *src = NULL;
  const char *lang = NULL;
  void *blob = NULL;
  size_t nblob = 0;
  cg_pstatus st = api->render ? api->render(d->dev, p, &src, &lang) : CG_P_OK;
  if (st == CG_P_OK && src && getenv("KT_DUMP")) fprintf(stderr, "---- %s (%s)\n%s", p->name, lang, src);
  if (st == CG_P_OK && api->compile) st = api->compile(d->dev, p, src, &blob, &nblob);
  if (st == CG_P_OK) st = api->program_load(d->dev, p, blob, nblob, handle);
  if (src) api->release(src);
  if (blob) api->release(blob);
  return st;
}

cg_pstatus kt_run(kt_dev *d, const cg_ir_program *p, void **io, const size_t *bytes, const int64_t *vars,
                  const uint32_t *local) {
  const cg_plugin_api *api = d->api;
  void *bufs[32] = {0}, *h = NULL;
  cg_pstatus st = p->nparams <= 32 ? CG_P_OK : CG_P_ERR_INVALID;
  g_err[0] = 0;
  for (uint32_t i = 0; i < p->nparams && st == CG_P_OK; i++) {
    st = api->mem_alloc(d->dev, bytes[i], &bufs[i]);
    if (st == CG_P_OK) st = api->copy_in(d->dev, bufs[i], 0, io[i], bytes[i]);
  }
  if (st == CG_P_OK) st = build(d, p, &h);
  if (st == CG_P_OK) {
    cg_launch_args a = {.struct_size = sizeof a, .nbufs = p->nparams, .bufs = bufs, .nvars = p->nvars, .vars = vars};
    for (int k = 0; k < 3; k++) {
      a.global[k] = p->global[k];
      a.local[k] = local ? local[k] : p->local[k] ? p->local[k] : 1;
    }
    st = api->launch(d->dev, h, &a);
    if (st == CG_P_OK) st = api->synchronize(d->dev);
  }
  for (uint32_t i = 0; i < p->nparams && st == CG_P_OK; i++) st = api->copy_out(d->dev, io[i], bufs[i], 0, bytes[i]);
  if (h) api->program_unload(d->dev, h);
  for (uint32_t i = 0; i < p->nparams; i++)
    if (bufs[i]) api->mem_free(d->dev, bufs[i]);
  if (st != CG_P_OK) fprintf(stderr, "[%s] kt_run(%s) failed (%d): %s\n", d->tag, p->name, st, g_err);
  return st;
}
