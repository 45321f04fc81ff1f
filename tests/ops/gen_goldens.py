#!/usr/bin/env python3
"""gen_goldens.py: writes goldens.txt, the PyTorch reference values for the op table test.

Every case is one op (keyed by `key`, the name of the C wrapper in ops_test.c) applied to
small random inputs. For each case we store the inputs, the forward output and, when the
output is floating point, a fixed random cotangent `cot` and the gradient of
sum(output * cot) with respect to every floating input. References are computed by
PyTorch in float64 from the exact input values (float16/bfloat16 inputs are rounded to
their dtype first), so a float32 result can be held to rtol 1e-4.

Deterministic: each case draws from its own generator seeded by crc32(name), so adding a
case never changes the others. Needs python3-torch and python3-numpy (Debian packages);
CI does not run this, it uses the committed goldens.txt.

Usage: /usr/bin/python3 tests/ops/gen_goldens.py [out-path]

File format (whitespace separated tokens, one record per line):
  cgrad-op-goldens 1
  case <name> <key> <n_inputs> <has_grad>
  t <dtype> <ndim> <dims...> <values...>      n_inputs times (inputs), then the output
  c <dims...> <values...>                      cotangent (output shape), if has_grad
  g <0|1> [<values...>]                        per input: 1 + gradient (input shape) or 0
"""
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_grad_enabled(True)
CASES = []


# ---- input specs ----------------------------------------------------------------------

class Spec:
    """One input: shape, dtype name, value domain, and whether it gets a gradient."""

    def __init__(self, shape, dtype, dom, grad, lo=0, hi=0):
        self.shape, self.dtype, self.dom, self.grad = tuple(shape), dtype, dom, grad
        self.lo, self.hi = lo, hi


def Fl(shape, dom="n", dt="float32", grad=True):
    """Floating input. dom: n normal, u U(-1,1), pos U(.5,2), nz +-U(.5,2), one U(.7,1.3),
    frac k+U(.1,.9), sint small integers -2..2 (ties, zeros), big N(0,30), wide U(.1,250)."""
    return Spec(shape, dt, dom, grad)


def In(shape, lo, hi, dt="int32", nonzero=False):
    """Integer input uniform in [lo, hi); nonzero excludes 0."""
    return Spec(shape, dt, "inz" if nonzero else "int", False, lo, hi)


def Bo(shape):
    return Spec(shape, "bool", "bool", False)


FLOAT_DT = ("float16", "bfloat16", "float32", "float64")


def draw_float(rng, spec):
    n = int(np.prod(spec.shape))
    d = spec.dom
    if d == "n":
        v = rng.standard_normal(n)
    elif d == "big":
        v = rng.standard_normal(n) * 30.0
    elif d == "u":
        v = rng.uniform(-1, 1, n)
    elif d == "pos":
        v = rng.uniform(0.5, 2.0, n)
    elif d == "nz":
        v = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    elif d == "one":
        v = rng.uniform(0.7, 1.3, n)
    elif d == "frac":
        v = rng.integers(-3, 3, n) + rng.uniform(0.1, 0.9, n)
    elif d == "wide":
        v = rng.uniform(0.1, 250, n)
    elif d == "sint":
        v = rng.integers(-2, 3, n).astype(np.float64)
    else:
        raise ValueError(d)
    v = np.round(v, 3)
    if d != "sint":
        v[v == 0] = 0.125
    return round_to(v.reshape(spec.shape), spec.dtype)


def round_to(v, dt):
    """Round float64 values to dtype dt, returned as float64."""
    if dt == "float64":
        return v.astype(np.float64)
    if dt == "float32":
        return v.astype(np.float32).astype(np.float64)
    if dt == "float16":
        return v.astype(np.float16).astype(np.float64)
    if dt == "bfloat16":
        return torch.tensor(v, dtype=torch.float32).to(torch.bfloat16).double().numpy()
    raise ValueError(dt)


def draw(rng, spec):
    if spec.dtype in FLOAT_DT:
        return draw_float(rng, spec)
    if spec.dom == "bool":
        return rng.integers(0, 2, spec.shape).astype(np.int64)
    v = rng.integers(spec.lo, spec.hi, spec.shape).astype(np.int64)
    if spec.dom == "inz":
        v[v == 0] = 1
    return v


def case(name, key, inputs, fn, out_dtype=None, distinct=False, avoid=(), grad=True):
    """Register a case. fn maps torch tensors (float64 / int64 / bool) to the output.
    out_dtype: the dtype cgrad must return (default: the first input's dtype).
    distinct: floating inputs of the case hold no repeated value (max/argmax/pool ties).
    avoid: values no floating input may take (clamp bounds)."""
    CASES.append(dict(name=name, key=key, inputs=inputs, fn=fn, out_dtype=out_dtype,
                      distinct=distinct, avoid=avoid, grad=grad))


# ---- running one case -----------------------------------------------------------------

def acceptable(c, vals):
    fl = [v for s, v in zip(c["inputs"], vals) if s.dtype in FLOAT_DT and s.dom != "sint"]
    if not fl:
        return True
    allv = np.concatenate([v.ravel() for v in fl])
    if c["distinct"] and len(np.unique(allv)) != len(allv):
        return False
    return not any(np.any(allv == a) for a in c["avoid"])


