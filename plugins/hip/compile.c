/* HIP plugin compiler: hiprtc loading, gfx target validation and compilation of the
 * rendered HIP C into an AMDGPU code object.
 *
 * Target validation comes first because ROCm 5.x hiprtc does not fail cleanly on a
 * target it cannot build for: with Debian's ROCm 5.2, --offload-arch=gfx1100 (no RDNA3
 * device library) or gfx940 (unknown to its comgr) aborts the whole process inside
 * hiprtcCompileProgram. So a target is compiled only if it is in the list this hiprtc
 * generation is known to handle AND, when the ROCm device-library folder is found, its
 * oclc_isa_version_<N>.bc is there.
 *
 * Options: --offload-arch=<base target> (no xnack/sramecc features: such a code object
 * loads in either mode), -O3, -ffp-contract=off (MULACC is unfused in the IR spec; clang
 * fuses a*b+c for HIP by default). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hip_impl.h"

/* Targets Debian's ROCm 5.2 hiprtc compiled in a probe of every device library it
 * ships (gfx940 is left out: it aborts). */
static const char *const targets_rocm5[] = {
    "gfx600", "gfx601", "gfx602", "gfx700", "gfx701", "gfx702", "gfx703", "gfx704",
    "gfx705", "gfx801", "gfx802", "gfx803", "gfx805", "gfx810", "gfx900", "gfx902",
    "gfx904", "gfx906", "gfx908", "gfx909", "gfx90a", "gfx90c", "gfx1010", "gfx1011",
    "gfx1012", "gfx1013", "gfx1030", "gfx1031", "gfx1032", "gfx1033", "gfx1034",
    "gfx1035", "gfx1036", NULL};
/* Added for a standalone libhiprtc (ROCm >= 5.3), still subject to the device-library
 * check. Not verified here: no such ROCm was available. */
static const char *const targets_newer[] = {"gfx940", "gfx941", "gfx942", "gfx950",
                                            "gfx1100", "gfx1101", "gfx1102", "gfx1103",
                                            "gfx1150", "gfx1151", "gfx1200", "gfx1201",
                                            NULL};

typedef struct {
  const char *sym;
  size_t off;
} hip_sym;

static const hip_sym rtc_syms[] = {
#define HIP_SYM(f, sym, params) {sym, offsetof(hip_rtc, f)},
    HIP_RTC_FUNCS(HIP_SYM)
#undef HIP_SYM
};

/* Resolve every hiprtc symbol from lib; 0, or -1 with the missing name in rtc->why. */
static int resolve_rtc(hip_rtc *rtc, void *lib) {
  for (size_t i = 0; i < sizeof rtc_syms / sizeof rtc_syms[0]; i++) {
    void *fp = dlsym(lib, rtc_syms[i].sym);
    if (!fp) {
      snprintf(rtc->why, sizeof rtc->why, "symbol %s missing", rtc_syms[i].sym);
      return -1;
    }
    memcpy((char *)rtc + rtc_syms[i].off, &fp, sizeof fp); /* POSIX: void* -> fn ptr */
  }
  void *es = dlsym(lib, "hiprtcGetErrorString");
  memcpy(&rtc->GetErrorString, &es, sizeof es);
  return 0;
}

/* dlopen name bare (loader path), then under $ROCM_PATH/lib and /opt/rocm/lib. */
static void *open_lib(const char *name) {
  void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  const char *root = cg_host_option("ROCM_PATH");
  const char *const dirs[] = {root ? root : "", "/opt/rocm", NULL};
  char path[1024];
  for (int k = 0; !h && dirs[k]; k++) {
    if (!dirs[k][0]) continue;
    snprintf(path, sizeof path, "%s/lib/%s", dirs[k], name);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  }
  return h;
}

/* ROCm major version a hiprtc library name stands for: libhiprtc.so.N -> N, an
 * unversioned libhiprtc.so -> 6 (assumed recent), hiprtc inside libamdhip64.so.5 -> 5. */
