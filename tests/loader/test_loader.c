/* Loader and runtime tests against the stub plugins (see stub_plugin.c and this
 * folder's CMakeLists.txt). Run as `test_loader <case>`; CTest sets CG_PLUGIN_PATH to the
 * stub manifest folder and STUBGOOD_LOG to a file where the good stub logs its calls.
 * Each case checks the exact reason texts, states and side effects it is about; the
 * runtime is shut down and re-initialised between settings that are read at start. */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loader.h"

#include "../common/check.h"

static bool has(const char *hay, const char *needle) { return hay && strstr(hay, needle); }

static char *read_all(FILE *f) {
  cg_str s = {0};
  cg__str_printf(&s, "%s", "");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
    buf[n] = 0;
    cg__str_printf(&s, "%s", buf);
  }
  return s.s;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return cg__xstrdup("");
  char *s = read_all(f);
  fclose(f);
  return s;
}

/* The good stub's call log. */
static void log_reset(void) {
  const char *p = getenv("STUBGOOD_LOG");
  if (p) fclose(fopen(p, "w"));
}
static int log_count(const char *line) {
  const char *p = getenv("STUBGOOD_LOG");
  char *s = slurp(p ? p : "/nonexistent");
  int n = 0;
  size_t len = strlen(line);
  for (char *q = s; (q = strstr(q, line)); q += len)
    if ((q == s || q[-1] == '\n') && (q[len] == '\n' || q[len] == 0)) n++;
  free(s);
  return n;
}

static void restart(void) {
  cg__runtime_shutdown();
  cg__runtime_init();
}

/* Record of the manifest whose file name is `base`. */
static cg_plugin *rec(const char *base) {
  for (int i = 0; i < cg__plugin_count(); i++) {
    cg_plugin *p = cg__plugin_at(i);
    const char *slash = strrchr(p->manifest, '/');
    if (!strcmp(slash ? slash + 1 : p->manifest, base)) return p;
  }
  return NULL;
}

static void expect_state(const char *base, cg_plugin_state st, const char *reason) {
  cg_plugin *p = rec(base);
  CHECK(p, "no record for %s", base);
  if (!p) return;
  CHECK(p->state == st, "%s: state %d, want %d (reason: %s)", base, p->state, st, p->reason ? p->reason : "-");
  if (reason) CHECK(has(p->reason, reason), "%s: reason '%s' lacks '%s'", base, p->reason ? p->reason : "(null)", reason);
  else CHECK(!p->reason, "%s: unexpected reason %s", base, p->reason);
}

