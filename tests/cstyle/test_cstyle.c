/* cstyle renderer tests: golden sources for the sample kernels in the C and OpenCL
 * dialects (golden/<kernel>.c, .cl; regenerate with CG_UPDATE_GOLDEN=1 and review the
 * diff), determinism, smoke renders in the CUDA/HIP/Metal dialects, direct vector
 * accesses of provably aligned local memory (VMEM_HELPER + local_align), and the errors a
 * caller can trigger (unsupported dtype, WMMA, invalid IR).
 * Usage: test_cstyle <golden dir> */
#include <stdlib.h>
#include <string.h>

#include <cgrad/cstyle.h>

#include "kt.h"

#include "../common/check.h"

/* Compare src with golden file dir/name.ext (or write it when updating). */
static void golden(const char *dir, const char *name, const char *ext, const char *src) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  test_golden(path, src, "rendered source");
}

typedef struct {
  const char *name;
  cg_ir_program *p;
} sample;

static int nsamples(sample *s) {
  static const int iops[] = {CG_IR_ADD, CG_IR_MUL, CG_IR_IDIV, CG_IR_MOD, CG_IR_SHL, CG_IR_SHR, CG_IR_MAX, CG_IR_CMPLT};
  static const int fops[] = {CG_IR_FDIV, CG_IR_MAX, CG_IR_POW, CG_IR_MULACC};
  int n = 0;
  s[n++] = (sample){"unary", kt_unary(8)};
  s[n++] = (sample){"binop_i8", kt_binop(CG_IR_INT8, 8, iops, 8)};
  s[n++] = (sample){"binop_u64", kt_binop(CG_IR_UINT64, 8, iops, 8)};
  s[n++] = (sample){"binop_f64", kt_binop(CG_IR_FLOAT64, 8, fops, 4)};
  s[n++] = (sample){"reduce", kt_reduce(4, 16)};
  s[n++] = (sample){"gated", kt_gated(8)};
  s[n++] = (sample){"casts", kt_casts(8)};
  s[n++] = (sample){"half_f16", kt_half(CG_IR_FLOAT16, 8)};
  s[n++] = (sample){"half_bf16", kt_half(CG_IR_BFLOAT16, 8)};
  s[n++] = (sample){"vector", kt_vector(4)};
  s[n++] = (sample){"grid3", kt_grid3(2, 3, 4)};
  s[n++] = (sample){"local", kt_local(4)};
  s[n++] = (sample){"bitcast", kt_bitcast(4)};
  s[n++] = (sample){"groupsum", kt_groupsum(3, 4)};
  return n;
}

static void test_goldens(const char *dir, sample *s, int n) {
  char err[512];
  for (int i = 0; i < n; i++) {
    char *c = cg_cstyle_render(s[i].p, &cg_cstyle_c, err, sizeof err);
    char *cl = cg_cstyle_render(s[i].p, &cg_cstyle_opencl, err, sizeof err);
    char *c2 = cg_cstyle_render(s[i].p, &cg_cstyle_c, err, sizeof err);
    CHECK(c && cl && c2, "%s: render failed: %s", s[i].name, err);
    if (c && cl && c2) {
      golden(dir, s[i].name, "c", c);
      golden(dir, s[i].name, "cl", cl);
      CHECK(!strcmp(c, c2), "%s: two renders differ", s[i].name);
    }
    free(c);
    free(cl);
    free(c2);
  }
}

/* Every sample renders in the other dialects, except what they cannot express. */
static void test_other_dialects(sample *s, int n) {
  const cg_cstyle_dialect *ds[3] = {&cg_cstyle_cuda, &cg_cstyle_hip, &cg_cstyle_metal};
  char err[512];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < n; i++) {
      char *src = cg_cstyle_render(s[i].p, ds[k], err, sizeof err);
      int f64 = !strcmp(s[i].name, "binop_f64") || !strcmp(s[i].name, "casts");
      if (ds[k] == &cg_cstyle_metal && f64) CHECK(!src && strstr(err, "dtype"), "metal has no f64: %s", err);
      else CHECK(src, "%s/%s: %s", ds[k]->lang, s[i].name, err);
      free(src);
    }
}

