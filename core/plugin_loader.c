/* Plugin loader: finds YAML manifests, loads each plugin's shared object, negotiates
 * the ABI and calls init; gives plugins their host services (log, set_error,
 * get_option). One broken plugin never stops the others: every manifest gets a record
 * with its state and, if it did not load, the precise reason (libyaml's line and
 * problem, dlerror() text, ABI versions, the plugin's own init message).
 *
 * Search order (DESIGN.md §9): CG_PLUGIN_PATH (a ':' list of manifest files or
 * folders; replaces the defaults; ignored for setuid programs), else the build tree's
 * plugins.d then <prefix>/share/cgrad/plugins.d. In a folder, *.yaml sorted by name.
 * The first manifest of an id wins; later ones are reported as duplicates.
 * CG_PLUGIN_DEBUG=1 traces every step through the logger. CG_PLUGIN_STRICT=1 rejects
 * plugins older than the host (an older minor, or a function table smaller than the
 * host's) instead of driving them through the documented NULL-slot fallbacks. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "loader.h"

static cg_plugin **plugins;   /* every manifest found, in search order */
static int nplugins;
static char search_desc[2048];
static char missing_entries[1024];  /* search path entries that do not exist */
static _Thread_local char plugin_msg[2048];
uint64_t cg__program_disk_hits;

#define TRACE(...) \
  do { if (trace_on()) cg__log(2, "plugins: " __VA_ARGS__); } while (0)

static bool trace_on(void) { return cg__env_int("CG_PLUGIN_DEBUG", 0) > 0; }

/* ---- small helpers ---- */