def to_torch(spec, v):
    if spec.dtype in FLOAT_DT:
        return torch.tensor(v, dtype=torch.float64, requires_grad=spec.grad)
    if spec.dtype == "bool":
        return torch.tensor(v.astype(bool))
    return torch.tensor(v, dtype=torch.int64)


def run_case(c):
    rng = np.random.default_rng(zlib.crc32(c["name"].encode()))
    for _ in range(1000):
        vals = [draw(rng, s) for s in c["inputs"]]
        if acceptable(c, vals):
            break
    else:
        raise RuntimeError("cannot draw inputs for " + c["name"])
    ts = [to_torch(s, v) for s, v in zip(c["inputs"], vals)]
    out = c["fn"](*ts)
    odt = c["out_dtype"] or (c["inputs"][0].dtype if c["inputs"] else "float32")
    has_grad = c["grad"] and odt in FLOAT_DT and any(t.requires_grad for t in ts)
    cot, grads = None, [None] * len(ts)
    if has_grad:
        cot = round_to(np.round(rng.standard_normal(tuple(out.shape)), 3), odt)
        loss = (out * torch.tensor(cot, dtype=torch.float64)).sum()
        loss.backward()
        grads = [t.grad.numpy() if t.requires_grad and t.grad is not None else
                 (np.zeros(t.shape) if t.requires_grad else None) for t in ts]
    outv = out.detach().double().numpy() if odt in FLOAT_DT else out.detach().long().numpy()
    return vals, odt, outv, cot, grads


# ---- writing --------------------------------------------------------------------------

def fmt_exact(x, dt):
    """Shortest decimal that reads back (decimal -> double -> dt) as exactly x."""
    if dt == "float32":
        return np.format_float_positional(np.float32(x), unique=True, trim="-")
    if dt == "float64":
        return repr(float(x))
    return "%.9g" % x  # float16/bfloat16 values are float32 values: 9 digits round-trip


def fmt_vals(a, dt, exact):
    a = np.asarray(a).ravel()
    if dt not in FLOAT_DT:
        return " ".join(str(int(x)) for x in a)
    if exact:
        return " ".join(fmt_exact(x, dt) for x in a)
    return " ".join("%.8g" % x for x in a)


def fmt_tensor(tag, dt, shape, v, exact):
    dims = " ".join(str(d) for d in shape)
    head = "%s %s %d%s" % (tag, dt, len(shape), (" " + dims) if dims else "")
    body = fmt_vals(v, dt, exact)
    return head + ((" " + body) if body else "")


def write(path):
    lines = ["cgrad-op-goldens 1"]
    names = set()
    for c in CASES:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        vals, odt, outv, cot, grads = run_case(c)
        has_grad = cot is not None
        lines.append("case %s %s %d %d" % (c["name"], c["key"], len(vals), int(has_grad)))
        for s, v in zip(c["inputs"], vals):
            lines.append(fmt_tensor("t", s.dtype, s.shape, v, True))
        lines.append(fmt_tensor("t", odt, outv.shape, outv, False))
        if has_grad:
            lines.append(("c " + fmt_vals(cot, odt, True)).rstrip())
            for g in grads:
                lines.append("g 0" if g is None else "g 1 " + fmt_vals(g, "float64", False))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d cases to %s (%d bytes)" % (len(CASES), path, os.path.getsize(path)))


# ---- torch helpers --------------------------------------------------------------------

def pad_np_order(x, pads, value):
    """cgrad pads are (before, after) per axis, first axis first; torch wants last first."""
    flat = []
    for i in reversed(range(len(pads))):
        flat += [pads[i][0], pads[i][1]]
    return F.pad(x, flat, value=value)


def shrink(x, ranges):
    return x[tuple(slice(a, b) for a, b in ranges)]


def pyslice(x, axis, start, stop, step):
    """Python a[start:stop:step] on one axis (negative step too) as a differentiable gather."""
    idx = list(range(x.shape[axis]))[start:stop:step]
    return torch.index_select(x, axis, torch.tensor(idx, dtype=torch.int64))


def floordiv(a, b):
    return torch.div(a, b, rounding_mode="floor")


def var(x, dims, keep, corr):
    return torch.var(x, dim=dims, keepdim=keep, unbiased=bool(corr)) if dims is not None \
        else torch.var(x, unbiased=bool(corr))


def std(x, dims, keep, corr):
    return torch.std(x, dim=dims, keepdim=keep, unbiased=bool(corr)) if dims is not None \
        else torch.std(x, unbiased=bool(corr))


def npargmax(x, axis, keep, mn=False):
    a = x.detach().numpy()
    r = np.argmin(a, axis=axis) if mn else np.argmax(a, axis=axis)
    if keep:
        r = np.expand_dims(r, axis)
    return torch.tensor(r)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def layernorm(x, n, w, b, eps):
    return F.layer_norm(x, x.shape[-n:], w, b, eps)


def cross_entropy(lg, lab):
    return F.cross_entropy(lg, lab.long())


def nll(lp, lab):
    return F.nll_loss(lp, lab.long())


# ---- the cases ------------------------------------------------------------------------

