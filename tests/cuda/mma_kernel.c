/* The tensor-core matmul kernel of mma_kernel.h, written with the IR builder.
 *
 * A work-group of 4 warps computes a 128 x 64 tile of C, each warp 64 x 32: 4 x 4
 * WMMA tiles of 16 x 8, their 64 fp32 accumulators in a DEFINE_REG array. Each step of
 * the K loop covers 32 values of k: every lane loads 8 consecutive k values (one 16-byte
 * vector LOAD) from each of the 8 rows of A and 4 rows of B it needs, straight from
 * global memory (no shared memory, no double buffering: a simple kernel).
 *
 * K is permuted inside each step, which is allowed because a sum over k does not care
 * about order as long as A and B agree: the WMMA fragment's logical k values 2t, 2t+1
 * (lane t = lane % 4) and 2t+8, 2t+9 are taken from actual k = 8t + 4s + {0,1} and
 * 8t + 4s + {2,3} for sub-step s in {0,1}. So a lane's 8 loaded values feed both
 * sub-steps' fragments, for A and B alike (fragment layout: docs/ir.md, WMMA).
 *
 * The shared-memory kernel (mma_matmul_smem_ir) differs only in where the 8-value loads
 * come from; both build their ids, accumulators, WMMA steps and C stores with the same
 * helpers below, which emit instructions in the same order as the kernels always did. */
#include <stdlib.h>

#include <cgrad/ir_util.h>

#include "mma_kernel.h"

/* The builder and what both kernels share: types, parameters and thread ids. */
typedef struct {
  cg_ir_builder *b;
  cg_ir_type i32;
  cg_ir_scalar dt;                         /* float16 or bfloat16 */
  cg_ir_type hp8, lp8, hr8, fp2, f2, h8;   /* 8 x dt pointers (global, local, reg), float2 */
  cg_ir_type va, vb, vc, rp4, vt;          /* WMMA fragments a, b, c/d; float4 reg ptr; void */
  int32_t C, A, B;                         /* parameters */
  int32_t gx, gy, l;                       /* group ids, local id */
  int32_t warp, lane, g, t;                /* warp in the group, lane, lane / 4, lane % 4 */
} kb;

static int32_t op2(kb *k, cg_ir_op op, int32_t x, int32_t y) {
  int32_t s[2] = {x, y};
  return cg_irb_emit(k->b, op, k->i32, 2, s, 0);
}
static int32_t ci(kb *k, int64_t v) { return cg_irb_const_i(k->b, CG_IR_INT32, v); }
static int32_t at(kb *k, int32_t ptr, cg_ir_type pt, int32_t idx) {
  int32_t s[2] = {ptr, idx};
  return cg_irb_emit(k->b, CG_IR_INDEX, pt, 2, s, 0);
}
static int32_t gep(kb *k, int32_t v, cg_ir_scalar s, int lane) {
  return cg_irb_emit(k->b, CG_IR_GEP, cg_ir_t(s), 1, &v, lane);
}

/* Starts kernel `name`: parameters C (M x N float32), A (M x K dt), B (N x K dt), the
 * group and local ids, warp = l / 32, lane = l % 32, g = lane / 4, t = lane % 4.
 * Returns 0, or -1 when the builder cannot be made. */
