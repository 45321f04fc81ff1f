/* HIP plugin tests. No AMD GPU is needed except for the numeric suite.
 *
 *   compile   renders every test kernel (tests/cstyle's sample kernels: ALU ops over all
 *             dtypes incl. f16/bf16, DEFINE_REG reduction, local memory + BARRIER group
 *             reduction, gated loads/stores, casts, vectors, bit casts, 3-D grids) with
 *             the plugin's HIP dialect and compiles each with hiprtc for gfx1030 (RDNA2)
 *             and gfx90a (CDNA2). Each code object must be an AMDGPU ELF for that
 *             target (e_machine, e_flags) holding the kernel descriptor "<name>.kd".
 *   targets   unsupported targets (gfx1100, gfx940, made-up names) get a clear error
 *             instead of the abort ROCm 5.2 hiprtc would give; target features are
 *             stripped; a broken source gives CG_P_ERR_COMPILE with the hiprtc log.
 *   device    loads the plugin through its ABI. Without a GPU: device_count 0 and a
 *             clean "no HIP device" error from device_open/device_props (a pass: that
 *             is the behaviour under test). With a GPU: the cstyle numeric suite.
 *   nvrtc     the numeric suite on an NVIDIA GPU through the CUDA plugin, with its render
 *             slot replaced by this plugin's HIP renderer: the HIP source is plain
 *             CUDA-compatible C++, so NVRTC compiles it and the suite checks the
 *             rendered semantics (wrapping, division by zero, casts, f16/bf16 rounding,
 *             NaN in MAX, local memory, barriers) against its naive C references. Not
 *             a check of AMD's compiler or hardware. SKIP without a CUDA device.
 * compile/targets print SKIP and return 77 when hiprtc or the device libraries are missing.
 * Usage: test_hip compile|targets | device <hip plugin.so> | nvrtc <cuda plugin.so> */
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "hip_impl.h"
#include "kt.h"

#include "../common/check.h"

/* Host services that keep the last error message. */
static char g_err[16384];
static void h_set_error(void *ctx, const char *msg) { snprintf(g_err, sizeof g_err, "%s", msg ? msg : ""); }
static const cg_host_services g_host = {sizeof(cg_host_services), NULL, NULL, h_set_error, NULL};

typedef struct {
  char name[32];
  cg_ir_program *p;
} kernel;

/* Every sample kernel, binops over every dtype with the op lists of the numeric suite. */
static int make_kernels(kernel *k) {
  static const int iops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_IDIV, CG_IR_MOD, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE,
                             CG_IR_CMPEQ, CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_SHL, CG_IR_SHR, CG_IR_MULACC};
  static const int fops[] = {CG_IR_ADD, CG_IR_SUB, CG_IR_MUL, CG_IR_FDIV, CG_IR_MAX, CG_IR_POW, CG_IR_CMPLT,
                             CG_IR_CMPNE, CG_IR_CMPEQ, CG_IR_MULACC};
  static const int bops[] = {CG_IR_AND, CG_IR_OR, CG_IR_XOR, CG_IR_MAX, CG_IR_CMPLT, CG_IR_CMPNE, CG_IR_CMPEQ};
  static const int dts[] = {CG_IR_BOOL, CG_IR_INT8, CG_IR_INT16, CG_IR_INT32, CG_IR_INT64, CG_IR_UINT8,
                            CG_IR_UINT16, CG_IR_UINT32, CG_IR_UINT64, CG_IR_FLOAT32, CG_IR_FLOAT64};
  int n = 0;
  for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
    int s = dts[i], fl = cg_ir_is_float((uint8_t)s);
    const int *ops = s == CG_IR_BOOL ? bops : fl ? fops : iops;
    int nops = s == CG_IR_BOOL ? 7 : fl ? 10 : 15;
    snprintf(k[n].name, sizeof k[n].name, "binop_%s", cg_ir_scalar_name(s));
    k[n++].p = kt_binop((cg_ir_scalar)s, 64, ops, nops);
  }
  struct { const char *name; cg_ir_program *p; } rest[] = {
      {"unary", kt_unary(64)},          {"reduce", kt_reduce(37, 129)},
      {"gated", kt_gated(64)},          {"casts", kt_casts(64)},
      {"half_f16", kt_half(CG_IR_FLOAT16, 64)}, {"half_bf16", kt_half(CG_IR_BFLOAT16, 64)},
      {"vector", kt_vector(16)},        {"grid3", kt_grid3(4, 3, 2)},
      {"local", kt_local(64)},          {"bitcast", kt_bitcast(64)},
      {"groupsum", kt_groupsum(13, 64)}};
  for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
    snprintf(k[n].name, sizeof k[n].name, "%s", rest[i].name);
    k[n++].p = rest[i].p;
  }
  return n;
}