const char *cg__pstatus_str(cg_pstatus ps) {
  switch (ps) {
#define CG_PS_X(n, v, m) case CG_P_##n: return m;
    CG_PSTATUS(CG_PS_X)
#undef CG_PS_X
  }
  return "unknown plugin status";
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = cg__xmalloc((size_t)(n < 0 ? 0 : n) + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* Marks a record failed with a formatted reason (replacing any earlier one). */
static void set_failed(cg_plugin *p, cg_plugin_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_failed(cg_plugin *p, cg_plugin_state st, const char *fmt, ...) {
  char tmp[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  free(p->reason);
  p->reason = cg__xstrdup(tmp);
  p->state = st;
  if (trace_on()) cg__log(2, "plugins: %s: %s", p->manifest, tmp);
  else if (cg__debug() >= 1) cg__log(1, "plugin manifest %s: %s", p->manifest, tmp);
}

/* "1.0" -> {1, 0}; false unless the whole string is two numbers. */
static bool parse_version(const char *s, int v[2]) {
  int n = 0;
  if (sscanf(s, "%d.%d%n", &v[0], &v[1], &n) != 2 || s[n] || v[0] < 0 || v[1] < 0) return false;
  return true;
}

static bool valid_id(const char *s) {
  if (!*s || strlen(s) > 32) return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_' && *s != '-')
      return false;
  return true;
}

/* ---- manifest parsing (libyaml document API) ---- */

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "ir: [min, max]" */
static bool read_ir(yaml_document_t *doc, yaml_node_t *v, cg_plugin *p) {
  if (v->type != YAML_SEQUENCE_NODE) return false;
  yaml_node_item_t *it = v->data.sequence.items.start;
  if (v->data.sequence.items.top - it != 2) return false;
  const char *lo = scalar(yaml_document_get_node(doc, it[0]));
  const char *hi = scalar(yaml_document_get_node(doc, it[1]));
  return lo && hi && parse_version(lo, p->ir_min) && parse_version(hi, p->ir_max);
}

/* "device_types: [cpu, gpu]" or a single scalar; kept as text for reports. */
static bool read_types(yaml_document_t *doc, yaml_node_t *v, cg_plugin *p) {
  cg_str s = {0};
  cg__str_printf(&s, "%s", "");
  if (scalar(v)) {
    cg__str_printf(&s, "%s", scalar(v));
  } else if (v->type == YAML_SEQUENCE_NODE) {
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
      const char *t = scalar(yaml_document_get_node(doc, *it));
      if (!t) { free(s.s); return false; }
      cg__str_printf(&s, "%s%s", s.len ? ", " : "", t);
    }
  } else {
    free(s.s);
    return false;
  }
  free(p->device_types);
  p->device_types = s.s;
  return true;
}

/* Resolves the library path: absolute as is, else relative to the manifest's folder. */
static char *resolve_library(const char *manifest, const char *lib) {
  if (lib[0] == '/') return cg__xstrdup(lib);
  const char *slash = strrchr(manifest, '/');
  if (!slash) return cg__xstrdup(lib);
  return xprintf("%.*s/%s", (int)(slash - manifest), manifest, lib);
}

/* Reads one key/value pair into the record; returns an error text or NULL. */
static const char *read_field(yaml_document_t *doc, const char *key, yaml_node_t *v,
                              cg_plugin *p) {
  const char *s = scalar(v);
  if (!strcmp(key, "ir")) return read_ir(doc, v, p) ? NULL : "field 'ir' must be [\"maj.min\", \"maj.min\"]";
  if (!strcmp(key, "device_types")) return read_types(doc, v, p) ? NULL : "field 'device_types' must be a list of names";
  if (!strcmp(key, "id") || !strcmp(key, "name") || !strcmp(key, "library") ||
      !strcmp(key, "abi") || !strcmp(key, "priority")) {
    if (!s) return "fields id, name, library, abi, priority must be scalars";
  }
  if (!strcmp(key, "id")) {
    if (!valid_id(s)) return "field 'id' must be 1-32 chars of [a-z0-9_-]";
    free(p->id);
    p->id = cg__xstrdup(s);
  } else if (!strcmp(key, "name")) {
    free(p->name);
    p->name = cg__xstrdup(s);
  } else if (!strcmp(key, "library")) {
    if (!*s) return "field 'library' is empty";
    free(p->library);
    p->library = resolve_library(p->manifest, s);
  } else if (!strcmp(key, "abi")) {
    if (!parse_version(s, p->abi)) return "field 'abi' must be \"major.minor\"";
  } else if (!strcmp(key, "priority")) {
    char *end;
    long v2 = strtol(s, &end, 10);
    if (!*s || *end || v2 < -1000000 || v2 > 1000000) return "field 'priority' must be an integer";
    p->priority = (int)v2;
  } else {
    TRACE("%s: ignoring unknown field '%s'", p->manifest, key);
  }
  return NULL;
}

/* Walks the root mapping; false (with the record failed) on a malformed manifest. */
static bool read_mapping(yaml_document_t *doc, cg_plugin *p) {
  yaml_node_t *root = yaml_document_get_root_node(doc);
  if (!root || root->type != YAML_MAPPING_NODE) {
    set_failed(p, CG__PL_FAILED, "malformed manifest: top level must be a mapping");
    return false;
  }
  for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top; kv++) {
    yaml_node_t *k = yaml_document_get_node(doc, kv->key);
    const char *key = scalar(k);
    if (!key) continue;
    const char *err = read_field(doc, key, yaml_document_get_node(doc, kv->value), p);
    if (err) {
      set_failed(p, CG__PL_FAILED, "malformed manifest (line %lu): %s",
                 (unsigned long)k->start_mark.line + 1, err);
      return false;
    }
  }
  const char *missing = !p->id ? "id" : !p->library ? "library" : p->abi[0] < 0 ? "abi" : NULL;
  if (missing) {
    set_failed(p, CG__PL_FAILED, "malformed manifest: missing required field '%s'", missing);
    return false;
  }
  if (!p->name) p->name = cg__xstrdup(p->id);
  p->parsed = true;
  return true;
}

/* Parses a manifest file into the record. False (record failed, reason set) on error. */
static bool manifest_read(cg_plugin *p) {
  FILE *f = fopen(p->manifest, "rb");
  if (!f) {
    set_failed(p, CG__PL_FAILED, "cannot open manifest: %s", strerror(errno));
    return false;
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  bool ok = false;
  if (!yaml_parser_initialize(&parser)) {
    set_failed(p, CG__PL_FAILED, "libyaml: cannot initialise parser");
    fclose(f);
    return false;
  }
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    set_failed(p, CG__PL_FAILED, "malformed manifest: YAML error at line %lu, column %lu: %s%s%s",
               (unsigned long)parser.problem_mark.line + 1,
               (unsigned long)parser.problem_mark.column + 1,
               parser.problem ? parser.problem : "syntax error",
               parser.context ? " " : "", parser.context ? parser.context : "");
    goto done;
  }
  ok = read_mapping(&doc, p);
  yaml_document_delete(&doc);
done:
  yaml_parser_delete(&parser);
  fclose(f);
  return ok;
}

/* ---- discovery ---- */

static cg_plugin *record_new(const char *manifest) {
  cg_plugin *p = cg__xcalloc(1, sizeof *p);
  p->manifest = cg__xstrdup(manifest);
  p->abi[0] = p->abi[1] = -1;
  p->ir_min[0] = p->ir_max[0] = 1;
  p->priority = 10;
  p->state = CG__PL_FOUND;
  plugins = cg__xrealloc(plugins, sizeof *plugins * (size_t)(nplugins + 1));
  plugins[nplugins++] = p;
  return p;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every *.yaml of a folder, sorted by name. */
static void scan_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    TRACE("cannot read folder %s: %s", dir, strerror(errno));
    return;
  }
  char **names = NULL;
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml") || e->d_name[0] == '.') continue;
    names = cg__xrealloc(names, sizeof *names * (n + 1));
    names[n++] = cg__xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  TRACE("folder %s: %zu manifest(s)", dir, n);
  for (size_t i = 0; i < n; i++) {
    char *path = xprintf("%s/%s", dir, names[i]);
    record_new(path);
    free(path);
    free(names[i]);
  }
  free(names);
}

/* One search path entry: a manifest file or a folder of manifests. Missing entries of
 * CG_PLUGIN_PATH are reported (a typo); a missing default folder is normal. */
static void scan_entry(const char *path, bool report_missing) {
  struct stat st;
  if (stat(path, &st) != 0) {
    TRACE("search path entry %s: %s", path, strerror(errno));
    if (!report_missing) return;
    size_t n = strlen(missing_entries);
    snprintf(missing_entries + n, sizeof missing_entries - n, "%s%s", n ? ", " : "", path);
    return;
  }
  if (S_ISDIR(st.st_mode)) scan_dir(path);
  else record_new(path);
}

/* Env paths are ignored in setuid/setgid programs (AT_SECURE). */
static const char *env_path(void) {
  if (getauxval(AT_SECURE)) return NULL;
  const char *v = getenv("CG_PLUGIN_PATH");
  return v && *v ? v : NULL;
}

static void discover(void) {
  const char *env = env_path();
  missing_entries[0] = 0;
  if (env) {
    snprintf(search_desc, sizeof search_desc, "CG_PLUGIN_PATH=%s", env);
    char *copy = cg__xstrdup(env);
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
      scan_entry(tok, true);
    free(copy);
    return;
  }
  snprintf(search_desc, sizeof search_desc, "%s:%s", CG_PLUGIN_BUILD_DIR, CG_PLUGIN_INSTALL_DIR);
  scan_entry(CG_PLUGIN_BUILD_DIR, false);
  if (strcmp(CG_PLUGIN_BUILD_DIR, CG_PLUGIN_INSTALL_DIR)) scan_entry(CG_PLUGIN_INSTALL_DIR, false);
}

/* True if id is in the comma list CG_PLUGINS_DISABLE (case-insensitive, spaces ok). */
static bool disabled(const char *id) {
  const char *list = getenv("CG_PLUGINS_DISABLE");
  if (!list) return false;
  size_t n = strlen(id);
  for (const char *s = list; *s;) {
    while (*s == ' ' || *s == ',') s++;
    const char *e = s;
    while (*e && *e != ',' && *e != ' ') e++;
    if ((size_t)(e - s) == n && !strncasecmp(s, id, n)) return true;
    s = e;
  }
  return false;
}

/* Prefers the record that owns the id (parsed, not a duplicate) over broken ones. */
cg_plugin *cg__plugin_find(const char *id, size_t len) {
  cg_plugin *any = NULL;
  for (int i = 0; i < nplugins; i++) {
    cg_plugin *p = plugins[i];
    if (!p->id || strlen(p->id) != len || strncasecmp(p->id, id, len)) continue;
    if (p->parsed && p->state != CG__PL_DUPLICATE) return p;
    if (!any) any = p;
  }
  return any;
}

/* Manifest checks that need no dlopen: duplicates, disabled, ABI major, IR range. */
static bool precheck(cg_plugin *p, int index) {
  for (int i = 0; i < index; i++) {
    cg_plugin *q = plugins[i];
    if (q->parsed && !strcmp(q->id, p->id) && q->state != CG__PL_DUPLICATE) {
      set_failed(p, CG__PL_DUPLICATE, "duplicate id '%s': already provided by %s", p->id, q->manifest);
      return false;
    }
  }
  if (disabled(p->id)) {
    set_failed(p, CG__PL_DISABLED, "disabled by CG_PLUGINS_DISABLE");
    return false;
  }
  if (p->abi[0] != CG_PLUGIN_ABI_MAJOR) {
    set_failed(p, CG__PL_FAILED, "manifest says ABI %d.%d, host speaks ABI major %d",
               p->abi[0], p->abi[1], CG_PLUGIN_ABI_MAJOR);
    return false;
  }
  if (CG_IR_VERSION_MAJOR < p->ir_min[0] || CG_IR_VERSION_MAJOR > p->ir_max[0]) {
    set_failed(p, CG__PL_FAILED, "accepts IR %d.%d..%d.%d, host produces IR %d.%d", p->ir_min[0],
               p->ir_min[1], p->ir_max[0], p->ir_max[1], CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
    return false;
  }
  return true;
}

/* ---- host services ---- */

static void host_log(void *host_ctx, int level, const char *msg) {
  const cg_plugin *p = host_ctx;
  /* errors and warnings always; info from DEBUG=1; debug from DEBUG=3 or CG_PLUGIN_DEBUG */
  if (level >= CG_LOG_DEBUG && cg__debug() < 3 && !trace_on()) return;
  if (level == CG_LOG_INFO && cg__debug() < 1 && !trace_on()) return;
  cg__log(level < 0 ? 0 : level > 3 ? 3 : level, "[%s] %s", p->id, msg ? msg : "(null)");
}

static void host_set_error(void *host_ctx, const char *msg) {
  (void)host_ctx;
  snprintf(plugin_msg, sizeof plugin_msg, "%s", msg ? msg : "");
}

/* Whitelisted environment options: DEBUG, CG_* and <ID>_* (the plugin's own keys). */
static const char *host_get_option(void *host_ctx, const char *key) {
  const cg_plugin *p = host_ctx;
  if (!key) return NULL;
  char prefix[40];
  size_t n = 0;
  for (const char *s = p->id; *s && n < sizeof prefix - 2; s++)
    prefix[n++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
  prefix[n++] = '_';
  prefix[n] = 0;
  bool ok = !strcmp(key, "DEBUG") || !strncmp(key, "CG_", 3) || !strncmp(key, prefix, n);
  return ok ? getenv(key) : NULL;
}

void cg__plugin_msg_clear(void) { plugin_msg[0] = 0; }
const char *cg__plugin_msg(void) { return plugin_msg; }

cg_status cg__plugin_fail(const cg_plugin *p, cg_pstatus ps, const char *fmt, ...) {
  char ctx[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx, sizeof ctx, fmt, ap);
  va_end(ap);
  return cg__error(CG_ERR_PLUGIN, "%s: plugin %s: %s", ctx, p->id,
                   plugin_msg[0] ? plugin_msg : cg__pstatus_str(ps));
}

/* ---- loading ---- */

/* Copies the plugin's table, treating fields past its struct_size as zero, and checks
 * the slots every plugin must fill. Fields newer than the effective minor are cleared
 * (caps is minor 2; the graph slots of minor 1 are checked where they are used). */
static bool take_api(cg_plugin *p, const cg_plugin_api *api) {
  if (!api) {
    set_failed(p, CG__PL_FAILED, "cg_plugin_entry returned no function table");
    return false;
  }
  size_t n = api->struct_size < sizeof p->api ? api->struct_size : sizeof p->api;
  if (n < offsetof(cg_plugin_api, init)) {
    set_failed(p, CG__PL_FAILED, "function table too small (%u bytes)", api->struct_size);
    return false;
  }
  memset(&p->api, 0, sizeof p->api);
  memcpy(&p->api, api, n);
  p->api.struct_size = (uint32_t)n;
  if (p->minor < 2) p->api.caps = 0;
  const cg_plugin_api *a = &p->api;
  const char *missing = !a->init ? "init" : !a->device_count ? "device_count"
      : !a->device_props ? "device_props" : !a->device_open ? "device_open"
      : !a->mem_alloc ? "mem_alloc" : !a->mem_free ? "mem_free" : !a->copy_in ? "copy_in"
      : !a->copy_out ? "copy_out" : !a->program_load ? "program_load" : !a->launch ? "launch"
      : ((a->render || a->compile) && !a->release) ? "release" : NULL;
  if (missing) {
    set_failed(p, CG__PL_FAILED, "function table lacks required slot '%s' (table size %u)",
               missing, api->struct_size);
    return false;
  }
  if (!a->id || strcasecmp(a->id, p->id)) {
    set_failed(p, CG__PL_FAILED, "plugin reports id '%s' but its manifest says '%s'",
               a->id ? a->id : "(null)", p->id);
    return false;
  }
  return true;
}

/* Calls cg_plugin_entry and checks the versions. */
static bool negotiate(cg_plugin *p, cg_plugin_entry_fn entry) {
  p->host = (cg_host_services){sizeof(cg_host_services), p, host_log, host_set_error, host_get_option};
  cg_plugin_query q = {sizeof q, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, 0, 0, &p->host};
  cg_plugin_reply r = {sizeof r, 0, 0, NULL};
  cg__plugin_msg_clear();
  cg_pstatus ps = entry(&q, &r);
  p->reply_major = r.major;
  p->reply_minor = r.minor;
  if (ps == CG_P_ERR_VERSION || (ps == CG_P_OK && r.major != CG_PLUGIN_ABI_MAJOR)) {
    set_failed(p, CG__PL_FAILED, "ABI major mismatch: plugin speaks %u.%u, host %d.%d", r.major,
               r.minor, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR);
    return false;
  }
  if (ps != CG_P_OK) {
    set_failed(p, CG__PL_FAILED, "cg_plugin_entry failed: %s", plugin_msg[0] ? plugin_msg : cg__pstatus_str(ps));
    return false;
  }
  if (r.minor < q.host_min_minor) {
    set_failed(p, CG__PL_FAILED, "plugin ABI %u.%u is older than the oldest the host drives (%d.%u)",
               r.major, r.minor, CG_PLUGIN_ABI_MAJOR, q.host_min_minor);
    return false;
  }
  /* CG_PLUGIN_STRICT=1: nothing older than this host (minor, or a smaller table) */
  uint32_t tsize = r.api ? r.api->struct_size : 0, host_minor = CG_PLUGIN_ABI_MINOR;
  if (cg__env_int("CG_PLUGIN_STRICT", 0) > 0 && (r.minor < host_minor || tsize < sizeof(cg_plugin_api))) {
    set_failed(p, CG__PL_FAILED, "strict mode (CG_PLUGIN_STRICT=1): plugin ABI %u.%u with a %u-byte function "
               "table is older than the host's %d.%d (%zu bytes)", r.major, r.minor, tsize, CG_PLUGIN_ABI_MAJOR,
               CG_PLUGIN_ABI_MINOR, sizeof(cg_plugin_api));
    return false;
  }
  p->minor = (uint16_t)(r.minor < q.host_minor ? r.minor : q.host_minor);
  TRACE("%s: negotiated ABI %d.%u (plugin %u.%u)", p->id, CG_PLUGIN_ABI_MAJOR, p->minor, r.major, r.minor);
  return take_api(p, r.api);
}

/* dlopen + entry + negotiation + init for one record; failures set the reason. */
static void load_one(cg_plugin *p) {
  TRACE("%s: dlopen %s", p->id, p->library);
  dlerror();
  p->dl = dlopen(p->library, RTLD_NOW | RTLD_LOCAL);
  if (!p->dl) {
    const char *e = dlerror();
    bool missing = access(p->library, F_OK) != 0;
    set_failed(p, CG__PL_FAILED, "%scannot load library: %s", missing ? "stale manifest: " : "",
               e ? e : p->library);
    return;
  }
  cg_plugin_entry_fn entry;
  *(void **)&entry = dlsym(p->dl, "cg_plugin_entry");
  if (!entry) {
    const char *e = dlerror();
    set_failed(p, CG__PL_FAILED, "missing symbol cg_plugin_entry: %s", e ? e : "not found");
    return;
  }
  if (!negotiate(p, entry)) return;
  cg__plugin_msg_clear();
  cg_pstatus ps = p->api.init(&p->ctx);
  if (ps != CG_P_OK) {
    set_failed(p, CG__PL_FAILED, "init failed (%s): %s", cg__pstatus_str(ps),
               plugin_msg[0] ? plugin_msg : "no message");
    p->ctx = NULL;
    return;
  }
  p->state = CG__PL_LOADED;
  TRACE("%s: loaded (%s, version %s, priority %d)", p->id, p->name,
        p->api.version ? p->api.version : "?", p->priority);
}

void cg__plugins_load(void) {
  discover();
  TRACE("search %s: %d manifest(s)", search_desc, nplugins);
  for (int i = 0; i < nplugins; i++) {
    cg_plugin *p = plugins[i];
    TRACE("reading %s", p->manifest);
    if (manifest_read(p) && precheck(p, i)) load_one(p);
  }
}

static void record_free(cg_plugin *p) {
  free(p->manifest);
  free(p->id);
  free(p->name);
  free(p->library);
  free(p->device_types);
  free(p->reason);
  free(p);
}

void cg__plugins_unload(void) {
  bool do_dlclose = cg__env_int("CG_PLUGIN_DLCLOSE", 0) > 0;
  for (int i = nplugins - 1; i >= 0; i--) {
    cg_plugin *p = plugins[i];
    if (p->state == CG__PL_LOADED && p->api.shutdown) p->api.shutdown(p->ctx);
    if (p->dl && do_dlclose) dlclose(p->dl);
    record_free(p);
  }
  free(plugins);
  plugins = NULL;
  nplugins = 0;
}

int cg__plugin_count(void) { return nplugins; }
cg_plugin *cg__plugin_at(int i) { return i >= 0 && i < nplugins ? plugins[i] : NULL; }
const char *cg__plugins_search_desc(void) { return search_desc; }

const char *cg__plugins_loaded_list(void) {
  static char buf[1024];
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < nplugins; i++) {
    if (plugins[i]->state != CG__PL_LOADED) continue;
    int w = snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", plugins[i]->id);
    if (w < 0 || (size_t)w >= sizeof buf - n) break;
    n += (size_t)w;
  }
  return buf;
}

static const char *state_name(cg_plugin_state s) {
  switch (s) {
  case CG__PL_FOUND: return "found";
  case CG__PL_LOADED: return "loaded";
  case CG__PL_FAILED: return "failed";
  case CG__PL_DISABLED: return "disabled";
  case CG__PL_DUPLICATE: return "duplicate";
  }
  return "?";
}

/* `cgrad plugins`: one block per manifest found, in search order. */
void cg__runtime_report_plugins(FILE *f) {
  cg__runtime_init();
  fprintf(f, "search path: %s\n", search_desc);
  if (missing_entries[0]) fprintf(f, "not found:   %s\n", missing_entries);
  fprintf(f, "%d manifest(s) found\n", nplugins);
  for (int i = 0; i < nplugins; i++) {
    const cg_plugin *p = plugins[i];
    fprintf(f, "\n%-12s %s\n", p->id ? p->id : "?", state_name(p->state));
    fprintf(f, "  manifest: %s\n", p->manifest);
    if (p->name) fprintf(f, "  name:     %s\n", p->name);
    if (p->library) fprintf(f, "  library:  %s\n", p->library);
    if (p->abi[0] >= 0) {
      fprintf(f, "  abi:      %d.%d (manifest)", p->abi[0], p->abi[1]);
      if (p->state == CG__PL_LOADED) fprintf(f, ", negotiated %d.%u", CG_PLUGIN_ABI_MAJOR, p->minor);
      fprintf(f, "\n  ir:       %d.%d..%d.%d\n", p->ir_min[0], p->ir_min[1], p->ir_max[0], p->ir_max[1]);
      fprintf(f, "  priority: %d\n", p->priority);
    }
    if (p->device_types) fprintf(f, "  devices:  %s\n", p->device_types);
    if (p->state == CG__PL_LOADED && p->api.version) fprintf(f, "  version:  %s\n", p->api.version);
    if (p->reason) fprintf(f, "  reason:   %s\n", p->reason);
  }
  int count[CG__PL_DUPLICATE + 1] = {0};
  for (int i = 0; i < nplugins; i++) count[plugins[i]->state]++;
  fprintf(f, "\n%d loaded, %d failed, %d disabled, %d duplicate\n", count[CG__PL_LOADED],
          count[CG__PL_FAILED] + count[CG__PL_FOUND], count[CG__PL_DISABLED], count[CG__PL_DUPLICATE]);
}
