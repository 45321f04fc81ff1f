/* IR builder: collects parameters, variables and instructions in growable arrays and
 * lays them out as one cg_ir_program block (the layout described in ir.h):
 *
 *   [header][params][vars][insts][srcs]      offsets from the header, 8-byte aligned
 *
 * The builder never validates semantics (that is cg_ir_verify's job); it only records.
 * Allocation failure is sticky: every later call is a no-op returning -1, and
 * cg_irb_finish returns NULL. */
#include <stdlib.h>
#include <string.h>

#include <cgrad/ir_util.h>

struct cg_ir_builder {
  char name[64];
  cg_ir_param *params;
  cg_ir_var *vars;
  cg_ir_inst *insts;
  int32_t *srcs;
  uint32_t nparams, nvars, ninsts, nsrcs;
  uint32_t cap_params, cap_vars, cap_insts, cap_srcs;
  uint32_t global[3], local[3];
  uint64_t flops, bytes;
  int failed; /* an allocation failed or a limit was hit */
};

/* Copy an identifier into dst (size n), replacing characters outside [A-Za-z0-9_]
 * with '_' so that every name prints as one token; empty names become dflt. */
static void copy_ident(char *dst, size_t n, const char *src, const char *dflt) {
  if (!src || !*src) src = dflt;
  size_t i = 0;
  for (; src[i] && i + 1 < n; i++) {
    char c = src[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    dst[i] = ok ? c : '_';
  }
  memset(dst + i, 0, n - i);
}

/* Make room for one more element of size elem in *arr (count n, capacity *cap). */
static int grow(cg_ir_builder *b, void **arr, uint32_t n, uint32_t *cap, size_t elem) {
  if (b->failed) return -1;
  if (n < *cap) return 0;
  uint32_t ncap = *cap ? *cap * 2 : 16;
  if (ncap <= *cap || ncap > (1u << 26)) { /* keeps every table far below 4 GiB */
    b->failed = 1;
    return -1;
  }
  void *p = realloc(*arr, (size_t)ncap * elem);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  *arr = p;
  *cap = ncap;
  return 0;
}

cg_ir_builder *cg_irb_new(const char *kernel_name) {
  cg_ir_builder *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  copy_ident(b->name, sizeof b->name, kernel_name, "kernel");
  for (int a = 0; a < 3; a++) b->global[a] = b->local[a] = 1;
  return b;
}

void cg_irb_free(cg_ir_builder *b) {
  if (!b) return;
  free(b->params);
  free(b->vars);
  free(b->insts);
  free(b->srcs);
  free(b);
}

int cg_irb_param(cg_ir_builder *b, cg_ir_scalar scalar, int flags, int64_t count) {
  if (!b || grow(b, (void **)&b->params, b->nparams, &b->cap_params, sizeof *b->params)) return -1;
  cg_ir_param *p = &b->params[b->nparams];
  memset(p, 0, sizeof *p);
  p->scalar = (uint8_t)scalar;
  p->flags = (uint8_t)flags;
  p->count = count;
  return (int)b->nparams++;
}

int cg_irb_var(cg_ir_builder *b, const char *name, int64_t min, int64_t max) {
  if (!b || grow(b, (void **)&b->vars, b->nvars, &b->cap_vars, sizeof *b->vars)) return -1;
  cg_ir_var *v = &b->vars[b->nvars];
  memset(v, 0, sizeof *v);
  copy_ident(v->name, sizeof v->name, name, "v");
  v->min = min;
  v->max = max;
  return (int)b->nvars++;
}

int32_t cg_irb_emit(cg_ir_builder *b, cg_ir_op op, cg_ir_type type, int nsrc,
                    const int32_t *srcs, int64_t arg) {
  if (!b || nsrc < 0 || nsrc > 0xffff || (nsrc > 0 && !srcs)) {
    if (b) b->failed = 1;
    return -1;
  }
  if (grow(b, (void **)&b->insts, b->ninsts, &b->cap_insts, sizeof *b->insts)) return -1;
  for (int k = 0; k < nsrc; k++) {
    if (grow(b, (void **)&b->srcs, b->nsrcs, &b->cap_srcs, sizeof *b->srcs)) return -1;
    b->srcs[b->nsrcs++] = srcs[k];
  }
  cg_ir_inst *in = &b->insts[b->ninsts];
  memset(in, 0, sizeof *in);
  in->op = (uint16_t)op;
  in->nsrc = (uint16_t)nsrc;
  in->type = type;
  in->type.pad = 0;
  in->src_start = b->nsrcs - (uint32_t)nsrc;
  in->arg = arg;
  return (int32_t)b->ninsts++;
}

int32_t cg_irb_const_i(cg_ir_builder *b, cg_ir_scalar s, int64_t v) {
  return cg_irb_emit(b, CG_IR_CONST, cg_ir_t(s), 0, NULL, v);
}

int32_t cg_irb_const_f(cg_ir_builder *b, cg_ir_scalar s, double v) {
  int64_t bits;
  memcpy(&bits, &v, sizeof bits);
  return cg_irb_emit(b, CG_IR_CONST, cg_ir_t(s), 0, NULL, bits);
}

void cg_irb_set_launch(cg_ir_builder *b, const uint32_t global[3], const uint32_t local[3]) {
  if (!b) return;
  for (int a = 0; a < 3; a++) {
    if (global) b->global[a] = global[a];
    if (local) b->local[a] = local[a];
  }
}

void cg_irb_set_cost(cg_ir_builder *b, uint64_t flops, uint64_t bytes) {
  if (!b) return;
  b->flops = flops;
  b->bytes = bytes;
}

cg_ir_type cg_irb_type(const cg_ir_builder *b, int32_t inst) {
  cg_ir_type none = {CG_IR_VOID, 1, CG_IR_AS_NONE, 0};
  if (!b || inst < 0 || (uint32_t)inst >= b->ninsts) return none;
  return b->insts[inst].type;
}

int32_t cg_irb_count(const cg_ir_builder *b) { return b ? (int32_t)b->ninsts : 0; }

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

cg_ir_program *cg_irb_finish(cg_ir_builder *b) {
  if (!b || b->failed) return NULL;
  size_t params_off = align8(sizeof(cg_ir_program));
  size_t vars_off = align8(params_off + (size_t)b->nparams * sizeof(cg_ir_param));
  size_t insts_off = align8(vars_off + (size_t)b->nvars * sizeof(cg_ir_var));
  size_t srcs_off = align8(insts_off + (size_t)b->ninsts * sizeof(cg_ir_inst));
  size_t total = align8(srcs_off + (size_t)b->nsrcs * sizeof(int32_t));
  if (total > UINT32_MAX) return NULL;
  char *blk = calloc(1, total);
  if (!blk) return NULL;
  cg_ir_program *p = (cg_ir_program *)blk;
  p->magic = CG_IR_MAGIC;
  p->version_major = CG_IR_VERSION_MAJOR;
  p->version_minor = CG_IR_VERSION_MINOR;
  p->total_size = (uint32_t)total;
  p->nparams = b->nparams, p->params_off = (uint32_t)params_off;
  p->nvars = b->nvars, p->vars_off = (uint32_t)vars_off;
  p->ninsts = b->ninsts, p->insts_off = (uint32_t)insts_off;
  p->nsrcs = b->nsrcs, p->srcs_off = (uint32_t)srcs_off;
  memcpy(p->global, b->global, sizeof p->global);
  memcpy(p->local, b->local, sizeof p->local);
  p->flops = b->flops;
  p->bytes = b->bytes;
  memcpy(p->name, b->name, sizeof p->name);
  if (b->nparams) memcpy(blk + params_off, b->params, b->nparams * sizeof(cg_ir_param));
  if (b->nvars) memcpy(blk + vars_off, b->vars, b->nvars * sizeof(cg_ir_var));
  if (b->ninsts) memcpy(blk + insts_off, b->insts, b->ninsts * sizeof(cg_ir_inst));
  if (b->nsrcs) memcpy(blk + srcs_off, b->srcs, b->nsrcs * sizeof(int32_t));
  return p;
}
