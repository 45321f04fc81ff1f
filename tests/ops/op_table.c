/* The op table: one wrapper per golden key, each calling the public cgrad API on the
 * case's inputs x[0..]. Shapes, dtypes and data come from goldens.txt (written by
 * gen_goldens.py, whose case list uses the same keys); the fixed op arguments (axes,
 * strides, scalars) live here and must match the torch lambdas there.
 * A wrapper returns a new reference (the runner calls it inside a scope). */
#include "op_table.h"

#include <math.h>
#include <stddef.h>

#define X0 x[0]
#define UN(k) \
  static cg_tensor *op_##k(cg_tensor *const *x) { return cg_##k(X0); }
#define BIN(k) \
  static cg_tensor *op_##k(cg_tensor *const *x) { return cg_##k(x[0], x[1]); }
/* wrapper with a body expression over x */
#define OP(k, expr) \
  static cg_tensor *op_##k(cg_tensor *const *x) { (void)x; return (expr); }

static const int64_t s23[] = {2, 3}, s3[] = {3}, s4[] = {4};

/* ---- creation ---- */
OP(arange_f32, cg_arange(0, 10, 1, CG_FLOAT32))
OP(arange_frac, cg_arange(1, 4, 0.5, CG_FLOAT32))
OP(arange_neg, cg_arange(5, -1, -1.5, CG_FLOAT32))
OP(arange_i32, cg_arange(0, 10, 3, CG_INT32))
OP(linspace_01, cg_linspace(0, 1, 5, CG_FLOAT32))
OP(linspace_m22, cg_linspace(-2, 2, 9, CG_FLOAT32))
OP(eye_4, cg_eye(4, CG_FLOAT32))
OP(full_f32, cg_full(CG_FLOAT32, 2, s23, 2.5))
OP(full_i32, cg_full(CG_INT32, 1, s3, 7))
OP(zeros_23, cg_zeros(CG_FLOAT32, 2, s23))
OP(ones_4, cg_ones(CG_FLOAT32, 1, s4))
OP(scalar, cg_scalar(3.5, CG_FLOAT32))
UN(zeros_like)
UN(ones_like)
OP(full_like, cg_full_like(X0, -1.5))

/* ---- elementwise binary and scalar forms ---- */
BIN(add)
BIN(sub)
BIN(mul)
BIN(div)
BIN(idiv)
BIN(pow)
BIN(maximum)
BIN(minimum)
OP(adds, cg_adds(X0, 1.5))
OP(subs, cg_subs(X0, 0.25))
OP(muls, cg_muls(X0, -2.0))
OP(divs, cg_divs(X0, 4.0))
OP(rsubs, cg_rsubs(X0, 1.0))
OP(pows_2, cg_pows(X0, 2.0))
OP(pows_half, cg_pows(X0, 0.5))
OP(pows_3, cg_pows(X0, 3.0))
OP(pows_m1p5, cg_pows(X0, -1.5))

/* ---- comparisons, logic, bitwise, where, clamp ---- */
BIN(lt)
BIN(le)
BIN(gt)
BIN(ge)
BIN(eq)
BIN(ne)
BIN(logical_and)
BIN(logical_or)
UN(logical_not)
BIN(bitwise_and)
BIN(bitwise_or)
BIN(bitwise_xor)
UN(bitwise_not)
OP(shl_3, cg_shl(X0, 3))
OP(shr_2, cg_shr(X0, 2))
OP(where, cg_where(x[0], x[1], x[2]))
OP(clamp, cg_clamp(X0, -0.5, 0.5))
OP(clamp_m2_1, cg_clamp(X0, -2, 1))
OP(clamp_m1_1, cg_clamp(X0, -1, 1))

/* ---- unary ---- */
UN(neg)
UN(reciprocal)
UN(exp)
UN(exp2)
UN(log)
UN(log2)
UN(sqrt)
UN(rsqrt)
UN(sin)
UN(cos)
UN(tan)
UN(tanh)
UN(sigmoid)
UN(relu)
UN(gelu)
UN(silu)
UN(softplus)
UN(abs)
UN(sign)
UN(trunc)
UN(floor)
UN(ceil)
OP(leaky_relu, cg_leaky_relu(X0, 0.1))
OP(elu, cg_elu(X0, 1.0))
OP(elu_a, cg_elu(X0, 0.5))
OP(detach_mul, cg_mul(X0, cg_detach(X0)))
OP(contiguous_t, cg_contiguous(cg_transpose(X0, 0, 1)))
OP(cast_i32, cg_cast(X0, CG_INT32))
OP(cast_f16, cg_cast(X0, CG_FLOAT16))
OP(cast_bf16, cg_cast(X0, CG_BFLOAT16))
OP(cast_f32, cg_cast(X0, CG_FLOAT32))
OP(cast_bool, cg_cast(X0, CG_BOOL))
OP(cast_u8, cg_cast(X0, CG_UINT8))

