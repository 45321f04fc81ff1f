/* Metal plugin messages: errors and logs go through the host services given to
 * cg_plugin_entry (never printf). */
#include <stdio.h>

#include "metal_impl.h"

static const cg_host_services *g_host; /* set by cg_plugin_entry */

void mt__set_host(const cg_host_services *host) { g_host = host; }

cg_pstatus mt__error(cg_pstatus status, const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_host && g_host->set_error) g_host->set_error(g_host->host_ctx, msg);
  return status;
}

void mt__log(int level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (!g_host || !g_host->log) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  g_host->log(g_host->host_ctx, level, msg);
}
