#!/usr/bin/env python3
# GPU benchmark of issue 6.2: float32 and float16 matmul 4096, a float16 GEMV (16384 x 4096
# matrix times a vector, memory-bound: compared as achieved bandwidth), a fused elementwise
# chain over 1 GiB and softmax over (8192, 8192) on cgrad (BACKEND=CUDA) and PyTorch CUDA on
# the same GPU, in ONE process run, plus PyTorch's device-to-device copy bandwidth as the
# reference for "elementwise kernels reach at least 70% of PyTorch's d2d copy bandwidth".
# With --mma-bench PATH (tests/cuda's cuda_test_mma), also the hand-written IR tensor-core
# matmul (WMMA, float16 4096, "NT" layout) against torch.matmul on the same layout.
#
# cgrad times: wall time of build + realize + a wait for the stream (a 4-byte copy-out), and
# the GPU kernel time the core logs at DEBUG=2 (CUDA events). PyTorch times: CUDA events
# around the op. Ratios are cgrad time / torch time (1.0 = as fast; < 1 = cgrad faster).
#
# Run (GPU machine): python3 bench/gpu_bench.py --lib build/core/libcgrad.so [--json out]
#   [--mma-bench build/tests/cuda/cuda_test_mma --cuda-plugin build/plugins.d/libcgrad-cuda.so]
# Dry run on a CPU: --cg-device LLVM --torch-device cpu --small
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("DEBUG", "2")  # the core then logs each launch's device time
if not os.environ.get("CG_CACHE_DIR"):
    os.environ["CG_CACHE_DIR"] = tempfile.mkdtemp(prefix="cgbench-cache-")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgbench  # noqa: E402
from cgbench import CG_FLOAT16, CG_FLOAT32  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402


def med(xs):
    return statistics.median(xs) if xs else None


def time_cg(cg, build, sync, warmup=2, reps=7):
    """Median wall seconds (realize + stream wait) and median summed kernel seconds."""
    for _ in range(warmup):
        cg.run(build, sync)
    cg.kernel_times()
    walls, kern, nk = [], [], 0
    for _ in range(reps):
        w, nk = cg.run(build, sync)
        walls.append(w)
        kern.append(sum(cg.kernel_times()))
    return {"wall_s": med(walls), "kernel_s": med(kern) if any(kern) else None, "kernels": int(nk)}


