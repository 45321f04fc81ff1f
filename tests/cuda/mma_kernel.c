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
 * sub-steps' fragments, for A and B alike (fragment layout: docs/ir.md, WMMA). */
#include <stdlib.h>

#include <cgrad/ir_util.h>

#include "mma_kernel.h"

typedef struct {
  cg_ir_builder *b;
  cg_ir_type i32;
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

cg_ir_program *mma_matmul_ir(int M, int N, int K, cg_ir_scalar dt, int shape) {
  if (M % 128 || N % 64 || K % 32 || M <= 0 || N <= 0 || K <= 0) return NULL;
  kb k = {cg_irb_new(dt == CG_IR_BFLOAT16 ? "mma_matmul_bf16" : "mma_matmul_f16"), cg_ir_t(CG_IR_INT32)};
  cg_ir_builder *b = k.b;
  if (!b) return NULL;
  int pc = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, (int64_t)M * N);
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)M * K);
  int pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)N * K);
  cg_ir_type fp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), hp = cg_ir_ptr(dt, CG_IR_AS_GLOBAL);
  cg_ir_type hp8 = hp, fp2 = fp, f2 = cg_ir_t(CG_IR_FLOAT32), h8 = cg_ir_t(dt);
  cg_ir_type va = h8, vb = h8, vc = f2, rp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), rp4 = rp, vt = cg_ir_t(CG_IR_VOID);
  hp8.vec = 8, fp2.vec = 2, f2.vec = 2, h8.vec = 8, va.vec = 8, vb.vec = 4, vc.vec = 4, rp4.vec = 4;
  int32_t C = cg_irb_emit(b, CG_IR_PARAM, fp, 0, NULL, pc);
  int32_t A = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pa), B = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pb);
  int32_t gx = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_GROUP);
  int32_t gy = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 1 + 3 * CG_IR_SPECIAL_GROUP);
  int32_t l = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_LOCAL);
  int32_t warp = op2(&k, CG_IR_IDIV, l, ci(&k, 32)), lane = op2(&k, CG_IR_MOD, l, ci(&k, 32));
  int32_t g = op2(&k, CG_IR_IDIV, lane, ci(&k, 4)), t = op2(&k, CG_IR_MOD, lane, ci(&k, 4));
  int32_t mbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gy, ci(&k, 128)),
                      op2(&k, CG_IR_MUL, op2(&k, CG_IR_IDIV, warp, ci(&k, 2)), ci(&k, 64)));
  int32_t nbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gx, ci(&k, 64)),
                      op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, warp, ci(&k, 2)), ci(&k, 32)));
  int32_t rowa[4][2], rowb[4];
  for (int mi = 0; mi < 4; mi++) {
    rowa[mi][0] = op2(&k, CG_IR_ADD, mbase, op2(&k, CG_IR_ADD, g, ci(&k, mi * 16)));
    rowa[mi][1] = op2(&k, CG_IR_ADD, rowa[mi][0], ci(&k, 8));
  }
  for (int ni = 0; ni < 4; ni++) rowb[ni] = op2(&k, CG_IR_ADD, nbase, op2(&k, CG_IR_ADD, g, ci(&k, ni * 8)));
  /* accumulators: tile (mi, ni) at acc[16*mi + 4*ni .. +3] */
  int32_t acc = cg_irb_emit(b, CG_IR_DEFINE_REG, rp, 0, NULL, 64);
  int32_t z = cg_irb_const_f(b, CG_IR_FLOAT32, 0), zs[4] = {z, z, z, z};
  int32_t zero4 = cg_irb_emit(b, CG_IR_VECTORIZE, vc, 4, zs, 0);
  for (int j = 0; j < 16; j++) {
    int32_t s[2] = {at(&k, acc, rp4, ci(&k, 4 * j)), zero4};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, s, 0);
  }
  int32_t rs[2] = {ci(&k, 0), ci(&k, K / 32)};
  int32_t kk = cg_irb_emit(b, CG_IR_RANGE, k.i32, 2, rs, 0);
  int32_t k0 = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, kk, ci(&k, 32)), op2(&k, CG_IR_MUL, t, ci(&k, 8)));
  int32_t la[4][2], lb[4];
  for (int mi = 0; mi < 4; mi++)
    for (int h = 0; h < 2; h++) {
      int32_t p = at(&k, A, hp8, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, rowa[mi][h], ci(&k, K)), k0));
      la[mi][h] = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
    }
  for (int ni = 0; ni < 4; ni++) {
    int32_t p = at(&k, B, hp8, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, rowb[ni], ci(&k, K)), k0));
    lb[ni] = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
  }
  for (int s = 0; s < 2; s++) {
    int32_t fa[4], fb[4];
    for (int mi = 0; mi < 4; mi++) { /* a = row g: k 2t,2t+1 | row g+8 | row g: 2t+8,+9 | row g+8 */
      int32_t e[8];
      for (int j = 0; j < 8; j++) e[j] = gep(&k, la[mi][(j / 2) & 1], dt, 4 * s + (j / 4) * 2 + j % 2);
      fa[mi] = cg_irb_emit(b, CG_IR_VECTORIZE, va, 8, e, 0);
    }
    for (int ni = 0; ni < 4; ni++) { /* b = col g: k 2t,2t+1 | k 2t+8,+9 */
      int32_t e[4];
      for (int j = 0; j < 4; j++) e[j] = gep(&k, lb[ni], dt, 4 * s + j);
      fb[ni] = cg_irb_emit(b, CG_IR_VECTORIZE, vb, 4, e, 0);
    }
    for (int mi = 0; mi < 4; mi++)
      for (int ni = 0; ni < 4; ni++) {
        int32_t ap = at(&k, acc, rp4, ci(&k, 16 * mi + 4 * ni));
        int32_t cur = cg_irb_emit(b, CG_IR_LOAD, vc, 1, &ap, 0);
        int32_t w[3] = {fa[mi], fb[ni], cur};
        int32_t d = cg_irb_emit(b, CG_IR_WMMA, vc, 3, w, shape);
        int32_t st[2] = {ap, d};
        cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
      }
  }
  cg_irb_emit(b, CG_IR_ENDRANGE, vt, 1, &kk, 0);
  int32_t col0 = op2(&k, CG_IR_MUL, t, ci(&k, 2));
  for (int mi = 0; mi < 4; mi++)
    for (int ni = 0; ni < 4; ni++) {
      int32_t ap = at(&k, acc, rp4, ci(&k, 16 * mi + 4 * ni));
      int32_t d = cg_irb_emit(b, CG_IR_LOAD, vc, 1, &ap, 0);
      int32_t col = op2(&k, CG_IR_ADD, op2(&k, CG_IR_ADD, nbase, ci(&k, ni * 8)), col0);
      for (int h = 0; h < 2; h++) { /* d[0..1] row g, d[2..3] row g+8; columns 2t, 2t+1 */
        int32_t e[2] = {gep(&k, d, CG_IR_FLOAT32, 2 * h), gep(&k, d, CG_IR_FLOAT32, 2 * h + 1)};
        int32_t v = cg_irb_emit(b, CG_IR_VECTORIZE, f2, 2, e, 0);
        int32_t p = at(&k, C, fp2, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, rowa[mi][h], ci(&k, N)), col));
        int32_t st[2] = {p, v};
        cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
      }
    }
  uint32_t grid[3] = {(uint32_t)(N / 64), (uint32_t)(M / 128), 1}, local[3] = {128, 1, 1};
  cg_irb_set_launch(b, grid, local);
  cg_irb_set_cost(b, 2ull * (uint64_t)M * N * K, 2ull * ((uint64_t)M * K + (uint64_t)N * K) + 4ull * M * N);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}

