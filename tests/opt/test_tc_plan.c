/* TC opt without a GPU: the optimizer's internals (links cgrad_static) with device props
 * that declare the CUDA plugin's tensor-core shapes. For f16/bf16 matmuls (plain, batched,
 * transposed operands) the TC candidate is found, the heuristic applies TC, and the lowered
 * IR passes the verifier with the expected number of WMMAs; TC is illegal without shapes,
 * for sizes that do not divide, for f32, and with opts other than the allowed ones.
 * Numbers are checked on the GPU by test_tc (tests/opt/test_tc.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/cgrad.h"
#include "cgrad/ir_util.h"
#include "schedule.h"
#include "tc.h"
#include "tensor.h"

static int fails;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)

static cg_device_props gpu_props(bool tc) {
  cg_device_props p;
  memset(&p, 0, sizeof p);
  p.kind = CG_DEVICE_GPU;
  p.max_local_size = 1024;
  p.max_local[0] = p.max_local[1] = 1024;
  p.max_local[2] = 64;
  p.warp_size = 32;
  p.local_mem_bytes = 48 << 10;
  if (tc) {
    static const uint16_t s[2][4] = {{16, 8, 16, CG_IR_FLOAT16}, {16, 8, 16, CG_IR_BFLOAT16}};
    p.n_tc_shapes = 2;
    memcpy(p.tc_shapes, s, sizeof s);
  }
  return p;
}

static cg_tensor *input(cg_dtype dt, int ndim, const int64_t *shape) {
  cg_tensor *t = cg_cast(cg_rand(CG_FLOAT32, ndim, shape), dt);
  cg_realize(t);
  return t;
}

static int count_op(const cg_ir_program *p, int op) {
  int n = 0;
  for (uint32_t i = 0; i < p->ninsts; i++) n += cg_ir_insts(p)[i].op == op;
  return n;
}

/* Heuristic TC plan of out's kernel: its IR verifies and holds `wmma` WMMAs (-1: no TC). */
static void check_tc(const char *what, cg_tensor *out, int wmma) {
  cg_device_props pr = gpu_props(true);
  cg_plan plan;
  cg__plan_init(out->u, &plan);
  bool applied = cg__tc_heuristic(&plan, &pr);
  CHECK(applied == (wmma >= 0), "%s: TC applied %d, expected %d", what, applied, wmma >= 0);
  if (!applied) return;
  cg_kernel k;
  memset(&k, 0, sizeof k);
  CHECK(cg__tc_lower(out->u, &pr, &plan, &k) == 0, "%s: lower: %s", what, cg_last_error());
  cg_ir_program *ir = cg__tc_linearize(&k);
  CHECK(ir, "%s: linearize: %s", what, cg_last_error());
  if (!ir) return;
  char err[256];
  CHECK(cg_ir_verify(ir, ir->total_size, err, sizeof err) == 0, "%s: verify: %s", what, err);
  if (getenv("TC_PRINT") && strstr(what, getenv("TC_PRINT"))) { /* TC_PRINT=name: the IR text */
    char *txt = cg_ir_print(ir);
    printf("%s\n", txt);
    free(txt);
  }
  CHECK(count_op(ir, CG_IR_WMMA) == wmma, "%s: %d WMMAs, expected %d", what, count_op(ir, CG_IR_WMMA), wmma);
  free(ir);
}

