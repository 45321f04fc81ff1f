/* Neural-network functions of the public API, composed from primitives and tensor_fn.c:
 * matmul and linear (broadcast multiply + sum over the shared axis), conv2d and pooling
 * (sliding windows built from movement ops only), layernorm, dropout and losses.
 *
 * Same conventions as tensor_fn.c: NULL in -> NULL out, bad shapes -> an error naming
 * the op and shapes, each op in its own scope with only the result escaping. */
#include "tensor.h"

/* Ends an op's scope: the result (if any) moves to the caller's scope. */
static cg_tensor *finish(cg_tensor *r) {
  if (r) r = cg_keep(r);
  cg_scope_pop();
  return r;
}

/* Copies t's shape into s and returns the number of dims. */
static int shape_of(const cg_tensor *t, int64_t *s) {
  int n = cg_ndim(t);
  if (n > 0) memcpy(s, cg_shape(t), (size_t)n * sizeof(int64_t));
  return n;
}

/* ---- matmul, linear ---- */

/* Checks that the batch dims (all but the last two) of a and b broadcast. */
static bool batch_dims_broadcast(const int64_t *sa, int na, const int64_t *sb, int nb) {
  for (int i = 3; i <= na || i <= nb; i++) {
    int64_t x = i <= na ? sa[na - i] : 1, y = i <= nb ? sb[nb - i] : 1;
    if (x != y && x != 1 && y != 1) return false;
  }
  return true;
}

/* Sum over `axis` of x * y. 16-bit floats multiply and add in float32 (their products
 * are exact there) and round once at the end, as torch's matmul does: more accurate than
 * rounding every product, and the GPU kernel converts each element once. */
static cg_tensor *dot_sum(cg_tensor *x, cg_tensor *y, int axis) {
  cg_dtype dt = x && y ? cg_tensor_dtype(x) : CG_FLOAT32;
  bool half = (dt == CG_FLOAT16 || dt == CG_BFLOAT16) && cg_tensor_dtype(y) == dt;
  if (half) {
    x = cg_cast(x, CG_FLOAT32);
    y = cg_cast(y, CG_FLOAT32);
  }
  cg_tensor *s = cg_sum(cg_mul(x, y), 1, &axis, false);
  return half && s ? cg_cast(s, dt) : s;
}

/* a (..., M, K) @ b (..., K, N) = sum over K of a (..., M, 1, K) * b (..., 1, N, K).
 * 1-D operands act as numpy's: a row vector on the left, a column on the right. */
cg_tensor *cg_matmul(cg_tensor *a, cg_tensor *b) {
  if (!a || !b) return NULL;
  int64_t sa[CG_MAX_DIMS + 1], sb[CG_MAX_DIMS + 1];
  int na = shape_of(a, sa), nb = shape_of(b, sb);
  if (na == 0 || nb == 0)
    return cg__op_error("matmul", CG_ERR_SHAPE, "operands %s and %s need >= 1 dim",
                        cg__shape_str(a), cg__shape_str(b));
  /* 1-D operands become (1, K) and (K, 1) */
  if (na == 1) { sa[1] = sa[0]; sa[0] = 1; na = 2; }
  if (nb == 1) { sb[1] = 1; nb = 2; }
  int64_t k = sa[na - 1];
  int r = na > nb ? na : nb;
  if (sb[nb - 2] != k || !batch_dims_broadcast(sa, na, sb, nb) || r + 1 > CG_MAX_DIMS)
    return cg__op_error("matmul", CG_ERR_SHAPE, "cannot multiply %s by %s", cg__shape_str(a),
                        cg__shape_str(b));
  /* both as rank r + 1: a (1.., ..., M, 1, K), b (1.., ..., 1, K, N) */
  int64_t ra[CG_MAX_DIMS], rb[CG_MAX_DIMS];
  for (int i = 0; i < r + 1; i++) ra[i] = rb[i] = 1;
  for (int j = 0; j < na - 1; j++) ra[r - na + j] = sa[j]; /* batch..., M; then 1, K */
  ra[r] = k;
  for (int j = 0; j < nb - 2; j++) rb[r - nb + j] = sb[j]; /* batch...; then 1, K, N */
  rb[r - 1] = k;
  rb[r] = sb[nb - 1];
  int order[CG_MAX_DIMS];
  for (int i = 0; i < r + 1; i++) order[i] = i;
  order[r - 1] = r;
  order[r] = r - 1;
  cg_scope_push();
  cg_tensor *x = cg_reshape(a, r + 1, ra);
  cg_tensor *y = cg_permute(cg_reshape(b, r + 1, rb), order); /* (..., 1, N, K) */
  cg_tensor *out = dot_sum(x, y, r);                             /* (..., M, N) */
  if (cg_ndim(a) == 1 && out) out = cg_squeeze(out, -2);
  if (cg_ndim(b) == 1 && out) out = cg_squeeze(out, -1);
  return finish(out);
}

