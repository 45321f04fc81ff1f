/* clang plugin, dialect glue and compiler: renders the IR with the SDK's C dialect and
 * compiles it with the system C compiler ($CC, default "cc") into a shared object.
 *
 * Files live in the cache dir (<CG_CACHE_DIR>/clang, else $XDG_CACHE_HOME/cgrad/clang,
 * else ~/.cache/cgrad/clang, else $TMPDIR/cgrad-<uid>/clang). A compiled object is
 * kept as <hash of source + compiler id>.so and reused unless CG_NO_CACHE is set; it
 * is written under a temporary name and renamed, so a reader never sees half a file.
 * The blob handed to the core is the object's bytes. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cgrad/cstyle.h>
#include <cgrad/ir_util.h>

#include "clang_impl.h"

extern char **environ;

/* Flags are fixed: IEEE semantics (no fast-math, no contraction), errno-free libm;
 * -pipe and -nostartfiles (a kernel has no constructors) shave process and link time.
 * -mno-red-zone: GCC 12 with -march=native on AVX-512 hosts emits misaligned aligned
 * stores into the red zone for kernels with local accumulator arrays (a crash: the
 * array sits at rsp-0x50 after five pushes, 8 mod 16, written with vmovdqa). */
static const char *const cc_flags[] = {"-O2", "-march=native", "-ffp-contract=off", "-fPIC", "-shared",
                                       "-fno-math-errno", "-w", "-pipe", "-nostartfiles",
#if defined(__x86_64__) /* an x86 option: other targets' compilers reject it */
                                       "-mno-red-zone",
#endif
};
enum { NFLAGS = sizeof cc_flags / sizeof cc_flags[0], MAXARGV = 32 };

static atomic_uint g_seq; /* unique temp names within this process */

cg_pstatus cc__render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  char err[512];
  if (!prog || !src) return cg_host_error(CG_P_ERR_INVALID, "clang: bad render arguments");
  *src = cg_cstyle_render(prog, &cg_cstyle_c, err, sizeof err);
  if (!*src) return cg_host_error(CG_P_ERR_UNSUPPORTED, "clang: %s", err);
  if (lang) *lang = "c";
  return CG_P_OK;
}

/* ---- files ---- */

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    int rc = mkdir(path, 0700);
    *p = '/';
    if (rc && errno != EEXIST) return -1;
  }
  return mkdir(path, 0700) && errno != EEXIST ? -1 : 0;
}

int cc__cache_dir(char *buf, size_t n) {
  const char *base = cg_host_option("CG_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
  const char *tmp = getenv("TMPDIR");
  if (base) snprintf(buf, n, "%s/clang", base);
  else if (x && *x) snprintf(buf, n, "%s/cgrad/clang", x);
  else if (h && *h) snprintf(buf, n, "%s/.cache/cgrad/clang", h);
  else buf[0] = 0;
  if (buf[0] && mkdirs(buf) == 0 && access(buf, W_OK) == 0) return 0;
  snprintf(buf, n, "%s/cgrad-%u/clang", tmp && *tmp ? tmp : "/tmp", (unsigned)getuid());
  return mkdirs(buf) == 0 && access(buf, W_OK) == 0 ? 0 : -1;
}

/* Whole file into a malloc'd buffer (plus a NUL); NULL on failure. */
static char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  if (buf) { buf[n] = 0; *size = (size_t)n; }
  if (f) fclose(f);
  return buf;
}

static int write_file(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  int ok = fwrite(data, 1, n, f) == n;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* ---- running the compiler ---- */

/* Split $CC (e.g. "ccache gcc") into argv words; returns the count. */
static int cc_words(char *cc, char **argv, int max) {
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(cc, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save)) argv[n++] = t;
  return n;
}

/* Run argv with stdout and stderr going to log; returns the exit status, or -1 with
 * errno-ish text in why if it could not be started. */
static int run(char *const *argv, const char *log, char *why, size_t whylen) {
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status = -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    snprintf(why, whylen, "cannot run '%s': %s", argv[0], strerror(rc));
    return -1;
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) { snprintf(why, whylen, "waitpid: %s", strerror(errno)); return -1; }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* argv for $CC + extra words; words point into ccbuf. */
static int cc_argv(char *ccbuf, size_t n, char **argv) {
  const char *cc = cg_host_option("CC");
  snprintf(ccbuf, n, "%s", cc ? cc : "cc");
  int k = cc_words(ccbuf, argv, 8);
  if (!k) argv[k++] = "cc";
  return k;
}