/* ---- manifests: every broken plugin reports its own reason, the others load ---- */
static void test_manifests(void) {
  log_reset();
  cg__runtime_init();
  CHECK(cg__plugin_count() == 16, "found %d manifests", cg__plugin_count());
  CHECK(has(cg__plugin_at(0)->manifest, "bad_abistr.yaml"), "not sorted: %s", cg__plugin_at(0)->manifest);
  expect_state("bad_abistr.yaml", CG__PL_FAILED, "malformed manifest (line 3): field 'abi' must be \"major.minor\"");
  expect_state("bad_list.yaml", CG__PL_FAILED, "malformed manifest: top level must be a mapping");
  expect_state("bad_nolib.yaml", CG__PL_FAILED, "malformed manifest: missing required field 'library'");
  expect_state("bad_syntax.yaml", CG__PL_FAILED, "malformed manifest: YAML error at line ");
  char mm[96];
  snprintf(mm, sizeof mm, "ABI major mismatch: plugin speaks 2.%d, host 1.%d", CG_PLUGIN_ABI_MINOR, CG_PLUGIN_ABI_MINOR);
  expect_state("badmajor.yaml", CG__PL_FAILED, mm);
  expect_state("failinit.yaml", CG__PL_FAILED, "init failed (no device): no stub hardware found");
  expect_state("future.yaml", CG__PL_FAILED, "manifest says ABI 2.0, host speaks ABI major 1");
  expect_state("idmismatch.yaml", CG__PL_FAILED, "plugin reports id 'other' but its manifest says 'idmismatch'");
  expect_state("noslot.yaml", CG__PL_FAILED, "function table lacks required slot 'launch'");
  expect_state("nosym.yaml", CG__PL_FAILED, "missing symbol cg_plugin_entry: ");
  CHECK(has(rec("nosym.yaml")->reason, "undefined symbol: cg_plugin_entry"), "no dlerror text: %s", rec("nosym.yaml")->reason);
  expect_state("stale.yaml", CG__PL_FAILED, "stale manifest: cannot load library: ");
  CHECK(has(rec("stale.yaml")->reason, "No such file"), "no dlerror text: %s", rec("stale.yaml")->reason);
  expect_state("zz_dup.yaml", CG__PL_DUPLICATE, "duplicate id 'stubgood': already provided by ");
  CHECK(has(rec("zz_dup.yaml")->reason, "stubgood.yaml"), "%s", rec("zz_dup.yaml")->reason);
  expect_state("stubgood.yaml", CG__PL_LOADED, NULL);
  expect_state("stubref.yaml", CG__PL_LOADED, NULL);
  /* newer minor: effective minor is the host's; older table: missing slot reads NULL */
  expect_state("stubnew.yaml", CG__PL_LOADED, NULL);
  CHECK(rec("stubnew.yaml")->reply_minor == 9 && rec("stubnew.yaml")->minor == CG_PLUGIN_ABI_MINOR, "minor");
  expect_state("stubold.yaml", CG__PL_LOADED, NULL);
  CHECK(rec("stubold.yaml")->api.compiler_id == NULL, "read past an old table's struct_size");
  CHECK(rec("stubgood.yaml")->api.compiler_id != NULL, "compiler_id lost");
  /* caps (ABI 1.2): kept from a current table, 0 past an old table's struct_size */
  CHECK(rec("stubgood.yaml")->api.caps == CG_API_CAP_CONCURRENT_COMPILE, "caps lost");
  CHECK(rec("stubold.yaml")->api.caps == 0, "caps read past an old table's struct_size");
  CHECK(rec("stubgood.yaml")->priority == 20 && !strcmp(rec("stubgood.yaml")->name, "Stub stubgood"), "fields");
  CHECK(!strcmp(cg__plugins_loaded_list(), "stubgood, stubnew, stubold, stubref"), "%s", cg__plugins_loaded_list());
  CHECK(log_count("stubgood init home=hidden") == 1, "get_option leaked HOME or init not logged");
  /* CG_PLUGINS_DISABLE filters by id, case-insensitively */
  setenv("CG_PLUGINS_DISABLE", "StubOld, nosuch", 1);
  restart();
  expect_state("stubold.yaml", CG__PL_DISABLED, "disabled by CG_PLUGINS_DISABLE");
  unsetenv("CG_PLUGINS_DISABLE");
  cg__runtime_shutdown();
  CHECK(log_count("stubgood shutdown used=0") == 2, "shutdown not called once per init");
}

/* ---- devices by name, and the errors for each way a name can fail ---- */
static void expect_no_device(const char *name, const char *msg) {
  cg_device *d = cg__device_get(name);
  CHECK(!d, "%s opened", name);
  CHECK(has(cg_last_error(), msg), "%s: error '%s' lacks '%s'", name, cg_last_error(), msg);
}

static void test_devices(void) {
  setenv("STUBGOOD_FAIL_OPEN", "1", 1);
  expect_no_device("stubgood:1", "device 'stubgood:1': cannot open STUBGOOD:1: plugin stubgood: device refuses to open");
  unsetenv("STUBGOOD_FAIL_OPEN");
  cg_device *d0 = cg__device_get("stubgood"), *d1 = cg__device_get("StubGood:1");
  CHECK(d0 && d1 && d0 != d1, "open");
  if (!d0 || !d1) return;
  CHECK(cg__device_get("STUBGOOD:0") == d0, "devices are opened once");
  CHECK(!strcmp(cg__device_name(d1), "STUBGOOD:1"), "%s", cg__device_name(d1));
  CHECK(!strcmp(cg__device_plugin_id(d1), "stubgood"), "id");
  CHECK(!strcmp(cg__device_props(d1)->name, "stub device 1 of stubgood"), "%s", cg__device_props(d1)->name);
  CHECK(!strcmp(cg__device_props(d1)->arch, "stub-arch-1"), "arch");
  expect_no_device("stubgood:2", "device 'stubgood:2': plugin 'stubgood' has 2 device(s)");
  expect_no_device("stubgood:x", "bad device name 'stubgood:x' (expected PLUGIN[:INDEX])");
  expect_no_device("FOO", "device 'FOO': no plugin 'foo' (loaded: stubgood, stubnew, stubold, stubref)");
  expect_no_device("failinit", "plugin 'failinit' failed to load: init failed (no device): no stub hardware found");
  expect_no_device("stale:0", "plugin 'stale' failed to load: stale manifest");
  expect_no_device("nolib", "plugin 'nolib' failed to load: malformed manifest: missing required field 'library'");
  cg__runtime_shutdown();
}

