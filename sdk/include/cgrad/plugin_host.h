/* cgrad SDK helpers for plugin authors (library cgrad-sdk): the entry-point handshake
 * and the host services every plugin needs (errors, logs, options), so a plugin writes
 * neither the struct_size bookkeeping nor the message plumbing itself.
 *
 *   CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *q, cg_plugin_reply *r) {
 *     return cg_plugin_answer(q, r, &my_api);
 *   }
 *   ...  return cg_host_error(CG_P_ERR_DEVICE, "mydev: launch failed (%d)", rc);
 *
 * The services live in one static per plugin (the library is linked statically into
 * each plugin), set by cg_plugin_answer and valid until shutdown. */
#ifndef CGRAD_PLUGIN_HOST_H
#define CGRAD_PLUGIN_HOST_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Checks the query (struct sizes, ABI major), keeps the host services, and answers
 * with this SDK's ABI version and api. On a major mismatch the reply names our
 * version, hands out no table and the status is CG_P_ERR_VERSION (with a message). */
cg_pstatus cg_plugin_answer(const cg_plugin_query *query, cg_plugin_reply *reply,
                            const cg_plugin_api *api);
/* The services given by the host (a zero-filled copy when none were given). */
const cg_host_services *cg_host(void);
/* Sets them directly (tests that drive a plugin's parts without a host); read within
 * host->struct_size, NULL clears. */
void cg_host_set(const cg_host_services *host);
/* Records the message with the host and returns status. */
cg_pstatus cg_host_error(cg_pstatus status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs through the host's logger (nothing when the host gave none). */
void cg_host_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Host option, else the environment; NULL when unset or empty. */
const char *cg_host_option(const char *key);

#ifdef __cplusplus
}
#endif
#endif
