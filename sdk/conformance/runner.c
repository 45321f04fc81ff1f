/* Conformance runner: loads the plugin under test and the reference plugin itself
 * (dlopen + cg_plugin_entry + init, never through the core, so every call is observed),
 * runs the numbered rules in order (1.x-6.x from rules_abi.c / rules_device.c, 7.x from
 * the YAML case tables), prints one line per rule and a summary, and writes the YAML
 * report. A rule that needs a device the plugin does not have is SKIP, never PASS. */
#include <dlfcn.h>
#include <stdio.h>

#include "conf_impl.h"

static int verbose;

/* ---- results ---- */

static void vset(char *dst, size_t n, const char *fmt, va_list ap) { vsnprintf(dst, n, fmt, ap); }

void rfail(rres *r, const char *fmt, ...) {
  if (r->st == R_FAIL) return; /* keep the first failure */
  va_list ap;
  va_start(ap, fmt);
  vset(r->reason, sizeof r->reason, fmt, ap);
  va_end(ap);
  r->st = R_FAIL;
}

void rskip(rres *r, const char *fmt, ...) {
  if (r->st == R_FAIL) return;
  va_list ap;
  va_start(ap, fmt);
  vset(r->reason, sizeof r->reason, fmt, ap);
  va_end(ap);
  r->st = R_SKIP;
}

void rdetail(rres *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(r->detail, sizeof r->detail, fmt, ap);
  va_end(ap);
}

const char *conf_pstatus_name(cg_pstatus ps) {
  switch (ps) {
#define PS(n, v, m) case CG_P_##n: return "CG_P_" #n;
    CG_PSTATUS(PS)
#undef PS
  }
  return "unknown status";
}

/* ---- host services ---- */

_Thread_local char conf_msg[2048];
int conf_spy_calls;

void conf_msg_clear(void) { conf_msg[0] = 0; }
const char *conf_msg_or(const char *dflt) { return conf_msg[0] ? conf_msg : dflt; }

static void host_log(void *hc, int level, const char *msg) {
  if (verbose || level == CG_LOG_ERROR) fprintf(stderr, "  [plugin log %d] %s\n", level, msg ? msg : "(null)");
}

static void host_set_error(void *hc, const char *msg) { snprintf(conf_msg, sizeof conf_msg, "%s", msg ? msg : ""); }

/* Options come from the environment; REF_MAX_STEPS bounds ref's interpreter so a
 * non-terminating kernel fails instead of hanging the suite. */
static const char *host_get_option(void *hc, const char *key) {
  if (!key) return NULL;
  const char *v = getenv(key);
  if (!v && !strcmp(key, "REF_MAX_STEPS")) return "2000000000";
  return v;
}

const cg_host_services conf_host = {sizeof(cg_host_services), NULL, host_log, host_set_error, host_get_option};

static void spy_log(void *hc, int level, const char *msg) { conf_spy_calls++; }
static void spy_set_error(void *hc, const char *msg) { conf_spy_calls++; }
static const char *spy_get_option(void *hc, const char *key) {
  conf_spy_calls++;
  return NULL;
}
const cg_host_services conf_spy_host = {sizeof(cg_host_services), NULL, spy_log, spy_set_error, spy_get_option};

cg_plugin_query conf_query(void) {
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &conf_host};
  return q;
}

void conf_renegotiate(pinst *pi) {
  if (!pi->entry) return;
  cg_plugin_query q = conf_query();
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  pi->entry(&q, &r);
}

/* ---- instances ---- */

/* Every slot of ABI 1.0 is in the table; a later minor appends slots (and would list
 * its table size here). */
size_t conf_table_size(unsigned minor) {
  (void)minor;
  return offsetof(cg_plugin_api, compiler_id) + sizeof(void *);
}

const char *conf_missing_slot(const cg_plugin_api *a) {
  return !a->init ? "init" : !a->shutdown ? "shutdown" : !a->device_count ? "device_count"
       : !a->device_props ? "device_props" : !a->device_open ? "device_open"
       : !a->mem_alloc ? "mem_alloc" : !a->mem_free ? "mem_free" : !a->copy_in ? "copy_in"
       : !a->copy_out ? "copy_out" : !a->program_load ? "program_load" : !a->launch ? "launch"
       : ((a->render || a->compile) && !a->release) ? "release" : NULL;
}

