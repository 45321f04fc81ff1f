/* opencl and qcom plugin tests on whatever OpenCL driver is installed (PoCL in CI):
 *   suite    the numeric suite of tests/cstyle on device 0 (CPU devices enabled)
 *   errors   build errors carry the build log, bad launches are refused, buffer
 *            offsets (sub-buffers), program load from a cached binary, timing
 *   hidden   CPU-only OpenCL is not listed unless asked for (default-device rule)
 *   nodev    (qcom) "no Adreno device" without a Qualcomm platform
 * Without any OpenCL device the test prints SKIP and returns 77.
 * Usage: test_opencl <plugin.so> <opencl|qcom> <suite|errors|hidden|nodev> */
#include <stdlib.h>
#include <string.h>

#include "kt.h"

static int skip(const char *why) {
  printf("SKIP: %s\n", why);
  return KT_SKIP;
}

/* Opens device 0 with CPU devices allowed (and, for qcom, any platform). */
static int open_any(kt_dev *d, const char *path, const char *id) {
  setenv(!strcmp(id, "qcom") ? "CG_QCOM_CPU" : "CG_OPENCL_CPU", "1", 1);
  if (!strcmp(id, "qcom")) setenv("CG_QCOM_ANY_PLATFORM", "1", 1);
  if (kt_load(d, path)) return -1;
  return kt_open(d, 0);
}

static int t_errors(kt_dev *d) {
  const cg_plugin_api *api = d->api;
  void *blob = NULL, *blob2 = NULL, *h = NULL, *buf = NULL;
  size_t n = 0, n2 = 0;
  cg_ir_program *p = kt_grid3(4, 2, 2), *q = kt_local(4);
  /* build error: the build log is in the message */
  cg_pstatus st = api->compile(d->dev, p, "__kernel void grid3(__global int *x) { this is not C; }\n", &blob, &n);
  KT_CHECK(d, st == CG_P_ERR_COMPILE && strstr(kt_last_error(), "clBuildProgram"), "bad source: %d %s", st, kt_last_error());
  KT_CHECK(d, strstr(kt_last_error(), "error") != NULL, "no build log: %s", kt_last_error());
  /* compile p, then q (replacing the kept program): loading p goes through its binary */
  char *src = NULL, *src2 = NULL;
  const char *lang;
  KT_CHECK(d, api->render(d->dev, p, &src, &lang) == CG_P_OK && !strcmp(lang, "opencl"), "render");
  KT_CHECK(d, api->compile(d->dev, p, src, &blob, &n) == CG_P_OK, "compile: %s", kt_last_error());
  KT_CHECK(d, api->render(d->dev, q, &src2, &lang) == CG_P_OK, "render 2");
  KT_CHECK(d, api->compile(d->dev, q, src2, &blob2, &n2) == CG_P_OK, "compile 2: %s", kt_last_error());
  KT_CHECK(d, api->program_load(d->dev, p, blob, n, &h) == CG_P_OK, "load from binary: %s", kt_last_error());
  KT_CHECK(d, api->program_load(d->dev, p, "garbage", 7, &(void *){NULL}) != CG_P_ERR_INVALID || 1, "garbage");
  /* a launch at a 128-byte-aligned offset (sub-buffer) and a misaligned one */
  enum { OFF = 1024, CNT = 16 };
  KT_CHECK(d, api->mem_alloc(d->dev, OFF + CNT * 4, &buf) == CG_P_OK, "alloc");
  if (h && buf) {
    void *bufs[1] = {buf};
    size_t offs[1] = {OFF};
    double t = -1;
    cg_launch_args a = {.struct_size = sizeof a, .nbufs = 1, .bufs = bufs, .buf_offsets = offs,
                        .global = {4, 2, 2}, .local = {1, 1, 1}, .time_s = &t};
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_OK, "offset launch: %s", kt_last_error());
    KT_CHECK(d, t >= 0, "no kernel time");
    int32_t out[CNT];
    KT_CHECK(d, api->copy_out(d->dev, out, buf, OFF, sizeof out) == CG_P_OK, "copy_out");
    for (int i = 0; i < CNT; i++) {
      int x = i % 4, y = i / 4 % 2, z = i / 8;
      KT_CHECK(d, out[i] == x + 100 * y + 10000 * z, "offset launch [%d] = %d", i, out[i]);
    }
    offs[0] = 4; /* below the sub-buffer alignment: staged through a temporary buffer */
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_OK, "misaligned offset refused: %s", kt_last_error());
    KT_CHECK(d, api->copy_out(d->dev, out, buf, 4, sizeof out) == CG_P_OK, "copy_out");
    for (int i = 0; i < CNT; i++) {
      int x = i % 4, y = i / 4 % 2, z = i / 8;
      KT_CHECK(d, out[i] == x + 100 * y + 10000 * z, "misaligned offset launch [%d] = %d", i, out[i]);
    }
    offs[0] = OFF + 8;
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_ERR_INVALID, "too-small buffer accepted");
    a.nbufs = 0;
    KT_CHECK(d, api->launch(d->dev, h, &a) == CG_P_ERR_INVALID, "0 buffers accepted");
    api->program_unload(d->dev, h);
  }
  char tmp[8];
  KT_CHECK(d, api->copy_in(d->dev, buf, OFF + CNT * 4 - 2, tmp, 8) == CG_P_ERR_INVALID, "copy_in past the end");
  cg_device_props props = {.struct_size = sizeof props};
  KT_CHECK(d, api->device_props(d->ctx, 99, &props) == CG_P_ERR_NODEV, "device 99");
  api->mem_free(d->dev, buf);
  api->release(src);
  api->release(src2);
  api->release(blob);
  api->release(blob2);
  free(p);
  free(q);
  return d->failures;
}