def creation_cases():
    f32 = torch.float64
    case("arange_f32", "arange_f32", [], lambda: torch.arange(0, 10, 1, dtype=f32))
    case("arange_frac", "arange_frac", [], lambda: torch.arange(1, 4, 0.5, dtype=f32))
    case("arange_neg", "arange_neg", [], lambda: torch.arange(5, -1, -1.5, dtype=f32))
    case("arange_i32", "arange_i32", [], lambda: torch.arange(0, 10, 3), "int32")
    case("linspace_01", "linspace_01", [], lambda: torch.linspace(0, 1, 5, dtype=f32))
    case("linspace_m22", "linspace_m22", [], lambda: torch.linspace(-2, 2, 9, dtype=f32))
    case("eye_4", "eye_4", [], lambda: torch.eye(4, dtype=f32))
    case("full_f32", "full_f32", [], lambda: torch.full((2, 3), 2.5, dtype=f32))
    case("full_i32", "full_i32", [], lambda: torch.full((3,), 7), "int32")
    case("zeros_23", "zeros_23", [], lambda: torch.zeros(2, 3, dtype=f32))
    case("ones_4", "ones_4", [], lambda: torch.ones(4, dtype=f32))
    case("scalar", "scalar", [], lambda: torch.tensor(3.5, dtype=f32))
    case("zeros_like", "zeros_like", [Fl((2, 3))], lambda x: torch.zeros_like(x), grad=False)
    case("ones_like", "ones_like", [Fl((2, 3))], lambda x: torch.ones_like(x), grad=False)
    case("full_like", "full_like", [Fl((3, 2))], lambda x: torch.full_like(x, -1.5),
         grad=False)
    case("ones_like_i32", "ones_like", [In((4,), -5, 5)], lambda x: torch.ones_like(x))


def binary_cases():
    shapes = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((3, 4), ())]
    for i, (sa, sb) in enumerate(shapes):
        case("add_%d" % i, "add", [Fl(sa), Fl(sb)], torch.add)
        case("mul_%d" % i, "mul", [Fl(sa), Fl(sb)], torch.mul)
    for i, (sa, sb) in enumerate(shapes[:3]):
        case("sub_%d" % i, "sub", [Fl(sa), Fl(sb)], torch.sub)
        case("div_%d" % i, "div", [Fl(sa), Fl(sb, "nz")], torch.div)
    case("pow_0", "pow", [Fl((3, 4), "pos"), Fl((3, 4), "u")], torch.pow)
    case("pow_1", "pow", [Fl((2, 3), "pos"), Fl((3,), "u")], torch.pow)
    for k, fn in (("maximum", torch.maximum), ("minimum", torch.minimum)):
        case(k + "_0", k, [Fl((3, 4)), Fl((3, 4))], fn, distinct=True)
        case(k + "_1", k, [Fl((2, 3)), Fl((3,))], fn, distinct=True)
    # integer arithmetic stays int32; true division of ints gives float32
    ia, ib = In((3, 4), -20, 20), In((3, 4), -5, 5, nonzero=True)
    case("add_i32", "add", [ia, In((4,), -9, 9)], torch.add)
    case("sub_i32", "sub", [ia, ib], torch.sub)
    case("mul_i32", "mul", [ia, ib], torch.mul)
    case("maximum_i32", "maximum", [ia, ib], torch.maximum)
    case("minimum_i32", "minimum", [ia, ib], torch.minimum)
    case("idiv_i32", "idiv", [ia, ib], floordiv)
    case("div_i32", "div", [ia, ib], torch.div, "float32")
    # scalar forms
    case("adds", "adds", [Fl((3, 4))], lambda x: x + 1.5)
    case("subs", "subs", [Fl((3, 4))], lambda x: x - 0.25)
    case("muls", "muls", [Fl((3, 4))], lambda x: x * -2.0)
    case("divs", "divs", [Fl((3, 4))], lambda x: x / 4.0)
    case("rsubs", "rsubs", [Fl((3, 4))], lambda x: 1.0 - x)
    case("pows_2", "pows_2", [Fl((3, 4))], lambda x: x ** 2.0)
    case("pows_half", "pows_half", [Fl((3, 4), "pos")], lambda x: x ** 0.5)
    case("pows_3_neg", "pows_3", [Fl((3, 4))], lambda x: x ** 3.0)
    case("pows_m1p5", "pows_m1p5", [Fl((3, 4), "pos")], lambda x: x ** -1.5)
    case("adds_i32", "adds", [In((5,), -9, 9)], lambda x: x + 1)
    case("muls_i32", "muls", [In((5,), -9, 9)], lambda x: x * -2)