static void legality(void) {
  static const int64_t s64[] = {64, 64}, s24[] = {24, 64};
  cg_tensor *a = input(CG_FLOAT16, 2, s64), *b = input(CG_FLOAT16, 2, s64), *c = input(CG_FLOAT16, 2, s24);
  cg_device_props tc = gpu_props(true), none = gpu_props(false);
  cg_plan p;
  cg__plan_init(cg_matmul(a, b)->u, &p);
  CHECK(p.tc_in == CG_FLOAT16, "f16 matmul is a TC candidate");
  cg_opt o = {CG_OPT_TC, (uint8_t)p.nout, 16};
  cg_plan q = p;
  CHECK(cg__plan_apply(&q, o, &none) == -1, "TC without shapes must be illegal");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_TC, (uint8_t)p.nout, 8}, &tc) == -1, "TC with K 8 must be illegal");
  CHECK(cg__plan_apply(&q, o, &tc) == 0 && q.tc_shape == 1, "TC legal on f16 with shapes");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_GROUP, (uint8_t)p.nout, 2}, &tc) == -1, "GROUP after TC");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_LOOP, 0, 2}, &tc) == -1, "LOOP after TC");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_UPCAST, (uint8_t)q.tc_m, 8}, &tc) == -1, "UPCAST past M / 16");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_UPCAST, (uint8_t)q.tc_m, 4}, &tc) == 0, "UPCAST M 4");
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_LOCAL, (uint8_t)q.tc_n, 3}, &tc) == -1, "LOCAL that does not divide");
  q = p;
  CHECK(cg__plan_apply(&q, (cg_opt){CG_OPT_UPCAST, 0, 2}, &tc) == 0 && cg__plan_apply(&q, o, &tc) == -1,
        "TC must be the first opt");
  cg__plan_init(cg_matmul(c, b)->u, &p);
  q = p;
  CHECK(p.tc_in == CG_FLOAT16 && cg__plan_apply(&q, (cg_opt){CG_OPT_TC, (uint8_t)p.nout, 16}, &tc) == -1,
        "M 24 does not divide by 16: illegal");
  cg_tensor *af = cg_cast(a, CG_FLOAT32), *bf = cg_cast(b, CG_FLOAT32);
  cg__plan_init(cg_matmul(af, bf)->u, &p); /* casts fused into the kernel: exact products */
  CHECK(p.tc_in == CG_FLOAT16, "matmul of f16 cast to f32 in the kernel is a TC candidate");
  cg_realize(af);
  cg_realize(bf);
  cg__plan_init(cg_matmul(af, bf)->u, &p);
  CHECK(p.tc_in == 0, "f32 matmul is no TC candidate");
  cg__plan_init(cg_relu(cg_matmul(a, b))->u, &p);
  CHECK(p.tc_in == 0, "matmul + relu epilogue is no TC candidate (yet)");
}

int main(void) {
  if (cg_set_default_device("CLANG") != CG_OK && cg_set_default_device("REF") != CG_OK) {
    printf("SKIP: no CPU device (%s)\n", cg_last_error());
    return 77;
  }
  cg_scope_push();
  static const int64_t a2[] = {128, 64}, b2[] = {64, 256}, bt[] = {256, 64}, a3[] = {3, 32, 48}, b3[] = {3, 48, 16},
                       k48a[] = {32, 48}, k48b[] = {48, 16};
  static const int tr[] = {1, 0};
  for (int h = 0; h < 2; h++) {
    cg_dtype dt = h ? CG_FLOAT16 : CG_BFLOAT16;
    /* 128 x 256 x 64: 4 warps of 4 x 8 fragments, k unrolled by 2: 32 WMMAs x 2 per round */
    check_tc("plain", cg_matmul(input(dt, 2, a2), input(dt, 2, b2)), 64);
    check_tc("B transposed", cg_matmul(input(dt, 2, a2), cg_permute(input(dt, 2, bt), tr)), 64);
    check_tc("A transposed", cg_matmul(cg_permute(input(dt, 2, b2), tr), cg_permute(input(dt, 2, a2), tr)), 64);
    /* batched 3 x 32 x 16, K 48: M 2 fragments, N 2, K 16-steps (48 % 32 != 0) */
    check_tc("batched", cg_matmul(input(dt, 3, a3), input(dt, 3, b3)), 4);
    check_tc("K 48", cg_matmul(input(dt, 2, k48a), input(dt, 2, k48b)), 4);
  }
  check_tc("f32", cg_matmul(input(CG_FLOAT32, 2, a2), input(CG_FLOAT32, 2, b2)), -1);
  legality();
  /* a device with 132 compute units: 512 x 512 takes 4 x 4 fragments of 2 x 1 warps
   * (128 x 64 tiles: 32 groups are too few, the smaller tiles down to 1 x 1 give 512 / 16
   * * 512 / 8 = 2048 groups) */
  static const int64_t s512[] = {512, 512};
  cg_device_props big = gpu_props(true);
  big.compute_units = 132;
  cg_plan p;
  cg__plan_init(cg_matmul(input(CG_FLOAT16, 2, s512), input(CG_FLOAT16, 2, s512))->u, &p);
  CHECK(cg__tc_heuristic(&p, &big), "TC on 512");
  int64_t ng = p.ax[0].part[0] * p.ax[1].part[0];
  CHECK(ng >= 132, "512 x 512 on 132 units: %lld groups", (long long)ng);
  cg_scope_pop();
  printf("%s\n", fails ? "FAIL" : "ok");
  return fails ? 1 : 0;
}
