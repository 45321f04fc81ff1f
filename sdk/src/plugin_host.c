/* Plugin-side host services and the entry-point handshake (see cgrad/plugin_host.h).
 * Every struct from the host is read within its struct_size (missing tail = 0) and the
 * reply is written within the host's struct_size. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/plugin_host.h"

static cg_host_services g_services; /* our copy; fields past the host's size stay 0 */

static void read_sized(void *dst, size_t dst_size, const void *src) {
  uint32_t n;
  memcpy(&n, src, sizeof n);
  memset(dst, 0, dst_size);
  memcpy(dst, src, n < dst_size ? n : dst_size);
}

cg_pstatus cg_plugin_answer(const cg_plugin_query *query, cg_plugin_reply *reply,
                            const cg_plugin_api *api) {
  if (!query || !reply || query->struct_size < sizeof(uint32_t) || reply->struct_size < sizeof(uint32_t))
    return CG_P_ERR_INVALID;
  cg_plugin_query q;
  read_sized(&q, sizeof q, query);
  cg_host_set(q.host);
  cg_plugin_reply r = {.struct_size = sizeof r, .major = CG_PLUGIN_ABI_MAJOR, .minor = CG_PLUGIN_ABI_MINOR,
                       .api = q.host_major == CG_PLUGIN_ABI_MAJOR ? api : NULL};
  size_t n = reply->struct_size < sizeof r ? reply->struct_size : sizeof r;
  if (n > sizeof r.struct_size)
    memcpy((char *)reply + sizeof r.struct_size, (const char *)&r + sizeof r.struct_size, n - sizeof r.struct_size);
  if (q.host_major != CG_PLUGIN_ABI_MAJOR)
    return cg_host_error(CG_P_ERR_VERSION, "%s: plugin ABI %d.%d, host %d.%d", api && api->id ? api->id : "plugin",
                         CG_PLUGIN_ABI_MAJOR, CG_PLUGIN_ABI_MINOR, q.host_major, q.host_minor);
  return CG_P_OK;
}

const cg_host_services *cg_host(void) { return &g_services; }

void cg_host_set(const cg_host_services *host) {
  memset(&g_services, 0, sizeof g_services);
  if (host && host->struct_size >= sizeof(uint32_t)) read_sized(&g_services, sizeof g_services, host);
}

cg_pstatus cg_host_error(cg_pstatus status, const char *fmt, ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_services.set_error) g_services.set_error(g_services.host_ctx, msg);
  return status;
}

void cg_host_log(int level, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  if (!g_services.log) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  g_services.log(g_services.host_ctx, level, msg);
}

const char *cg_host_option(const char *key) {
  const char *v = g_services.get_option ? g_services.get_option(g_services.host_ctx, key) : NULL;
  if (v && *v) return v;
  v = getenv(key);
  return v && *v ? v : NULL;
}