static bool negotiate(pinst *pi, const char *expect_id) {
  cg_plugin_query q = conf_query();
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  conf_msg_clear();
  cg_pstatus ps = pi->entry(&q, &r);
  pi->major = r.major, pi->minor = r.minor;
  if (ps == CG_P_ERR_VERSION || (ps == CG_P_OK && r.major != CG_PLUGIN_ABI_MAJOR))
    return snprintf(pi->why, sizeof pi->why, "ABI major mismatch: plugin speaks %u.%u, host %d.%d", r.major,
                    r.minor, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR), false;
  if (ps != CG_P_OK)
    return snprintf(pi->why, sizeof pi->why, "cg_plugin_entry failed (%s): %s", conf_pstatus_name(ps),
                    conf_msg_or("no message")), false;
  if (!r.api) return snprintf(pi->why, sizeof pi->why, "cg_plugin_entry returned no function table"), false;
  if (r.api->struct_size < offsetof(cg_plugin_api, init))
    return snprintf(pi->why, sizeof pi->why, "function table too small (%u bytes)", r.api->struct_size), false;
  pi->api = r.api;
  memset(&pi->tbl, 0, sizeof pi->tbl);
  memcpy(&pi->tbl, r.api, conf_min(r.api->struct_size, sizeof pi->tbl));
  const char *missing = conf_missing_slot(&pi->tbl);
  if (missing)
    return snprintf(pi->why, sizeof pi->why, "function table lacks required slot '%s' (table size %u)", missing,
                    r.api->struct_size), false;
  if (!pi->tbl.id || (expect_id && strcmp(pi->tbl.id, expect_id)))
    return snprintf(pi->why, sizeof pi->why, "plugin reports id '%s' but its manifest says '%s'",
                    pi->tbl.id ? pi->tbl.id : "(null)", expect_id), false;
  return true;
}

/* Device `device`: props (full struct) and open; failures only set devwhy. */
static void open_device(pinst *pi, int device) {
  int n = -1;
  conf_msg_clear();
  cg_pstatus ps = pi->tbl.device_count(pi->ctx, &n);
  if (ps != CG_P_OK || n < 0) {
    snprintf(pi->devwhy, sizeof pi->devwhy, "device_count failed (%s): %s", conf_pstatus_name(ps), conf_msg_or("no message"));
    return;
  }
  pi->ndev = n;
  if (device >= n) {
    snprintf(pi->devwhy, sizeof pi->devwhy, "no device %d (the plugin reports %d device%s)", device, n, n == 1 ? "" : "s");
    return;
  }
  memset(&pi->props, 0, sizeof pi->props);
  pi->props.struct_size = sizeof pi->props;
  conf_msg_clear();
  if ((ps = pi->tbl.device_props(pi->ctx, device, &pi->props)) != CG_P_OK) {
    snprintf(pi->devwhy, sizeof pi->devwhy, "device_props(%d) failed (%s): %s", device, conf_pstatus_name(ps), conf_msg_or("no message"));
    return;
  }
  pi->props.name[sizeof pi->props.name - 1] = 0;
  pi->props.arch[sizeof pi->props.arch - 1] = 0;
  conf_msg_clear();
  if ((ps = pi->tbl.device_open(pi->ctx, device, &pi->dev)) != CG_P_OK) {
    pi->dev = NULL;
    snprintf(pi->devwhy, sizeof pi->devwhy, "device_open(%d) failed (%s): %s", device, conf_pstatus_name(ps), conf_msg_or("no message"));
  }
}

bool conf_instance_open(pinst *pi, const char *library, const char *expect_id, int device) {
  memset(pi, 0, sizeof *pi);
  dlerror();
  pi->dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!pi->dl) {
    const char *e = dlerror();
    return snprintf(pi->why, sizeof pi->why, "cannot load library: %s", e ? e : library), false;
  }
  void *sym = dlsym(pi->dl, "cg_plugin_entry");
  if (!sym) {
    const char *e = dlerror();
    return snprintf(pi->why, sizeof pi->why, "missing symbol cg_plugin_entry: %s", e ? e : "not found"), false;
  }
  memcpy(&pi->entry, &sym, sizeof sym);
  if (!negotiate(pi, expect_id)) return false;
  conf_msg_clear();
  cg_pstatus ps = pi->tbl.init(&pi->ctx);
  if (ps != CG_P_OK) {
    pi->ctx = NULL;
    return snprintf(pi->why, sizeof pi->why, "init failed (%s): %s", conf_pstatus_name(ps), conf_msg_or("no message")), false;
  }
  open_device(pi, device);
  return true;
}

void conf_instance_close(pinst *pi) {
  if (pi->dev && pi->tbl.device_close) pi->tbl.device_close(pi->dev);
  if (pi->ctx) pi->tbl.shutdown(pi->ctx);
  pi->dev = pi->ctx = NULL;
  /* the library stays mapped, as the core keeps plugins loaded */
}

/* ---- rule selection ---- */

/* True if rule id matches an entry of the comma list: equal, or a prefix ending at a '.' */
static bool in_list(const char *list, const char *id) {
  if (!list) return false;
  size_t n = strlen(id);
  for (const char *s = list; *s;) {
    while (*s == ',' || *s == ' ') s++;
    size_t len = strcspn(s, ", ");
    if (len && len <= n && !strncmp(s, id, len) && (id[len] == 0 || id[len] == '.')) return true;
    s += len;
  }
  return false;
}

