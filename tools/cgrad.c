/* `cgrad`: the command line tool. One table of subcommands, each a function taking the
 * remaining arguments and returning the exit status (0 ok, 1 failure, 2 usage error).
 *   cgrad plugins   every manifest found and what became of it (loaded / failed + reason)
 *   cgrad devices   every device of every loaded plugin, with its capabilities
 *   cgrad version   library and ABI versions */
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

static int cmd_version(int argc, char **argv) {
  printf("cgrad %s (plugin ABI %d.%d, IR %d.%d)\n", CG_VERSION, CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR,
         CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR);
  return 0;
}

static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"plugins", cmd_plugins, "list every plugin manifest found and whether it loaded (with the reason)"},
    {"devices", cmd_devices, "list devices with their capabilities and the default device"},
    {"version", cmd_version, "print library, plugin ABI and IR versions"},
    {"help", cmd_help, "show this help"},
};

static int cmd_help(int argc, char **argv) {
  printf("usage: cgrad <command> [args]\n\ncommands:\n");
  for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++) printf("  %-10s %s\n", commands[i].name, commands[i].help);
  printf("\nenvironment:\n"
         "  CG_PLUGIN_PATH      ':'-list of manifest files or folders (replaces the defaults)\n"
         "  CG_PLUGINS_DISABLE  comma list of plugin ids to skip\n"
         "  CG_PLUGIN_DEBUG=1   trace plugin discovery and loading\n"
         "  BACKEND=NAME[:i]    default device, e.g. BACKEND=CLANG or BACKEND=CUDA:1\n"
         "  DEBUG=n             1 realize summary, 2 one line per kernel, 4 source, 5 IR\n"
         "see docs/plugins.md\n");
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