/* ---- the default device: BACKEND, else highest priority that opens ---- */
static void expect_default(const char *want) {
  const char *got = cg_default_device();
  if (!want) CHECK(!got, "default %s, want none", got);
  else CHECK(got && !strcmp(got, want), "default %s, want %s (%s)", got ? got : "(none)", want, cg_last_error());
}

static void test_default(void) {
  expect_default("STUBGOOD:0");  /* stale has priority 50 but failed; stubref (1) never */
  setenv("CG_PLUGINS_DISABLE", "stubgood", 1);
  restart();
  expect_default("STUBNEW:0");
  expect_no_device("stubgood", "device 'stubgood': plugin 'stubgood' is disabled by CG_PLUGINS_DISABLE");
  setenv("CG_PLUGINS_DISABLE", "stubgood,stubnew,stubold", 1);
  restart();
  expect_default(NULL);
  CHECK(has(cg_last_error(), "no default device (loaded plugins: stubref; ref and null are used only by name"), "%s", cg_last_error());
  CHECK(cg__device_get("stubref") != NULL, "a priority-1 plugin still opens by name");
  unsetenv("CG_PLUGINS_DISABLE");
  setenv("STUBGOOD_FAIL_OPEN", "0", 1);  /* the first device that opens wins */
  restart();
  expect_default("STUBGOOD:1");
  unsetenv("STUBGOOD_FAIL_OPEN");
  setenv("BACKEND", "STUBREF", 1);
  restart();
  expect_default("STUBREF:0");
  setenv("BACKEND", "FOO", 1);
  restart();
  expect_default(NULL);
  CHECK(has(cg_last_error(), "BACKEND=FOO: no plugin 'foo' (loaded: stubgood, stubnew, stubold, stubref)"), "%s", cg_last_error());
  setenv("BACKEND", "failinit", 1);
  restart();
  expect_default(NULL);
  CHECK(has(cg_last_error(), "BACKEND=failinit: plugin 'failinit' failed to load: init failed"), "%s", cg_last_error());
  CHECK(cg_set_default_device("stubnew:0") == CG_OK, "set default");
  expect_default("STUBNEW:0");
  unsetenv("BACKEND");
  cg__runtime_shutdown();
}

