/* Op-test support: the golden file reader (see gen_goldens.py for the format) and the
 * host-side dtype helpers (float16/bfloat16 conversion, element load/store) the runner
 * uses to build inputs and read results. Independent of the library: only cgrad.h's
 * dtype enum is shared. */
#ifndef CG_TEST_GOLDEN_H
#define CG_TEST_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cgrad/cgrad.h>

#define GT_MAX_DIMS 8
#define GT_MAX_IN 6

/* One tensor of a golden case: dtype, shape, values as doubles (row-major). */
typedef struct {
  cg_dtype dt;
  int ndim;
  int64_t shape[GT_MAX_DIMS];
  int64_t n;   /* number of elements */
  double *v;   /* n values */
} gt_tensor;

/* One case: inputs, expected output, and (has_grad) cotangent and input gradients. */
typedef struct {
  char *name;            /* unique case name */
  char *key;             /* op wrapper key in the C table */
  int nin;
  bool has_grad;
  gt_tensor in[GT_MAX_IN];
  gt_tensor out;
  gt_tensor cot;         /* out's dtype and shape */
  bool has_g[GT_MAX_IN]; /* expected gradient present for input i */
  double *g[GT_MAX_IN];  /* in[i].n values */
} gt_case;

typedef struct {
  gt_case *cases;
  int n;
  char *buf;   /* token storage (names point into it) */
} gt_file;

/* Reads the golden file; on error returns false and writes a message to err. */
bool gt_load(const char *path, gt_file *f, char *err, size_t errlen);
void gt_free(gt_file *f);

/* dtype helpers */
bool gt_dtype_parse(const char *s, cg_dtype *dt);
const char *gt_dtype_str(cg_dtype dt);
size_t gt_dtype_size(cg_dtype dt);
bool gt_is_float(cg_dtype dt);
void gt_store(cg_dtype dt, void *buf, int64_t i, double v);
double gt_load_elem(cg_dtype dt, const void *buf, int64_t i);
uint16_t gt_f32_to_f16(float f);
float gt_f16_to_f32(uint16_t h);
uint16_t gt_f32_to_bf16(float f);
float gt_bf16_to_f32(uint16_t h);
/* "(2, 3)" into buf */
const char *gt_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);

#endif