static void test_errors(sample *s) {
  char err[512];
  cg_cstyle_dialect d = cg_cstyle_opencl;
  d.half_mode = CG_CSTYLE_F16_NONE;
  char *src = cg_cstyle_render(s[7].p, &d, err, sizeof err);
  CHECK(!src && strstr(err, "float16"), "f16 with half_mode NONE: %s", src ? "rendered" : err);
  free(src);
  /* WMMA without a hook */
  cg_ir_builder *b = cg_irb_new("wmma");
  cg_ir_type f8 = kt_vec(CG_IR_FLOAT32, 8);
  int32_t z = cg_irb_const_f(b, CG_IR_FLOAT32, 0.0), lanes[8] = {z, z, z, z, z, z, z, z};
  int32_t v = cg_irb_emit(b, CG_IR_VECTORIZE, f8, 8, lanes, 0);
  kt_op(b, CG_IR_WMMA, f8, 3, v, v, v, 0);
  cg_ir_program *p = kt_finish(b, 1, 1, 1);
  src = cg_cstyle_render(p, &cg_cstyle_opencl, err, sizeof err);
  CHECK(!src && strstr(err, "WMMA"), "WMMA: %s", src ? "rendered" : err);
  free(src);
  /* invalid IR: bad magic, then a source that points forward */
  p->magic ^= 1;
  src = cg_cstyle_render(p, &cg_cstyle_c, err, sizeof err);
  CHECK(!src && strstr(err, "invalid IR"), "bad magic: %s", src ? "rendered" : err);
  free(src);
  free(p);
  CHECK(!cg_cstyle_render(NULL, &cg_cstyle_c, err, sizeof err), "NULL program");
  /* kernel names are C identifiers */
  char name[80];
  b = cg_irb_new("9lives");
  p = kt_finish(b, 1, 1, 1);
  CHECK(!strcmp(cg_cstyle_kernel_name(p, name, sizeof name), "k_9lives"), "name: %s", name);
  free(p);
}

/* Number of occurrences of needle in hay. */
static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *q = hay ? strstr(hay, needle) : NULL; q; q = strstr(q + 1, needle)) n++;
  return n;
}

/* VMEM_HELPER with local_align: vector accesses of local memory at offsets the
 * renderer proves aligned (lid*4+8, lid<<3, lid*4+8 through a second INDEX, f16 at
 * lid*8) are direct wide accesses; lid*4+2, lid+1 and all global accesses keep the
 * helpers; without local_align nothing is direct. */
