/* The core refuses, before render, a kernel whose IR version lies outside the IR range
 * of the plugin's manifest, with a message naming both versions. Runs against the loader
 * test stub "stubgood" (CG_PLUGIN_PATH set by CTest), whose call log (STUBGOOD_LOG)
 * shows whether render was called. */
#include "cgrad/ir_util.h"
#include "runtime.h"

#include "../common/check.h"

/* out[i] = in[i] + var0 (int32): the kernel the stub knows as "add_var". */
static cg_ir_program *kernel(const char *name, uint16_t minor) {
  cg_ir_builder *b = cg_irb_new(name);
  uint32_t g[3] = {4, 1, 1}, l[3] = {1, 1, 1};
  cg_irb_set_launch(b, g, l);
  cg_irb_param(b, CG_IR_INT32, CG_IR_PARAM_WRITE, 4);
  cg_irb_param(b, CG_IR_INT32, CG_IR_PARAM_READ, 4);
  cg_irb_var(b, "k", -10, 10);
  cg_ir_type p = cg_ir_ptr(CG_IR_INT32, CG_IR_AS_GLOBAL), t = cg_ir_t(CG_IR_INT32);
  int32_t out = cg_irb_emit(b, CG_IR_PARAM, p, 0, NULL, 0), in = cg_irb_emit(b, CG_IR_PARAM, p, 0, NULL, 1);
  int32_t i = cg_irb_emit(b, CG_IR_SPECIAL, t, 0, NULL, 0), k = cg_irb_emit(b, CG_IR_VAR, t, 0, NULL, 0);
  int32_t s1[2] = {in, i}, s2[2] = {out, i};
  int32_t x = cg_irb_emit(b, CG_IR_LOAD, t, 1, (int32_t[]){cg_irb_emit(b, CG_IR_INDEX, p, 2, s1, 0)}, 0);
  int32_t y = cg_irb_emit(b, CG_IR_ADD, t, 2, (int32_t[]){x, k}, 0);
  cg_irb_emit(b, CG_IR_STORE, cg_ir_t(CG_IR_VOID), 2, (int32_t[]){cg_irb_emit(b, CG_IR_INDEX, p, 2, s2, 0), y}, 0);
  cg_ir_program *prog = cg_irb_finish(b);
  cg_irb_free(b);
  prog->version_minor = minor;
  return prog;
}

static int log_has(const char *needle) {
  const char *path = getenv("STUBGOOD_LOG");
  FILE *f = path ? fopen(path, "r") : NULL;
  char line[512];
  int found = 0;
  while (f && fgets(line, sizeof line, f)) found |= strstr(line, needle) != NULL;
  if (f) fclose(f);
  return found;
}

int main(void) {
  const char *path = getenv("STUBGOOD_LOG");
  if (path) fclose(fopen(path, "w"));
  cg_device *d = cg__device_get("STUBGOOD");
  CHECK(d, "no stub device: %s", cg_last_error());
  if (!d) return 1;
  cg_ir_program *newer = kernel("needs_newer", CG_IR_VERSION_MINOR + 1);
  CHECK(!cg__program_get(d, newer), "a newer-IR kernel was accepted");
  char want[160];
  snprintf(want, sizeof want, "kernel 'needs_newer' needs IR %d.%d, plugin 'stubgood' accepts IR 1.0..1.0",
           CG_IR_VERSION_MAJOR, CG_IR_VERSION_MINOR + 1);
  CHECK(strstr(cg_last_error(), want), "error was: %s", cg_last_error());
  CHECK(!log_has("render needs_newer"), "render was called for a kernel the plugin cannot take");
  cg_ir_program *ok = kernel("current_ir", CG_IR_VERSION_MINOR);
  CHECK(cg__program_get(d, ok), "a current kernel failed: %s", cg_last_error());
  CHECK(log_has("render current_ir"), "render of a current kernel not seen in the stub log");
  free(newer);
  free(ok);
  cg__runtime_shutdown();
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  return fails ? 1 : 0;
}
