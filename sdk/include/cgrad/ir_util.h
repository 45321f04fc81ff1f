/* cgrad SDK helpers for the kernel IR (library cgrad-sdk): a builder that produces a
 * cg_ir_program block, a verifier, and the canonical text form (print + parse).
 * Used by the core, by plugins and by tests. All returned programs are one malloc'd
 * block, freed with free(). */
#ifndef CGRAD_IR_UTIL_H
#define CGRAD_IR_UTIL_H

#include <stdio.h>

#include "ir.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cg_ir_builder cg_ir_builder;

cg_ir_builder *cg_irb_new(const char *kernel_name);
void cg_irb_free(cg_ir_builder *b);
/* Declare parameters and variables (in order); return their index. */
int cg_irb_param(cg_ir_builder *b, cg_ir_scalar scalar, int flags, int64_t count);
int cg_irb_var(cg_ir_builder *b, const char *name, int64_t min, int64_t max);
/* Append an instruction; returns its index. srcs may be NULL when nsrc == 0. */
int32_t cg_irb_emit(cg_ir_builder *b, cg_ir_op op, cg_ir_type type, int nsrc,
                    const int32_t *srcs, int64_t arg);
/* Convenience: constants (float constants are stored as double bits). */
int32_t cg_irb_const_i(cg_ir_builder *b, cg_ir_scalar s, int64_t v);
int32_t cg_irb_const_f(cg_ir_builder *b, cg_ir_scalar s, double v);
void cg_irb_set_launch(cg_ir_builder *b, const uint32_t global[3], const uint32_t local[3]);
void cg_irb_set_cost(cg_ir_builder *b, uint64_t flops, uint64_t bytes);
/* Type of an emitted instruction. */
cg_ir_type cg_irb_type(const cg_ir_builder *b, int32_t inst);
int32_t cg_irb_count(const cg_ir_builder *b);
/* Produce the program block (malloc'd; free()). The builder stays usable. */
cg_ir_program *cg_irb_finish(cg_ir_builder *b);

static inline cg_ir_type cg_ir_t(cg_ir_scalar s) {
  cg_ir_type t = {(uint8_t)s, 1, CG_IR_AS_NONE, 0};
  return t;
}
static inline cg_ir_type cg_ir_ptr(cg_ir_scalar s, cg_ir_addrspace space) {
  cg_ir_type t = {(uint8_t)s, 1, (uint8_t)space, 0};
  return t;
}

const char *cg_ir_op_name(int op);          /* "ADD"; "?" if out of range */
const char *cg_ir_scalar_name(int scalar);  /* "f32", "i32", "bool", ... */

/* Structural check: magic/version/sizes/offsets in bounds, srcs refer to earlier
 * instructions, arity and types consistent, ranges/ifs balanced. Returns 0 if valid,
 * else -1 with a message (instruction index + reason) in err. Never crashes on garbage
 * input of `size` bytes. */
int cg_ir_verify(const cg_ir_program *p, size_t size, char *err, size_t errlen);

/* Canonical text form. cg_ir_print returns a malloc'd string. cg_ir_parse returns a
 * program or NULL with a message (line number + reason) in err. */
char *cg_ir_print(const cg_ir_program *p);
cg_ir_program *cg_ir_parse(const char *text, char *err, size_t errlen);

/* Stable 64-bit FNV-1a hash of bytes, for cache keys. */
uint64_t cg_hash64(const void *data, size_t n, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