def compare_logic_cases():
    cmps = (("lt", torch.lt), ("le", torch.le), ("gt", torch.gt), ("ge", torch.ge),
            ("eq", torch.eq), ("ne", torch.ne))
    for k, fn in cmps:
        case(k + "_f32", k, [Fl((3, 4), "sint"), Fl((3, 4), "sint")], fn, "bool")
        case(k + "_bc", k, [Fl((2, 3), "sint"), Fl((3,), "sint")], fn, "bool")
        case(k + "_i32", k, [In((3, 4), -2, 3), In((3, 4), -2, 3)], fn, "bool")
    case("logical_and_f32", "logical_and", [Fl((3, 4), "sint"), Fl((3, 4), "sint")],
         torch.logical_and, "bool")
    case("logical_or_f32", "logical_or", [Fl((3, 4), "sint"), Fl((4,), "sint")],
         torch.logical_or, "bool")
    case("logical_not_f32", "logical_not", [Fl((3, 4), "sint")], torch.logical_not, "bool")
    case("logical_and_i32", "logical_and", [In((3, 4), -1, 2), In((3, 4), -1, 2)],
         torch.logical_and, "bool")
    case("logical_or_bool", "logical_or", [Bo((3, 4)), Bo((3, 4))], torch.logical_or)
    case("logical_not_i32", "logical_not", [In((6,), -1, 2)], torch.logical_not, "bool")
    iw = In((3, 4), -1000, 1000)
    case("bitwise_and_i32", "bitwise_and", [iw, iw], torch.bitwise_and)
    case("bitwise_or_i32", "bitwise_or", [iw, In((4,), -1000, 1000)], torch.bitwise_or)
    case("bitwise_xor_i32", "bitwise_xor", [iw, iw], torch.bitwise_xor)
    case("bitwise_not_i32", "bitwise_not", [iw], torch.bitwise_not)
    case("bitwise_and_bool", "bitwise_and", [Bo((3, 4)), Bo((3, 4))], torch.bitwise_and)
    case("bitwise_xor_bool", "bitwise_xor", [Bo((3, 4)), Bo((3, 4))], torch.bitwise_xor)
    case("shl_3", "shl_3", [In((3, 4), 0, 1000)], lambda x: x << 3)
    case("shr_2", "shr_2", [In((3, 4), 0, 1000)], lambda x: x >> 2)
    case("where_0", "where", [Bo((3, 4)), Fl((3, 4)), Fl((3, 4))], torch.where, "float32")
    case("where_bc", "where", [Bo((3, 1)), Fl((3, 4)), Fl((4,))], torch.where, "float32")
    case("where_i32", "where", [Bo((5,)), In((5,), -9, 9), In((5,), -9, 9)], torch.where,
         "int32")
    case("clamp", "clamp", [Fl((4, 5))], lambda x: torch.clamp(x, -0.5, 0.5),
         avoid=(-0.5, 0.5))
    case("clamp_i32", "clamp_m2_1", [In((8,), -4, 4)], lambda x: torch.clamp(x, -2, 1))


def unary_cases():
    s = (3, 5)
    un = [("neg", "n", torch.neg), ("reciprocal", "nz", torch.reciprocal),
          ("exp", "n", torch.exp), ("exp2", "n", torch.exp2), ("log", "pos", torch.log),
          ("log2", "pos", torch.log2), ("sqrt", "pos", torch.sqrt),
          ("rsqrt", "pos", torch.rsqrt), ("sin", "n", torch.sin), ("cos", "n", torch.cos),
          ("tanh", "n", torch.tanh), ("sigmoid", "n", torch.sigmoid),
          ("relu", "n", torch.relu), ("gelu", "n", gelu_tanh), ("silu", "n", F.silu),
          ("softplus", "n", F.softplus), ("abs", "n", torch.abs),
          ("sign", "n", torch.sign), ("trunc", "frac", torch.trunc),
          ("floor", "frac", torch.floor), ("ceil", "frac", torch.ceil)]
    for k, dom, fn in un:
        case(k, k, [Fl(s, dom)], fn)
    case("tan", "tan", [Fl(s, "u")], torch.tan)
    case("sin_big", "sin", [Fl((8,), "big")], torch.sin)
    case("sigmoid_big", "sigmoid", [Fl((8,), "big")], torch.sigmoid)
    case("tanh_big", "tanh", [Fl((8,), "big")], torch.tanh)
    case("softplus_big", "softplus", [Fl((8,), "big")], F.softplus)
    case("leaky_relu", "leaky_relu", [Fl(s)], lambda x: F.leaky_relu(x, 0.1))
    case("elu", "elu", [Fl(s)], lambda x: F.elu(x, 1.0))
    case("elu_a", "elu_a", [Fl(s)], lambda x: F.elu(x, 0.5))
    case("neg_i32", "neg", [In((6,), -9, 9)], torch.neg)
    case("abs_i32", "abs", [In((6,), -9, 9)], torch.abs)
    case("detach_mul", "detach_mul", [Fl(s)], lambda x: x * x.detach())
    case("contiguous_t", "contiguous_t", [Fl((3, 4))], lambda x: x.t().contiguous())
    # casts (truncation toward zero for float -> int, nonzero -> true for bool)
    case("cast_f32_i32", "cast_i32", [Fl(s, "frac")], lambda x: x.trunc().long(), "int32")
    case("cast_f32_f16", "cast_f16", [Fl(s)], lambda x: x * 1.0, "float16")
    case("cast_f32_bf16", "cast_bf16", [Fl(s)], lambda x: x * 1.0, "bfloat16")
    case("cast_i32_f32", "cast_f32", [In(s, -50, 50)], lambda x: x.double(), "float32")
    case("cast_bool_f32", "cast_f32", [Bo(s)], lambda x: x.double(), "float32")
    case("cast_f32_bool", "cast_bool", [Fl(s, "sint")], lambda x: x != 0, "bool")
    case("cast_i32_bool", "cast_bool", [In(s, -2, 3)], lambda x: x != 0, "bool")


