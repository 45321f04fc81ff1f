/* Test harness for the CUDA plugin tests: loads the plugin shared object directly
 * (no libcgrad), answers the ABI handshake with minimal host services that keep the
 * last error message, and helpers to build IR programs and run them on device 0.
 * Tests print what they check; a test that needs a GPU and finds none returns 77. */
#ifndef CG_CUDA_TEST_HARNESS_H
#define CG_CUDA_TEST_HARNESS_H

#include <cgrad/ir_util.h>
#include <cgrad/plugin.h>
#include <stdio.h>

#define SKIP_CODE 77

typedef struct {
  void *lib;
  const cg_plugin_api *api;
  void *ctx;   /* plugin context */
  void *dev;   /* device 0, NULL when there is none */
  int ndev;
} th_plugin;

/* The last message the plugin recorded through set_error ("" if none). */
const char *th_last_error(void);
void th_clear_error(void);

/* Load plugin at path, negotiate, init. Returns 0 or -1 (message printed). */
int th_load(th_plugin *t, const char *path);
/* Open device 0 if there is one. Returns 0 (t->dev set), 1 when no device, -1 error. */
int th_open(th_plugin *t);
void th_unload(th_plugin *t);

/* Start of a test's main(): load the plugin named by argv[1] and open device 0. Returns
 * 0 when ready, SKIP_CODE without a device (SKIP printed, plugin unloaded), 1 on error;
 * main returns any nonzero value as its exit code. */
int th_start(th_plugin *t, int argc, char **argv);
/* End of main(): unload, print the failure count; returns the exit code (0 or 1). */
int th_finish(th_plugin *t);

/* Render + compile + load prog. Returns the program handle or NULL (message printed). */
void *th_build(th_plugin *t, const cg_ir_program *prog);
/* Launch h (built from p) with p's grid and work-group, one buffer per parameter and
 * one value per variable. Returns the plugin status; does not synchronize. */
cg_pstatus th_launch(th_plugin *t, void *h, const cg_ir_program *p, void **bufs, const int64_t *vars,
                     double *time_s);

/* A device buffer of `bytes`, filled from src unless src is NULL (checked: a failure
 * counts and may return NULL). */
void *th_upload(th_plugin *t, const void *src, size_t bytes);
/* Copy `bytes` from buf to dst (checked). */
void th_download(th_plugin *t, void *dst, void *buf, size_t bytes);

/* |got - want| <= abs_tol + rel * |want|; a NaN want needs a NaN got. */
int th_close(double got, double want, double rel, double abs_tol);

/* Failure counter with a printed line per failing check. */
extern int th_failures;
#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      th_failures++;                                                      \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
      fprintf(stderr, __VA_ARGS__);                                       \
      fprintf(stderr, "\n");                                              \
    }                                                                     \
  } while (0)

/* Emit helpers: one instruction with up to three sources. */
int32_t th_op(cg_ir_builder *b, cg_ir_op op, cg_ir_type t, int n, int32_t a, int32_t c,
              int32_t d, int64_t arg);
/* Global thread id = group_id.x * local_size + local_id.x (int32). */
int32_t th_gid(cg_ir_builder *b, int local_size);
/* Pointer to buf[idx] (INDEX) with the buffer's pointer type. */
int32_t th_at(cg_ir_builder *b, int32_t buf, int32_t idx);

/* float16 / bfloat16 conversions (round to nearest even), for references. */
float th_h2f(uint16_t h);
uint16_t th_f2h(float f);
float th_b2f(uint16_t b);
uint16_t th_f2b(float f);

#endif
