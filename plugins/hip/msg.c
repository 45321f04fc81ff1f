/* HIP plugin messages: errors and logs go through the host services given to
 * cg_plugin_entry (never printf); options come from the host, else the environment. */
#include <stdio.h>
#include <stdlib.h>

#include "hip_impl.h"

static const cg_host_services *g_host;

void hip__set_host(const cg_host_services *host) { g_host = host; }

cg_pstatus hip__error(cg_pstatus status, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_host && g_host->set_error) g_host->set_error(g_host->host_ctx, msg);
  return status;
}

void hip__log(int level, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  if (!g_host || !g_host->log) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  g_host->log(g_host->host_ctx, level, msg);
}

const char *hip__option(const char *key) {
  const char *v = NULL;
  if (g_host && g_host->struct_size > offsetof(cg_host_services, get_option) &&
      g_host->get_option)
    v = g_host->get_option(g_host->host_ctx, key);
  return v ? v : getenv(key);
}