static int kb_begin(kb *k, const char *name, int M, int N, int K, cg_ir_scalar dt) {
  k->b = cg_irb_new(name), k->i32 = cg_ir_t(CG_IR_INT32), k->dt = dt;
  cg_ir_builder *b = k->b;
  if (!b) return -1;
  int pc = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, (int64_t)M * N);
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)M * K);
  int pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)N * K);
  cg_ir_type fp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), hp = cg_ir_ptr(dt, CG_IR_AS_GLOBAL);
  k->hp8 = hp, k->lp8 = cg_ir_ptr(dt, CG_IR_AS_LOCAL), k->hr8 = cg_ir_ptr(dt, CG_IR_AS_REG), k->fp2 = fp;
  k->f2 = cg_ir_t(CG_IR_FLOAT32), k->h8 = cg_ir_t(dt), k->va = k->h8, k->vb = k->h8, k->vc = k->f2;
  k->rp4 = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), k->vt = cg_ir_t(CG_IR_VOID);
  k->hp8.vec = 8, k->lp8.vec = 8, k->hr8.vec = 8, k->fp2.vec = 2, k->f2.vec = 2, k->h8.vec = 8;
  k->va.vec = 8, k->vb.vec = 4, k->vc.vec = 4, k->rp4.vec = 4;
  k->C = cg_irb_emit(b, CG_IR_PARAM, fp, 0, NULL, pc);
  k->A = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pa);
  k->B = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pb);
  k->gx = cg_irb_emit(b, CG_IR_SPECIAL, k->i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_GROUP);
  k->gy = cg_irb_emit(b, CG_IR_SPECIAL, k->i32, 0, NULL, 1 + 3 * CG_IR_SPECIAL_GROUP);
  k->l = cg_irb_emit(b, CG_IR_SPECIAL, k->i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_LOCAL);
  k->warp = op2(k, CG_IR_IDIV, k->l, ci(k, 32));
  k->lane = op2(k, CG_IR_MOD, k->l, ci(k, 32));
  k->g = op2(k, CG_IR_IDIV, k->lane, ci(k, 4));
  k->t = op2(k, CG_IR_MOD, k->lane, ci(k, 4));
  return 0;
}

/* Sets launch and cost, finishes and frees the builder. Returns the program (NULL on
 * a builder error). */
static cg_ir_program *kb_finish(kb *k, int M, int N, int K, uint32_t tile_n, uint32_t threads) {
  uint32_t grid[3] = {(uint32_t)N / tile_n, (uint32_t)(M / 128), 1}, local[3] = {threads, 1, 1};
  cg_irb_set_launch(k->b, grid, local);
  cg_irb_set_cost(k->b, 2ull * (uint64_t)M * N * K, 2ull * ((uint64_t)M * K + (uint64_t)N * K) + 4ull * M * N);
  cg_ir_program *p = cg_irb_finish(k->b);
  cg_irb_free(k->b);
  return p;
}

/* acc[0..63] = 0, as 16 float4 stores. */
static void zero_acc(kb *k, int32_t acc) {
  int32_t z = cg_irb_const_f(k->b, CG_IR_FLOAT32, 0), zs[4] = {z, z, z, z};
  int32_t zero4 = cg_irb_emit(k->b, CG_IR_VECTORIZE, k->vc, 4, zs, 0);
  for (int j = 0; j < 16; j++) {
    int32_t s[2] = {at(k, acc, k->rp4, ci(k, 4 * j)), zero4};
    cg_irb_emit(k->b, CG_IR_STORE, k->vt, 2, s, 0);
  }
}

/* One 16-byte LOAD: the 8 dt values at buf[row * stride + k0]. */
static int32_t load8(kb *k, int32_t buf, cg_ir_type pt, int32_t row, int64_t stride, int32_t k0) {
  int32_t p = at(k, buf, pt, op2(k, CG_IR_ADD, op2(k, CG_IR_MUL, row, ci(k, stride)), k0));
  return cg_irb_emit(k->b, CG_IR_LOAD, k->h8, 1, &p, 0);
}

/* The WMMAs of one step of 32 k values: la[mi][h] holds a lane's 8 values of A row
 * (g + 16 mi + 8 h), lb[ni] those of B row (g + 8 ni); the two sub-steps s gather their
 * fragments from them (k permutation: file comment) and accumulate the 4 x 4 tiles
 * into acc (tile (mi, ni) at acc[16*mi + 4*ni .. +3]). */
