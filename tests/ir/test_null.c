/* null plugin tests: memory is real (copies round-trip, bounds are checked), render
 * describes the kernel, program_load verifies the IR, launch runs nothing and reports
 * 0 seconds, and a smaller device_props struct is respected. */
#include <stddef.h>

#include "plugin_harness.h"

int main(void) {
  plug p;
  if (plug_open(&p)) {
    plug_close(&p);
    return 1;
  }
  const cg_plugin_api *api = p.api;
  CHECK(!strcmp(api->id, "null"), "id %s", api->id);
  cg_device_props props;
  memset(&props, 0xab, sizeof props);
  props.struct_size = (uint32_t)offsetof(cg_device_props, dtypes);
  CHECK(api->device_props(p.ctx, 0, &props) == CG_P_OK && !strncmp(props.name, "NULL", 4), "props");
  CHECK(props.dtypes == 0xabababab, "small props struct overwritten");

  /* memory round trip and bounds */
  void *buf = NULL;
  int in[4] = {1, 2, 3, 4}, out[4] = {0};
  CHECK(api->mem_alloc(p.dev, sizeof in, &buf) == CG_P_OK, "alloc");
  CHECK(api->copy_in(p.dev, buf, 0, in, sizeof in) == CG_P_OK, "copy_in");
  CHECK(api->copy_out(p.dev, out, buf, 4, 12) == CG_P_OK && out[0] == 2 && out[2] == 4, "copy_out");
  CHECK(api->copy_out(p.dev, out, buf, 8, 12) == CG_P_ERR_INVALID, "copy_out past the end");

  /* a real kernel: loads, renders, launches in 0 s, leaves memory alone */
  B = cg_irb_new("E_4");
  int32_t pa = param(CG_IR_INT32, CG_IR_PARAM_READ | CG_IR_PARAM_WRITE, 4);
  store(pa, gidx(0), ci(CG_IR_INT32, 9));
  cg_ir_program *prog = kernel_end();
  char *src = NULL;
  const char *lang = NULL;
  CHECK(api->render(p.dev, prog, &src, &lang) == CG_P_OK && strstr(src, "E_4") && !strcmp(lang, "null"), "render");
  api->release(src);
  void *h = NULL;
  CHECK(api->program_load(p.dev, prog, NULL, 0, &h) == CG_P_OK, "load: %s", g_err);
  double t = -1;
  cg_launch_args a = {.struct_size = sizeof a, .nbufs = 1, .bufs = &buf, .time_s = &t};
  CHECK(api->launch(p.dev, h, &a) == CG_P_OK && t == 0, "launch");
  a.nbufs = 0;
  CHECK(api->launch(p.dev, h, &a) == CG_P_ERR_INVALID, "launch with missing buffer");
  CHECK(api->copy_out(p.dev, out, buf, 0, sizeof out) == CG_P_OK && out[0] == 1, "null launch changed memory");
  api->program_unload(p.dev, h);
  free(prog);

  /* an invalid program is refused */
  prog = cg_ir_parse("kernel bad\n%0 = RANGE i32 %0 %0\n", g_err, sizeof g_err);
  h = NULL;
  CHECK(prog && api->program_load(p.dev, prog, NULL, 0, &h) == CG_P_ERR_INVALID && !h, "invalid program loaded");
  free(prog);
  /* buf is left allocated on purpose: shutdown must free it (LeakSanitizer checks) */
  plug_close(&p);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  else printf("ir_null: ok\n");
  return fails != 0;
}