def reduce_cases():
    x3 = (3, 4, 5)
    case("sum_all", "sum_all", [Fl(x3)], torch.sum)
    case("sum_ax1", "sum_ax1", [Fl(x3)], lambda x: x.sum(1))
    case("sum_ax02_keep", "sum_ax02_keep", [Fl(x3)], lambda x: x.sum((0, 2), keepdim=True))
    case("sum_axm1_keep", "sum_axm1_keep", [Fl(x3)], lambda x: x.sum(-1, keepdim=True))
    case("sum_ax1_2d", "sum_ax1", [Fl((4, 6))], lambda x: x.sum(1))
    case("sum_all_i32", "sum_all", [In((4, 5), -9, 9)], lambda x: x.sum(), "int32")
    case("prod_ax1", "prod_ax1", [Fl((3, 4), "one")], lambda x: x.prod(1))
    case("prod_all", "prod_all", [Fl((2, 3), "nz")], lambda x: x.prod())
    case("max_all", "max_all", [Fl(x3)], lambda x: x.max(), distinct=True)
    case("max_ax1", "max_ax1", [Fl(x3)], lambda x: x.amax(1), distinct=True)
    case("max_ax0_keep", "max_ax0_keep", [Fl((4, 6))], lambda x: x.amax(0, keepdim=True),
         distinct=True)
    case("max_ax1_i32", "max_ax1", [In((3, 5), -50, 50)], lambda x: x.amax(1))
    case("min_axm1", "min_axm1", [Fl(x3)], lambda x: x.amin(-1), distinct=True)
    case("min_all", "min_all", [Fl((4, 6))], lambda x: x.min(), distinct=True)
    case("mean_all", "mean_all", [Fl(x3)], torch.mean)
    case("mean_ax12", "mean_ax12", [Fl(x3)], lambda x: x.mean((1, 2)))
    case("mean_ax0_keep", "mean_ax0_keep", [Fl((4, 6))], lambda x: x.mean(0, keepdim=True))
    case("variance_ax1", "variance_ax1", [Fl(x3)], lambda x: var(x, 1, False, 1))
    case("variance_all_c0", "variance_all_c0", [Fl((4, 6))], lambda x: var(x, None, False, 0))
    case("variance_ax0_keep", "variance_ax0_keep", [Fl((4, 6))], lambda x: var(x, 0, True, 1))
    case("std_axm1", "std_axm1", [Fl(x3)], lambda x: std(x, -1, False, 1))
    case("std_all_c0", "std_all_c0", [Fl((4, 6))], lambda x: std(x, None, False, 0))
    case("argmax_ax1", "argmax_ax1", [Fl(x3)], lambda x: npargmax(x, 1, False), "int32",
         distinct=True)
    case("argmax_ax0_keep", "argmax_ax0_keep", [Fl((4, 6))],
         lambda x: npargmax(x, 0, True), "int32", distinct=True)
    case("argmax_ties", "argmax_ax1", [Fl((6, 5), "sint")], lambda x: npargmax(x, 1, False),
         "int32")
    case("argmin_axm1", "argmin_axm1", [Fl(x3)], lambda x: npargmax(x, -1, False, True),
         "int32", distinct=True)
    case("argmin_ties", "argmin_axm1", [Fl((3, 4, 5), "sint")],
         lambda x: npargmax(x, -1, False, True), "int32")
    case("argmax_i32", "argmax_ax1", [In((4, 7), -50, 50)], lambda x: npargmax(x, 1, False),
         "int32")
    case("logsumexp_m1", "logsumexp_m1", [Fl(x3)], lambda x: torch.logsumexp(x, -1))
    case("logsumexp_0_keep", "logsumexp_0_keep", [Fl((4, 6))],
         lambda x: torch.logsumexp(x, 0, keepdim=True))
    case("logsumexp_big", "logsumexp_m1", [Fl((3, 6), "big")], lambda x: torch.logsumexp(x, -1))
    case("softmax_m1", "softmax_m1", [Fl((4, 6))], lambda x: torch.softmax(x, -1))
    case("softmax_0", "softmax_0", [Fl((4, 6))], lambda x: torch.softmax(x, 0))
    case("softmax_1_3d", "softmax_1", [Fl(x3)], lambda x: torch.softmax(x, 1))
    case("softmax_big", "softmax_m1", [Fl((3, 6), "big")], lambda x: torch.softmax(x, -1))
    case("log_softmax_m1", "log_softmax_m1", [Fl((4, 6))], lambda x: torch.log_softmax(x, -1))
    case("log_softmax_0", "log_softmax_0", [Fl((4, 6))], lambda x: torch.log_softmax(x, 0))
    case("log_softmax_big", "log_softmax_m1", [Fl((3, 6), "big")],
         lambda x: torch.log_softmax(x, -1))


