/* TC opt without a GPU: the optimizer's internals (links cgrad_static) with device props
 * that declare the CUDA plugin's tensor-core shapes. For f16/bf16 matmuls (plain, batched,
 * transposed operands) the TC candidate is found, the heuristic applies TC, and the lowered
 * IR passes the verifier with the expected number of WMMAs and computes the right numbers:
 * a lockstep interpreter of the IR ops tc.c emits, whose WMMA gathers each lane's
 * fragment by the layout table of docs/ir.md (written from the docs, not from tc.c), is
 * compared with the same matmul realized on the CPU. TC is illegal without shapes, for
 * sizes that do not divide, for f32, and with opts other than the allowed ones. The real
 * tensor cores are checked by test_tc (tests/opt/test_tc.c) on a GPU. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrad/cgrad.h"
#include "cgrad/ir_util.h"
#include "runtime.h"
#include "schedule.h"
#include "tc.h"
#include "tensor.h"
#include "uop.h"

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

/* ---- a lockstep interpreter of the IR subset tc.c emits -------------------------------- */

/* x rounded to nearest-even with `bits` significant bits (normal range; enough here). */
static double round_bits(double x, int bits) {
  if (x == 0 || !isfinite(x)) return x;
  int e;
  frexp(x, &e);
  double sc = ldexp(1.0, bits - e);
  return nearbyint(x * sc) / sc;
}

static double round_to(int s, double x) {
  if (s == CG_IR_FLOAT16) return round_bits(x, 11);
  if (s == CG_IR_BFLOAT16) return round_bits(x, 8);
  if (s == CG_IR_FLOAT32) return (double)(float)x;
  return x;
}

static double half_bits(int s, uint16_t h) {
  if (s == CG_IR_BFLOAT16) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? INFINITY : ldexp(1024 + m, e - 25);
  return h & 0x8000 ? -v : v;
}

/* Every work-item of a group runs each instruction together: TC kernels have no IF and
 * uniform loop bounds. mem[i] = elements of param i (doubles). 0 ok, else -1 + message. */
