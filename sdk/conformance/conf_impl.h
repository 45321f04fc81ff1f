/* Internals of the conformance suite shared by its files: rule results, plugin
 * instances (the suite's own dlopen + negotiation + init of a plugin, independent of the
 * core), host services with spies, and the kernel runner used by the device rules.
 *   runner.c        options, rule table, instances, host services, report
 *   rules_abi.c     1.x packaging and exports, 2.x negotiation, 3.x struct sizes
 *   rules_device.c  4.x lifecycle and errors, 5.x memory, 6.x determinism
 *   numerics.c      7.x op conformance against ref from the YAML case tables */
#ifndef CG_CONF_IMPL_H
#define CG_CONF_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

#include "conformance.h"

typedef enum { R_PASS, R_FAIL, R_SKIP } rstate;

/* Result of one rule: the first failure (or the skip reason) and a summary. */
typedef struct {
  rstate st;
  char reason[768];
  char detail[512];
} rres;

/* A plugin loaded by the suite. api points into the library; tbl is a copy zeroed past
 * the plugin's struct_size (slots the plugin does not have are NULL). */
typedef struct {
  void *dl;
  cg_plugin_entry_fn entry;
  const cg_plugin_api *api;
  cg_plugin_api tbl;
  uint16_t major, minor;      /* the plugin's answer */
  void *ctx, *dev;            /* context from init, device handle (NULL if none) */
  int ndev;
  cg_device_props props;      /* of the device under test */
  char why[1024];             /* why it could not be loaded (init included) */
  char devwhy[1024];          /* why there is no device under test */
} pinst;

typedef struct conf conf;
struct conf {
  const cg_conf_options *o;
  pinst p;                    /* plugin under test */
  pinst ref;                  /* reference plugin */
  bool p_ok;                  /* loaded, negotiated and initialised */
  bool dev_ok;                /* device o->device opened */
  bool ref_ok;                /* ref loaded with its device 0 open */
  char ref_why[1024];
};

/* A rule: number, title, what it needs, and its check. */
enum { NEED_NONE = 0, NEED_PLUGIN = 1, NEED_DEVICE = 2, NEED_REF = 4 };
typedef struct {
  const char *id, *title;
  int needs;
  void (*run)(conf *c, rres *r);
} rule_def;

extern const rule_def conf_abi_rules[];     /* NULL-terminated */
extern const rule_def conf_device_rules[];  /* NULL-terminated */

/* ---- results (runner.c) ---- */
void rfail(rres *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rskip(rres *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rdetail(rres *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- host services (runner.c) ---- */
/* The standard services every instance is negotiated with; messages land in conf_msg. */
extern const cg_host_services conf_host;
extern _Thread_local char conf_msg[2048]; /* last set_error text of this thread, "" if none */
extern int conf_spy_calls;             /* calls into the spy services below */
extern const cg_host_services conf_spy_host;   /* every callback counts a spy call */
void conf_msg_clear(void);
const char *conf_msg_or(const char *dflt);

/* Standard query/reply with the current ABI, for negotiations. */
cg_plugin_query conf_query(void);
/* Calls the entry point with the standard query again (restores the plugin's host
 * services after a rule negotiated with crafted ones). */
void conf_renegotiate(pinst *pi);
/* dlopen + entry + table + init, then device `device` is opened when there is one
 * (pi->dev NULL and pi->devwhy set otherwise). False with pi->why if not loaded. */
bool conf_instance_open(pinst *pi, const char *library, const char *expect_id, int device);
void conf_instance_close(pinst *pi);
/* Table size (bytes) ABI 1.<minor> defines; required slots named in *missing. */
size_t conf_table_size(unsigned minor);
const char *conf_missing_slot(const cg_plugin_api *a);
const char *conf_pstatus_name(cg_pstatus ps);

/* ---- kernels (rules_device.c) ---- */
typedef struct {
  void *data;                 /* host array (in and out) */
  size_t bytes;
} hbuf;
/* render -> compile -> program_load as the core does; NULL with why on failure. */
void *conf_build(pinst *pi, const cg_ir_program *ir, char *why, size_t whylen);
/* Builds, allocates and copies bufs in (one per param), launches with the program's
 * dims, syncs, copies every buffer out, frees. CG_P_OK or the first failing status. */
cg_pstatus conf_run(pinst *pi, const cg_ir_program *ir, hbuf *bufs, int nbufs, const int64_t *vars,
                    char *why, size_t whylen);
/* The tiny test kernel: out[i] = a[i] + 1 over n float32 (params: out, a). */
cg_ir_program *conf_kernel_add1(int n, const char *name);

/* ---- numerics (numerics.c) ---- */
typedef struct numrule numrule;
/* Loads every *.yaml of dir. Returns the rule count or -1 with why. */
int num_load(const char *dir, numrule **out, char *why, size_t whylen);
void num_free(numrule *rules, int n);
const char *num_rule_id(const numrule *rules, int i);
const char *num_rule_title(const numrule *rules, int i);
void num_run(conf *c, const numrule *rules, int i, rres *r);

/* ---- small helpers ---- */
static inline size_t conf_min(size_t a, size_t b) { return a < b ? a : b; }

#endif