static void mma_step(kb *k, int32_t la[4][2], const int32_t lb[4], int32_t acc, int shape) {
  cg_ir_builder *b = k->b;
  for (int s = 0; s < 2; s++) {
    int32_t fa[4], fb[4];
    for (int mi = 0; mi < 4; mi++) { /* a = row g: k 2t,2t+1 | row g+8 | row g: 2t+8,+9 | row g+8 */
      int32_t e[8];
      for (int j = 0; j < 8; j++) e[j] = gep(k, la[mi][(j / 2) & 1], k->dt, 4 * s + (j / 4) * 2 + j % 2);
      fa[mi] = cg_irb_emit(b, CG_IR_VECTORIZE, k->va, 8, e, 0);
    }
    for (int ni = 0; ni < 4; ni++) { /* b = col g: k 2t,2t+1 | k 2t+8,+9 */
      int32_t e[4];
      for (int j = 0; j < 4; j++) e[j] = gep(k, lb[ni], k->dt, 4 * s + j);
      fb[ni] = cg_irb_emit(b, CG_IR_VECTORIZE, k->vb, 4, e, 0);
    }
    for (int mi = 0; mi < 4; mi++)
      for (int ni = 0; ni < 4; ni++) {
        int32_t ap = at(k, acc, k->rp4, ci(k, 16 * mi + 4 * ni));
        int32_t cur = cg_irb_emit(b, CG_IR_LOAD, k->vc, 1, &ap, 0);
        int32_t w[3] = {fa[mi], fb[ni], cur};
        int32_t d = cg_irb_emit(b, CG_IR_WMMA, k->vc, 3, w, shape);
        int32_t st[2] = {ap, d};
        cg_irb_emit(b, CG_IR_STORE, k->vt, 2, st, 0);
      }
  }
}

/* Stores the warp's 64 x 32 tile from acc into C (N columns): tile (mi, ni) at rows
 * rows[mi][h] (h = 0: d[0..1], h = 1: d[2..3]), columns nbase + 8 ni + 2t, +1. rows NULL:
 * the rows are mbase + (g + 16 mi + 8 h), computed here. */
static void store_c(kb *k, int32_t acc, int N, int32_t rows[4][2], int32_t mbase, int32_t nbase) {
  cg_ir_builder *b = k->b;
  int32_t col0 = op2(k, CG_IR_MUL, k->t, ci(k, 2));
  for (int mi = 0; mi < 4; mi++)
    for (int ni = 0; ni < 4; ni++) {
      int32_t ap = at(k, acc, k->rp4, ci(k, 16 * mi + 4 * ni));
      int32_t d = cg_irb_emit(b, CG_IR_LOAD, k->vc, 1, &ap, 0);
      int32_t col = op2(k, CG_IR_ADD, op2(k, CG_IR_ADD, nbase, ci(k, ni * 8)), col0);
      for (int h = 0; h < 2; h++) { /* d[0..1] row g, d[2..3] row g+8; columns 2t, 2t+1 */
        int32_t row = rows ? rows[mi][h] : op2(k, CG_IR_ADD, mbase, op2(k, CG_IR_ADD, k->g, ci(k, mi * 16 + h * 8)));
        int32_t e[2] = {gep(k, d, CG_IR_FLOAT32, 2 * h), gep(k, d, CG_IR_FLOAT32, 2 * h + 1)};
        int32_t v = cg_irb_emit(b, CG_IR_VECTORIZE, k->f2, 2, e, 0);
        int32_t p = at(k, k->C, k->fp2, op2(k, CG_IR_ADD, op2(k, CG_IR_MUL, row, ci(k, N)), col));
        int32_t st[2] = {p, v};
        cg_irb_emit(b, CG_IR_STORE, k->vt, 2, st, 0);
      }
    }
}

