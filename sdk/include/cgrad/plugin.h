/* cgrad plugin ABI: the one interface between the core and a backend shared object.
 *
 * A plugin exports exactly one symbol, cg_plugin_entry. The host calls it with a
 * cg_plugin_query (its ABI version and host services) and the plugin answers with a
 * cg_plugin_reply pointing at its function table (cg_plugin_api).
 *
 * Rules (see docs/plugin-guide.md):
 *  - Compatible within a major version. The host sends {major, minor, min_minor};
 *    the effective minor is min(host minor, plugin minor); slots newer than the
 *    effective minor are never called.
 *  - Every struct crossing the boundary starts with uint32_t struct_size. A receiver
 *    treats fields past a smaller struct_size as zero and ignores a larger tail.
 *    Writers never write past the struct_size the caller passed in.
 *  - The function table is append-only. Optional slots may be NULL; each says its
 *    fallback on its line.
 *  - Every call returns a cg_pstatus. Messages go through host->set_error; the core
 *    owns and keeps them. No abort/exit/longjmp across the boundary.
 *  - Handles (plugin ctx, device, buffer, program) are opaque void pointers.
 *  - Memory the plugin returns to the host (rendered source, compiled blobs) is
 *    released by the host through api->release.
 */
#ifndef CGRAD_PLUGIN_H
#define CGRAD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CG_PLUGIN_ABI_MAJOR 1
#define CG_PLUGIN_ABI_MINOR 2

#if defined(_WIN32)
#define CG_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CG_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes, X(name, value, message). */
#define CG_PSTATUS(X)                                      \
  X(OK, 0, "ok")                                           \
  X(ERR_INVALID, -1, "invalid argument")                   \
  X(ERR_NOMEM, -2, "out of memory")                        \
  X(ERR_NODEV, -3, "no device")                            \
  X(ERR_UNSUPPORTED, -4, "unsupported")                    \
  X(ERR_COMPILE, -5, "compile failed")                     \
  X(ERR_LAUNCH, -6, "launch failed")                       \
  X(ERR_VERSION, -7, "version mismatch")                   \
  X(ERR_INTERNAL, -8, "internal plugin error")

typedef int32_t cg_pstatus;
enum {
#define CG_PS_X(n, v, m) CG_P_##n = v,
  CG_PSTATUS(CG_PS_X)
#undef CG_PS_X
};

/* Log levels for host->log. */
enum { CG_LOG_ERROR = 0, CG_LOG_WARN = 1, CG_LOG_INFO = 2, CG_LOG_DEBUG = 3 };

/* Services the host gives the plugin. Valid from cg_plugin_entry until shutdown. */
typedef struct cg_host_services {
  uint32_t struct_size;
  void *host_ctx;
  /* Print through the core's logger (never printf from a plugin). */
  void (*log)(void *host_ctx, int level, const char *msg);
  /* Record the message of the error about to be returned; the core copies it. */
  void (*set_error)(void *host_ctx, const char *msg);
  /* Options: "DEBUG", "CG_CACHE_DIR", plugin-specific keys. NULL if unset. The
   * returned string stays valid until the next call. */
  const char *(*get_option)(void *host_ctx, const char *key);
} cg_host_services;

typedef struct cg_plugin_query {
  uint32_t struct_size;
  uint16_t host_major, host_minor; /* CG_PLUGIN_ABI_MAJOR/MINOR of the host */
  uint16_t host_min_minor;         /* oldest minor the host still drives */
  uint16_t pad;
  const cg_host_services *host;
} cg_plugin_query;

struct cg_plugin_api;
typedef struct cg_plugin_reply {
  uint32_t struct_size;
  uint16_t major, minor;          /* the plugin's ABI version */
  const struct cg_plugin_api *api;
} cg_plugin_reply;

/* Device kinds. */
enum { CG_DEVICE_CPU = 1, CG_DEVICE_GPU = 2, CG_DEVICE_ACCEL = 4 };

/* Device properties and capabilities. */
typedef struct cg_device_props {
  uint32_t struct_size;
  uint32_t kind;              /* CG_DEVICE_* */
  char name[128];             /* human-readable, NUL-terminated */
  char arch[64];              /* e.g. "sm_90", "x86-64-v3"; part of cache keys */
  uint32_t dtypes;            /* bit (1<<cg_ir_scalar) per supported element type */
  uint32_t pad0;
  uint64_t native_ops;        /* bit (1<<cg_ir_op) per op rendered natively (ALU ops);
                                 others are decomposed by the core before lowering */
  uint32_t max_local_size;    /* max work-items per group (1 = no groups, e.g. CPU) */
  uint32_t max_local[3];      /* per-axis limits */
  uint32_t local_mem_bytes;   /* shared memory per group, 0 if none */
  uint32_t compute_units;     /* cores / SMs */
  uint32_t warp_size;         /* SIMD width of the execution model, 1 on CPU */
  uint32_t n_tc_shapes;       /* tensor-core shapes below */
  uint16_t tc_shapes[8][4];   /* {M, N, K, in_scalar} per shape id (WMMA arg) */
  uint64_t global_mem_bytes;  /* 0 if unknown */
} cg_device_props;

/* Arguments for one kernel launch. */
typedef struct cg_launch_args {
  uint32_t struct_size;
  uint32_t nbufs;
  void *const *bufs;          /* one per program parameter, in order */
  const size_t *buf_offsets;  /* byte offset into each buffer, NULL = all zero */
  uint32_t nvars;
  uint32_t pad;
  const int64_t *vars;        /* one per program variable */
  uint32_t global[3], local[3];
  double *time_s;             /* optional out: kernel time in seconds (sync'd) */
} cg_launch_args;