static int interpret(const cg_ir_program *p, double *const *mem, const int64_t *count) {
  const cg_ir_inst *in = cg_ir_insts(p);
  int n = (int)p->ninsts, nt = (int)(p->local[0] * p->local[1] * p->local[2]), rc = 0;
  size_t *off = calloc((size_t)n + 1, sizeof *off);
  for (int i = 0; i < n; i++) off[i + 1] = off[i] + (in[i].type.vec ? in[i].type.vec : 1);
  double *val = calloc(off[n] * (size_t)nt, sizeof(double)), **reg = calloc((size_t)n, sizeof(double *));
#define V(i, t, l) val[(off[i] + (size_t)(l)) * (size_t)nt + (size_t)(t)]
#define S(i, k) cg_ir_src(p, &in[i], k)
  for (int i = 0; i < n; i++)
    if (in[i].op == CG_IR_DEFINE_REG) reg[i] = calloc((size_t)in[i].arg * (size_t)nt, sizeof(double));
  uint32_t groups = p->global[0] * p->global[1] * p->global[2];
  for (uint32_t g = 0; g < groups && !rc; g++)
    for (int i = 0; i < n && !rc; i++) {
      const cg_ir_inst *x = &in[i];
      int w = x->type.vec ? x->type.vec : 1;
      switch (x->op) {
      case CG_IR_PARAM: case CG_IR_DEFINE_REG: break;
      case CG_IR_SPECIAL:
        for (int t = 0; t < nt; t++) V(i, t, 0) = x->arg == 0 ? (double)g : x->arg == 3 ? t : -1;
        break;
      case CG_IR_CONST:
        for (int t = 0; t < nt; t++) V(i, t, 0) = cg_ir_is_float(x->type.scalar) ? cg_ir_const_f(x) : (double)x->arg;
        break;
      case CG_IR_ADD: case CG_IR_SUB: case CG_IR_MUL: case CG_IR_IDIV: case CG_IR_MOD: case CG_IR_MAX:
      case CG_IR_FDIV: case CG_IR_CMPLT: case CG_IR_CMPNE: case CG_IR_CMPEQ:
        for (int t = 0; t < nt; t++) {
          double a = V(S(i, 0), t, 0), b = V(S(i, 1), t, 0), r;
          switch (x->op) {
          case CG_IR_ADD: r = a + b; break;
          case CG_IR_SUB: r = a - b; break;
          case CG_IR_MUL: r = a * b; break;
          case CG_IR_IDIV: r = (double)((int64_t)a / (int64_t)b); break;
          case CG_IR_MOD: r = (double)((int64_t)a % (int64_t)b); break;
          case CG_IR_MAX: r = a > b ? a : b; break;
          case CG_IR_FDIV: r = a / b; break;
          case CG_IR_CMPLT: r = a < b; break;
          case CG_IR_CMPNE: r = a != b; break;
          default: r = a == b; break;
          }
          V(i, t, 0) = round_to(x->type.scalar, r);
        }
        break;
      case CG_IR_WHERE:
        for (int t = 0; t < nt; t++) V(i, t, 0) = V(S(i, 0), t, 0) != 0 ? V(S(i, 1), t, 0) : V(S(i, 2), t, 0);
        break;
      case CG_IR_NEG: case CG_IR_RECIP:
        for (int t = 0; t < nt; t++) {
          double a = V(S(i, 0), t, 0);
          V(i, t, 0) = round_to(x->type.scalar, x->op == CG_IR_NEG ? (x->type.scalar == CG_IR_BOOL ? a == 0 : -a) : 1 / a);
        }
        break;
      case CG_IR_INDEX:
        for (int t = 0; t < nt; t++) V(i, t, 0) = V(S(i, 1), t, 0);
        break;
      case CG_IR_LOAD: case CG_IR_STORE: {
        int ix = S(i, 0), base = S(ix, 0), vw = in[ix].type.vec;
        bool is_reg = in[base].op == CG_IR_DEFINE_REG;
        int64_t lim = is_reg ? in[base].arg : count[in[base].arg];
        for (int t = 0; t < nt && !rc; t++)
          for (int l = 0; l < vw; l++) {
            int64_t e = (int64_t)V(ix, t, 0) + l;
            if (e < 0 || e >= lim) { printf("inst %d: index %lld outside [0, %lld)\n", i, (long long)e, (long long)lim); rc = -1; break; }
            double *cell = is_reg ? &reg[base][e * nt + t] : &mem[in[base].arg][e];
            if (x->op == CG_IR_LOAD) V(i, t, l) = *cell;
            else *cell = V(S(i, 1), t, l);
          }
        break;
      }
      case CG_IR_VECTORIZE:
        for (int t = 0; t < nt; t++)
          for (int l = 0; l < w; l++) V(i, t, l) = V(S(i, l), t, 0);
        break;
      case CG_IR_GEP:
        for (int t = 0; t < nt; t++) V(i, t, 0) = V(S(i, 0), t, x->arg);
        break;
      case CG_IR_CAST:
        for (int t = 0; t < nt; t++) {
          double a = V(S(i, 0), t, 0);
          V(i, t, 0) = x->type.scalar == CG_IR_BOOL ? a != 0 : cg_ir_is_float(x->type.scalar) ? round_to(x->type.scalar, a) : trunc(a);
        }
        break;
      case CG_IR_RANGE:
        for (int t = 0; t < nt; t++) V(i, t, 0) = V(S(i, 0), t, 0);
        break;
      case CG_IR_ENDRANGE: {
        int r = S(i, 0);
        for (int t = 0; t < nt; t++) V(r, t, 0) += 1;
        if (V(r, 0, 0) < V(S(r, 1), 0, 0)) i = r; /* back to the body's first instruction */
        break;
      }
      case CG_IR_WMMA: /* docs/ir.md: lane l, g = l / 4, t = l % 4 */
        for (int wp = 0; wp < nt / 32; wp++) {
          double A[16][16], B[16][8], C[16][8];
          for (int l = 0; l < 32; l++) {
            int th = 32 * wp + l, gg = l / 4, tt = l % 4;
            for (int e = 0; e < 8; e++) A[gg + 8 * ((e / 2) % 2)][2 * tt + e % 2 + 8 * (e / 4)] = V(S(i, 0), th, e);
            for (int e = 0; e < 4; e++) B[2 * tt + e % 2 + 8 * (e / 2)][gg] = V(S(i, 1), th, e);
            for (int e = 0; e < 4; e++) C[gg + 8 * (e / 2)][2 * tt + e % 2] = V(S(i, 2), th, e);
          }
          for (int l = 0; l < 32; l++) {
            int th = 32 * wp + l, gg = l / 4, tt = l % 4;
            for (int e = 0; e < 4; e++) {
              int r = gg + 8 * (e / 2), c = 2 * tt + e % 2;
              double d = C[r][c];
              for (int kx = 0; kx < 16; kx++) d += A[r][kx] * B[kx][c];
              V(i, th, e) = (double)(float)d;
            }
          }
        }
        break;
      default: printf("inst %d: op %d not interpreted\n", i, x->op); rc = -1;
      }
    }
#undef V
#undef S
  for (int i = 0; i < n; i++) free(reg[i]);
  free(reg);
  free(val);
  free(off);
  return rc;
}

