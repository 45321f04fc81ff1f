/* Private interface between the plugin loader (plugin_loader.c: discovery, manifests,
 * dlopen, negotiation, host services) and the device runtime (device.c: devices,
 * buffers, programs). Never installed.
 *
 * Every manifest found gets one cg_plugin record, whatever becomes of it, so that
 * `cgrad plugins` can say what happened to each. Records live until
 * cg__plugins_unload; callers hold plain pointers to them. */
#ifndef CG_LOADER_H
#define CG_LOADER_H

#include "runtime.h"

typedef enum {
  CG__PL_FOUND,     /* manifest read, not loaded (yet) */
  CG__PL_LOADED,    /* dlopen + negotiation + init succeeded */
  CG__PL_FAILED,    /* reason says why (manifest, dlopen, symbol, ABI, init) */
  CG__PL_DISABLED,  /* listed in CG_PLUGINS_DISABLE */
  CG__PL_DUPLICATE, /* an earlier manifest already provided this id */
} cg_plugin_state;

typedef struct cg_plugin {
  char *manifest;          /* path of the manifest file (owned) */
  char *id;                /* lowercase id, NULL if the manifest had none (owned) */
  char *name;              /* display name (owned) */
  char *library;           /* resolved library path (owned) */
  char *device_types;      /* "cpu, gpu" as written in the manifest (owned) */
  int abi[2];              /* manifest ABI major.minor, -1 if unknown */
  int ir_min[2], ir_max[2];/* IR range the plugin accepts */
  int priority;            /* higher wins the default device; <= 1 only by name */
  bool parsed;             /* manifest read without error (claims its id) */
  cg_plugin_state state;
  char *reason;            /* why it failed or was skipped, NULL if loaded (owned) */
  void *dl;                /* dlopen handle (never dlclosed by default) */
  cg_plugin_api api;       /* copy of the plugin's table; zero past its struct_size */
  uint16_t reply_major, reply_minor; /* what the plugin answered */
  uint16_t minor;          /* effective minor = min(host, plugin) */
  void *ctx;               /* plugin context from init */
  cg_host_services host;   /* services handed to this plugin; host_ctx = this record */
} cg_plugin;

/* Discovery + loading of every manifest on the search path (call once, under the
 * runtime lock). Single failures are recorded in the records, never fatal. */
void cg__plugins_load(void);
/* Calls every loaded plugin's shutdown and frees the records. */
void cg__plugins_unload(void);
int cg__plugin_count(void);
cg_plugin *cg__plugin_at(int i);
/* First record with this id (case-insensitive, first len chars), any state; NULL if none. */
cg_plugin *cg__plugin_find(const char *id, size_t len);
/* "ref, clang" : ids of loaded plugins (static buffer). */
const char *cg__plugins_loaded_list(void);
/* One line saying where manifests were searched (static buffer). */
const char *cg__plugins_search_desc(void);

/* Plugin call errors: clear the per-thread plugin message before a call, then on
 * failure record "<context>: plugin <id>: <message or status text>" as the last error
 * and return CG_ERR_PLUGIN. */
void cg__plugin_msg_clear(void);
const char *cg__plugin_msg(void);   /* last set_error text of this thread, "" if none */
cg_status cg__plugin_fail(const cg_plugin *p, cg_pstatus ps, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *cg__pstatus_str(cg_pstatus ps);

/* Programs built from the on-disk cache (not counted in cg__counters.compiles). */
extern uint64_t cg__program_disk_hits;

#endif