def movement_cases():
    x3 = (2, 3, 4)
    case("reshape_64", "reshape_64", [Fl(x3)], lambda x: x.reshape(6, 4))
    case("reshape_4m1", "reshape_4m1", [Fl(x3)], lambda x: x.reshape(4, -1))
    case("reshape_flat", "reshape_flat", [Fl(x3)], lambda x: x.reshape(24))
    case("permute_201", "permute_201", [Fl(x3)], lambda x: x.permute(2, 0, 1))
    case("permute_102", "permute_102", [Fl(x3)], lambda x: x.permute(1, 0, 2))
    case("expand_34", "expand_34", [Fl((3, 1))], lambda x: x.expand(3, 4))
    case("expand_new", "expand_new", [Fl((1, 4))], lambda x: x.expand(2, 3, 4))
    case("pad_0", "pad_0", [Fl((3, 4))], lambda x: pad_np_order(x, ((1, 2), (0, 1)), 0.0))
    case("pad_val", "pad_val", [Fl((2, 3))], lambda x: pad_np_order(x, ((0, 1), (2, 0)), 1.5))
    case("shrink", "shrink", [Fl((3, 4))], lambda x: shrink(x, ((1, 3), (0, 2))))
    case("flip_0", "flip_0", [Fl((3, 4))], lambda x: x.flip(0))
    case("flip_02", "flip_02", [Fl(x3)], lambda x: x.flip(0, 2))
    case("transpose_02", "transpose_02", [Fl(x3)], lambda x: x.transpose(0, 2))
    case("transpose_m1m2", "transpose_m1m2", [Fl(x3)], lambda x: x.transpose(-1, -2))
    case("squeeze_1", "squeeze_1", [Fl((3, 1, 4))], lambda x: x.squeeze(1))
    case("unsqueeze_0", "unsqueeze_0", [Fl((3, 4))], lambda x: x.unsqueeze(0))
    case("unsqueeze_m1", "unsqueeze_m1", [Fl((3, 4))], lambda x: x.unsqueeze(-1))
    case("flatten_all", "flatten_all", [Fl(x3)], lambda x: x.flatten(0, -1))
    case("flatten_12", "flatten_12", [Fl(x3)], lambda x: x.flatten(1, 2))
    case("cat3_0", "cat3_0", [Fl((2, 3)), Fl((1, 3)), Fl((3, 3))], lambda a, b, c:
         torch.cat([a, b, c], 0))
    case("cat2_m1", "cat2_m1", [Fl((2, 3)), Fl((2, 2))], lambda a, b: torch.cat([a, b], -1))
    case("stack2_0", "stack2_0", [Fl((2, 3)), Fl((2, 3))], lambda a, b: torch.stack([a, b], 0))
    case("stack3_1", "stack3_1", [Fl((2, 3)), Fl((2, 3)), Fl((2, 3))],
         lambda a, b, c: torch.stack([a, b, c], 1))
    case("slice_step2", "slice_step2", [Fl((6, 4))], lambda x: pyslice(x, 0, 1, 5, 2))
    case("slice_neg", "slice_neg", [Fl((6, 4))], lambda x: pyslice(x, 0, 5, 0, -2))
    case("slice_negidx", "slice_negidx", [Fl((6, 4))], lambda x: pyslice(x, 1, -1, -5, -1))
    case("slice_clamp", "slice_clamp", [Fl((6, 4))], lambda x: pyslice(x, 0, -4, 100, 1))
    case("slice_rev_all", "slice_rev_all", [Fl((6, 4))], lambda x: pyslice(x, 0, 5, -7, -1))
    case("gather_1", "gather_1", [Fl((3, 5)), In((3, 4), 0, 5)],
         lambda a, i: torch.gather(a, 1, i))
    case("gather_0", "gather_0", [Fl((3, 5)), In((2, 5), 0, 3)],
         lambda a, i: torch.gather(a, 0, i))
    case("one_hot", "one_hot_4", [In((5,), 0, 4)], lambda l: F.one_hot(l, 4), "float32")


def linalg_cases():
    mm = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2)),
          ((3, 4, 5), (5, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,))]
    for i, (sa, sb) in enumerate(mm):
        case("matmul_%d" % i, "matmul", [Fl(sa), Fl(sb)], torch.matmul)
    case("matmul_k33", "matmul", [Fl((5, 33)), Fl((33, 3))], torch.matmul)
    case("linear", "linear", [Fl((3, 4)), Fl((5, 4)), Fl((5,))], F.linear)
    case("linear_nobias", "linear_nobias", [Fl((3, 4)), Fl((5, 4))], F.linear)
    case("linear_3d", "linear", [Fl((2, 3, 4)), Fl((5, 4)), Fl((5,))], F.linear)
    x = Fl((2, 3, 5, 5))
    w = Fl((4, 3, 3, 3))
    case("conv2d", "conv2d_s1p0", [x, w, Fl((4,))], lambda a, b, c: F.conv2d(a, b, c))
    case("conv2d_s2p1", "conv2d_s2p1", [x, w, Fl((4,))],
         lambda a, b, c: F.conv2d(a, b, c, stride=2, padding=1))
    case("conv2d_nobias", "conv2d_nobias", [Fl((1, 2, 4, 4)), Fl((3, 2, 2, 2))],
         lambda a, b: F.conv2d(a, b, padding=1))
    case("conv2d_dil2", "conv2d_dil2", [Fl((1, 2, 7, 7)), Fl((3, 2, 3, 3)), Fl((3,))],
         lambda a, b, c: F.conv2d(a, b, c, stride=1, padding=2, dilation=2))
    case("conv2d_g2", "conv2d_g2", [Fl((2, 4, 5, 5)), Fl((6, 2, 3, 3)), Fl((6,))],
         lambda a, b, c: F.conv2d(a, b, c, stride=1, padding=1, groups=2))
    case("conv2d_dw", "conv2d_dw", [Fl((1, 3, 6, 6)), Fl((3, 1, 3, 3)), Fl((3,))],
         lambda a, b, c: F.conv2d(a, b, c, stride=2, padding=0, groups=3))
    case("conv2d_1x1", "conv2d_s1p0", [Fl((2, 3, 3, 4)), Fl((5, 3, 1, 1)), Fl((5,))],
         lambda a, b, c: F.conv2d(a, b, c))
    case("max_pool_k2s2", "max_pool_k2s2", [Fl((2, 3, 4, 4))],
         lambda a: F.max_pool2d(a, 2, 2), distinct=True)
    case("max_pool_k3s1", "max_pool_k3s1", [Fl((1, 2, 5, 5))],
         lambda a: F.max_pool2d(a, 3, 1), distinct=True)
    case("max_pool_k2s2_odd", "max_pool_k2s2", [Fl((1, 2, 5, 5))],
         lambda a: F.max_pool2d(a, 2, 2), distinct=True)
    case("avg_pool_k2s2", "avg_pool_k2s2", [Fl((2, 3, 4, 4))], lambda a: F.avg_pool2d(a, 2, 2))
    case("avg_pool_k3s2", "avg_pool_k3s2", [Fl((1, 2, 7, 7))], lambda a: F.avg_pool2d(a, 3, 2))
    case("layernorm_1", "layernorm_1", [Fl((3, 8)), Fl((8,)), Fl((8,))],
         lambda x_, w_, b_: layernorm(x_, 1, w_, b_, 1e-5))
    case("layernorm_2", "layernorm_2", [Fl((2, 3, 4)), Fl((3, 4)), Fl((3, 4))],
         lambda x_, w_, b_: layernorm(x_, 2, w_, b_, 1e-5))
    case("layernorm_noaffine", "layernorm_noaffine", [Fl((4, 6))],
         lambda x_: layernorm(x_, 1, None, None, 1e-5))
    case("dropout_p0", "dropout_p0", [Fl((4, 5))], lambda x_: x_ * 1.0)
    case("dropout_eval", "dropout_eval", [Fl((4, 5))], lambda x_: x_ * 1.0)
    case("cross_entropy", "cross_entropy", [Fl((4, 5)), In((4,), 0, 5)], cross_entropy)
    case("cross_entropy_big", "cross_entropy", [Fl((3, 6), "big"), In((3,), 0, 6)],
         cross_entropy)
    case("nll_loss", "nll_loss", [Fl((4, 5)), In((4,), 0, 5)], nll)
    case("mse_loss", "mse_loss", [Fl((3, 4)), Fl((3, 4))], F.mse_loss)


