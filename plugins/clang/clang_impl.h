/* clang plugin internals, shared by plugin.c (table, devices, memory), render.c
 * (render + compile with the system C compiler) and runtime.c (load, thread pool,
 * launch). Private to this plugin. */
#ifndef CG_CLANG_IMPL_H
#define CG_CLANG_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cgrad/plugin_host.h>

#define CC_PLUGIN_VERSION "0.1.0"

/* The rendered kernel: loops g over flattened group ids [start, end). */
typedef void (*cc_kernel_fn)(void **bufs, const int64_t *vars, const int64_t *grid, int64_t start,
                             int64_t end);

/* A host allocation; bytes is what the core asked for (bounds checks). */
typedef struct cc_buf {
  void *data;
  size_t bytes;
  struct cc_buf *prev, *next;
} cc_buf;

/* A loaded kernel: the dlopen'd object and what launch checks against. */
typedef struct cc_prog {
  void *dl;
  cc_kernel_fn fn;
  int memfd;                 /* backing memfd kept open while loaded, or -1 */
  uint32_t nparams, nvars;
  int one_d;                 /* rendered for a 1-D grid: launches must be 1-D too */
  uint64_t work;             /* flops + bytes estimate from the IR header (0 = unknown) */
  size_t *param_bytes;       /* bytes each parameter may touch (count * elem size) */
  struct cc_prog *prev, *next;
} cc_prog;

typedef struct cc_pool cc_pool;
struct cc_plugin;

/* An open device (the host CPU). Launches are serialized by launch_mu. */
typedef struct cc_dev {
  struct cc_plugin *pl;
  cc_pool *pool;
  pthread_mutex_t mu;        /* guards bufs/progs lists and launches */
  cc_buf *bufs;
  cc_prog *progs;
  struct cc_dev *next;
} cc_dev;

typedef struct cc_plugin {
  pthread_mutex_t mu;        /* guards devs and compiler_id */
  cc_dev *devs;
  int ncores;
  char cpu_name[128], arch[64];
  char compiler_id[512];     /* "<cc --version first line> | <flags>", filled lazily */
} cc_plugin;

/* plugin.c */

/* render.c */
cg_pstatus cc__render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
cg_pstatus cc__compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                       size_t *blob_size);
const char *cc__compiler_id(void *dev);
int cc__cache_dir(char *buf, size_t n); /* creates it; 0 on success */

/* runtime.c */
cg_pstatus cc__pool_new(int nthreads, cc_pool **out);
void cc__pool_free(cc_pool *pool);
cg_pstatus cc__program_load(void *dev, const cg_ir_program *prog, const void *blob, size_t blob_size,
                            void **handle);
void cc__program_unload(void *dev, void *handle);
void cc__prog_free(cc_prog *p);
cg_pstatus cc__launch(void *dev, void *handle, const cg_launch_args *args);

#endif
