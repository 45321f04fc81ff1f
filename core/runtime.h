/* Private runtime interface: plugins, devices, refcounted buffers and cached programs.
 * Implemented in core/plugin_loader.c (discovery, manifests, dlopen, negotiation) and
 * core/device.c (devices, buffers with a per-device LRU cache, program cache in memory
 * and on disk, launches). The scheduler and tensors only use what is declared here.
 *
 * Ownership: cg__device_get returns a borrowed device (devices live until
 * cg__runtime_shutdown). Buffers are refcounted: new returns refcount 1. Programs are
 * owned by the device's program cache; cg__program_get returns a borrowed handle. */
#ifndef CG_RUNTIME_H
#define CG_RUNTIME_H

#include "base.h"
#include "cgrad/plugin.h"

typedef struct cg_device cg_device;
typedef struct cg_buffer cg_buffer;
typedef struct cg_program cg_program;

/* Loads plugins (idempotent, thread-safe once). Failures of single plugins are recorded,
 * never fatal. Registered with atexit to shut down cleanly. */
void cg__runtime_init(void);
void cg__runtime_shutdown(void);

/* "CLANG", "clang:0", "CUDA:1"; NULL or "" = the default device (BACKEND env, else the
 * highest-priority plugin whose device opens). Case-insensitive plugin id. Returns NULL
 * and sets the error (naming what was asked and why it failed) if it cannot open. */
cg_device *cg__device_get(const char *name);
const char *cg__device_name(const cg_device *d);          /* "CLANG:0" */
const cg_device_props *cg__device_props(const cg_device *d);
const char *cg__device_plugin_id(const cg_device *d);     /* "clang" */

/* Buffers: size in bytes, contents uninitialised. */
cg_buffer *cg__buffer_new(cg_device *d, size_t bytes);   /* NULL + error on failure */
cg_buffer *cg__buffer_retain(cg_buffer *b);
void cg__buffer_release(cg_buffer *b);                   /* back to the LRU cache at 0 */
size_t cg__buffer_size(const cg_buffer *b);
cg_device *cg__buffer_device(const cg_buffer *b);
cg_status cg__buffer_write(cg_buffer *b, size_t off, const void *src, size_t n);
cg_status cg__buffer_read(cg_buffer *b, size_t off, void *dst, size_t n);
/* Copy between buffers, possibly on different devices. */
cg_status cg__buffer_copy(cg_buffer *dst, size_t dst_off, cg_buffer *src, size_t src_off, size_t n);

/* Render + compile + load, cached in memory by IR bytes and on disk by source hash +
 * plugin id/version + device arch + compiler id. Increments cg__counters.compiles on a
 * real compile. DEBUG=4 prints the source, DEBUG=5 the IR text. Borrowed handle. */
cg_program *cg__program_get(cg_device *d, const cg_ir_program *ir);
/* Whether the device's plugin declares CG_API_CAP_CONCURRENT_COMPILE (ABI minor >= 2)
 * and has a render or compile slot to run concurrently. */
bool cg__device_concurrent_compile(const cg_device *d);
/* BEAM's batch build: renders + compiles the programs of irs[0..n) that are not cached
 * yet on up to `jobs` threads (only when cg__device_concurrent_compile; else does
 * nothing), then loads and caches them in this thread, in order, so cg__program_get
 * finds them. A program that fails is left out silently (the caller's error state is
 * untouched): cg__program_get builds it again and reports why. Returns how many were
 * added to the cache. */
int cg__program_prefetch(cg_device *d, const cg_ir_program *const *irs, int n, int jobs);
/* Launch with one buffer per IR param and one value per IR var. DEBUG=2 prints one line
 * (name, dims, time, GFLOP/s, GB/s); increments cg__counters.kernels. */
cg_status cg__program_launch(cg_program *p, cg_buffer *const *bufs, const int64_t *vars);
cg_status cg__device_sync(cg_device *d);

/* ---- JIT support: what core/jit.c records and replays through ---- */
cg_device *cg__program_device(const cg_program *p);
const cg_ir_program *cg__program_ir(const cg_program *p);   /* the program's owned IR */
/* Batches of launches replayed through the plugin's graph slot (ABI minor >= 1). A graph
 * belongs to its device; device shutdown frees the plugin side, cg__graph_free the rest. */
typedef struct cg_graph cg_graph;
bool cg__device_has_graphs(const cg_device *d);
/* Records n launches (progs[i] with bufs[i], one per IR param, and vars[i], one per IR
 * var or NULL when none); NULL + error when the plugin refuses. */
cg_graph *cg__graph_new(cg_device *d, int n, cg_program *const *progs, cg_buffer *const *const *bufs,
                        const int64_t *const *vars);
/* Replays with these buffers and variable values (same shapes as recorded); counts n
 * kernels and one graph launch. */
cg_status cg__graph_launch(cg_graph *g, cg_buffer *const *const *bufs, const int64_t *const *vars);
void cg__graph_free(cg_graph *g);
/* Recording hooks (jit.c), no-ops unless a cg_jit captures on this thread. device.c
 * calls the first three after a successful launch / copy and before a host read;
 * tensor.c's cg_assign calls the last when dst's buffer changes from old to nw. */
void cg__jit_on_launch(cg_program *p, cg_buffer *const *bufs, const int64_t *vars);
void cg__jit_on_copy(cg_buffer *dst, size_t dst_off, cg_buffer *src, size_t src_off, size_t n);
void cg__jit_on_read(void);
void cg__jit_on_assign(cg_tensor *dst, cg_buffer *old, cg_buffer *nw);

/* Diagnostics for `cgrad plugins` / `cgrad devices`: prints to f. */
void cg__runtime_report_plugins(FILE *f);
void cg__runtime_report_devices(FILE *f);

#endif
