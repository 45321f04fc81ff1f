/* Private interface between the three files of the llvm plugin.
 *
 *   plugin.c   the function table, devices, memory, host services
 *   render.c   cg_ir_program -> LLVM module (LLVM-C builder), optimize, emit object
 *   runtime.c  ORC LLJIT linking of the object, thread pool, launch
 *
 * Generated kernel ABI (private to this plugin; see render.c):
 *   void k(void **bufs, const int64_t *vars, int64_t start, int64_t end)
 * runs work-groups with flattened id in [start, end); flat = g0 + G0*(g1 + G1*g2).
 * vars holds the program's variables followed by the launch's G0, G1, G2. */
#ifndef CG_LLVM_PLUGIN_H
#define CG_LLVM_PLUGIN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cgrad/plugin.h"

typedef void (*cg__llvm_kernel_fn)(void **bufs, const int64_t *vars, int64_t start,
                                   int64_t end);

typedef struct cg__llvm_pool cg__llvm_pool;
typedef struct cg__llvm_jit cg__llvm_jit;

/* The one CPU device. Owned by the plugin context; lives from device_open to close. */
typedef struct cg__llvm_dev {
  char cpu[64];            /* LLVMGetHostCPUName */
  char *features;          /* LLVMGetHostCPUFeatures, malloc'd copy */
  char compiler_id[160];   /* "LLVM 14.0.6 <cpu> <hash of features>" */
  int threads;             /* pool size (CG_THREADS or cores) */
  pthread_mutex_t mu;      /* serializes compiles and JIT linking */
  cg__llvm_jit *jit;       /* created on first program_load */
  cg__llvm_pool *pool;     /* created on first multi-threaded launch */
  struct cg__llvm_dev *next; /* list of open devices (plugin.c) */
} cg__llvm_dev;

/* Use hardware half<->float conversion: x86 with F16C, unless CG_LLVM_NO_F16C=1 (tests
 * the portable integer path). Part of the compiler id. */
int cg__llvm_f16c(const cg__llvm_dev *d);

/* Host services: cgrad/plugin_host.h (cg_host_error, cg_host_option), plus a log
 * without cg_host_log's length limit (assembly listings) and the DEBUG level. */
void cg__llvm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cg__llvm_debug(void); /* DEBUG level, 0 if unset */

/* render.c: LLVM target setup (idempotent), render and compile slots. */
int cg__llvm_init_target(void);
cg_pstatus cg__llvm_render(void *dev, const cg_ir_program *prog, char **src, const char **lang);
cg_pstatus cg__llvm_compile(void *dev, const cg_ir_program *prog, const char *src, void **blob,
                            size_t *blob_size);
/* compile with alias_safe = 0: buffers are noalias (the object the cache keeps);
 * alias_safe = 1: a variant named <symbol>_alias for launches whose buffers overlap. */
cg_pstatus cg__llvm_compile_variant(void *dev, const cg_ir_program *prog, int alias_safe, void **blob,
                                    size_t *blob_size);
/* CG_LLVM_NT_MIN: written buffers of this many bytes or more get non-temporal vector
 * stores (0 = never); part of the compiler id when not the default. */
size_t cg__llvm_nt_min(void);
/* Chunk starts and row starts of kernels with aligned non-temporal stores are
 * multiples of this many elements (see cg__llvm_nt_aligned_mask in render.c). */
#define CG_LLVM_NT_ALIGN_ELEMS 64
uint64_t cg__llvm_nt_aligned_mask(const cg_ir_program *p, size_t nt_min, uint64_t *at_g0);
/* Symbol name of a program's kernel: "cg_<name>_<hash of IR bytes>". */
void cg__llvm_symbol(const cg_ir_program *prog, char *out, size_t n);
uint64_t cg__llvm_hash(const void *data, size_t n, uint64_t seed);

/* runtime.c: programs, launches, teardown of the JIT and pool. */
cg_pstatus cg__llvm_program_load(void *dev, const cg_ir_program *prog, const void *blob,
                                 size_t blob_size, void **handle);
void cg__llvm_program_unload(void *dev, void *handle);
cg_pstatus cg__llvm_launch(void *dev, void *handle, const cg_launch_args *args);
void cg__llvm_runtime_close(cg__llvm_dev *d);

#endif
