/* `cgrad`: the command line tool. One table of subcommands, each a function taking the
 * remaining arguments and returning the exit status (0 ok, 1 failure, 2 usage error).
 *   cgrad plugins   every manifest found and what became of it (loaded / failed + reason)
 *   cgrad devices   every device of every loaded plugin, with its capabilities
 *   cgrad conformance <plugin-id> [options]   the plugin conformance suite
 *   cgrad version   library and ABI versions */
#include <sys/stat.h>

#include "conformance.h"
#include "loader.h"
#include "runtime.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command;

static int cmd_plugins(int argc, char **argv) {
  cg__runtime_report_plugins(stdout);
  return 0;
}

static int cmd_devices(int argc, char **argv) {
  cg__runtime_report_devices(stdout);
  const char *d = cg_default_device();
  if (d) printf("\ndefault device: %s\n", d);
  else printf("\ndefault device: none (%s)\n", cg_last_error());
  return 0;
}

/* ---- conformance ---- */

/* The case tables: --cases, $CG_CONFORMANCE_CASES, the source tree, the install. */
static const char *cases_dir(const char *arg) {
  const char *env = getenv("CG_CONFORMANCE_CASES");
  struct stat st;
  if (arg) return arg;
  if (env && *env) return env;
  if (stat(CG_CONFORMANCE_SRC_CASES, &st) == 0) return CG_CONFORMANCE_SRC_CASES;
  return CG_CONFORMANCE_INSTALL_CASES;
}

/* What the loader knows about a plugin id, for the suite. */
static void describe(const char *id, cg_conf_plugin *out) {
  memset(out, 0, sizeof *out);
  out->id = id;
  out->abi[0] = -1;
  const cg_plugin *p = cg__plugin_find(id, strlen(id));
  if (!p) return;
  out->manifest = p->manifest;
  out->library = p->library;
  memcpy(out->abi, p->abi, sizeof out->abi);
  memcpy(out->ir_min, p->ir_min, sizeof out->ir_min);
  memcpy(out->ir_max, p->ir_max, sizeof out->ir_max);
  if (!p->parsed) out->problem = p->reason ? p->reason : "manifest could not be read";
  else if (p->state == CG__PL_DUPLICATE) out->problem = p->reason;
}

static int conformance_usage(void) {
  fprintf(stderr, "usage: cgrad conformance <plugin-id> [--report FILE] [--only RULES] [--exclude RULES]\n"
                  "                         [--device N] [--cases DIR] [-v]\n"
                  "       cgrad conformance --list [--cases DIR]\n"
                  "RULES is a comma list of rule numbers or prefixes, e.g. 3,7.2 (see --list)\n");
  return 2;
}

static int cmd_conformance(int argc, char **argv) {
  cg_conf_options o = {.out = stdout};
  const char *id = NULL, *cases = NULL;
  bool list = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--list")) list = true;
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o.verbose = 1;
    else if (v && !strcmp(a, "--report")) o.report = v, i++;
    else if (v && !strcmp(a, "--only")) o.only = v, i++;
    else if (v && !strcmp(a, "--exclude")) o.exclude = v, i++;
    else if (v && !strcmp(a, "--cases")) cases = v, i++;
    else if (v && !strcmp(a, "--device")) o.device = atoi(v), i++;
    else if (a[0] != '-' && !id) id = a;
    else return conformance_usage();
  }
  o.cases_dir = cases_dir(cases);
  if (list) return cg_conformance_list(stdout, o.cases_dir), 0;
  if (!id || o.device < 0) return conformance_usage();
  /* The suite loads the plugin and ref itself (every call observed, nothing shared with
   * the core's instances): the core only reads their manifests. */
  const char *old = getenv("CG_PLUGINS_DISABLE");
  size_t n = (old ? strlen(old) : 0) + strlen(id) + 8;
  char *dis = cg__xmalloc(n);
  snprintf(dis, n, "%s%s%s,ref", old ? old : "", old && *old ? "," : "", id);
  setenv("CG_PLUGINS_DISABLE", dis, 1);
  free(dis);
  cg__runtime_init();
  describe(id, &o.plugin);
  describe("ref", &o.ref);
  if (!o.plugin.manifest) printf("no manifest with id '%s' (search path: %s)\n", id, cg__plugins_search_desc());
  return cg_conformance_run(&o);
}

static int cmd_version(int argc, char **argv) {
  printf("cgrad %s (plugin ABI %d.%d, IR %d.%d)\n", CG_VERSION, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR,
         CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  return 0;
}

static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"plugins", cmd_plugins, "list every plugin manifest found and whether it loaded (with the reason)"},
    {"devices", cmd_devices, "list devices with their capabilities and the default device"},
    {"conformance", cmd_conformance, "run the plugin conformance suite: cgrad conformance <plugin-id> [--report F]"},
    {"version", cmd_version, "print library, plugin ABI and IR versions"},
    {"help", cmd_help, "show this help"},
};

static int cmd_help(int argc, char **argv) {
  printf("usage: cgrad <command> [args]\n\ncommands:\n");
  for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++) printf("  %-12s %s\n", commands[i].name, commands[i].help);
  printf("\nenvironment:\n"
         "  CG_PLUGIN_PATH      ':'-list of manifest files or folders (replaces the defaults)\n"
         "  CG_PLUGINS_DISABLE  comma list of plugin ids to skip\n"
         "  CG_PLUGIN_DEBUG=1   trace plugin discovery and loading\n"
         "  BACKEND=NAME[:i]    default device, e.g. BACKEND=CLANG or BACKEND=CUDA:1\n"
         "  DEBUG=n             1 realize summary, 2 one line per kernel, 4 source, 5 IR\n"
         "  CG_PLUGIN_STRICT=1  reject plugins older than this host's ABI minor\n"
         "see docs/plugins.md and docs/plugin-guide.md\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    cmd_help(0, NULL);
    return 2;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h")) name = "help";
  if (!strcmp(name, "--version")) name = "version";
  for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++)
    if (!strcmp(commands[i].name, name)) return commands[i].run(argc - 2, argv + 2);
  fprintf(stderr, "cgrad: unknown command '%s' (try cgrad --help)\n", name);
  return 2;
}