/* Warp-level part shared by both kernels would be nice; the smem kernel repeats the
 * fragment gathering on purpose so that each kernel reads top to bottom. */
cg_ir_program *mma_matmul_smem_ir(int M, int N, int K, cg_ir_scalar dt, int shape) {
  if (M % 128 || N % 128 || K % 32 || M <= 0 || N <= 0 || K <= 0) return NULL;
  kb k = {cg_irb_new(dt == CG_IR_BFLOAT16 ? "mma_smem_bf16" : "mma_smem_f16"), cg_ir_t(CG_IR_INT32)};
  cg_ir_builder *b = k.b;
  if (!b) return NULL;
  int KT = K / 32;
  int pc = cg_irb_param(b, CG_IR_FLOAT32, CG_IR_PARAM_WRITE, (int64_t)M * N);
  int pa = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)M * K);
  int pb = cg_irb_param(b, dt, CG_IR_PARAM_READ, (int64_t)N * K);
  cg_ir_type fp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_GLOBAL), hp = cg_ir_ptr(dt, CG_IR_AS_GLOBAL);
  cg_ir_type lp = cg_ir_ptr(dt, CG_IR_AS_LOCAL), hr = cg_ir_ptr(dt, CG_IR_AS_REG);
  cg_ir_type hp8 = hp, lp8 = lp, hr8 = hr, fp2 = fp, f2 = cg_ir_t(CG_IR_FLOAT32), h8 = cg_ir_t(dt);
  cg_ir_type va = h8, vb = h8, vc = f2, rp = cg_ir_ptr(CG_IR_FLOAT32, CG_IR_AS_REG), rp4 = rp, vt = cg_ir_t(CG_IR_VOID);
  hp8.vec = 8, lp8.vec = 8, hr8.vec = 8, fp2.vec = 2, f2.vec = 2, h8.vec = 8, va.vec = 8, vb.vec = 4, vc.vec = 4, rp4.vec = 4;
  int32_t C = cg_irb_emit(b, CG_IR_PARAM, fp, 0, NULL, pc);
  int32_t A = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pa), B = cg_irb_emit(b, CG_IR_PARAM, hp, 0, NULL, pb);
  int32_t gx = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_GROUP);
  int32_t gy = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 1 + 3 * CG_IR_SPECIAL_GROUP);
  int32_t l = cg_irb_emit(b, CG_IR_SPECIAL, k.i32, 0, NULL, 0 + 3 * CG_IR_SPECIAL_LOCAL);
  int32_t warp = op2(&k, CG_IR_IDIV, l, ci(&k, 32)), lane = op2(&k, CG_IR_MOD, l, ci(&k, 32));
  int32_t g = op2(&k, CG_IR_IDIV, lane, ci(&k, 4)), t = op2(&k, CG_IR_MOD, lane, ci(&k, 4));
  int32_t wm = op2(&k, CG_IR_MUL, op2(&k, CG_IR_IDIV, warp, ci(&k, 4)), ci(&k, 64)); /* row of the warp tile */
  int32_t wn = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, warp, ci(&k, 4)), ci(&k, 32)); /* column */
  int32_t As = cg_irb_emit(b, CG_IR_DEFINE_LOCAL, lp, 0, NULL, 128 * 32);
  int32_t Bs = cg_irb_emit(b, CG_IR_DEFINE_LOCAL, lp, 0, NULL, 128 * 32);
  int32_t pre = cg_irb_emit(b, CG_IR_DEFINE_REG, hr, 0, NULL, 32); /* next step's 4 x 8 values */
  int32_t acc = cg_irb_emit(b, CG_IR_DEFINE_REG, rp, 0, NULL, 64);
  /* copy mapping: chunk c (0..1) of work-item l: tile row (l + 256c) / 4, k chunk (l % 4) * 8 */
  int32_t crow[2], ck = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, l, ci(&k, 4)), ci(&k, 8)), gsrc[4], sdst[4];
  for (int c = 0; c < 2; c++) {
    crow[c] = op2(&k, CG_IR_IDIV, op2(&k, CG_IR_ADD, l, ci(&k, 256 * c)), ci(&k, 4));
    int32_t arow = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gy, ci(&k, 128)), crow[c]);
    int32_t brow = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gx, ci(&k, 128)), crow[c]);
    gsrc[c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, arow, ci(&k, K)), ck);
    gsrc[2 + c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, brow, ci(&k, K)), ck);
    sdst[c] = sdst[2 + c] = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, crow[c], ci(&k, 32)), ck);
  }
  int32_t z = cg_irb_const_f(b, CG_IR_FLOAT32, 0), zs[4] = {z, z, z, z};
  int32_t zero4 = cg_irb_emit(b, CG_IR_VECTORIZE, vc, 4, zs, 0);
  for (int j = 0; j < 16; j++) {
    int32_t st[2] = {at(&k, acc, rp4, ci(&k, 4 * j)), zero4};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
  }
  for (int j = 0; j < 4; j++) { /* prologue: step 0 into the prefetch registers */
    int32_t p = at(&k, j < 2 ? A : B, hp8, gsrc[j]);
    int32_t v = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
    int32_t st[2] = {at(&k, pre, hr8, ci(&k, 8 * j)), v};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
  }
  int32_t rs[2] = {ci(&k, 0), ci(&k, KT)};
  int32_t kt = cg_irb_emit(b, CG_IR_RANGE, k.i32, 2, rs, 0);
  cg_irb_emit(b, CG_IR_BARRIER, vt, 0, NULL, 0); /* everyone is done reading the tiles */
  for (int j = 0; j < 4; j++) {
    int32_t p = at(&k, pre, hr8, ci(&k, 8 * j));
    int32_t v = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
    int32_t st[2] = {at(&k, j < 2 ? As : Bs, lp8, sdst[j]), v};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
  }
  cg_irb_emit(b, CG_IR_BARRIER, vt, 0, NULL, 0);
  /* next step's loads, in flight during this step's WMMAs (the last step reloads step 0) */
  int32_t knext = op2(&k, CG_IR_MUL, op2(&k, CG_IR_MOD, op2(&k, CG_IR_ADD, kt, ci(&k, 1)), ci(&k, KT)), ci(&k, 32));
  for (int j = 0; j < 4; j++) {
    int32_t p = at(&k, j < 2 ? A : B, hp8, op2(&k, CG_IR_ADD, gsrc[j], knext));
    int32_t v = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
    int32_t st[2] = {at(&k, pre, hr8, ci(&k, 8 * j)), v};
    cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
  }
  int32_t la[4][2], lb[4], t8 = op2(&k, CG_IR_MUL, t, ci(&k, 8));
  for (int mi = 0; mi < 4; mi++)
    for (int h = 0; h < 2; h++) {
      int32_t row = op2(&k, CG_IR_ADD, wm, op2(&k, CG_IR_ADD, g, ci(&k, mi * 16 + h * 8)));
      int32_t p = at(&k, As, lp8, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, row, ci(&k, 32)), t8));
      la[mi][h] = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
    }
  for (int ni = 0; ni < 4; ni++) {
    int32_t row = op2(&k, CG_IR_ADD, wn, op2(&k, CG_IR_ADD, g, ci(&k, ni * 8)));
    int32_t p = at(&k, Bs, lp8, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, row, ci(&k, 32)), t8));
    lb[ni] = cg_irb_emit(b, CG_IR_LOAD, h8, 1, &p, 0);
  }
  for (int s = 0; s < 2; s++) {
    int32_t fa[4], fb[4];
    for (int mi = 0; mi < 4; mi++) {
      int32_t e[8];
      for (int j = 0; j < 8; j++) e[j] = gep(&k, la[mi][(j / 2) & 1], dt, 4 * s + (j / 4) * 2 + j % 2);
      fa[mi] = cg_irb_emit(b, CG_IR_VECTORIZE, va, 8, e, 0);
    }
    for (int ni = 0; ni < 4; ni++) {
      int32_t e[4];
      for (int j = 0; j < 4; j++) e[j] = gep(&k, lb[ni], dt, 4 * s + j);
      fb[ni] = cg_irb_emit(b, CG_IR_VECTORIZE, vb, 4, e, 0);
    }
    for (int mi = 0; mi < 4; mi++)
      for (int ni = 0; ni < 4; ni++) {
        int32_t ap = at(&k, acc, rp4, ci(&k, 16 * mi + 4 * ni));
        int32_t cur = cg_irb_emit(b, CG_IR_LOAD, vc, 1, &ap, 0);
        int32_t w[3] = {fa[mi], fb[ni], cur};
        int32_t d = cg_irb_emit(b, CG_IR_WMMA, vc, 3, w, shape);
        int32_t st[2] = {ap, d};
        cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
      }
  }
  cg_irb_emit(b, CG_IR_ENDRANGE, vt, 1, &kt, 0);
  int32_t mbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gy, ci(&k, 128)), wm);
  int32_t nbase = op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, gx, ci(&k, 128)), wn);
  int32_t col0 = op2(&k, CG_IR_MUL, t, ci(&k, 2));
  for (int mi = 0; mi < 4; mi++)
    for (int ni = 0; ni < 4; ni++) {
      int32_t ap = at(&k, acc, rp4, ci(&k, 16 * mi + 4 * ni));
      int32_t d = cg_irb_emit(b, CG_IR_LOAD, vc, 1, &ap, 0);
      int32_t col = op2(&k, CG_IR_ADD, op2(&k, CG_IR_ADD, nbase, ci(&k, ni * 8)), col0);
      for (int h = 0; h < 2; h++) {
        int32_t row = op2(&k, CG_IR_ADD, mbase, op2(&k, CG_IR_ADD, g, ci(&k, mi * 16 + h * 8)));
        int32_t e[2] = {gep(&k, d, CG_IR_FLOAT32, 2 * h), gep(&k, d, CG_IR_FLOAT32, 2 * h + 1)};
        int32_t v = cg_irb_emit(b, CG_IR_VECTORIZE, f2, 2, e, 0);
        int32_t p = at(&k, C, fp2, op2(&k, CG_IR_ADD, op2(&k, CG_IR_MUL, row, ci(&k, N)), col));
        int32_t st[2] = {p, v};
        cg_irb_emit(b, CG_IR_STORE, vt, 2, st, 0);
      }
    }
  uint32_t grid[3] = {(uint32_t)(N / 128), (uint32_t)(M / 128), 1}, local[3] = {256, 1, 1};
  cg_irb_set_launch(b, grid, local);
  cg_irb_set_cost(b, 2ull * (uint64_t)M * N * K, 2ull * ((uint64_t)M * K + (uint64_t)N * K) + 4ull * M * N);
  cg_ir_program *p = cg_irb_finish(b);
  cg_irb_free(b);
  return p;
}