def chain_cases():
    case("chain_relu_linear", "chain_relu_linear", [Fl((4, 3)), Fl((3, 5)), Fl((5,))],
         lambda x, w, b: torch.relu(x @ w + b))
    case("chain_mlp2", "chain_mlp2",
         [Fl((4, 6)), Fl((6, 8)), Fl((8,)), Fl((8, 3)), Fl((3,))],
         lambda x, w1, b1, w2, b2: torch.relu(x @ w1 + b1) @ w2 + b2)
    case("chain_softmax_mm", "chain_softmax_mm", [Fl((3, 4)), Fl((4, 5))],
         lambda x, w: torch.softmax(x @ w, -1))
    case("chain_ce_linear", "chain_ce_linear", [Fl((4, 6)), Fl((5, 6)), Fl((5,)),
                                                  In((4,), 0, 5)],
         lambda x, w, b, l: cross_entropy(F.linear(x, w, b), l))
    case("chain_elementwise", "chain_elementwise", [Fl((3, 4)), Fl((4,))],
         lambda a, b: torch.sigmoid(a) * b + torch.exp(-a * a) - torch.tanh(b) / 2)
    case("chain_reuse", "chain_reuse", [Fl((3, 4))],
         lambda a: (a * a).sum(1, keepdim=True) * a + a.exp().mean())
    case("chain_conv_relu_pool", "chain_conv_relu_pool",
         [Fl((1, 2, 6, 6)), Fl((3, 2, 3, 3)), Fl((3,))],
         lambda x, w, b: F.max_pool2d(torch.relu(F.conv2d(x, w, b, padding=1)), 2, 2))
    case("chain_ln_linear", "chain_ln_linear",
         [Fl((3, 6)), Fl((6,)), Fl((6,)), Fl((4, 6))],
         lambda x, g, b, w: F.linear(layernorm(x, 1, g, b, 1e-5), w).tanh())
    case("chain_attention", "chain_attention", [Fl((2, 4, 3)), Fl((2, 4, 3)), Fl((2, 4, 3))],
         lambda q, k, v: torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(3), -1) @ v)