static void test_vmem_direct(void) {
  const cg_ir_type I = cg_ir_t(CG_IR_INT32), F4 = kt_vec(CG_IR_FLOAT32, 4), V = cg_ir_t(CG_IR_VOID);
  cg_ir_builder *b = cg_irb_new("vdirect");
  int32_t out = kt_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, 256);
  int32_t sm = kt_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_LOCAL), 0, 0, 0, 0, 256);
  int32_t sh = kt_op(b, CG_IR_DEFINE_LOCAL, cg_ir_ptr(CG_IR_FLOAT16, CG_IR_AS_LOCAL), 0, 0, 0, 0, 256);
  int32_t lid = kt_op(b, CG_IR_SPECIAL, I, 0, 0, 0, 0, 3);
  int32_t l4 = kt_op(b, CG_IR_MUL, I, 2, lid, cg_irb_const_i(b, CG_IR_INT32, 4), 0, 0);
  int32_t al = kt_op(b, CG_IR_ADD, I, 2, l4, cg_irb_const_i(b, CG_IR_INT32, 8), 0, 0);
  int32_t un = kt_op(b, CG_IR_ADD, I, 2, l4, cg_irb_const_i(b, CG_IR_INT32, 2), 0, 0);
  int32_t sl = kt_op(b, CG_IR_SHL, I, 2, lid, cg_irb_const_i(b, CG_IR_INT32, 3), 0, 0);
  int32_t l1 = kt_op(b, CG_IR_ADD, I, 2, lid, cg_irb_const_i(b, CG_IR_INT32, 1), 0, 0);
  int32_t x = kt_op(b, CG_IR_LOAD, F4, 1, kt_at(b, sm, al, 4), 0, 0, 0);    /* direct */
  int32_t y = kt_op(b, CG_IR_LOAD, F4, 1, kt_at(b, sm, un, 4), 0, 0, 0);    /* helper */
  int32_t z = kt_op(b, CG_IR_LOAD, F4, 1, kt_at(b, sm, l1, 4), 0, 0, 0);    /* helper */
  int32_t i2 = kt_at(b, kt_at(b, sm, l4, 1), cg_irb_const_i(b, CG_IR_INT32, 8), 4);
  int32_t w = kt_op(b, CG_IR_LOAD, F4, 1, i2, 0, 0, 0);                      /* direct */
  int32_t h = kt_op(b, CG_IR_LOAD, kt_vec(CG_IR_FLOAT16, 8), 1, kt_at(b, sh, sl, 8), 0, 0, 0); /* direct */
  (void)h;
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, sm, sl, 4), x, 0, 0);               /* direct */
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, out, al, 4), y, 0, 0);              /* global: helper */
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, out, l4, 4), z, 0, 0);              /* global: helper */
  kt_op(b, CG_IR_STORE, V, 2, kt_at(b, sm, un, 4), w, 0, 0);               /* helper */
  cg_ir_program *p = kt_finish(b, 1, 1, 1);
  cg_cstyle_dialect d = cg_cstyle_cuda;
  char err[512];
  d.vmem = CG_CSTYLE_VMEM_HELPER;
  d.vec_type_fmt = "cg_v<%s, %d>";
  d.vec_ctor_fmt = "%s{";
  d.vec_ctor_close = "}";
  d.lane = CG_CSTYLE_LANE_INDEX;
  d.half_mode = d.bf16_mode = CG_CSTYLE_F16_EMULATED;
  d.local_align = 16;
  char *src = cg_cstyle_render(p, &d, err, sizeof err);
  CHECK(src, "vdirect: %s", err);
  CHECK(count(src, "(*(const cg_v<float, 4> *)(smem") == 2, "direct f32 loads:\n%s", src);
  CHECK(count(src, ", 8> *)(smem") == 1, "direct f16 load:\n%s", src);
  CHECK(count(src, "cg_vload<float, 4>(smem") == 2, "tested loads:\n%s", src);
  CHECK(count(src, "*(cg_v<float, 4> *)(smem") == 1, "direct store:\n%s", src);
  CHECK(count(src, "cg_vstore<float, 4>(smem") == 1 && count(src, "cg_vstore<float, 4>(data0") == 2,
        "tested stores:\n%s", src);
  free(src);
  d.local_align = 0;
  src = cg_cstyle_render(p, &d, err, sizeof err);
  CHECK(src && count(src, "*)(smem") == 0 && count(src, "cg_vload<float, 4>(smem") == 4, "no local_align:\n%s",
        src ? src : err);
  free(src);
  free(p);
}

int main(int argc, char **argv) {
  sample s[16];
  int n = nsamples(s);
  if (argc < 2) {
    fprintf(stderr, "usage: %s <golden dir>\n", argv[0]);
    return 2;
  }
  test_goldens(argv[1], s, n);
  test_other_dialects(s, n);
  test_errors(s);
  test_vmem_direct();
  for (int i = 0; i < n; i++) free(s[i].p);
  printf("cstyle: %s (%d failures)\n", fails ? "FAILED" : "ok", fails);
  return fails ? 1 : 0;
}