cg_ir_program *mma_matmul_ir(int M, int N, int K, cg_ir_scalar dt, int shape) {
  if (M % 128 || N % 64 || K % 32 || M <= 0 || N <= 0 || K <= 0) return NULL;
  kb k;
  if (kb_begin(&k, dt == CG_IR_BFLOAT16 ? "mma_matmul_bf16" : "mma_matmul_f16", M, N, K, dt)) return NULL;
  cg_ir_builder *b = k.b;
  int32_t mbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gy, ci(&k, 128)),
                      op2(&k, CG_IR_MUL, op2(&k, CG_IR_IDIV, k.warp, ci(&k, 2)), ci(&k, 64)));
  int32_t nbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gx, ci(&k, 64)),
                      op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, k.warp, ci(&k, 2)), ci(&k, 32)));
  int32_t rowa[4][2], rowb[4];
  for (int mi = 0; mi < 4; mi++) {
    rowa[mi][0] = op2(&k, CG_IR_ADD, mbase, op2(&k, CG_IR_ADD, k.g, ci(&k, mi * 16)));
    rowa[mi][1] = op2(&k, CG_IR_ADD, rowa[mi][0], ci(&k, 8));
  }
  for (int ni = 0; ni < 4; ni++) rowb[ni] = op2(&k, CG_IR_ADD, nbase, op2(&k, CG_IR_ADD, k.g, ci(&k, ni * 8)));
  /* accumulators: tile (mi, ni) at acc[16*mi + 4*ni .. +3] */
  int32_t acc = cg_irb_emit(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, NULL, 64);
  zero_acc(&k, acc);
  int32_t rs[2] = {ci(&k, 0), ci(&k, K / 32)};
  int32_t kk = cg_irb_emit(b, CG_IR_RANGE, k.i32, 2, rs, 0);
  int32_t k0 = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, kk, ci(&k, 32)), op2(&k, CG_IR_MUL, k.t, ci(&k, 8)));
  int32_t la[4][2], lb[4];
  for (int mi = 0; mi < 4; mi++)
    for (int h = 0; h < 2; h++) la[mi][h] = load8(&k, k.A, k.hp8, rowa[mi][h], K, k0);
  for (int ni = 0; ni < 4; ni++) lb[ni] = load8(&k, k.B, k.hp8, rowb[ni], K, k0);
  mma_step(&k, la, lb, acc, shape);
  cg_irb_emit(b, CG_IR_ENDRANGE, k.vt, 1, &kk, 0);
  store_c(&k, acc, N, rowa, -1, nbase);
  return kb_finish(&k, M, N, K, 64, 128);
}

/* pre[8j .. 8j+7] = the 8 values at src[j] (+ koff when koff >= 0) of A (j < 2) or B:
 * the global loads of one step into the prefetch registers. */
static void prefetch(kb *k, int32_t pre, const int32_t src[4], int32_t koff) {
  for (int j = 0; j < 4; j++) {
    int32_t p = at(k, j < 2 ? k->A : k->B, k->hp8, koff < 0 ? src[j] : op2(k, CG_IR_ADD, src[j], koff));
    int32_t v = cg_irb_emit(k->b, CG_IR_LOAD, k->h8, 1, &p, 0);
    int32_t st[2] = {at(k, pre, k->hr8, ci(k, 8 * j)), v};
    cg_irb_emit(k->b, CG_IR_STORE, k->vt, 2, st, 0);
  }
}