/* ---- report ---- */

/* A YAML double-quoted scalar. */
static void yq(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch == '\n') fputs("\\n", f);
    else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

typedef struct {
  const char *id, *title;
  rres r;
} outcome;

static const char *state_name(rstate s) { return s == R_PASS ? "pass" : s == R_FAIL ? "fail" : "skip"; }

static int write_report(const conf *c, const outcome *out, int n, const int count[3]) {
  const cg_conf_options *o = c->o;
  FILE *f = fopen(o->report, "w");
  if (!f) return -1;
  const pinst *p = &c->p;
  fprintf(f, "# cgrad plugin conformance report (rules: docs/plugin-guide.md)\nsuite: ");
  yq(f, CG_CONF_SUITE_VERSION);
  fprintf(f, "\nhost: {abi: \"%d.%d\", ir: \"%d.%d\"}\nplugin:\n  id: ", CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR,
          CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  yq(f, o->plugin.id);
  fprintf(f, "\n  version: ");
  yq(f, c->p_ok && p->tbl.version ? p->tbl.version : "");
  fprintf(f, "\n  manifest: ");
  yq(f, o->plugin.manifest ? o->plugin.manifest : "");
  fprintf(f, "\n  library: ");
  yq(f, o->plugin.library ? o->plugin.library : "");
  if (o->plugin.abi[0] >= 0) fprintf(f, "\n  manifest_abi: \"%d.%d\"", o->plugin.abi[0], o->plugin.abi[1]);
  if (c->p_ok) {
    fprintf(f, "\n  plugin_abi: \"%u.%u\"", p->major, p->minor);
    unsigned host_minor = CG_PLUGIN_ABI_MINOR;
    fprintf(f, "\n  negotiated_abi: \"%d.%u\"", CG_PLUGIN_ABI_MAJOR, p->minor < host_minor ? p->minor : host_minor);
  }
  fprintf(f, "\n  ir: [\"%d.%d\", \"%d.%d\"]\ndevice:", o->plugin.ir_min[0], o->plugin.ir_min[1], o->plugin.ir_max[0],
          o->plugin.ir_max[1]);
  if (c->dev_ok) {
    fprintf(f, "\n  index: %d\n  name: ", o->device);
    yq(f, p->props.name);
    fprintf(f, "\n  arch: ");
    yq(f, p->props.arch);
    fprintf(f, "\n  count: %d\n", p->ndev);
  } else {
    fprintf(f, " null\ndevice_reason: ");
    yq(f, !c->p_ok ? "plugin not loaded" : p->devwhy);
    fputc('\n', f);
  }
  fprintf(f, "reference: {id: ref, available: %s", c->ref_ok ? "true" : "false");
  if (c->ref_ok) fprintf(f, ", version: "), yq(f, c->ref.tbl.version ? c->ref.tbl.version : "");
  fprintf(f, "}\nsummary: {passed: %d, failed: %d, skipped: %d}\nrules:\n", count[R_PASS], count[R_FAIL], count[R_SKIP]);
  for (int i = 0; i < n; i++) {
    fprintf(f, "  - id: ");
    yq(f, out[i].id);
    fprintf(f, "\n    title: ");
    yq(f, out[i].title);
    fprintf(f, "\n    result: %s\n", state_name(out[i].r.st));
    if (out[i].r.reason[0]) fprintf(f, "    reason: "), yq(f, out[i].r.reason), fputc('\n', f);
    if (out[i].r.detail[0]) fprintf(f, "    detail: "), yq(f, out[i].r.detail), fputc('\n', f);
  }
  return fclose(f) ? -1 : 0;
}

/* ---- running ---- */

/* Runs one rule unless excluded or its needs are missing. */
static void run_rule(conf *c, const rule_def *d, const numrule *nr, int ni, rres *r) {
  const cg_conf_options *o = c->o;
  memset(r, 0, sizeof *r);
  if (in_list(o->exclude, d->id)) return rskip(r, "excluded by --exclude %s", o->exclude);
  if ((d->needs & NEED_PLUGIN) && !c->p_ok) return rskip(r, "the plugin did not load (rule 1.1)");
  if ((d->needs & NEED_DEVICE) && !c->dev_ok) return rskip(r, "no device: %s", c->p.devwhy);
  if ((d->needs & NEED_REF) && !c->ref_ok) return rskip(r, "reference plugin unavailable: %s", c->ref_why);
  if (d->run) d->run(c, r);
  else num_run(c, nr, ni, r);
  if (c->p_ok) conf_renegotiate(&c->p); /* undo crafted host services */
}

static void print_outcome(FILE *f, const outcome *oc) {
  fprintf(f, "%s %-5s %s", oc->r.st == R_PASS ? "PASS" : oc->r.st == R_FAIL ? "FAIL" : "SKIP", oc->id, oc->title);
  if (oc->r.reason[0]) fprintf(f, ": %s", oc->r.reason);
  if (verbose && oc->r.detail[0]) fprintf(f, " [%s]", oc->r.detail);
  fputc('\n', f);
  fflush(f);
}

static void open_plugins(conf *c) {
  const cg_conf_options *o = c->o;
  if (o->plugin.library && !o->plugin.problem) {
    c->p_ok = conf_instance_open(&c->p, o->plugin.library, o->plugin.id, o->device);
    c->dev_ok = c->p_ok && c->p.dev;
  } else {
    snprintf(c->p.why, sizeof c->p.why, "%s", o->plugin.problem ? o->plugin.problem : "no library");
  }
  if (!o->ref.library) {
    snprintf(c->ref_why, sizeof c->ref_why, "%s", o->ref.problem ? o->ref.problem : "no manifest with id 'ref' on the search path");
  } else if (!conf_instance_open(&c->ref, o->ref.library, "ref", 0)) {
    snprintf(c->ref_why, sizeof c->ref_why, "%s", c->ref.why);
  } else if (!c->ref.dev) {
    snprintf(c->ref_why, sizeof c->ref_why, "%s", c->ref.devwhy);
  } else {
    c->ref_ok = true;
  }
}

int cg_conformance_run(const cg_conf_options *o) {
  FILE *f = o->out ? o->out : stdout;
  verbose = o->verbose;
  numrule *nr = NULL;
  char why[1024];
  int nnum = num_load(o->cases_dir, &nr, why, sizeof why);
  if (nnum < 0) {
    fprintf(f, "conformance: %s\n", why);
    return 2;
  }
  conf c = {.o = o};
  open_plugins(&c);
  size_t cap = 64 + (size_t)nnum;
  outcome *out = calloc(cap, sizeof *out);
  if (!out) return num_free(nr, nnum), fprintf(f, "conformance: out of memory\n"), 2;
  int n = 0, count[3] = {0, 0, 0};
  const rule_def *tables[] = {conf_abi_rules, conf_device_rules};
  fprintf(f, "conformance of plugin '%s' (suite %s, host ABI %d.%d, IR %d.%d)\n", o->plugin.id, CG_CONF_SUITE_VERSION,
          CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  for (int t = 0; t < 2; t++) {
    for (const rule_def *d = tables[t]; d->id; d++) {
      if (o->only && !in_list(o->only, d->id)) continue;
      out[n] = (outcome){d->id, d->title, {0}};
      run_rule(&c, d, NULL, 0, &out[n].r);
      print_outcome(f, &out[n]);
      count[out[n++].r.st]++;
    }
  }
  for (int i = 0; i < nnum; i++) {
    rule_def d = {num_rule_id(nr, i), num_rule_title(nr, i), NEED_PLUGIN | NEED_DEVICE | NEED_REF, NULL};
    if (o->only && !in_list(o->only, d.id)) continue;
    out[n] = (outcome){d.id, d.title, {0}};
    run_rule(&c, &d, nr, i, &out[n].r);
    print_outcome(f, &out[n]);
    count[out[n++].r.st]++;
  }
  int rc = count[R_FAIL] ? 1 : 0;
  if (o->report && write_report(&c, out, n, count)) {
    fprintf(f, "conformance: cannot write the report %s\n", o->report);
    rc = 2;
  }
  fprintf(f, "conformance %s: %d passed, %d failed, %d skipped\n", o->plugin.id, count[R_PASS], count[R_FAIL],
          count[R_SKIP]);
  conf_instance_close(&c.p);
  conf_instance_close(&c.ref);
  free(out);
  num_free(nr, nnum);
  return rc;
}

void cg_conformance_list(FILE *f, const char *cases_dir) {
  const rule_def *tables[] = {conf_abi_rules, conf_device_rules};
  for (int t = 0; t < 2; t++)
    for (const rule_def *d = tables[t]; d->id; d++)
      fprintf(f, "%-5s %s%s\n", d->id, d->title, d->needs & NEED_DEVICE ? " [device]" : "");
  numrule *nr = NULL;
  char why[1024];
  int n = num_load(cases_dir, &nr, why, sizeof why);
  if (n < 0) fprintf(f, "(numerics rules unavailable: %s)\n", why);
  for (int i = 0; i < n; i++) fprintf(f, "%-5s %s [device, ref]\n", num_rule_id(nr, i), num_rule_title(nr, i));
  num_free(nr, n > 0 ? n : 0);
}