def edge_cases():
    """Ties and zeros where the gradient follows PyTorch's convention, 0-d tensors, views
    stacked on views, mixed-dtype promotion and other integer dtypes."""
    sint = Fl((3, 4), "sint")
    case("relu_zero", "relu", [sint], torch.relu)             # relu'(0) = 0
    case("abs_zero", "abs", [sint], torch.abs)                # abs'(0) = 0
    case("clamp_edges", "clamp_m1_1", [Fl((3, 5), "sint")],   # grad 1 on the bounds
         lambda x: torch.clamp(x, -1, 1))
    case("max_ties", "max_ax1", [Fl((3, 4, 5), "sint")],      # ties share the gradient
         lambda x: x.amax(1))
    case("maximum_ties", "maximum", [sint, Fl((3, 4), "sint")], torch.maximum)
    case("prod_zero", "prod_ax1", [Fl((4, 3), "sint")], lambda x: x.prod(1))
    case("sum_all_keep", "sum_all_keep", [Fl((2, 3, 4))],
         lambda x: x.sum((0, 1, 2), keepdim=True))
    case("exp_0d", "exp", [Fl(())], torch.exp)
    case("add_0d", "add", [Fl(()), Fl(())], torch.add)
    case("sum_0d", "sum_all", [Fl(())], torch.sum)
    case("matmul_1d_3d", "matmul", [Fl((4,)), Fl((2, 4, 3))], torch.matmul)
    case("matmul_3d_1d", "matmul", [Fl((2, 3, 4)), Fl((4,))], torch.matmul)
    case("conv2d_rect", "conv2d_s2p1", [Fl((1, 2, 5, 7)), Fl((3, 2, 3, 2)), Fl((3,))],
         lambda a, b, c: F.conv2d(a, b, c, stride=2, padding=1))
    case("avg_pool_k2s1", "avg_pool_k2s1", [Fl((1, 2, 4, 5))], lambda a: F.avg_pool2d(a, 2, 1))
    case("cat1", "cat1_0", [Fl((2, 3))], lambda a: torch.cat([a], 0))
    # permute -> reshape -> reversed slice -> pad -> exp -> sum over axis 0
    case("chain_views", "chain_views", [Fl((2, 3, 4), "u")],
         lambda x: pad_np_order(pyslice(x.permute(2, 0, 1).reshape(4, 6), 1, 5, -7, -2),
                                ((1, 0), (0, 2)), 0.5).exp().sum(0))
    # promotion lattice (torch's): int32+float32 -> float32, float16+float32 -> float32,
    # bool+int32 -> int32; python scalars adopt the tensor's dtype
    case("add_i32_f32", "add", [In((3, 4), -9, 9), Fl((3, 4))], torch.add, "float32")
    case("mul_f16_f32", "mul", [Fl((3, 4), dt="float16"), Fl((4,))], torch.mul, "float32")
    case("add_bool_i32", "add", [Bo((3, 4)), In((3, 4), -9, 9)], torch.add, "int32")
    case("adds_f16", "adds", [Fl((3, 4), dt="float16")], lambda x: x + 1.5)
    # other integer dtypes
    case("add_i64", "add", [In((3, 4), -10**6, 10**6, "int64"), In((4,), -9, 9, "int64")],
         torch.add)
    case("mul_u8", "mul", [In((3, 4), 0, 15, "uint8"), In((3, 4), 0, 15, "uint8")], torch.mul)
    case("bitwise_xor_u8", "bitwise_xor", [In((3, 4), 0, 256, "uint8"),
                                           In((3, 4), 0, 256, "uint8")], torch.bitwise_xor)
    case("max_ax1_i8", "max_ax1", [In((3, 5), -100, 100, "int8")], lambda x: x.amax(1))
    case("cast_f32_u8", "cast_u8", [Fl((3, 5), "wide")], lambda x: x.trunc().long(),
         "uint8")
    case("cast_i64_f32", "cast_f32", [In((6,), -10**6, 10**6, "int64")], lambda x: x.double(),
         "float32")


def lowp_cases():
    """float16 / bfloat16 subsets (compared at looser tolerances)."""
    for dt, sfx in (("float16", "f16"), ("bfloat16", "bf16")):
        def f(shape, dom="n"):
            return Fl(shape, dom, dt)
        case("add_" + sfx, "add", [f((3, 4)), f((4,))], torch.add)
        case("mul_" + sfx, "mul", [f((3, 4)), f((3, 4))], torch.mul)
        case("div_" + sfx, "div", [f((3, 4)), f((3, 4), "nz")], torch.div)
        case("exp_" + sfx, "exp", [f((3, 5))], torch.exp)
        case("relu_" + sfx, "relu", [f((3, 5))], torch.relu)
        case("sigmoid_" + sfx, "sigmoid", [f((3, 5))], torch.sigmoid)
        case("tanh_" + sfx, "tanh", [f((3, 5))], torch.tanh)
        case("sqrt_" + sfx, "sqrt", [f((3, 5), "pos")], torch.sqrt)
        case("sum_ax1_" + sfx, "sum_ax1", [f((3, 4, 5))], lambda x: x.sum(1))
        case("mean_all_" + sfx, "mean_all", [f((4, 6))], torch.mean)
        case("max_ax1_" + sfx, "max_ax1", [f((3, 4, 5))], lambda x: x.amax(1), distinct=True)
        case("matmul_" + sfx, "matmul", [f((3, 8)), f((8, 4))], torch.matmul)
        case("softmax_" + sfx, "softmax_m1", [f((4, 6))], lambda x: torch.softmax(x, -1))
        case("cast_" + sfx + "_f32", "cast_f32", [f((3, 5))], lambda x: x * 1.0, "float32")
    f64 = "float64"
    case("add_f64", "add", [Fl((3, 4), dt=f64), Fl((4,), dt=f64)], torch.add)
    case("exp_f64", "exp", [Fl((3, 4), dt=f64)], torch.exp)
    case("sum_ax1_f64", "sum_ax1", [Fl((3, 4, 5), dt=f64)], lambda x: x.sum(1))
    case("matmul_f64", "matmul", [Fl((3, 4), dt=f64), Fl((4, 2), dt=f64)], torch.matmul)


def main():
    creation_cases()
    binary_cases()
    compare_logic_cases()
    unary_cases()
    reduce_cases()
    movement_cases()
    linalg_cases()
    chain_cases()
    edge_cases()
    lowp_cases()
    out = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens.txt")
    write(out)


if __name__ == "__main__":
    main()