/* "<first line of cc --version> | <flags>", computed once per plugin. */
const char *cc__compiler_id(void *dev) {
  cc_dev *d = dev;
  cc_plugin *pl = d ? d->pl : NULL;
  if (!pl) return "cc";
  pthread_mutex_lock(&pl->mu);
  if (!pl->compiler_id[0]) {
    char dir[1024], log[1200], ccbuf[512], why[256], *argv[MAXARGV];
    int k = cc_argv(ccbuf, sizeof ccbuf, argv);
    argv[k++] = "--version";
    argv[k] = NULL;
    char *text = NULL;
    size_t n = 0;
    if (cc__cache_dir(dir, sizeof dir) == 0) {
      snprintf(log, sizeof log, "%s/version.%d.%u.log", dir, (int)getpid(), atomic_fetch_add(&g_seq, 1));
      if (run(argv, log, why, sizeof why) == 0) text = read_file(log, &n);
      unlink(log);
    }
    if (text) text[strcspn(text, "\n")] = 0;
    int len = snprintf(pl->compiler_id, sizeof pl->compiler_id, "%s |", text && *text ? text : ccbuf);
    for (int i = 0; i < NFLAGS && len > 0 && (size_t)len < sizeof pl->compiler_id; i++)
      len += snprintf(pl->compiler_id + len, sizeof pl->compiler_id - (size_t)len, " %s", cc_flags[i]);
    free(text);
  }
  pthread_mutex_unlock(&pl->mu);
  return pl->compiler_id;
}

/* Compile src (file base.c) into base.so; on failure the compiler output is the message. */
static cg_pstatus compile_to(const char *srcpath, const char *sopath, const char *logpath) {
  char ccbuf[512], why[256], *argv[MAXARGV];
  int k = cc_argv(ccbuf, sizeof ccbuf, argv);
  for (int i = 0; i < NFLAGS; i++) argv[k++] = (char *)cc_flags[i];
  argv[k++] = "-o";
  argv[k++] = (char *)sopath;
  argv[k++] = (char *)srcpath;
  argv[k++] = "-lm";
  argv[k] = NULL;
  int rc = run(argv, logpath, why, sizeof why);
  if (rc == 0) return CG_P_OK;
  if (rc < 0) return cg_host_error(CG_P_ERR_COMPILE, "clang: %s (set CC to a C compiler)", why);
  size_t n = 0;
  char *log = read_file(logpath, &n);
  if (log && n > 3000) strcpy(log + 2900, "\n... (truncated)");
  cg_pstatus st = cg_host_error(CG_P_ERR_COMPILE, "clang: C compiler '%s' failed (exit %d):\n%s", argv[0], rc,
                            log ? log : "(no output)");
  free(log);
  return st;
}

cg_pstatus cc__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob, size_t *blob_size) {
  char dir[1024], so[1200], tmp[1300], csrc[1300], log[1300];
  if (!dev || !src || !blob || !blob_size) return cg_host_error(CG_P_ERR_INVALID, "clang: bad compile arguments");
  if (cc__cache_dir(dir, sizeof dir)) return cg_host_error(CG_P_ERR_COMPILE, "clang: no writable cache directory");
  const char *cid = cc__compiler_id(dev);
  uint64_t h = cg_hash64(src, strlen(src), cg_hash64(cid, strlen(cid), 0));
  snprintf(so, sizeof so, "%s/%016llx.so", dir, (unsigned long long)h);
  if (!cg_host_option("CG_NO_CACHE") && (*blob = read_file(so, blob_size))) return CG_P_OK;
  unsigned seq = atomic_fetch_add(&g_seq, 1);
  snprintf(csrc, sizeof csrc, "%s/%016llx.%d.%u.c", dir, (unsigned long long)h, (int)getpid(), seq);
  snprintf(tmp, sizeof tmp, "%s/%016llx.%d.%u.so.tmp", dir, (unsigned long long)h, (int)getpid(), seq);
  snprintf(log, sizeof log, "%s/%016llx.%d.%u.log", dir, (unsigned long long)h, (int)getpid(), seq);
  cg_pstatus st = CG_P_OK;
  if (write_file(csrc, src, strlen(src))) st = cg_host_error(CG_P_ERR_COMPILE, "clang: cannot write %s", csrc);
  if (st == CG_P_OK) st = compile_to(csrc, tmp, log);
  if (st == CG_P_OK && rename(tmp, so)) st = cg_host_error(CG_P_ERR_COMPILE, "clang: cannot rename to %s", so);
  if (st == CG_P_OK && !(*blob = read_file(so, blob_size)))
    st = cg_host_error(CG_P_ERR_COMPILE, "clang: cannot read %s", so);
  unlink(csrc);
  unlink(log);
  unlink(tmp);
  return st;
}
