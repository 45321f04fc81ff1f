#!/usr/bin/env python3
# Times one GPU kernel of bench/gpu_bench.py (float32 matmul, float16 GEMV) under several
# opt lists in ONE process (CG_OPTS is read at each compile; "" = the default heuristics,
# "none" = NOOPT, "CG_STAGE=n:OPTS" = OPTS with CG_STAGE=n), against PyTorch on the same
# GPU, to pick a heuristic's plan.
#   python3 bench/gpu_opts_sweep.py --lib /tmp/b/core/libcgrad.so --case mm32 \
#       --opts "UPCAST0:4 UPCAST1:4 LOCAL0:16 LOCAL1:16;" [--n 4096]
# Prints per opt list: the kernel name (opts applied), GPU time (DEBUG=2), TFLOP/s or GB/s,
# ratio to torch, max relative error vs torch.
import argparse
import os
import statistics
import sys

os.environ["DEBUG"] = "2"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgbench  # noqa: E402
from cgbench import CG_FLOAT16, CG_FLOAT32  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def torch_time(fn, reps=10):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--case", default="mm32", choices=["mm32", "gemv16"])
    ap.add_argument("--opts", default="", help="';'-separated opt lists")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    cg = cgbench.Cgrad(args.lib)
    cg.set_device("CUDA")
    L = cg.lib
    rng = np.random.default_rng(0)
    if args.case == "mm32":
        n = args.n
        a_np = rng.standard_normal((n, n), dtype=np.float32)
        b_np = rng.standard_normal((n, n), dtype=np.float32)
        a, b = cg.from_numpy(a_np), cg.from_numpy(b_np)
        ta, tb = torch.from_numpy(a_np).cuda(), torch.from_numpy(b_np).cuda()
        want = (ta @ tb).cpu().numpy()
        t_ref = torch_time(lambda: ta @ tb)
        got = np.empty((n, n), np.float32)
        work, unit, shape = 2 * n ** 3 * 1e-12, "TFLOP/s", (n, n)
    else:
        r, c = 16384, 4096
        A_np = (rng.standard_normal((r, c), dtype=np.float32) * 0.1)
        x_np = rng.standard_normal((c, 1), dtype=np.float32)
        a, b = cg.from_numpy(A_np, CG_FLOAT16), cg.from_numpy(x_np, CG_FLOAT16)
        ta, tb = torch.from_numpy(A_np).cuda().half(), torch.from_numpy(x_np).cuda().half()
        want = (ta @ tb).float().cpu().numpy()
        t_ref = torch_time(lambda: ta @ tb)
        got = np.empty((r, 1), np.float16)
        work, unit, shape = 2 * (r * c + r + c) * 1e-9, "GB/s", (r, 1)
    print(f"torch: {t_ref * 1e3:.3f} ms, {work / t_ref:.1f} {unit}", flush=True)
    sync_t = cg.from_numpy(np.zeros(1, np.float32))
    host1 = np.zeros(1, np.float32)
    sync = lambda: cg.to_host(sync_t, host1)  # noqa: E731
    for opts in args.opts.split(";"):
        opts = opts.strip()
        os.environ.pop("NOOPT", None)
        os.environ.pop("CG_STAGE", None)
        if opts.startswith("CG_STAGE="):  # "CG_STAGE=0:opts": staging off (1: no vector reads)
            os.environ["CG_STAGE"], opts = opts[len("CG_STAGE="):].split(":", 1)
        os.environ["CG_OPTS"] = "" if opts == "none" else opts
        if opts == "none":
            os.environ["NOOPT"] = "1"
        try:
            out = cg.check(L.cg_matmul(a, b), "matmul")
            cg.realize(out)
            cg.to_host(out, got)
            L.cg_release(out)
            err = float(np.max(np.abs(got.astype(np.float64) - want)) / np.max(np.abs(want)))
            name = next((w for ln in cg.log_lines for w in ln.split() if w.startswith("r_")), "?")
            cg.kernel_times()
            ks = []
            for _ in range(args.reps):
                cg.run(lambda: L.cg_matmul(a, b), sync)
                ks.append(sum(cg.kernel_times()))
            k = statistics.median(ks)
            stage = f"CG_STAGE={os.environ['CG_STAGE']}:" if "CG_STAGE" in os.environ else ""
            print(f"[{stage}{opts or 'heuristic'}] {name}: {k * 1e3:.3f} ms, {work / k:.1f} {unit}, "
                  f"ratio to torch {t_ref / k:.3f}, rel err {err:.1e}", flush=True)
        except Exception as e:  # noqa: BLE001
            print(f"[{opts}] failed: {e}", flush=True)
            cg.log_lines.clear()


if __name__ == "__main__":
    main()