static int rocm_major(const char *name) {
  static const char pre[] = "libhiprtc.so";
  if (strncmp(name, pre, sizeof pre - 1)) return 5;
  return name[sizeof pre - 1] == '.' ? atoi(name + sizeof pre) : 6;
}

void hip__load_rtc(hip_rtc *rtc) {
  /* standalone hiprtc first (ROCm >= 5.3), then the copy inside libamdhip64 (5.2) */
  static const char *const names[] = {"libhiprtc.so.7", "libhiprtc.so.6", "libhiprtc.so.5",
                                      "libhiprtc.so", "libamdhip64.so.5", NULL};
  memset(rtc, 0, sizeof *rtc);
  for (int k = 0; names[k] && !rtc->lib; k++) {
    void *h = open_lib(names[k]);
    if (!h) continue;
    if (resolve_rtc(rtc, h) == 0) {
      rtc->lib = h;
      rtc->major = rocm_major(names[k]);
      rtc->standalone = strstr(names[k], "hiprtc") != NULL;
    } else {
      dlclose(h);
    }
  }
  if (!rtc->lib) {
    if (!rtc->why[0]) snprintf(rtc->why, sizeof rtc->why, "neither libhiprtc.so nor libamdhip64.so.5 (with hiprtc) found");
    return;
  }
  rtc->why[0] = 0;
}

void hip__base_arch(const char *arch, char *out, size_t n) {
  size_t k = 0;
  for (; arch && arch[k] && arch[k] != ':' && k + 1 < n; k++) out[k] = arch[k];
  if (n) out[k] = 0;
}

static int in_list(const char *const *list, const char *s) {
  for (; *list; list++)
    if (!strcmp(*list, s)) return 1;
  return 0;
}

/* The ROCm device-library folder (holds ockl.bc), or NULL. */
static const char *device_lib_dir(char *buf, size_t n) {
  const char *env = cg_host_option("HIP_DEVICE_LIB_PATH"), *root = cg_host_option("ROCM_PATH");
  char rootlib[512];
  snprintf(rootlib, sizeof rootlib, "%s/amdgcn/bitcode", root ? root : "");
  const char *const dirs[] = {env ? env : "", root ? rootlib : "", "/opt/rocm/amdgcn/bitcode",
                              "/usr/lib/x86_64-linux-gnu/amdgcn/bitcode",
                              "/usr/lib/aarch64-linux-gnu/amdgcn/bitcode",
                              "/usr/lib/amdgcn/bitcode", "/usr/lib64/amdgcn/bitcode", NULL};
  struct stat st;
  for (int k = 0; dirs[k]; k++) {
    if (!dirs[k][0]) continue;
    snprintf(buf, n, "%s/ockl.bc", dirs[k]);
    if (stat(buf, &st) == 0) {
      snprintf(buf, n, "%s", dirs[k]);
      return buf;
    }
  }
  return NULL;
}

int hip__target_ok(const hip_rtc *rtc, const char *arch, char *why, size_t n) {
  char base[64], dir[512], path[700];
  hip__base_arch(arch, base, sizeof base);
  int known = in_list(targets_rocm5, base) || (rtc->standalone && in_list(targets_newer, base));
  if (!known) {
    snprintf(why, n, "target '%s' is not supported by this hiprtc (ROCm %s); supported: "
             "gfx600-gfx90c and gfx1010-gfx1036%s", base, rtc->standalone ? ">= 5.3" : "5.2",
             rtc->standalone ? ", gfx94x, gfx11xx, gfx12xx where the device libraries have them"
                             : " (ROCm 5.2 has no gfx94x or RDNA3/gfx11 device libraries)");
    return 0;
  }
  const char *d = device_lib_dir(dir, sizeof dir);
  if (!d) {
    if (rtc->major > 5) return 1; /* ROCm 6 comgr carries its own device libraries */
    snprintf(why, n, "ROCm device libraries not found (install rocm-device-libs, or set "
             "HIP_DEVICE_LIB_PATH to the folder with ockl.bc)");
    return 0;
  }
  struct stat st;
  snprintf(path, sizeof path, "%s/oclc_isa_version_%s.bc", d, base + 3);
  if (stat(path, &st) != 0) {
    snprintf(why, n, "target '%s' has no device library in %s (oclc_isa_version_%s.bc)", base,
             d, base + 3);
    return 0;
  }
  return 1;
}