def time_torch(fn, dev, warmup=2, reps=7):
    """Median seconds of fn() by CUDA events (wall + synchronize on the CPU)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        if dev == "cuda":
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            ts.append(a.elapsed_time(b) * 1e-3)
        else:
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return med(ts)


def ew_cg(L, x, y):
    """8 ops: |relu((x*y + 0.5)*1.5 - 0.25)*y + x| (fuses into one kernel)."""
    def build():
        a = L.cg_mul(x, y); b = L.cg_adds(a, 0.5); c = L.cg_muls(b, 1.5); d = L.cg_subs(c, 0.25)
        e = L.cg_relu(d); f = L.cg_mul(e, y); g = L.cg_add(f, x); h = L.cg_abs(g)
        for t in (a, b, c, d, e, f, g):
            L.cg_release(t)
        return h
    return build


def ew_torch(x, y):
    return torch.abs(torch.relu((x * y + 0.5) * 1.5 - 0.25) * y + x)


def max_rel_err(got, want):
    got, want = got.astype(np.float64), want.astype(np.float64)
    return float(np.max(np.abs(got - want)) / max(1e-30, float(np.max(np.abs(want)))))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib")
    ap.add_argument("--json")
    ap.add_argument("--cg-device", default="CUDA")
    ap.add_argument("--torch-device", default="cuda")
    ap.add_argument("--small", action="store_true", help="tiny sizes for a dry run")
    ap.add_argument("--mma-bench", help="cuda_test_mma binary: time the IR tensor-core matmul too")
    ap.add_argument("--cuda-plugin", help="the CUDA plugin .so for --mma-bench")
    args = ap.parse_args()
    t_start = time.time()
    MM = 512 if args.small else 4096
    EW_N = (1 << 22) if args.small else (1 << 28)          # 256M float32 = 1 GiB per tensor
    SM = (512, 512) if args.small else (8192, 8192)
    tdev = args.torch_device
    lib = os.path.abspath(cgbench.find_lib(args.lib))
    cg = cgbench.Cgrad(lib)
    cg.set_device(args.cg_device)
    L = cg.lib
    info = {"lib": lib, "torch": torch.__version__, "numpy": np.__version__,
            "tf32": bool(torch.backends.cuda.matmul.allow_tf32)}
    if tdev == "cuda":
        p = torch.cuda.get_device_properties(0)
        info["gpu"] = f"{p.name}, {p.multi_processor_count} SMs, {p.total_memory >> 20} MiB"
    print(f"# cgrad GPU benchmark\n{json.dumps(info)}", flush=True)

    one = cg.from_numpy(np.zeros(1, np.float32))
    one_host = np.zeros(1, np.float32)
    sync = lambda: cg.to_host(one, one_host)  # noqa: E731  (copy-out waits for the stream)
    rng = np.random.default_rng(0)
    res, checks = {}, {}

    # ---- matmul float32 / float16
    a_np = rng.standard_normal((MM, MM), dtype=np.float32)
    b_np = rng.standard_normal((MM, MM), dtype=np.float32)
    ta, tb = torch.from_numpy(a_np).to(tdev), torch.from_numpy(b_np).to(tdev)
    for name, dt, tdt in (("matmul f32", CG_FLOAT32, torch.float32), ("matmul f16", CG_FLOAT16, torch.float16)):
        case = f"{name} {MM}"
        a, b = cg.from_numpy(a_np, dt), cg.from_numpy(b_np, dt)
        out = cg.check(L.cg_matmul(a, b), "matmul")
        out32 = cg.check(L.cg_cast(out, CG_FLOAT32), "cast")
        cg.realize(out32)
        got = np.empty((MM, MM), np.float32)
        cg.to_host(out32, got)
        L.cg_release(out); L.cg_release(out32)
        tA, tB = ta.to(tdt), tb.to(tdt)
        if tdev == "cpu" and tdt == torch.float16:  # dry run: CPU torch has no half matmul
            tA, tB = tA.float(), tB.float()
        want = (tA @ tB).float().cpu().numpy()
        checks[case] = max_rel_err(got, want)
        r = time_cg(cg, lambda: L.cg_matmul(a, b), sync)
        r["torch_s"] = time_torch(lambda: tA @ tB, tdev)
        r["tflops_cg"] = 2 * MM ** 3 / (r["kernel_s"] or r["wall_s"]) * 1e-12
        r["tflops_torch"] = 2 * MM ** 3 / r["torch_s"] * 1e-12
        res[case] = r
        print(f"  {case}: {r}  rel err vs torch {checks[case]:.2e}", flush=True)
        L.cg_release(a); L.cg_release(b)
        del tA, tB
    del ta, tb

    # ---- float16 GEMV: y (R) = A (R x C) @ x (C); bandwidth = bytes of A + x + y / time
    GR, GC = (1024, 512) if args.small else (16384, 4096)
    case = f"gemv f16 {GR}x{GC}"
    A_np = (rng.standard_normal((GR, GC), dtype=np.float32) * 0.1).astype(np.float32)
    x_np = rng.standard_normal((GC, 1), dtype=np.float32)
    gA, gx = cg.from_numpy(A_np, CG_FLOAT16), cg.from_numpy(x_np, CG_FLOAT16)
    out = cg.check(L.cg_matmul(gA, gx), "gemv")
    out32 = cg.check(L.cg_cast(out, CG_FLOAT32), "cast")
    cg.realize(out32)
    got = np.empty((GR, 1), np.float32)
    cg.to_host(out32, got)
    L.cg_release(out); L.cg_release(out32)
    tA, tx = torch.from_numpy(A_np).to(tdev).half(), torch.from_numpy(x_np).to(tdev).half()
    if tdev == "cpu":
        tA, tx = tA.float(), tx.float()
    checks[case] = max_rel_err(got, (tA @ tx).float().cpu().numpy())
    r = time_cg(cg, lambda: L.cg_matmul(gA, gx), sync)
    r["torch_s"] = time_torch(lambda: tA @ tx, tdev, warmup=3, reps=10)
    moved = 2 * (GR * GC + GC + GR)
    r["gbs_cg"] = moved / (r["kernel_s"] or r["wall_s"]) * 1e-9
    r["gbs_torch"] = moved / r["torch_s"] * 1e-9
    r["bw_ratio"] = r["gbs_cg"] / r["gbs_torch"]
    res[case] = r
    print(f"  {case}: {r}  rel err vs torch {checks[case]:.2e}", flush=True)
    L.cg_release(gA); L.cg_release(gx)
    del tA, tx

    # ---- the IR tensor-core matmul (tests/cuda), float16 NT, vs torch on the same layout
    if args.mma_bench and tdev == "cuda":
        mm = 512 if args.small else 4096
        cmd = [args.mma_bench, args.cuda_plugin or "", "bench", str(mm)]
        pr = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        lines = [ln for ln in pr.stdout.splitlines() if ln.startswith("{")]
        if pr.returncode == 0 and lines:
            ta16 = torch.randn(mm, mm, device="cuda", dtype=torch.float16)
            tb16 = torch.randn(mm, mm, device="cuda", dtype=torch.float16)
            t_nt = time_torch(lambda: ta16 @ tb16.t(), tdev, warmup=3, reps=10)
            for ln in lines:  # one line per kernel variant
                r = json.loads(ln)
                r["torch_s"] = t_nt
                r["tflops_torch"] = 2 * mm ** 3 / t_nt * 1e-12
                r["speed_ratio"] = r["tflops"] / r["tflops_torch"]
                res[r["case"]] = r
                print(f"  {r['case']}: {r}", flush=True)
            del ta16, tb16
        else:
            print(f"  mma bench failed (rc {pr.returncode}): {pr.stdout[-500:]} {pr.stderr[-500:]}", flush=True)

    # ---- fused elementwise chain over 1 GiB tensors (reads x, y; writes out: 3 GiB moved)
    case = f"elementwise {EW_N * 4 >> 20} MiB"
    x_np = rng.random(EW_N, dtype=np.float32) - 0.5
    y_np = rng.random(EW_N, dtype=np.float32) - 0.5
    x, y = cg.from_numpy(x_np), cg.from_numpy(y_np)
    build = ew_cg(L, x, y)
    out = build(); cg.realize(out)
    got = np.empty(EW_N, np.float32); cg.to_host(out, got); L.cg_release(out)
    tx, ty = torch.from_numpy(x_np).to(tdev), torch.from_numpy(y_np).to(tdev)
    checks[case] = max_rel_err(got, ew_torch(tx, ty).cpu().numpy())
    del got, x_np, y_np
    r = time_cg(cg, build, sync)
    r["torch_s"] = time_torch(lambda: ew_torch(tx, ty), tdev)
    moved = 3 * EW_N * 4
    r["gbs_cg"] = moved / (r["kernel_s"] or r["wall_s"]) * 1e-9
    r["gbs_cg_wall"] = moved / r["wall_s"] * 1e-9
    r["gbs_torch_unfused"] = moved / r["torch_s"] * 1e-9
    res[case] = r
    L.cg_release(x); L.cg_release(y)
    # PyTorch device-to-device copy of the same size: the bandwidth reference
    dst = torch.empty_like(tx)
    t_copy = time_torch(lambda: dst.copy_(tx), tdev, warmup=3, reps=10)
    copy_gbs = 2 * EW_N * 4 / t_copy * 1e-9
    res["torch d2d copy 1 GiB"] = {"torch_s": t_copy, "gbs": copy_gbs}
    r["fraction_of_copy_bw"] = r["gbs_cg"] / copy_gbs
    print(f"  {case}: {r}  rel err {checks[case]:.2e}\n  torch copy: {copy_gbs:.0f} GB/s", flush=True)
    del tx, ty, dst

    # ---- softmax over the last axis of (8192, 8192)
    case = f"softmax {SM[0]}x{SM[1]}"
    s_np = rng.standard_normal(SM, dtype=np.float32)
    s = cg.from_numpy(s_np)
    out = cg.check(L.cg_softmax(s, -1), "softmax"); cg.realize(out)
    got = np.empty(SM, np.float32); cg.to_host(out, got); L.cg_release(out)
    ts = torch.from_numpy(s_np).to(tdev)
    checks[case] = max_rel_err(got, torch.softmax(ts, -1).cpu().numpy())
    r = time_cg(cg, lambda: L.cg_softmax(s, -1), sync)
    r["torch_s"] = time_torch(lambda: torch.softmax(ts, -1), tdev)
    r["gbs_cg"] = 2 * s_np.nbytes / (r["kernel_s"] or r["wall_s"]) * 1e-9
    r["gbs_torch"] = 2 * s_np.nbytes / r["torch_s"] * 1e-9
    res[case] = r
    print(f"  {case}: {r}  rel err {checks[case]:.2e}", flush=True)
    L.cg_release(s); L.cg_release(one)

    report(res, checks, copy_gbs)
    print(f"\ntotal wall time {time.time() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": res, "max_rel_err_vs_torch": checks}, f, indent=1)


def report(res, checks, copy_gbs):
    print("\n## Times (median ms) and ratios cgrad / torch (1.0 = as fast; < 1 = cgrad faster)\n")
    print("| case | cgrad wall | cgrad kernels (GPU time) | #kernels | torch | ratio wall | ratio kernel | rel err |")
    print("|---|---|---|---|---|---|---|---|")
    for case, r in res.items():
        if "wall_s" not in r:
            continue
        k = r["kernel_s"]
        print(f"| {case} | {r['wall_s'] * 1e3:.3f} | {k * 1e3 if k else float('nan'):.3f} | {r['kernels']} | "
              f"{r['torch_s'] * 1e3:.3f} | {r['wall_s'] / r['torch_s']:.2f} | "
              f"{(k / r['torch_s']) if k else float('nan'):.2f} | {checks.get(case, float('nan')):.1e} |")
    print()
    for case, r in res.items():
        if "bw_ratio" in r:
            print(f"- {case}: cgrad {r['gbs_cg']:.0f} GB/s, torch {r['gbs_torch']:.0f} GB/s "
                  f"-> cgrad achieves {100 * r['bw_ratio']:.0f}% of torch's bandwidth")
        if "speed_ratio" in r:
            print(f"- {case}: IR WMMA kernel {r['tflops']:.1f} TFLOP/s ({r['kernel_ms']:.3f} ms), torch.matmul "
                  f"(same NT layout) {r['tflops_torch']:.1f} TFLOP/s -> {100 * r['speed_ratio']:.1f}% of torch")
        if "tflops_cg" in r:
            print(f"- {case}: cgrad {r['tflops_cg']:.1f} TFLOP/s, torch {r['tflops_torch']:.1f} TFLOP/s")
        if "fraction_of_copy_bw" in r:
            f = r["fraction_of_copy_bw"]
            print(f"- {case}: cgrad {r['gbs_cg']:.0f} GB/s (kernel time; {r['gbs_cg_wall']:.0f} GB/s by wall), "
                  f"torch unfused chain {r['gbs_torch_unfused']:.0f} GB/s, torch d2d copy {copy_gbs:.0f} GB/s "
                  f"-> {100 * f:.0f}% of copy bandwidth (target >= 70%: {'MET' if f >= 0.7 else 'NOT MET'})")
        if "gbs_torch" in r:
            print(f"- {case}: cgrad {r['gbs_cg']:.0f} GB/s, torch {r['gbs_torch']:.0f} GB/s (2 x tensor bytes / time)")


if __name__ == "__main__":
    main()