/* x (..., in) @ w (out, in).T + b: sum over in of x (..., 1, in) * w */
cg_tensor *cg_linear(cg_tensor *x, cg_tensor *w, cg_tensor *b) {
  if (!x || !w) return NULL;
  int64_t s[CG_MAX_DIMS + 1];
  int n = shape_of(x, s);
  if (cg_ndim(w) != 2 || n == 0 || n >= CG_MAX_DIMS || s[n - 1] != cg_dim(w, 1) ||
      (b && (cg_ndim(b) != 1 || cg_dim(b, 0) != cg_dim(w, 0))))
    return cg__op_error("linear", CG_ERR_SHAPE, "x %s, weight %s, bias %s do not fit",
                        cg__shape_str(x), cg__shape_str(w), b ? cg__shape_str(b) : "none");
  s[n] = s[n - 1];
  s[n - 1] = 1;
  int last = n;
  cg_scope_push();
  cg_tensor *y = dot_sum(cg_reshape(x, n + 1, s), w, last);
  return finish(b ? cg_add(y, b) : y);
}

/* ---- sliding windows ---- */

/* Reshapes the `nold` axes starting at axis into the `np` dims of parts. */
static cg_tensor *reshape_axes(cg_tensor *t, int axis, int nold, int np, const int64_t *parts) {
  if (!t) return NULL;
  int64_t s[CG_MAX_DIMS], o[CG_MAX_DIMS + 2];
  int n = shape_of(t, s), m = 0;
  for (int i = 0; i < axis; i++) o[m++] = s[i];
  for (int j = 0; j < np; j++) o[m++] = parts[j];
  for (int i = axis + nold; i < n; i++) o[m++] = s[i];
  return cg_reshape(t, m, o);
}

/* Splits axis into the np dims of parts. */
static cg_tensor *split_axis(cg_tensor *t, int axis, int np, const int64_t *parts) {
  return reshape_axes(t, axis, 1, np, parts);
}

/* Shrinks one axis to [lo, hi), keeping the others whole. */
static cg_tensor *shrink_axis(cg_tensor *t, int axis, int64_t lo, int64_t hi) {
  if (!t) return NULL;
  int64_t r[2 * CG_MAX_DIMS];
  for (int i = 0; i < cg_ndim(t); i++) { r[2 * i] = 0; r[2 * i + 1] = cg_dim(t, i); }
  r[2 * axis] = lo;
  r[2 * axis + 1] = hi;
  return cg_shrink(t, r);
}

/* Pads `after` zeros at the end of one axis. */
static cg_tensor *pad_end(cg_tensor *t, int axis, int64_t after) {
  int64_t p[2 * CG_MAX_DIMS] = {0};
  p[2 * axis + 1] = after;
  return t ? cg_pad(t, p, 0.0) : NULL;
}

/* Swaps two axes. */
static cg_tensor *swap_axes(cg_tensor *t, int a, int b) { return t ? cg_transpose(t, a, b) : NULL; }

/* Replaces axis (size i) by two axes (k, o): element (r, q) = x[q*s + r*d], with
 * o = (i - d(k-1) - 1)/s + 1. Movement ops only (needs ndim + 2 <= CG_MAX_DIMS).
 * General case: repeat the axis e times (length e*i), read it as rows of length
 * L = i*f + d: since L = d (mod i), row r starts at index r*d (mod i); the first o*s
 * columns split as (o, s) and column 0 of s gives stride s. */