/* Report a failed compile with the hiprtc log. */
static cg_pstatus compile_error(hip_rtc *rtc, hiprtcProgram p, hiprtcResult r, const char *name,
                                const char *arch) {
  size_t n = 0;
  char *log = NULL;
  if (rtc->GetProgramLogSize(p, &n) == HIPRTC_SUCCESS && n > 0 && (log = malloc(n + 1))) {
    if (rtc->GetProgramLog(p, log) != HIPRTC_SUCCESS) log[0] = 0;
    log[n] = 0;
  }
  cg_pstatus st = cg_host_error(CG_P_ERR_COMPILE, "hip: hiprtc (%s) failed on kernel %s: %s\n%s", arch,
                             name, rtc->GetErrorString ? rtc->GetErrorString(r) : "error",
                             log ? log : "");
  free(log);
  return st;
}

cg_pstatus hip__compile_for(hip_rtc *rtc, const char *arch, const cg_ir_program *prog,
                            const char *src, void **blob, size_t *blob_size) {
  if (!rtc->lib) return cg_host_error(CG_P_ERR_COMPILE, "hip: hiprtc not available: %s", rtc->why);
  if (!src || !prog || !blob || !blob_size)
    return cg_host_error(CG_P_ERR_INVALID, "hip: compile needs the rendered source");
  char why[512], base[64], target[96];
  if (!hip__target_ok(rtc, arch, why, sizeof why))
    return cg_host_error(CG_P_ERR_UNSUPPORTED, "hip: cannot compile kernel %s: %s", prog->name, why);
  hip__base_arch(arch, base, sizeof base);
  snprintf(target, sizeof target, "--offload-arch=%s", base);
  const char *opts[] = {target, "-O3", "-ffp-contract=off"};
  char fname[80];
  snprintf(fname, sizeof fname, "%s.hip", prog->name);
  hiprtcProgram p = NULL;
  hiprtcResult r = rtc->CreateProgram(&p, src, fname, 0, NULL, NULL);
  if (r != HIPRTC_SUCCESS)
    return cg_host_error(CG_P_ERR_COMPILE, "hip: hiprtcCreateProgram failed: %s",
                      rtc->GetErrorString ? rtc->GetErrorString(r) : "error");
  cg_pstatus st = CG_P_OK;
  size_t n = 0;
  char *out = NULL;
  r = rtc->CompileProgram(p, 3, opts);
  if (r != HIPRTC_SUCCESS) {
    st = compile_error(rtc, p, r, prog->name, base);
  } else if ((r = rtc->GetCodeSize(p, &n)) != HIPRTC_SUCCESS || n == 0 || !(out = malloc(n)) ||
             (r = rtc->GetCode(p, out)) != HIPRTC_SUCCESS) {
    free(out);
    out = NULL;
    st = cg_host_error(CG_P_ERR_COMPILE, "hip: reading the hiprtc code object of %s failed: %s",
                    prog->name, r != HIPRTC_SUCCESS && rtc->GetErrorString ? rtc->GetErrorString(r) : "empty or out of memory");
  }
  rtc->DestroyProgram(&p);
  if (st == CG_P_OK) {
    *blob = out;
    *blob_size = n;
  }
  return st;
}

cg_pstatus hip__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                        size_t *blob_size) {
  hip_device *d = dev;
  return hip__compile_for(&d->pl->rtc, d->arch, prog, src, blob, blob_size);
}