/* EF_AMDGPU_MACH_* (the low byte of e_flags) of the targets compiled for. */
static unsigned mach_of(const char *arch) {
  return !strcmp(arch, "gfx1030") ? 0x036u : !strcmp(arch, "gfx90a") ? 0x03fu : 0u;
}

/* Is blob an AMDGPU ELF code object for arch that defines kernel `kname`? */
static void check_code_object(const unsigned char *blob, size_t n, const char *arch, const char *kname) {
  uint16_t machine = 0;
  uint32_t flags = 0;
  CHECK(n > 64 && !memcmp(blob, "\177ELF", 4) && blob[4] == 2, "%s/%s: not an ELF64 object", arch, kname);
  if (n <= 64) return;
  memcpy(&machine, blob + 18, 2);
  memcpy(&flags, blob + 48, 4);
  CHECK(machine == 224, "%s/%s: e_machine %u, want 224 (EM_AMDGPU)", arch, kname, machine);
  CHECK((flags & 0xffu) == mach_of(arch), "%s/%s: e_flags mach 0x%x, want 0x%x", arch, kname, flags & 0xffu,
        mach_of(arch));
  char kd[128];
  snprintf(kd, sizeof kd, "%s.kd", kname);
  CHECK(memmem(blob, n, kd, strlen(kd) + 1) != NULL, "%s/%s: no kernel descriptor %s", arch, kname, kd);
}

/* Loads hiprtc and checks a target; returns 0, or 77 (SKIP) with the reason printed. */
static int need_toolchain(hip_rtc *rtc) {
  char why[512];
  hip__load_rtc(rtc);
  if (!rtc->lib) {
    printf("SKIP: hiprtc not available: %s\n", rtc->why);
    return KT_SKIP;
  }
  if (!hip__target_ok(rtc, "gfx1030", why, sizeof why)) {
    printf("SKIP: %s\n", why);
    return KT_SKIP;
  }
  return 0;
}

static int t_compile(void) {
  static const char *const archs[] = {"gfx1030", "gfx90a"};
  hip_rtc rtc;
  int rc = need_toolchain(&rtc);
  if (rc) return rc;
  kernel k[32];
  int n = make_kernels(k), compiled = 0;
  for (int i = 0; i < n; i++) {
    char err[512], kname[96];
    char *src = hip__render_source(k[i].p, err, sizeof err);
    CHECK(src, "%s: render failed: %s", k[i].name, err);
    if (!src) continue;
    cg_cstyle_kernel_name(k[i].p, kname, sizeof kname);
    for (int a = 0; a < 2; a++) {
      void *blob = NULL;
      size_t nb = 0;
      g_err[0] = 0;
      cg_pstatus st = hip__compile_for(&rtc, archs[a], k[i].p, src, &blob, &nb);
      CHECK(st == CG_P_OK, "%s for %s: status %d: %s", k[i].name, archs[a], st, g_err);
      if (st == CG_P_OK) {
        check_code_object(blob, nb, archs[a], kname);
        compiled++;
      } else if (getenv("KT_DUMP")) {
        fprintf(stderr, "%s\n", src);
      }
      free(blob);
    }
    free(src);
  }
  for (int i = 0; i < n; i++) free(k[i].p);
  printf("hip compile: %d kernels x 2 targets, %d code objects, %d failures\n", n, compiled, fails);
  return fails ? 1 : 0;
}