static cg_tensor *window_axis(cg_tensor *x, int ax, int64_t k, int64_t s, int64_t d) {
  int64_t i = cg_dim(x, ax), o = (i - d * (k - 1) - 1) / s + 1;
  if (k <= s && d == 1) { /* windows don't overlap: pad/shrink to o*s, split (o, s) */
    x = o * s > i ? pad_end(x, ax, o * s - i) : shrink_axis(x, ax, 0, o * s);
    x = shrink_axis(split_axis(x, ax, 2, (int64_t[]){o, s}), ax + 1, 0, k);
    return swap_axes(x, ax, ax + 1);
  }
  int64_t f = o * s > d ? (o * s - d + i - 1) / i : 0, len = i * f + d;
  int64_t e = (k * len + i - 1) / i;
  int64_t ex[CG_MAX_DIMS + 1];
  int n = shape_of(x, ex);
  memmove(ex + ax + 1, ex + ax, (size_t)(n - ax) * sizeof(int64_t));
  ex[ax] = e;
  x = cg_expand(split_axis(x, ax, 2, (int64_t[]){1, i}), n + 1, ex); /* (e, i) */
  x = shrink_axis(reshape_axes(x, ax, 2, 1, (int64_t[]){e * i}), ax, 0, k * len);
  x = shrink_axis(split_axis(x, ax, 2, (int64_t[]){k, len}), ax + 1, 0, o * s);
  x = shrink_axis(split_axis(x, ax + 1, 2, (int64_t[]){o, s}), ax + 2, 0, 1);
  return reshape_axes(x, ax + 1, 2, 1, (int64_t[]){o}); /* drop the 1 */
}