/* ---- buffers: roundtrip, ranges, copies, LRU reuse, cap, flush-and-retry ---- */
static void test_buffers(void) {
  log_reset();
  cg_device *d = cg__device_get("stubgood:0"), *d1 = cg__device_get("stubgood:1");
  cg_device *dn = cg__device_get("stubnew");
  CHECK(d && d1 && dn, "open: %s", cg_last_error());
  if (!d || !d1 || !dn) return;
  unsigned char in[100], out[100];
  for (int i = 0; i < 100; i++) in[i] = (unsigned char)(i * 7);
  cg_buffer *a = cg__buffer_new(d, 100);
  CHECK(cg__buffer_size(a) == 100 && cg__buffer_device(a) == d, "buffer");
  CHECK(cg__buffer_write(a, 0, in, 100) == CG_OK && cg__buffer_read(a, 0, out, 100) == CG_OK, "io");
  CHECK(!memcmp(in, out, 100), "roundtrip");
  CHECK(cg__buffer_write(a, 90, in, 20) == CG_ERR_INVALID, "range");
  CHECK(has(cg_last_error(), "range [90, +20) outside a 100-byte buffer on STUBGOOD:0"), "%s", cg_last_error());
  /* copies: same device (d2d slot), other device of the plugin and other plugin (staged) */
  cg_buffer *b = cg__buffer_new(d, 100), *c = cg__buffer_new(d1, 100), *e = cg__buffer_new(dn, 100);
  memset(out, 0, sizeof out);
  CHECK(cg__buffer_copy(b, 10, a, 0, 90) == CG_OK && log_count("stubgood d2d 90") == 1, "d2d");
  CHECK(cg__buffer_copy(c, 0, b, 0, 100) == CG_OK && cg__buffer_copy(e, 0, c, 0, 100) == CG_OK, "staged");
  CHECK(cg__buffer_read(e, 10, out, 90) == CG_OK && !memcmp(out, in, 90), "copied data");
  CHECK(log_count("stubgood d2d 100") == 0, "cross-device copy used d2d");
  /* LRU reuse: a freed allocation of the same size comes back without a plugin alloc */
  cg__buffer_retain(a);
  cg__buffer_release(a);
  CHECK(log_count("stubgood free 100") == 0, "retained buffer freed");
  cg__buffer_release(a);
  cg_buffer *a2 = cg__buffer_new(d, 100);
  CHECK(log_count("stubgood alloc 100") == 3, "not reused: %d allocs", log_count("stubgood alloc 100")); /* a b c */
  cg__buffer_release(a2);
  cg__buffer_release(b);
  cg__buffer_release(c);
  cg__buffer_release(e);

  /* cap: 1 MiB of cache; three 400 KiB frees evict the least recently used one */
  setenv("CG_BUFFER_CACHE_MB", "1", 1);
  restart();
  log_reset();
  d = cg__device_get("stubgood");
  cg_buffer *x[3];
  for (int i = 0; i < 3; i++) x[i] = cg__buffer_new(d, 400 << 10);
  for (int i = 0; i < 3; i++) cg__buffer_release(x[i]);
  CHECK(log_count("stubgood free 409600") == 1, "cap not enforced");
  x[0] = cg__buffer_new(d, 400 << 10);
  CHECK(log_count("stubgood alloc 409600") == 3, "cached buffer not reused");
  cg__buffer_release(x[0]);
  unsetenv("CG_BUFFER_CACHE_MB");

  /* failing alloc: flush the cache and retry once; then a clear error */
  setenv("STUBGOOD_MEM_LIMIT", "1000000", 1);
  restart();
  log_reset();
  d = cg__device_get("stubgood");
  cg__buffer_release(cg__buffer_new(d, 600000));
  cg_buffer *big = cg__buffer_new(d, 700000);
  CHECK(big && log_count("stubgood free 600000") == 1, "no flush-and-retry");
  cg_buffer *big2 = cg__buffer_new(d, 700000);
  CHECK(!big2 && has(cg_last_error(), "STUBGOOD:0: cannot allocate 700000 bytes: plugin stubgood: out of stub memory"),
        "%s", cg_last_error());
  unsetenv("STUBGOOD_MEM_LIMIT");
  /* shutdown with a live buffer: memory is returned, the handle stays safe */
  cg__runtime_shutdown();
  CHECK(log_count("stubgood shutdown used=0") == 1, "device memory leaked at shutdown");
  CHECK(cg__buffer_read(big, 0, out, 1) == CG_ERR_DEVICE && has(cg_last_error(), "shut down"), "dead buffer");
  cg__buffer_release(big);
}

/* ---- programs ---- */

