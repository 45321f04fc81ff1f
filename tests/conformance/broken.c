/* Deliberately broken plugins for the conformance tests: the template plugin
 * (sdk/template/template.c, included below) built with one defect chosen by STUB_MODE:
 *   STUB_OVERWRITE  the entry point and device_props write their whole struct whatever
 *                   struct_size the host passed (writes past a small struct)
 *   STUB_BADSIN     renders SIN as cos (a wrong math-function mapping)
 *   STUB_EXPORTS    exports helper symbols besides cg_plugin_entry (no version script)
 * Each loads and works through the core, so only the conformance suite tells. */
#define STUB_OVERWRITE 1
#define STUB_BADSIN 2
#define STUB_EXPORTS 3
#define STR2(x) #x
#define STR(x) STR2(x)
#define TPL_ID STR(STUB_ID)

/* The template's own entry point and table become helpers of this file. */
#define cg_plugin_entry tpl_entry
#include "template.c"
#undef cg_plugin_entry

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply);

static cg_plugin_api table; /* the template's table with the defect patched in */

#if STUB_MODE == STUB_OVERWRITE
static cg_pstatus bad_props(void *ctx, int index, cg_device_props *props) {
  cg_device_props full;
  memset(&full, 0, sizeof full);
  full.struct_size = sizeof full;
  cg_pstatus st = tpl_device_props(ctx, index, &full);
  memcpy(props, &full, sizeof full); /* the defect: ignores props->struct_size */
  return st;
}
#elif STUB_MODE == STUB_BADSIN
static cg_pstatus bad_render(void *dev, const cg_ir_program *prog, char **src, const char **lang) {
  cg_cstyle_dialect d = cg_cstyle_c;
  char err[512];
  d.math[CG_CSTYLE_M_SIN][0] = "cosf"; /* the defect */
  d.math[CG_CSTYLE_M_SIN][1] = "cos";
  *src = cg_cstyle_render(prog, &d, err, sizeof err);
  if (!*src) return fail(CG_P_ERR_UNSUPPORTED, "%s", err);
  *lang = "c";
  return CG_P_OK;
}
#elif STUB_MODE == STUB_EXPORTS
CG_PLUGIN_EXPORT int stub_extra_symbol(void);
CG_PLUGIN_EXPORT int stub_extra_symbol(void) { return 42; }
#endif

CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply) {
  cg_plugin_reply full = {sizeof full, 0, 0, NULL};
  cg_pstatus st = tpl_entry(query, &full);
  if (full.api) {
    table = *full.api;
#if STUB_MODE == STUB_OVERWRITE
    table.device_props = bad_props;
#elif STUB_MODE == STUB_BADSIN
    table.render = bad_render;
#endif
    full.api = &table;
  }
  if (!reply || reply->struct_size < sizeof(uint32_t)) return CG_P_ERR_INVALID;
#if STUB_MODE == STUB_OVERWRITE
  memcpy(reply, &full, sizeof full); /* the defect: ignores reply->struct_size */
#else
  write_sized(reply, &full, sizeof full);
#endif
  return st;
}