/* Output size of a window axis; < 1 when the window does not fit. */
static int64_t out_size(int64_t i, int k, int s, int d) {
  int64_t span = i - (int64_t)d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

/* Windows over the last two axes: (..., H, W) -> (..., OH, OW, KH, KW). */
static cg_tensor *pool_windows(cg_tensor *x, const int k[2], const int s[2], const int d[2]) {
  int n = cg_ndim(x);
  x = window_axis(x, n - 2, k[0], s[0], d[0]);      /* (..., KH, OH, W) */
  x = x ? window_axis(x, n, k[1], s[1], d[1]) : NULL; /* (..., KH, OH, KW, OW) */
  int order[CG_MAX_DIMS];
  for (int i = 0; i < n - 2; i++) order[i] = i;
  order[n - 2] = n - 1;
  order[n - 1] = n + 1;
  order[n] = n - 2;
  order[n + 1] = n;
  return x ? cg_permute(x, order) : NULL;
}

/* Validates a pooling call; stride <= 0 means stride = kernel. */
static bool pool_check(const char *op, cg_tensor *x, int kernel, int *stride) {
  if (*stride <= 0) *stride = kernel;
  int n = cg_ndim(x);
  if (n < 2 || n + 3 > CG_MAX_DIMS || kernel < 1 ||
      out_size(cg_dim(x, -2), kernel, *stride, 1) < 1 ||
      out_size(cg_dim(x, -1), kernel, *stride, 1) < 1) {
    cg__op_error(op, CG_ERR_SHAPE, "kernel %d stride %d does not fit input %s", kernel,
                 *stride, cg__shape_str(x));
    return false;
  }
  return true;
}

cg_tensor *cg_max_pool2d(cg_tensor *x, int kernel, int stride) {
  if (!x || !pool_check("max_pool2d", x, kernel, &stride)) return NULL;
  cg_scope_push();
  int k[2] = {kernel, kernel}, s[2] = {stride, stride}, d[2] = {1, 1}, axes[2] = {-2, -1};
  return finish(cg_max(pool_windows(x, k, s, d), 2, axes, false));
}

cg_tensor *cg_avg_pool2d(cg_tensor *x, int kernel, int stride) {
  if (!x || !pool_check("avg_pool2d", x, kernel, &stride)) return NULL;
  cg_scope_push();
  int k[2] = {kernel, kernel}, s[2] = {stride, stride}, d[2] = {1, 1}, axes[2] = {-2, -1};
  return finish(cg_mean(pool_windows(x, k, s, d), 2, axes, false));
}

/* ---- convolution ---- */

cg_tensor *cg_conv2d(cg_tensor *x, cg_tensor *w, cg_tensor *bias, int stride, int padding) {
  return cg_conv2d_ex(x, w, bias, stride, padding, 1, 1);
}

/* Validates conv2d_ex arguments (x already 4-D). */
static bool conv_check(cg_tensor *x, cg_tensor *w, cg_tensor *bias, int st, int pad, int dil,
                       int g) {
  bool ok = cg_ndim(x) == 4 && cg_ndim(w) == 4 && st >= 1 && pad >= 0 && dil >= 1 && g >= 1;
  if (ok) {
    int64_t cin = cg_dim(x, 1), cout = cg_dim(w, 0);
    ok = cin % g == 0 && cout % g == 0 && cg_dim(w, 1) == cin / g &&
         out_size(cg_dim(x, 2) + 2 * pad, (int)cg_dim(w, 2), st, dil) >= 1 &&
         out_size(cg_dim(x, 3) + 2 * pad, (int)cg_dim(w, 3), st, dil) >= 1 &&
         (!bias || (cg_ndim(bias) == 1 && cg_dim(bias, 0) == cout));
  }
  if (!ok)
    cg__op_error("conv2d", CG_ERR_SHAPE,
                 "input %s, weight %s, bias %s, stride %d, padding %d, dilation %d, groups %d "
                 "do not fit", cg__shape_str(x), cg__shape_str(w),
                 bias ? cg__shape_str(bias) : "none", st, pad, dil, g);
  return ok;
}

/* x (N, Cin, H, W) * w (Cout, Cin/G, KH, KW): windows (N, Cin, OH, OW, KH, KW) regrouped
 * as (N, G, 1, OH, OW, Cin/G, KH, KW) times w as (1, G, Cout/G, 1, 1, Cin/G, KH, KW),
 * summed over the last three axes. An unbatched x (Cin, H, W) is accepted too. */
cg_tensor *cg_conv2d_ex(cg_tensor *x, cg_tensor *w, cg_tensor *bias, int stride, int padding,
                        int dilation, int groups) {
  if (!x || !w) return NULL;
  cg_scope_push();
  bool unbatched = cg_ndim(x) == 3;
  cg_tensor *in = unbatched ? cg_unsqueeze(x, 0) : x;
  if (!in || !conv_check(in, w, bias, stride, padding, dilation, groups)) return finish(NULL);
  int64_t n = cg_dim(in, 0), cin = cg_dim(in, 1), cout = cg_dim(w, 0), g = groups;
  int64_t kh = cg_dim(w, 2), kw = cg_dim(w, 3), p = padding;
  int64_t pads[8] = {0, 0, 0, 0, p, p, p, p};
  int k[2] = {(int)kh, (int)kw}, s[2] = {stride, stride}, d[2] = {dilation, dilation};
  cg_tensor *win = pool_windows(p ? cg_pad(in, pads, 0.0) : in, k, s, d);
  if (!win) return finish(NULL);
  int64_t oh = cg_dim(win, 2), ow = cg_dim(win, 3);
  int64_t xs[8] = {n, g, 1, cin / g, oh, ow, kh, kw};
  int64_t ws[8] = {1, g, cout / g, 1, 1, cin / g, kh, kw};
  int order[8] = {0, 1, 2, 4, 5, 3, 6, 7}, axes[3] = {5, 6, 7};
  cg_tensor *xw = cg_permute(cg_reshape(win, 8, xs), order);
  cg_tensor *y = cg_sum(cg_mul(xw, cg_reshape(w, 8, ws)), 3, axes, false);
  int64_t ys[4] = {n, cout, oh, ow}, bs[4] = {1, cout, 1, 1};
  y = y ? cg_reshape(y, 4, ys) : NULL;
  if (bias && y) y = cg_add(y, cg_reshape(bias, 4, bs));
  return finish(unbatched && y ? cg_squeeze(y, 0) : y);
}

/* ---- normalization, dropout ---- */

/* (x - mean) / sqrt(var + eps) * weight + bias over the last naxes axes. */
cg_tensor *cg_layernorm(cg_tensor *x, int naxes, cg_tensor *weight, cg_tensor *bias,
                        double eps) {
  if (!x) return NULL;
  int n = cg_ndim(x);
  if (naxes < 1 || naxes > n)
    return cg__op_error("layernorm", CG_ERR_INVALID, "naxes %d out of range for %s", naxes,
                        cg__shape_str(x));
  int axes[CG_MAX_DIMS];
  for (int i = 0; i < naxes; i++) axes[i] = n - naxes + i;
  cg_tensor *wb[2] = {weight, bias};
  for (int k = 0; k < 2; k++) {
    if (!wb[k]) continue;
    int wn = cg_ndim(wb[k]);
    if (wn > naxes || memcmp(cg_shape(wb[k]), cg_shape(x) + n - wn, sizeof(int64_t) * (size_t)wn))
      return cg__op_error("layernorm", CG_ERR_SHAPE, "%s %s does not match the normalized dims of %s",
                          k ? "bias" : "weight", cg__shape_str(wb[k]), cg__shape_str(x));
  }
  cg_scope_push();
  cg_tensor *c = cg_sub(x, cg_mean(x, naxes, axes, true));
  cg_tensor *var = cg_mean(cg_mul(c, c), naxes, axes, true);
  cg_tensor *y = cg_mul(c, cg_rsqrt(cg_adds(var, eps)));
  if (weight && y) y = cg_mul(y, weight);
  if (bias && y) y = cg_add(y, bias);
  return finish(y);
}

/* Training: keeps each element with probability 1-p and scales kept ones by 1/(1-p). */
cg_tensor *cg_dropout(cg_tensor *x, double p, bool training) {
  if (!x) return NULL;
  if (!(p >= 0 && p <= 1) || !cg__is_float(cg_tensor_dtype(x)))
    return cg__op_error("dropout", CG_ERR_INVALID, "needs a float input and p in [0, 1], got %s "
                        "and p = %g", cg_dtype_name(cg_tensor_dtype(x)), p);
  cg_scope_push();
  int64_t s[CG_MAX_DIMS];
  int n = shape_of(x, s);
  if (!training || p == 0) return finish(cg_reshape(x, n, s)); /* identity view */
  if (p == 1) return finish(cg_mul(x, cg__const_like(x, 0.0)));
  cg_tensor *r = cg_rand(CG_FLOAT32, n, s);
  const char *dev = cg_tensor_device(x), *rdev = r ? cg_tensor_device(r) : NULL;
  if (r && dev && rdev && strcmp(dev, rdev) != 0) r = cg_to_device(r, dev);
  cg_tensor *keep = r ? cg_lt(r, cg__const_like(r, 1.0 - p)) : NULL;
  cg_tensor *scaled = cg_muls(x, 1.0 / (1.0 - p));
  return finish(keep && scaled ? cg_where(keep, scaled, cg__const_like(scaled, 0.0)) : NULL);
}

/* ---- losses ---- */

/* -mean over the batch of sum(target * logp, 1). target: int class labels (N,) or
 * class probabilities shaped like logp (N, C). */
static cg_tensor *nll(const char *op, cg_tensor *logp, cg_tensor *target) {
  if (!logp) return NULL;
  bool probs = cg__is_float(cg_tensor_dtype(target)) && cg_ndim(target) == 2 &&
               cg_dim(target, 0) == cg_dim(logp, 0) && cg_dim(target, 1) == cg_dim(logp, 1);
  bool labels = cg__is_int(cg_tensor_dtype(target)) && cg_ndim(target) == 1 &&
                cg_dim(target, 0) == cg_dim(logp, 0);
  if (!probs && !labels)
    return cg__op_error(op, CG_ERR_SHAPE, "target %s %s does not fit input %s",
                        cg__shape_str(target), cg_dtype_name(cg_tensor_dtype(target)),
                        cg__shape_str(logp));
  cg_tensor *t = labels ? cg_one_hot(target, cg_dim(logp, 1)) : target;
  int ax = 1;
  return cg_neg(cg_mean(cg_sum(cg_mul(t, logp), 1, &ax, false), 0, NULL, false));
}

static bool loss_input_ok(const char *op, cg_tensor *x) {
  if (cg_ndim(x) == 2 && cg__is_float(cg_tensor_dtype(x))) return true;
  cg__op_error(op, CG_ERR_SHAPE, "input must be float (N, C), got %s %s", cg__shape_str(x),
               cg_dtype_name(cg_tensor_dtype(x)));
  return false;
}

cg_tensor *cg_cross_entropy(cg_tensor *logits, cg_tensor *labels) {
  if (!logits || !labels || !loss_input_ok("cross_entropy", logits)) return NULL;
  cg_scope_push();
  return finish(nll("cross_entropy", cg_log_softmax(logits, 1), labels));
}

cg_tensor *cg_nll_loss(cg_tensor *logprobs, cg_tensor *labels) {
  if (!logprobs || !labels || !loss_input_ok("nll_loss", logprobs)) return NULL;
  cg_scope_push();
  return finish(nll("nll_loss", logprobs, labels));
}

cg_tensor *cg_mse_loss(cg_tensor *a, cg_tensor *b) {
  cg_tensor *ab[2] = {a, b};
  if (!cg__broadcastable("mse_loss", 2, ab)) return NULL;
  cg_scope_push();
  cg_tensor *d = cg_sub(a, b);
  return finish(cg_mean(cg_mul(d, d), 0, NULL, false));
}
