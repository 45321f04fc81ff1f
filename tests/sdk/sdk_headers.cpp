// Compiles every SDK header as C++11: a build failure here means a header stopped being
// usable from C++ plugins. The entry point declared by plugin.h has C linkage, so a
// definition here exports the unmangled cg_plugin_entry.
#include <cgrad/cstyle.h>
#include <cgrad/ir.h>
#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>

cg_pstatus cg_plugin_entry(const cg_plugin_query *q, cg_plugin_reply *r) {
  return q && r ? CG_P_ERR_VERSION : CG_P_ERR_INVALID;
}
