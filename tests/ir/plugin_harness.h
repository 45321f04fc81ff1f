/* Test harness for IR plugins: loads the plugin module named by CG_TEST_PLUGIN with
 * dlopen (as the core does), negotiates through cg_plugin_entry, opens device 0, and
 * runs one program on host arrays. Also a tiny builder DSL used by the ref tests.
 * Header-only; each test includes it once. */
#ifndef CG_IR_PLUGIN_HARNESS_H
#define CG_IR_PLUGIN_HARNESS_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

#include "check.h"

static char g_err[1024];
static inline void host_log(void *c, int level, const char *msg) { (void)c, (void)level, (void)msg; }
static inline void host_set_error(void *c, const char *msg) { (void)c, snprintf(g_err, sizeof g_err, "%s", msg); }
static const char *g_max_steps; /* answer to the REF_MAX_STEPS option, NULL = unset */
static inline const char *host_option(void *c, const char *key) {
  (void)c;
  return !strcmp(key, "REF_MAX_STEPS") ? g_max_steps : NULL;
}
static const cg_host_services g_services = {sizeof(cg_host_services), NULL, host_log, host_set_error,
                                            host_option};

typedef struct {
  void *dl;
  cg_plugin_entry_fn entry;
  const cg_plugin_api *api;
  void *ctx, *dev;
} plug;

static inline int plug_open(plug *p) {
  memset(p, 0, sizeof *p);
  p->dl = dlopen(CG_TEST_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (!p->dl) return fprintf(stderr, "dlopen %s: %s\n", CG_TEST_PLUGIN, dlerror()), -1;
  void *sym = dlsym(p->dl, "cg_plugin_entry");
  if (!sym) return fprintf(stderr, "no cg_plugin_entry\n"), -1;
  memcpy(&p->entry, &sym, sizeof sym);
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &g_services};
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  if (p->entry(&q, &r) != CG_P_OK || !r.api) return fprintf(stderr, "entry failed\n"), -1;
  p->api = r.api;
  if (p->api->init(&p->ctx) != CG_P_OK) return fprintf(stderr, "init failed: %s\n", g_err), -1;
  if (p->api->device_open(p->ctx, 0, &p->dev) != CG_P_OK) return fprintf(stderr, "open: %s\n", g_err), -1;
  return 0;
}

static inline void plug_close(plug *p) {
  if (p->api) {
    p->api->device_close(p->dev);
    p->api->shutdown(p->ctx);
  }
  if (p->dl) dlclose(p->dl);
}

/* One host array bound to one program parameter. */
typedef struct {
  void *data;
  size_t bytes;
} hbuf;

/* Copies the arrays in, runs prog (dims from the program), copies them back.
 * Returns the first failing status (message in g_err). */
static inline cg_pstatus run_prog(plug *p, const cg_ir_program *prog, hbuf *bufs, int nbufs,
                           const int64_t *vars, int nvars) {
  const cg_plugin_api *api = p->api;
  void *dbuf[16] = {0}, *h = NULL;
  cg_pstatus st = CG_P_OK;
  g_err[0] = 0;
  for (int k = 0; k < nbufs && !st; k++) {
    st = api->mem_alloc(p->dev, bufs[k].bytes, &dbuf[k]);
    if (!st) st = api->copy_in(p->dev, dbuf[k], 0, bufs[k].data, bufs[k].bytes);
  }
  if (!st) st = api->program_load(p->dev, prog, NULL, 0, &h);
  if (!st) {
    cg_launch_args a = {.struct_size = sizeof a, .nbufs = (uint32_t)nbufs, .bufs = dbuf,
                        .nvars = (uint32_t)nvars, .vars = vars};
    st = api->launch(p->dev, h, &a);
  }
  for (int k = 0; k < nbufs && !st; k++) st = api->copy_out(p->dev, bufs[k].data, dbuf[k], 0, bufs[k].bytes);
  if (h) api->program_unload(p->dev, h);
  for (int k = 0; k < nbufs; k++)
    if (dbuf[k]) api->mem_free(p->dev, dbuf[k]);
  return st;
}

/* ---- builder DSL: one global builder B ---- */
static cg_ir_builder *B;

static inline int32_t E(cg_ir_op op, cg_ir_type t, int64_t arg, int n, ...) {
  int32_t s[16];
  va_list ap;
  va_start(ap, n);
  for (int k = 0; k < n; k++) s[k] = va_arg(ap, int32_t);
  va_end(ap);
  return cg_irb_emit(B, op, t, n, s, arg);
}
static inline cg_ir_type TV(int s, int vec) {
  cg_ir_type t = {(uint8_t)s, (uint8_t)vec, CG_IR_AS_NONE, 0};
  return t;
}
static inline cg_ir_type TP(int s, int vec, int space) {
  cg_ir_type t = {(uint8_t)s, (uint8_t)vec, (uint8_t)space, 0};
  return t;
}
#define T(s) TV(s, 1)
#define VOID_T T(CG_IR_VOID)
static inline int32_t ci(int s, int64_t v) { return cg_irb_const_i(B, (cg_ir_scalar)s, v); }
static inline int32_t cf(int s, double v) { return cg_irb_const_f(B, (cg_ir_scalar)s, v); }
/* PARAM k of element type s (declares it too). */
static inline int32_t param(int s, int flags, int64_t count) {
  int k = cg_irb_param(B, (cg_ir_scalar)s, flags, count);
  return E(CG_IR_PARAM, TP(s, 1, CG_IR_AS_GLOBAL), k, 0);
}
static inline int32_t gidx(int axis) { return E(CG_IR_SPECIAL, T(CG_IR_INT32), axis, 0); }
static inline int32_t lidx(int axis) { return E(CG_IR_SPECIAL, T(CG_IR_INT32), 3 + axis, 0); }
/* ptr[idx] as a pointer of `vec` lanes. */
static inline int32_t at(int32_t ptr, int32_t idx, int vec) {
  cg_ir_type t = cg_irb_type(B, ptr);
  t.vec = (uint8_t)vec;
  return E(CG_IR_INDEX, t, 0, 2, ptr, idx);
}
static inline int32_t load(int32_t ptr, int32_t idx, int vec) {
  int32_t a = at(ptr, idx, vec);
  return E(CG_IR_LOAD, TV(cg_irb_type(B, ptr).scalar, vec), 0, 1, a);
}
static inline void store(int32_t ptr, int32_t idx, int32_t val) {
  int32_t a = at(ptr, idx, cg_irb_type(B, val).vec);
  E(CG_IR_STORE, VOID_T, 0, 2, a, val);
}
static inline int32_t alu2(cg_ir_op op, int32_t a, int32_t b) { return E(op, cg_irb_type(B, a), 0, 2, a, b); }
static inline int32_t cmp(cg_ir_op op, int32_t a, int32_t b) {
  return E(op, TV(CG_IR_BOOL, cg_irb_type(B, a).vec), 0, 2, a, b);
}
static inline void kernel_begin(const char *name, uint32_t gx, uint32_t lx) {
  B = cg_irb_new(name);
  uint32_t g[3] = {gx, 1, 1}, l[3] = {lx, 1, 1};
  cg_irb_set_launch(B, g, l);
}
/* Finishes B (freed) and checks the result verifies. */
static inline cg_ir_program *kernel_end(void) {
  cg_ir_program *p = cg_irb_finish(B);
  cg_irb_free(B);
  B = NULL;
  char err[256];
  CHECK(p && cg_ir_verify(p, p->total_size, err, sizeof err) == 0, "test kernel invalid: %s", p ? err : "NULL");
  return p;
}

#endif