/* ---- reductions ---- */
static const int ax0[] = {0}, ax1[] = {1}, axm1[] = {-1}, ax02[] = {0, 2}, ax12[] = {1, 2};
OP(sum_all, cg_sum(X0, 0, NULL, false))
OP(sum_all_keep, cg_sum(X0, 0, NULL, true))
OP(sum_ax1, cg_sum(X0, 1, ax1, false))
OP(sum_ax02_keep, cg_sum(X0, 2, ax02, true))
OP(sum_axm1_keep, cg_sum(X0, 1, axm1, true))
OP(prod_ax1, cg_prod(X0, 1, ax1, false))
OP(prod_all, cg_prod(X0, 0, NULL, false))
OP(max_all, cg_max(X0, 0, NULL, false))
OP(max_ax1, cg_max(X0, 1, ax1, false))
OP(max_ax0_keep, cg_max(X0, 1, ax0, true))
OP(min_axm1, cg_min(X0, 1, axm1, false))
OP(min_all, cg_min(X0, 0, NULL, false))
OP(mean_all, cg_mean(X0, 0, NULL, false))
OP(mean_ax12, cg_mean(X0, 2, ax12, false))
OP(mean_ax0_keep, cg_mean(X0, 1, ax0, true))
OP(variance_ax1, cg_variance(X0, 1, ax1, false, 1))
OP(variance_all_c0, cg_variance(X0, 0, NULL, false, 0))
OP(variance_ax0_keep, cg_variance(X0, 1, ax0, true, 1))
OP(std_axm1, cg_std(X0, 1, axm1, false, 1))
OP(std_all_c0, cg_std(X0, 0, NULL, false, 0))
OP(argmax_ax1, cg_argmax(X0, 1, false))
OP(argmax_ax0_keep, cg_argmax(X0, 0, true))
OP(argmin_axm1, cg_argmin(X0, -1, false))
OP(logsumexp_m1, cg_logsumexp(X0, -1, false))
OP(logsumexp_0_keep, cg_logsumexp(X0, 0, true))
OP(softmax_m1, cg_softmax(X0, -1))
OP(softmax_0, cg_softmax(X0, 0))
OP(softmax_1, cg_softmax(X0, 1))
OP(log_softmax_m1, cg_log_softmax(X0, -1))
OP(log_softmax_0, cg_log_softmax(X0, 0))

/* ---- movement ---- */
static const int64_t r64[] = {6, 4}, r4m1[] = {4, -1}, r24[] = {24}, e34[] = {3, 4},
                     e234[] = {2, 3, 4};
static const int p201[] = {2, 0, 1}, p102[] = {1, 0, 2};
static const int64_t pads0[] = {1, 2, 0, 1}, pads1[] = {0, 1, 2, 0}, rng0[] = {1, 3, 0, 2};
OP(reshape_64, cg_reshape(X0, 2, r64))
OP(reshape_4m1, cg_reshape(X0, 2, r4m1))
OP(reshape_flat, cg_reshape(X0, 1, r24))
OP(permute_201, cg_permute(X0, p201))
OP(permute_102, cg_permute(X0, p102))
OP(expand_34, cg_expand(X0, 2, e34))
OP(expand_new, cg_expand(X0, 3, e234))
OP(pad_0, cg_pad(X0, pads0, 0.0))
OP(pad_val, cg_pad(X0, pads1, 1.5))
OP(shrink, cg_shrink(X0, rng0))
OP(flip_0, cg_flip(X0, 1, ax0))
OP(flip_02, cg_flip(X0, 2, ax02))
OP(transpose_02, cg_transpose(X0, 0, 2))
OP(transpose_m1m2, cg_transpose(X0, -1, -2))
OP(squeeze_1, cg_squeeze(X0, 1))
OP(unsqueeze_0, cg_unsqueeze(X0, 0))
OP(unsqueeze_m1, cg_unsqueeze(X0, -1))
OP(flatten_all, cg_flatten(X0, 0, -1))
OP(flatten_12, cg_flatten(X0, 1, 2))
OP(cat3_0, cg_cat(3, x, 0))
OP(cat1_0, cg_cat(1, x, 0))
OP(cat2_m1, cg_cat(2, x, -1))
OP(stack2_0, cg_stack(2, x, 0))
OP(stack3_1, cg_stack(3, x, 1))
OP(slice_step2, cg_slice(X0, 0, 1, 5, 2))
OP(slice_neg, cg_slice(X0, 0, 5, 0, -2))
OP(slice_negidx, cg_slice(X0, 1, -1, -5, -1))
OP(slice_clamp, cg_slice(X0, 0, -4, 100, 1))
OP(slice_rev_all, cg_slice(X0, 0, 5, -7, -1))
OP(gather_1, cg_gather(x[0], 1, x[1]))
OP(gather_0, cg_gather(x[0], 0, x[1]))
OP(one_hot_4, cg_one_hot(X0, 4))