/* add_var kernel: out int32[n] = in int32[n] + v, v in [0, 100]. Hand-built block. */
static cg_ir_program *make_ir(const char *name, int64_t n) {
  size_t size = sizeof(cg_ir_program) + 2 * sizeof(cg_ir_param) + sizeof(cg_ir_var);
  cg_ir_program *p = cg__xcalloc(1, size);
  p->magic = CG_IR_MAGIC;
  p->version_major = CG_IR_VERSION_MAJOR;
  p->total_size = (uint32_t)size;
  p->nparams = 2;
  p->params_off = sizeof *p;
  p->nvars = 1;
  p->vars_off = (uint32_t)(sizeof *p + 2 * sizeof(cg_ir_param));
  p->insts_off = p->srcs_off = (uint32_t)size;
  p->global[0] = (uint32_t)n, p->global[1] = p->global[2] = 1;
  p->local[0] = p->local[1] = p->local[2] = 1;
  p->flops = (uint64_t)n * 1000;  /* estimates chosen so DEBUG=2 shows round numbers */
  p->bytes = (uint64_t)n * 8000;
  snprintf(p->name, sizeof p->name, "%s", name);
  cg_ir_param *prm = (cg_ir_param *)((char *)p + p->params_off);
  prm[0] = (cg_ir_param){CG_IR_INT32, CG_IR_PARAM_WRITE, 0, 0, n};
  prm[1] = (cg_ir_param){CG_IR_INT32, CG_IR_PARAM_READ, 0, 0, n};
  cg_ir_var *v = (cg_ir_var *)((char *)p + p->vars_off);
  snprintf(v->name, sizeof v->name, "v");
  v->min = 0, v->max = 100;
  return p;
}

/* Runs add_var with v on device d; true if out == in + v. */
static bool run_add(cg_device *d, cg_program *prog, int64_t v) {
  int32_t in[4] = {1, 2, 3, 4}, out[4] = {0};
  cg_buffer *bi = cg__buffer_new(d, sizeof in), *bo = cg__buffer_new(d, sizeof out);
  cg_buffer *bufs[2] = {bo, bi};
  bool ok = cg__buffer_write(bi, 0, in, sizeof in) == CG_OK && cg__program_launch(prog, bufs, &v) == CG_OK &&
            cg__buffer_read(bo, 0, out, sizeof out) == CG_OK;
  for (int i = 0; i < 4; i++) ok = ok && out[i] == in[i] + v;
  cg__buffer_release(bi);
  cg__buffer_release(bo);
  return ok;
}

static void test_programs(void) {
  setenv("CG_NO_CACHE", "1", 1);
  log_reset();
  cg_device *d = cg__device_get("stubgood"), *d1 = cg__device_get("stubgood:1");
  CHECK(d && d1, "open");
  if (!d || !d1) return;
  cg_ir_program *ir = make_ir("add_var", 4), *ir2 = make_ir("add_var", 4);
  uint64_t c0 = cg__counters.compiles, k0 = cg__counters.kernels;
  cg_program *p = cg__program_get(d, ir), *p2 = cg__program_get(d, ir2);
  CHECK(p && p == p2, "memory cache: %s", cg_last_error());
  CHECK(cg__counters.compiles == c0 + 1 && log_count("stubgood compile add_var") == 1, "compiled twice");
  CHECK(p && run_add(d, p, 5) && cg__counters.kernels == k0 + 1, "launch: %s", cg_last_error());
  CHECK(cg__program_get(d1, ir) != p && cg__counters.compiles == c0 + 2, "cache is per device");
  /* launch checks */
  int32_t z[4];
  cg_buffer *small = cg__buffer_new(d, 8), *ok = cg__buffer_new(d, sizeof z), *other = cg__buffer_new(d1, sizeof z);
  int64_t v = 5, vbad = 200;
  cg_buffer *b1[2] = {small, ok}, *b2[2] = {ok, other}, *b3[2] = {ok, ok};
  CHECK(cg__program_launch(p, b1, &v) == CG_ERR_INVALID && has(cg_last_error(), "buffer 0 has 8 bytes, kernel may touch 16"), "%s", cg_last_error());
  CHECK(cg__program_launch(p, b2, &v) == CG_ERR_DEVICE && has(cg_last_error(), "buffer 1 is on STUBGOOD:1, kernel on STUBGOOD:0"), "%s", cg_last_error());
  CHECK(cg__program_launch(p, b3, &vbad) == CG_ERR_INVALID && has(cg_last_error(), "variable v = 200 outside [0, 100]"), "%s", cg_last_error());
  cg__buffer_release(small);
  cg__buffer_release(ok);
  cg__buffer_release(other);
  /* compile failure carries the plugin's message */
  cg_ir_program *bad = make_ir("bad_kernel", 4);
  CHECK(!cg__program_get(d, bad), "bad kernel compiled");
  CHECK(has(cg_last_error(), "STUBGOOD:0: compile of kernel 'bad_kernel': plugin stubgood: syntax error in kernel"), "%s", cg_last_error());
  uint64_t junk[32];
  memset(junk, 0x5a, sizeof junk);
  CHECK(!cg__program_get(d, (const cg_ir_program *)junk) && has(cg_last_error(), "not a cgrad IR block"), "garbage");
  /* an old-table plugin without render/compile takes the IR directly */
  cg_device *dold = cg__device_get("stubold");
  cg_program *po = dold ? cg__program_get(dold, ir) : NULL;
  CHECK(po && run_add(dold, po, 7), "old plugin: %s", cg_last_error());
  free(ir);
  free(ir2);
  free(bad);
  cg__runtime_shutdown();
  CHECK(log_count("stubgood unload add_var") == 2, "programs not unloaded");
  unsetenv("CG_NO_CACHE");
}