cg_ir_program *mma_matmul_smem_ir(int M, int N, int K, cg_ir_scalar dt, int shape) {
  if (M % 128 || N % 128 || K % 32 || M <= 0 || N <= 0 || K <= 0) return NULL;
  kb k;
  if (kb_begin(&k, dt == CG_IR_BFLOAT16 ? "mma_smem_bf16" : "mma_smem_f16", M, N, K, dt)) return NULL;
  cg_ir_builder *b = k.b;
  int KT = K / 32;
  cg_ir_type lp = cg_ir_ptr(dt, CG_IR_AS_LOCAL), vt = k.vt;
  int32_t l = k.l, g = k.g;
  int32_t wm = op2(&k, CG_IR_MUL, op2(&k, CG_IR_IDIV, k.warp, ci(&k, 4)), ci(&k, 64)); /* row of the warp tile */
  int32_t wn = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, k.warp, ci(&k, 4)), ci(&k, 32)); /* column */
  int32_t As = cg_irb_emit(b, CG_IR_DEFINE_LOCAL, lp, 0, NULL, 128 * 32);
  int32_t Bs = cg_irb_emit(b, CG_IR_DEFINE_LOCAL, lp, 0, NULL, 128 * 32);
  /* the next step's 4 x 8 values */
  int32_t pre = cg_irb_emit(b, CG_IR_DEFINE_REG, cg_ir_ptr(dt, CG_IR_AS_REG), 0, NULL, 32);
  int32_t acc = cg_irb_emit(b, CG_IR_DEFINE_REG, cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), 0, NULL, 64);
  /* copy mapping: chunk c (0..1) of work-item l: tile row (l + 256c) / 4, k chunk (l % 4) * 8 */
  int32_t crow[2], ck = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, l, ci(&k, 4)), ci(&k, 8)), gsrc[4], sdst[4];
  for (int c = 0; c < 2; c++) {
    crow[c] = op2(&k, CG_IR_IDIV, op2(&k, CG_IR_ADD, l, ci(&k, 256 * c)), ci(&k, 4));
    int32_t arow = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gy, ci(&k, 128)), crow[c]);
    int32_t brow = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gx, ci(&k, 128)), crow[c]);
    gsrc[c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, arow, ci(&k, K)), ck);
    gsrc[2 + c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, brow, ci(&k, K)), ck);
    sdst[c] = sdst[2 + c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, crow[c], ci(&k, 32)), ck);
  }
  zero_acc(&k, acc);
  prefetch(&k, pre, gsrc, -1); /* prologue: step 0 into the prefetch registers */
  int32_t rs[2] = {ci(&k, 0), ci(&k, KT)};
  int32_t kt = cg_irb_emit(b, CG_IR_RANGE, k.i32, 2, rs, 0);
  cg_irb_emit(b, CG_IR_BARRIER, vt, 0, NULL, 0); /* everyone is done reading the tiles */
  for (int j = 0; j < 4; j++) {
    int32_t p = at(&k, pre, k.hr8, ci(&k, 8 * j));
    int32_t v = cg_irb_emit(b, CG_IR_LOAD, k.h8, 1, &p, 0);
    int32_t st[2] = {at(&k, j < 2 ? As : Bs, k.lp8, sdst[j]), v};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
  }
  cg_irb_emit(b, CG_IR_BARRIER, vt, 0, NULL, 0);
  /* next step's loads, in flight during this step's WMMAs (the last step reloads step 0) */
  int32_t knext = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, op2(&k, CG_IR_ADD, kt, ci(&k, 1)), ci(&k, KT)), ci(&k, 32));
  prefetch(&k, pre, gsrc, knext);
  int32_t la[4][2], lb[4], t8 = op2(&k, CG_IR_MUL, k.t, ci(&k, 8));
  for (int mi = 0; mi < 4; mi++)
    for (int h = 0; h < 2; h++) {
      int32_t row = op2(&k, CG_IR_ADD, wm, op2(&k, CG_IR_ADD, g, ci(&k, mi * 16 + h * 8)));
      la[mi][h] = load8(&k, As, k.lp8, row, 32, t8);
    }
  for (int ni = 0; ni < 4; ni++) {
    int32_t row = op2(&k, CG_IR_ADD, wn, op2(&k, CG_IR_ADD, g, ci(&k, ni * 8)));
    lb[ni] = load8(&k, Bs, k.lp8, row, 32, t8);
  }
  mma_step(&k, la, lb, acc, shape);
  cg_irb_emit(b, CG_IR_ENDRANGE, vt, 1, &kt, 0);
  int32_t mbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gy, ci(&k, 128)), wm);
  int32_t nbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, k.gx, ci(&k, 128)), wn);
  store_c(&k, acc, N, NULL, mbase, nbase);
  return kb_finish(&k, M, N, K, 128, 256);
}