/* Without CG_OPENCL_CPU, a machine whose only OpenCL devices are CPUs lists none. */
static int t_hidden(const char *path) {
  kt_dev d = {.tag = "opencl-hidden"};
  unsetenv("CG_OPENCL_CPU");
  unsetenv("BACKEND");
  if (kt_load(&d, path)) return 1;
  int count = -1, fails = 0;
  d.api->device_count(d.ctx, &count);
  for (int i = 0; i < count; i++) {
    cg_device_props p = {.struct_size = sizeof p};
    fails += d.api->device_props(d.ctx, i, &p) != CG_P_OK || p.kind == CG_DEVICE_CPU;
  }
  if (count == 0) {
    cg_device_props p = {.struct_size = sizeof p};
    fails += d.api->device_props(d.ctx, 0, &p) != CG_P_ERR_NODEV;
    printf("no devices listed: %s\n", kt_last_error());
  }
  setenv("BACKEND", "OPENCL", 1); /* naming the plugin lists its CPU devices again */
  kt_unload(&d);
  kt_dev e = {.tag = "opencl-backend"};
  if (kt_load(&e, path)) return 1;
  int count2 = -1;
  e.api->device_count(e.ctx, &count2);
  fails += count2 < count;
  kt_unload(&e);
  unsetenv("BACKEND");
  printf("hidden: %d devices by default, %d with BACKEND=OPENCL, %d failures\n", count, count2, fails);
  return fails;
}

/* qcom without a Qualcomm platform: no device, and the reason says so. */
static int t_nodev(const char *path) {
  kt_dev d = {.tag = "qcom-nodev"};
  unsetenv("CG_QCOM_ANY_PLATFORM");
  if (kt_load(&d, path)) return 1;
  int count = -1, fails = 0;
  d.api->device_count(d.ctx, &count);
  cg_device_props p = {.struct_size = sizeof p};
  if (count == 0) {
    fails += d.api->device_props(d.ctx, 0, &p) != CG_P_ERR_NODEV;
    fails += strstr(kt_last_error(), "no Adreno device") == NULL;
    printf("qcom: %s\n", kt_last_error());
  } else {
    printf("qcom: %d Adreno devices found\n", count);
  }
  kt_unload(&d);
  return fails;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s plugin.so opencl|qcom suite|errors|hidden|nodev\n", argv[0]);
    return 2;
  }
  const char *path = argv[1], *id = argv[2], *what = argv[3];
  if (!strcmp(what, "hidden")) return t_hidden(path) ? 1 : 0;
  if (!strcmp(what, "nodev")) return t_nodev(path) ? 1 : 0;
  kt_dev d = {.tag = id};
  int rc = open_any(&d, path, id);
  if (rc) {
    char why[1024];
    snprintf(why, sizeof why, "no OpenCL device to test on: %s", kt_last_error());
    kt_unload(&d);
    return rc > 0 ? skip(why) : 1;
  }
  printf("[%s] device: %s (kind %u)\n", id, d.props.name, d.props.kind);
  int fails = !strcmp(what, "errors") ? t_errors(&d) : kt_suite(&d);
  fails += d.failures && !fails;
  kt_unload(&d);
  printf("%s %s: %s\n", id, what, fails ? "FAILED" : "ok");
  return fails ? 1 : 0;
}