/* ---- disk cache: a second process loads the blob instead of compiling ---- */
static int child_run(const char *self, const char *dev) {
  char exe[4096];
  ssize_t n = readlink(self, exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  char *argv[] = {exe, "diskcache-child", (char *)dev, NULL};
  int status = 0;
  fflush(NULL);
  pid_t pid = fork();  /* not posix_spawn: <spawn.h> pulls <sched.h>, shadowed by core/sched.h */
  if (pid < 0) return -1;
  if (pid == 0) {
    execv(exe, argv);
    _exit(127);
  }
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

/* exit code: 10 * compiles + disk hits, 99 on failure */
static int diskcache_child(const char *dev) {
  cg_device *d = cg__device_get(dev);
  cg_ir_program *ir = make_ir("add_var", 4);
  cg_program *p = d ? cg__program_get(d, ir) : NULL;
  bool ok = p && run_add(d, p, 3);
  free(ir);
  if (!ok) fprintf(stderr, "child: %s\n", cg_last_error());
  return ok ? (int)(cg__counters.compiles * 10 + cg__program_disk_hits) : 99;
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return 0;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static void test_diskcache(const char *self) {
  char dir[4096], sub[4200];
  snprintf(dir, sizeof dir, "%s/disk-%ld", getenv("CG_CACHE_DIR") ? getenv("CG_CACHE_DIR") : "/tmp", (long)getpid());
  snprintf(sub, sizeof sub, "%s/stubgood", dir);
  setenv("CG_CACHE_DIR", dir, 1);
  log_reset();
  CHECK(child_run(self, "stubgood") == 10, "first run should compile");
  CHECK(count_files(sub) == 1, "no cache file in %s", sub);
  CHECK(child_run(self, "stubgood") == 1, "second run should hit the disk cache");
  CHECK(log_count("stubgood compile add_var") == 1, "compiled again");
  CHECK(child_run(self, "stubgood:1") == 10, "other arch must not share the entry");
  CHECK(count_files(sub) == 2, "entries");
  setenv("CG_NO_CACHE", "1", 1);
  CHECK(child_run(self, "stubgood") == 10, "CG_NO_CACHE=1 must compile");
  unsetenv("CG_NO_CACHE");
  remove_dir(sub);
  rmdir(dir);
}

/* ---- DEBUG=2 line per kernel; DEBUG=4 source ---- */
static cg_str logged;
static void capture(int level, const char *msg, void *user) { cg__str_printf(&logged, "%s\n", msg); }

static void test_debug(void) {
  setenv("CG_NO_CACHE", "1", 1);
  cg_set_log(capture, NULL);
  cg_device *d = cg__device_get("stubgood");
  cg_ir_program *ir = make_ir("add_var", 4);
  cg_program *p = d ? cg__program_get(d, ir) : NULL;
  CHECK(p && run_add(d, p, 1), "launch");
  cg_set_log(NULL, NULL);
  CHECK(has(logged.s, "STUBGOOD:0") && has(logged.s, "add_var") && has(logged.s, "global [4,1,1] local [1,1,1]") &&
            has(logged.s, "1.000 us") && has(logged.s, "4.00 GFLOP/s") && has(logged.s, "32.00 GB/s"),
        "DEBUG=2 line: %s", logged.s ? logged.s : "");
  CHECK(has(logged.s, "/* kernel add_var */") == (cg__debug() >= 4), "source shown only at DEBUG>=4");
  CHECK(has(logged.s, "IR of add_var") == (cg__debug() >= 5), "IR text shown only at DEBUG>=5");
  free(logged.s);
  free(ir);
  cg__runtime_shutdown();
}

/* ---- the cgrad tool ---- */
/* getenv(name) + suffix, in a static buffer. */
static const char *env_plus(const char *name, const char *suffix) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s%s", getenv(name) ? getenv(name) : "", suffix);
  return buf;
}

static char *run_tool(const char *tool, const char *args, int *status) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", tool, args);
  FILE *f = popen(cmd, "r");
  if (!f) return cg__xstrdup("");
  char *s = read_all(f);
  int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return s ? s : cg__xstrdup("");
}

static void test_cli(const char *tool) {
  int st;
  setenv("CG_PLUGIN_PATH", env_plus("CG_PLUGIN_PATH", ":/nonexistent/dir"), 1);
  char *out = run_tool(tool, "plugins", &st);
  CHECK(st == 0, "plugins exit %d", st);
  char abi[64];
  snprintf(abi, sizeof abi, "abi:      %d.%d (manifest), negotiated %d.%d", CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR,
           CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR);
  const char *want[] = {"search path: CG_PLUGIN_PATH=", "16 manifest(s) found", "stubgood     loaded",
                        "failinit     failed", "reason:   init failed (no device): no stub hardware found",
                        "missing symbol cg_plugin_entry", "duplicate id 'stubgood'",
                        abi, "priority: 20", "version:  0.1-stub",
                        "stubold      loaded", "stale        failed", "?            failed",
                        "4 loaded, 11 failed, 0 disabled, 1 duplicate", "not found:   /nonexistent/dir"};
  for (size_t i = 0; i < CG_ARRAY_LEN(want); i++) CHECK(has(out, want[i]), "`cgrad plugins` lacks '%s':\n%s", want[i], out ? out : "");
  free(out);
  out = run_tool(tool, "devices", &st);
  const char *want2[] = {"STUBGOOD:0", "STUBGOOD:1", "STUBREF:0", "plugin:        stubgood (priority 20)", "name:          stub device 1 of stubgood",
                         "kind:          cpu", "arch:          stub-arch-0", "dtypes:        i32 f32",
                         "local size:    1 (max 1 x 1 x 1), warp 1", "local memory:  0 B", "compute units: 3",
                         "global memory: 1.0 GiB", "tensor cores:  8x8x4 f16", "default device: STUBGOOD:0"};
  CHECK(st == 0, "devices exit %d", st);
  for (size_t i = 0; i < CG_ARRAY_LEN(want2); i++) CHECK(has(out, want2[i]), "`cgrad devices` lacks '%s':\n%s", want2[i], out ? out : "");
  free(out);
  out = run_tool(tool, "--help", &st);
  CHECK(st == 0 && has(out, "usage: cgrad") && has(out, "plugins") && has(out, "CG_PLUGIN_PATH"), "help: %s", out);
  free(out);
  out = run_tool(tool, "frobnicate", &st);
  CHECK(st == 2 && has(out, "unknown command 'frobnicate'"), "bad command: %d %s", st, out);
  free(out);
}

int main(int argc, char **argv) {
  const char *t = argc > 1 ? argv[1] : "";
  if (!strcmp(t, "diskcache-child")) return diskcache_child(argc > 2 ? argv[2] : "stubgood");
  if (!strcmp(t, "manifests")) test_manifests();
  else if (!strcmp(t, "devices")) test_devices();
  else if (!strcmp(t, "default")) test_default();
  else if (!strcmp(t, "buffers")) test_buffers();
  else if (!strcmp(t, "programs")) test_programs();
  else if (!strcmp(t, "diskcache")) test_diskcache("/proc/self/exe");
  else if (!strcmp(t, "debug")) test_debug();
  else if (!strcmp(t, "cli") && argc > 2) test_cli(argv[2]);
  else {
    fprintf(stderr, "usage: test_loader manifests|devices|default|buffers|programs|diskcache|debug|cli TOOL\n");
    return 2;
  }
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ok\n");
  return fails ? 1 : 0;
}