typedef struct cg_plugin_api {
  uint32_t struct_size;
  uint32_t pad;
  const char *id;             /* "clang", "cuda", ... must match the manifest */
  const char *version;        /* plugin version string; part of cache keys */

  /* -- plugin (minor 0) -- */
  cg_pstatus (*init)(void **ctx);                    /* once; ctx is the plugin context */
  void (*shutdown)(void *ctx);                       /* releases everything still alive */
  /* -- devices -- */
  cg_pstatus (*device_count)(void *ctx, int *count); /* 0 devices is OK, not an error */
  cg_pstatus (*device_props)(void *ctx, int index, cg_device_props *props);
  cg_pstatus (*device_open)(void *ctx, int index, void **dev);
  void (*device_close)(void *dev);
  /* -- memory -- */
  cg_pstatus (*mem_alloc)(void *dev, size_t bytes, void **buf); /* 0 bytes is valid */
  void (*mem_free)(void *dev, void *buf);
  cg_pstatus (*copy_in)(void *dev, void *buf, size_t offset, const void *src, size_t bytes);
  cg_pstatus (*copy_out)(void *dev, void *dst, void *buf, size_t offset, size_t bytes);
  /* optional, NULL = host stages through copy_out + copy_in */
  cg_pstatus (*copy_d2d)(void *dev, void *dst, size_t dst_off, void *src, size_t src_off,
                         size_t bytes);
  /* -- programs -- */
  /* optional, NULL = the plugin consumes the IR directly (no source). *src is a
   * NUL-terminated string released with api->release; *lang is static ("c", "cuda"). */
  cg_pstatus (*render)(void *dev, const cg_ir_program *prog, char **src, const char **lang);
  /* optional, NULL = the rendered source (or nothing) is the binary. src is what
   * render produced, or NULL when render is NULL (plugins that compile the IR
   * directly, like llvm). *blob is released with api->release. The core caches blobs
   * on disk keyed by the IR bytes + plugin id/version + device arch + compiler_id. */
  cg_pstatus (*compile)(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                        size_t *blob_size);
  /* load a program: prog always given; blob/src may be NULL when slots are NULL. */
  cg_pstatus (*program_load)(void *dev, const cg_ir_program *prog, const void *blob,
                             size_t blob_size, void **handle);
  void (*program_unload)(void *dev, void *handle);
  cg_pstatus (*launch)(void *dev, void *handle, const cg_launch_args *args);
  cg_pstatus (*synchronize)(void *dev);
  void (*release)(void *ptr);                        /* frees what render/compile returned */
  /* optional, NULL = no cache key beyond id/version/arch: extra compiler identity
   * (e.g. NVRTC version, cc version). Static string. */
  const char *(*compiler_id)(void *dev);

  /* -- graphs (minor 1, optional; NULL = the core replays launch by launch) --
   * The JIT's batched replay. graph_create records n launches of loaded programs, in
   * order, on one device (handles[i] with args[i]; everything is copied, time_s is
   * ignored). graph_launch replays them in order with args[i] replacing launch i's
   * buffers, offsets, variable values and dims (same program and counts as recorded);
   * args NULL = as recorded. It may return before the work is done (synchronize waits). */
  cg_pstatus (*graph_create)(void *dev, uint32_t n, void *const *handles,
                             const cg_launch_args *args, void **graph);
  cg_pstatus (*graph_launch)(void *dev, void *graph, const cg_launch_args *args);
  void (*graph_free)(void *dev, void *graph);

  /* -- capabilities (minor 2; 0 = none, also for older plugins) --
   * CG_API_CAP_* bits. Each promises something about the slots above; the host only
   * relies on it when the negotiated minor is >= 2. */
  uint64_t caps;
} cg_plugin_api;

/* render and compile are reentrant: the host may call them from several threads at
 * once on one device, for different or equal programs (BEAM compiles its candidates in
 * parallel). No other slot is called concurrently with them because of this bit, and
 * set_error/log from those threads are fine (the host keeps messages per thread). */
#define CG_API_CAP_CONCURRENT_COMPILE ((uint64_t)1 << 0)

typedef cg_pstatus (*cg_plugin_entry_fn)(const cg_plugin_query *query, cg_plugin_reply *reply);

/* The one exported symbol. Fills reply (respecting reply->struct_size). Returns
 * CG_P_ERR_VERSION if query->host_major differs from the plugin's major. */
CG_PLUGIN_EXPORT cg_pstatus cg_plugin_entry(const cg_plugin_query *query, cg_plugin_reply *reply);

/* Sizes of the boundary structs are ABI (every field offset is checked against
 * sdk/abi/abi-v1.txt in CTest). Checked here on LP64 targets. */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
CG_STATIC_ASSERT(sizeof(cg_host_services) == 40, "cg_host_services layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_plugin_query) == 24, "cg_plugin_query layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_plugin_reply) == 16, "cg_plugin_reply layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_device_props) == 320, "cg_device_props layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_launch_args) == 72, "cg_launch_args layout is ABI");
CG_STATIC_ASSERT(sizeof(cg_plugin_api) >= 208, "cg_plugin_api: append-only table");
#endif

#ifdef __cplusplus
}
#endif
#endif