static int t_targets(void) {
  hip_rtc rtc;
  int rc = need_toolchain(&rtc);
  if (rc) return rc;
  cg_ir_program *p = kt_local(64);
  char err[512];
  char *src = hip__render_source(p, err, sizeof err);
  CHECK(src, "render: %s", err);
  /* unsupported or unknown targets: a clear error, no abort, nothing returned */
  static const char *const bad[] = {"gfx1100", "gfx940", "gfx9999", "sm_90", "", "gfx"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0] && src; i++) {
    void *blob = NULL;
    size_t nb = 0;
    g_err[0] = 0;
    cg_pstatus st = hip__compile_for(&rtc, bad[i], p, src, &blob, &nb);
    int ok_anyway = rtc.standalone && !strcmp(bad[i], "gfx1100"); /* newer ROCm may have it */
    if (!ok_anyway) {
      CHECK(st == CG_P_ERR_UNSUPPORTED && !blob, "target '%s': status %d", bad[i], st);
      CHECK(strstr(g_err, "target") && strstr(g_err, bad[i]) && strstr(g_err, "local_mem"),
            "target '%s': unclear message: %s", bad[i], g_err);
    }
    free(blob);
  }
  /* gfx1100 names the reason on ROCm 5.2 */
  if (!rtc.standalone) {
    char why[512];
    CHECK(!hip__target_ok(&rtc, "gfx1100", why, sizeof why) && strstr(why, "gfx11"), "gfx1100: %s", why);
  }
  /* target features are stripped: gfx90a:sramecc+:xnack- compiles as gfx90a */
  char base[64];
  hip__base_arch("gfx90a:sramecc+:xnack-", base, sizeof base);
  CHECK(!strcmp(base, "gfx90a"), "base arch: %s", base);
  void *blob = NULL;
  size_t nb = 0;
  CHECK(src && hip__compile_for(&rtc, "gfx90a:sramecc+:xnack-", p, src, &blob, &nb) == CG_P_OK,
        "gfx90a with features: %s", g_err);
  if (blob) check_code_object(blob, nb, "gfx90a", "local_mem");
  free(blob);
  blob = NULL;
  /* a source error is reported with the compiler log */
  g_err[0] = 0;
  cg_pstatus st = hip__compile_for(&rtc, "gfx1030", p, "extern \"C\" __global__ void local_mem() { nope; }\n",
                                   &blob, &nb);
  CHECK(st == CG_P_ERR_COMPILE && !blob && strstr(g_err, "nope") && strstr(g_err, "local_mem"),
        "bad source: %d %s", st, g_err);
  free(blob);
  free(src);
  free(p);
  printf("hip targets: %d failures\n", fails);
  return fails ? 1 : 0;
}

static int t_device(const char *path) { return kt_device_test(path, "hip", "no HIP device") ? 1 : 0; }

/* The CUDA plugin's table with render replaced by the HIP renderer. */
static cg_pstatus hip_render_for_cuda(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[512];
  *src = hip__render_source(prog, err, sizeof err);
  *lang = "hip";
  if (!*src) fprintf(stderr, "hip render of %s failed: %s\n", prog->name, err);
  return *src ? CG_P_OK : CG_P_ERR_UNSUPPORTED;
}

static int t_nvrtc(const char *cuda_path) {
  kt_dev d = {.tag = "hip-on-nvrtc"};
  if (kt_load(&d, cuda_path)) return 1;
  int r = kt_open(&d, 0);
  if (r != 0) {
    printf("SKIP: no CUDA device: %s\n", kt_last_error());
    kt_unload(&d);
    return KT_SKIP;
  }
  cg_plugin_api api = *d.api;
  const cg_plugin_api *cuda_api = d.api;
  api.render = hip_render_for_cuda;
  d.api = &api;
  printf("hip source on %s (%s) through NVRTC\n", d.props.name, d.props.arch);
  fails += kt_suite(&d);
  d.api = cuda_api;
  kt_unload(&d);
  return fails ? 1 : 0;
}

int main(int argc, char **argv) {
  cg_host_set(&g_host);
  if (argc >= 2 && !strcmp(argv[1], "compile")) return t_compile();
  if (argc >= 2 && !strcmp(argv[1], "targets")) return t_targets();
  if (argc >= 3 && !strcmp(argv[1], "device")) return t_device(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "nvrtc")) return t_nvrtc(argv[2]);
  fprintf(stderr, "usage: %s compile|targets | device <hip plugin.so> | nvrtc <cuda plugin.so>\n", argv[0]);
  return 2;
}
