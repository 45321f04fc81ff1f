/* A shared object that looks like a plugin but lacks cg_plugin_entry: the loader must
 * report "missing symbol" with the dlerror() text and go on with the others. */
int stub_nosym_marker(void);
__attribute__((visibility("default"))) int stub_nosym_marker(void) { return 42; }