/* ---- linear algebra and nn ---- */
BIN(matmul)
OP(linear, cg_linear(x[0], x[1], x[2]))
OP(linear_nobias, cg_linear(x[0], x[1], NULL))
OP(conv2d_s1p0, cg_conv2d(x[0], x[1], x[2], 1, 0))
OP(conv2d_s2p1, cg_conv2d(x[0], x[1], x[2], 2, 1))
OP(conv2d_nobias, cg_conv2d(x[0], x[1], NULL, 1, 1))
OP(conv2d_dil2, cg_conv2d_ex(x[0], x[1], x[2], 1, 2, 2, 1))
OP(conv2d_g2, cg_conv2d_ex(x[0], x[1], x[2], 1, 1, 1, 2))
OP(conv2d_dw, cg_conv2d_ex(x[0], x[1], x[2], 2, 0, 1, 3))
OP(max_pool_k2s2, cg_max_pool2d(X0, 2, 2))
OP(max_pool_k3s1, cg_max_pool2d(X0, 3, 1))
OP(avg_pool_k2s2, cg_avg_pool2d(X0, 2, 2))
OP(avg_pool_k3s2, cg_avg_pool2d(X0, 3, 2))
OP(avg_pool_k2s1, cg_avg_pool2d(X0, 2, 1))
OP(layernorm_1, cg_layernorm(x[0], 1, x[1], x[2], 1e-5))
OP(layernorm_2, cg_layernorm(x[0], 2, x[1], x[2], 1e-5))
OP(layernorm_noaffine, cg_layernorm(X0, 1, NULL, NULL, 1e-5))
OP(dropout_p0, cg_dropout(X0, 0.0, true))
OP(dropout_eval, cg_dropout(X0, 0.5, false))
OP(cross_entropy, cg_cross_entropy(x[0], x[1]))
OP(nll_loss, cg_nll_loss(x[0], x[1]))
OP(mse_loss, cg_mse_loss(x[0], x[1]))

/* ---- chains (several ops, fused and differentiated together) ---- */
OP(chain_relu_linear, cg_relu(cg_add(cg_matmul(x[0], x[1]), x[2])))
OP(chain_mlp2,
   cg_add(cg_matmul(cg_relu(cg_add(cg_matmul(x[0], x[1]), x[2])), x[3]), x[4]))
OP(chain_softmax_mm, cg_softmax(cg_matmul(x[0], x[1]), -1))
OP(chain_ce_linear, cg_cross_entropy(cg_linear(x[0], x[1], x[2]), x[3]))
/* sigmoid(a)*b + exp(-a*a) - tanh(b)/2 */
OP(chain_elementwise,
   cg_sub(cg_add(cg_mul(cg_sigmoid(x[0]), x[1]), cg_exp(cg_neg(cg_mul(x[0], x[0])))),
          cg_divs(cg_tanh(x[1]), 2.0)))
/* (a*a).sum(1, keepdim) * a + a.exp().mean() */
OP(chain_reuse, cg_add(cg_mul(cg_sum(cg_mul(X0, X0), 1, ax1, true), X0),
                       cg_mean(cg_exp(X0), 0, NULL, false)))
OP(chain_conv_relu_pool, cg_max_pool2d(cg_relu(cg_conv2d(x[0], x[1], x[2], 1, 1)), 2, 2))
OP(chain_ln_linear, cg_tanh(cg_linear(cg_layernorm(x[0], 1, x[1], x[2], 1e-5), x[3], NULL)))
/* softmax(q @ k^T / sqrt(3)) @ v */
OP(chain_attention,
   cg_matmul(cg_softmax(cg_divs(cg_matmul(x[0], cg_transpose(x[1], -1, -2)), sqrt(3.0)), -1),
             x[2]))