/* Runs the TC program on the kernel's realized inputs; compares with want (f32 host copy
 * of the same matmul computed on the CPU device). */
static void check_numbers(const char *what, const cg_kernel *k, const cg_ir_program *ir, const float *want) {
  int np = (int)ir->nparams;
  double *mem[CG_MAX_KERNEL_INPUTS + 1];
  int64_t count[CG_MAX_KERNEL_INPUTS + 1];
  for (int i = 0; i < np; i++) {
    UOp *node = i ? k->in[i - 1] : k->out;
    count[i] = uop_numel(node);
    mem[i] = calloc((size_t)count[i], sizeof(double));
    if (!i) continue;
    uint16_t *raw = calloc((size_t)count[i], 2);
    cg__buffer_read(node->realized, 0, raw, (size_t)count[i] * 2);
    for (int64_t e = 0; e < count[i]; e++) mem[i][e] = half_bits(node->dtype, raw[e]);
    free(raw);
  }
  CHECK(interpret(ir, mem, count) == 0, "%s: interpreter", what);
  double rel = k->out->dtype == CG_FLOAT16 ? 1.0 / 256 : 1.0 / 64;
  int bad = 0;
  for (int64_t e = 0; e < count[0] && bad < 3; e++)
    if (!(fabs(mem[0][e] - want[e]) <= rel * fabs(want[e]) + 1e-3)) {
      printf("FAIL %s: [%lld] TC IR %.6g, CPU %.6g\n", what, (long long)e, mem[0][e], want[e]);
      bad++, fails++;
    }
  for (int i = 0; i < np; i++) free(mem[i]);
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
  int64_t n = cg_numel(out);
  float *want = malloc(sizeof(float) * (size_t)n);
  CHECK(cg_to_host(cg_cast(out, CG_FLOAT32), want, sizeof(float) * (size_t)n) == CG_OK, "%s: CPU run", what);
  check_numbers(what, &k, ir, want);
  free(want);
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
  CHECK(p.tc_in == CG_FLOAT16, "matmul + relu epilogue is a TC candidate");
  cg__plan_init(cg_sum(cg_matmul(a, b), 0, NULL, false)->u, &p);
  CHECK(p.tc_in == 0, "a second reduce over the matmul is no TC candidate");
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
    /* fused epilogues: bias + relu of a linear layer (w stored out x in), a residual */
    static const int64_t sx[] = {64, 48}, sw[] = {32, 48}, sbias[] = {32}, sres[] = {32, 16};
    check_tc("linear + bias + relu", cg_relu(cg_linear(input(dt, 2, sx), input(dt, 2, sw), input(dt, 1, sbias))), 4);
    check_tc("matmul + residual", cg_add(cg_matmul(input(dt, 2, k48a), input(dt, 2, k48b)), input(dt, 2, sres)), 4);
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