/* permute(2,0,1) -> reshape(4,6) -> [:, 5:-7:-2] -> pad((1,0),(0,2), 0.5) -> exp -> sum(0) */
static const int64_t r46[] = {4, 6}, pads_v[] = {1, 0, 0, 2};
OP(chain_views,
   cg_sum(cg_exp(cg_pad(cg_slice(cg_reshape(cg_permute(X0, p201), 2, r46), 1, 5, -7, -2),
                        pads_v, 0.5)),
          1, ax0, false))

#define E(k) {#k, op_##k, 1.0}
#define ET(k, tol) {#k, op_##k, tol}

const op_entry op_table[] = {
    E(arange_f32), E(arange_frac), E(arange_neg), E(arange_i32), E(linspace_01),
    E(linspace_m22), E(eye_4), E(full_f32), E(full_i32), E(zeros_23), E(ones_4), E(scalar),
    E(zeros_like), E(ones_like), E(full_like),
    E(add), E(sub), E(mul), E(div), E(idiv), E(pow), E(maximum), E(minimum), E(adds),
    E(subs), E(muls), E(divs), E(rsubs), E(pows_2), E(pows_half), E(pows_3), E(pows_m1p5),
    E(lt), E(le), E(gt), E(ge), E(eq), E(ne), E(logical_and), E(logical_or),
    E(logical_not), E(bitwise_and), E(bitwise_or), E(bitwise_xor), E(bitwise_not),
    E(shl_3), E(shr_2), E(where), E(clamp), E(clamp_m2_1), E(clamp_m1_1),
    E(neg), E(reciprocal), E(exp), E(exp2), E(log), E(log2), E(sqrt), E(rsqrt), E(sin),
    E(cos), E(tan), E(tanh), E(sigmoid), E(relu), E(gelu), E(silu), E(softplus), E(abs),
    E(sign), E(trunc), E(floor), E(ceil), E(leaky_relu), E(elu), E(elu_a), E(detach_mul),
    E(contiguous_t), E(cast_i32), E(cast_f16), E(cast_bf16), E(cast_f32), E(cast_bool), E(cast_u8),
    E(sum_all), E(sum_all_keep), E(sum_ax1), E(sum_ax02_keep), E(sum_axm1_keep), E(prod_ax1), E(prod_all),
    E(max_all), E(max_ax1), E(max_ax0_keep), E(min_axm1), E(min_all), E(mean_all),
    E(mean_ax12), E(mean_ax0_keep), E(variance_ax1), E(variance_all_c0), E(variance_ax0_keep),
    E(std_axm1), E(std_all_c0), E(argmax_ax1), E(argmax_ax0_keep), E(argmin_axm1),
    E(logsumexp_m1), E(logsumexp_0_keep), E(softmax_m1), E(softmax_0), E(softmax_1),
    E(log_softmax_m1), E(log_softmax_0),
    E(reshape_64), E(reshape_4m1), E(reshape_flat), E(permute_201), E(permute_102),
    E(expand_34), E(expand_new), E(pad_0), E(pad_val), E(shrink), E(flip_0), E(flip_02),
    E(transpose_02), E(transpose_m1m2), E(squeeze_1), E(unsqueeze_0), E(unsqueeze_m1),
    E(flatten_all), E(flatten_12), E(cat3_0), E(cat1_0), E(cat2_m1), E(stack2_0), E(stack3_1),
    E(slice_step2), E(slice_neg), E(slice_negidx), E(slice_clamp), E(slice_rev_all),
    E(gather_1), E(gather_0), E(one_hot_4),
    E(matmul), E(linear), E(linear_nobias), E(conv2d_s1p0), E(conv2d_s2p1),
    E(conv2d_nobias), E(conv2d_dil2), E(conv2d_g2), E(conv2d_dw), E(max_pool_k2s2),
    E(max_pool_k3s1), E(avg_pool_k2s2), E(avg_pool_k3s2), E(avg_pool_k2s1), E(layernorm_1), E(layernorm_2),
    E(layernorm_noaffine), E(dropout_p0), E(dropout_eval), E(cross_entropy), E(nll_loss),
    E(mse_loss),
    E(chain_relu_linear), E(chain_mlp2), E(chain_softmax_mm), E(chain_ce_linear),
    E(chain_elementwise), E(chain_reuse), E(chain_conv_relu_pool), E(chain_ln_linear),
    E(chain_attention), E(chain_views),
};
const int op_table_len = (int)(sizeof op_table / sizeof op_table[0]);
