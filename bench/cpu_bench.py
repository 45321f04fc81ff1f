#!/usr/bin/python3
# CPU benchmark of issue 4.3/4.4/7: float32 matmul 512/1024/2048 (default opts, and BEAM=2 on
# LLVM), a fused elementwise chain over 64 MiB and softmax over (4096, 4096) on cgrad (LLVM and CLANG plugins) against numpy
# (OpenBLAS) and PyTorch CPU in ONE process run, plus the first-call compile latency of LLVM
# vs CLANG and the thread scaling (CG_THREADS=1 vs 2, as child processes since the plugins
# read the thread count once). Prints markdown tables with ratios; --json writes the numbers.
#
# Run: /usr/bin/python3 bench/cpu_bench.py [--lib build/core/libcgrad.so] [--json out.json]
# (Debian's python3 has python3-numpy and python3-torch.)
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# numpy's OpenBLAS: the host may pin OPENBLAS_CORETYPE/L2_SIZE for old OpenBLAS builds; they
# slow a current one, so this benchmark process alone runs without them (reported below).
_BLAS_ENV = {k: os.environ.pop(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
# Debian's numpy and torch link libblas.so.3, which is the reference BLAS unless the
# alternative points elsewhere; the peer is meant to be OpenBLAS, so when Debian's
# libopenblas0-pthread is installed this process re-executes itself with it first.
_OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
if (os.path.exists(os.path.join(_OPENBLAS_DIR, "libblas.so.3")) and not os.environ.get("CG_BENCH_REEXEC")
        and "--child-threads" not in sys.argv):
    os.environ["LD_LIBRARY_PATH"] = _OPENBLAS_DIR + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    os.environ["CG_BENCH_REEXEC"] = "1"
    os.execv(sys.executable, [sys.executable] + sys.argv)
# A fresh program cache, so compile latency is real and no earlier run's binaries are used.
if not os.environ.get("CG_CACHE_DIR"):
    os.environ["CG_CACHE_DIR"] = tempfile.mkdtemp(prefix="cgbench-cache-")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgbench  # noqa: E402
from cgbench import median_time, wall  # noqa: E402

import numpy as np  # noqa: E402

BACKENDS = ["LLVM", "CLANG"]
BEAM_COL = "LLVM+BEAM"           # matmul rows only: LLVM with BEAM=2 kernel search
EW_N = 16 * 1024 * 1024          # 16M float32 = 64 MiB per tensor
SM_SHAPE = (4096, 4096)
MM_SIZES = [512, 1024, 2048]


def ew_cg(cg, x, y):
    """8 ops: |relu((x*y + 0.5)*1.5 - 0.25)*y + x| (fuses into one kernel)."""
    L = cg.lib
    def build():
        a = L.cg_mul(x, y); b = L.cg_adds(a, 0.5); c = L.cg_muls(b, 1.5); d = L.cg_subs(c, 0.25)
        e = L.cg_relu(d); f = L.cg_mul(e, y); g = L.cg_add(f, x); h = L.cg_abs(g)
        for t in (a, b, c, d, e, f, g):
            L.cg_release(t)
        return h
    return build


def heavy_cg(cg, x):
    """Compute-bound chain for the thread-scaling check: tanh(sin(x)*exp(-|x|)) + sqrt(|x|)."""
    L = cg.lib
    def build():
        a = L.cg_sin(x); b = L.cg_abs(x); c = L.cg_muls(b, -1.0); d = L.cg_exp(c); e = L.cg_mul(a, d)
        f = L.cg_tanh(e); g = L.cg_sqrt(b); h = L.cg_add(f, g)
        for t in (a, b, c, d, e, f, g):
            L.cg_release(t)
        return h
    return build


def ew_np(x, y):
    return np.abs(np.maximum((x * y + 0.5) * 1.5 - 0.25, 0) * y + x)


def sm_np(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def blas_info():
    """Which BLAS kernel numpy runs (threadpoolctl if present, else numpy's build config)."""
    try:
        import threadpoolctl
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                         f"threads={i.get('num_threads')}" for i in threadpoolctl.threadpool_info())
    except ImportError:
        pass
    try:  # OpenBLAS reports its core kernel itself
        import ctypes
        import glob
        maps = set(p for p in open("/proc/self/maps").read().split() if "blas" in p)
        libs = [p for p in maps if "openblas" in p]
        if not libs:
            return "reference BLAS (no OpenBLAS loaded): " + ", ".join(sorted(maps))
        for path in libs:
            ob = ctypes.CDLL(path)
            ob.openblas_get_corename.restype = ctypes.c_char_p
            ob.openblas_get_config.restype = ctypes.c_char_p
            return (f"{os.path.realpath(path)}: core={ob.openblas_get_corename().decode()} "
                    f"threads={ob.openblas_get_num_threads()} config={ob.openblas_get_config().decode()}")
    except (OSError, AttributeError):
        pass
    return "unknown (no threadpoolctl, no OpenBLAS symbols)"


def check_close(name, got, want, tol):
    err = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    ok = err <= tol * max(1.0, float(np.max(np.abs(want))))
    print(f"  check {name}: max abs err {err:.3g} {'ok' if ok else 'MISMATCH'}", flush=True)
    return ok


def bench_matmul(cg, backend, data, mm_sizes, budget, label=None):
    """Times the matmul cases on one backend; returns {case: (median s, runs, kernels)}."""
    cg.set_device(backend)
    label = label or backend
    res = {}
    for n in mm_sizes:
        a, b = cg.from_numpy(data[f"a{n}"]), cg.from_numpy(data[f"b{n}"])
        if n == mm_sizes[0]:  # correctness once, against numpy
            out = cg.check(cg.lib.cg_matmul(a, b), "matmul")
            cg.realize(out)
            got = np.empty((n, n), np.float32)
            cg.to_host(out, got)
            cg.lib.cg_release(out)
            check_close(f"{backend} matmul {n}", got, data[f"a{n}"] @ data[f"b{n}"], 1e-3)
        build = lambda: cg.lib.cg_matmul(a, b)  # noqa: E731
        # the first call compiles: one warm-up, then runs until the budget is spent
        res[f"matmul {n}"] = median_time(lambda: cg.run(build), warmup=1, reps=5, budget_s=budget)
        print(f"  {label} matmul {n}: {res[f'matmul {n}'][0] * 1e3:.1f} ms", flush=True)
        cg.lib.cg_release(a)
        cg.lib.cg_release(b)
    return res


def bench_beam(cg, data, mm_sizes, budget):
    """matmul on LLVM with BEAM=2 (the warm-up call runs the search; the cache is fresh)."""
    os.environ["BEAM"] = "2"
    try:
        return bench_matmul(cg, "LLVM", data, mm_sizes, budget, "LLVM+BEAM")
    finally:
        del os.environ["BEAM"]


def bench_cgrad(cg, backend, data, mm_sizes, budget):
    """Times every case on one cgrad backend; returns {case: (median s, runs, kernels)}."""
    res = bench_matmul(cg, backend, data, mm_sizes, budget)
    x, y = cg.from_numpy(data["x"]), cg.from_numpy(data["y"])
    build = ew_cg(cg, x, y)
    out = build(); cg.realize(out)
    got = np.empty(EW_N, np.float32); cg.to_host(out, got); cg.lib.cg_release(out)
    check_close(f"{backend} elementwise", got, ew_np(data["x"], data["y"]), 1e-5)
    res["elementwise 64 MiB"] = median_time(lambda: cg.run(build), warmup=1, reps=7, budget_s=budget)
    cg.lib.cg_release(x); cg.lib.cg_release(y)
    s = cg.from_numpy(data["s"])
    out = cg.lib.cg_softmax(s, -1); cg.realize(out)
    got = np.empty(SM_SHAPE, np.float32); cg.to_host(out, got); cg.lib.cg_release(out)
    check_close(f"{backend} softmax", got, sm_np(data["s"]), 1e-5)
    res["softmax 4096x4096"] = median_time(lambda: cg.run(lambda: cg.lib.cg_softmax(s, -1)),
                                           warmup=1, reps=7, budget_s=budget)
    cg.lib.cg_release(s)
    for k, v in res.items():
        print(f"  {backend} {k}: {v[0] * 1e3:.2f} ms ({v[1]} runs, {v[2]} kernel(s))", flush=True)
    return res


def bench_peers(data, mm_sizes, budget):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    np_res, th_res = {}, {}
    for n in mm_sizes:
        a, b = data[f"a{n}"], data[f"b{n}"]
        np_res[f"matmul {n}"] = median_time(wall(lambda: a @ b), 1, 5, budget)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        th_res[f"matmul {n}"] = median_time(wall(lambda: ta @ tb), 1, 5, budget)
    x, y, s = data["x"], data["y"], data["s"]
    np_res["elementwise 64 MiB"] = median_time(wall(lambda: ew_np(x, y)), 1, 7, budget)
    np_res["softmax 4096x4096"] = median_time(wall(lambda: sm_np(s)), 1, 7, budget)
    tx, ty, ts = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(s)
    th_res["elementwise 64 MiB"] = median_time(
        wall(lambda: torch.abs(torch.relu((tx * ty + 0.5) * 1.5 - 0.25) * ty + tx)), 1, 7, budget)
    th_res["softmax 4096x4096"] = median_time(wall(lambda: torch.softmax(ts, -1)), 1, 7, budget)
    # the machine's own 2-core scaling, measured with torch on a compute-bound chain
    def heavy():
        return torch.tanh(torch.sin(tx) * torch.exp(-torch.abs(tx))) + torch.sqrt(torch.abs(tx))
    ref = {}
    for n in (1, os.cpu_count() or 1):
        torch.set_num_threads(n)
        ref[n] = median_time(wall(heavy), 1, 3, budget)[0]
    th_res["_scaling"] = ref
    return np_res, th_res, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def compile_latency(cg, backend, tries=3):
    """First realize of kernels never seen before (unique constants -> new IR, fresh cache)
    minus the steady-state realize of the same graph: the compile cost. Median over tries."""
    cg.set_device(backend)
    x = cg.from_numpy(np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64))
    L = cg.lib
    firsts, steadies = [], []
    for i in range(tries):
        c = 1.0 + (time.time_ns() % 1000003) * 1e-9 + i * 1e-3  # unique per kernel
        def build():
            a = L.cg_muls(x, c); b = L.cg_tanh(a); d = L.cg_adds(b, c); e = L.cg_softmax(d, -1)
            for t in (a, b, d):
                L.cg_release(t)
            return e
        c0 = cg.counters().compiles
        first, _ = cg.run(build)
        compiled = cg.counters().compiles - c0
        steady = min(cg.run(build)[0] for _ in range(3))
        firsts.append(first)
        steadies.append(steady)
    L.cg_release(x)
    firsts.sort(); steadies.sort()
    return {"first_s": firsts[len(firsts) // 2], "steady_s": steadies[len(steadies) // 2],
            "compile_s": firsts[len(firsts) // 2] - steadies[len(steadies) // 2],
            "programs_compiled": int(compiled)}


def child_threads(lib, backend):
    """Child process of the thread-scaling run: times the big elementwise kernels once."""
    cg = cgbench.Cgrad(lib)
    cg.set_device(backend)
    rng = np.random.default_rng(1)
    x = cg.from_numpy(rng.standard_normal(EW_N, dtype=np.float32))
    y = cg.from_numpy(rng.standard_normal(EW_N, dtype=np.float32))
    out = {"memory-bound chain": median_time(lambda: cg.run(ew_cg(cg, x, y)), 1, 7, 8.0)[0],
           "compute-bound chain": median_time(lambda: cg.run(heavy_cg(cg, x)), 1, 5, 8.0)[0]}
    print(json.dumps(out))


def thread_scaling(lib, backend):
    res = {}
    for n in (1, 2):
        env = dict(os.environ, CG_THREADS=str(n))
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--lib", lib,
                            "--child-threads", backend], env=env, capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            print(f"  thread child failed: {p.stderr[-500:]}", flush=True)
            return None
        res[n] = json.loads(p.stdout.strip().splitlines()[-1])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", help="path of libcgrad.so (default: newest build*/core/libcgrad.so)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--budget", type=float, default=6.0, help="timed seconds per case (cap)")
    ap.add_argument("--max-matmul", type=int, default=2048)
    ap.add_argument("--child-threads", help=argparse.SUPPRESS)
    args = ap.parse_args()
    lib = os.path.abspath(cgbench.find_lib(args.lib))
    if args.child_threads:
        return child_threads(lib, args.child_threads)
    t_start = time.time()
    mm_sizes = [n for n in MM_SIZES if n <= args.max_matmul]
    rng = np.random.default_rng(0)
    data = {"x": rng.standard_normal(EW_N, dtype=np.float32),
            "y": rng.standard_normal(EW_N, dtype=np.float32),
            "s": rng.standard_normal(SM_SHAPE, dtype=np.float32)}
    for n in mm_sizes:
        data[f"a{n}"] = rng.standard_normal((n, n), dtype=np.float32)
        data[f"b{n}"] = rng.standard_normal((n, n), dtype=np.float32)
    print(f"# cgrad CPU benchmark\nlib: {lib}\ncpu: {cpu_name()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"numpy {np.__version__}; BLAS: {blas_info()}"
          f"{'; unset for this run: ' + ', '.join(_BLAS_ENV) if _BLAS_ENV else ''}", flush=True)
    cg = cgbench.Cgrad(lib)
    results = {}
    for be in BACKENDS:
        results[be] = {k: v[0] for k, v in bench_cgrad(cg, be, data, mm_sizes, args.budget).items()}
    results[BEAM_COL] = {k: v[0] for k, v in bench_beam(cg, data, mm_sizes, args.budget).items()}
    np_res, th_res, th_info = bench_peers(data, mm_sizes, args.budget)
    results["numpy"] = {k: v[0] for k, v in np_res.items()}
    torch_scaling = th_res.pop("_scaling")
    results["torch"] = {k: v[0] for k, v in th_res.items()}
    print(th_info)
    lat = {be: compile_latency(cg, be) for be in BACKENDS}
    scal = {be: thread_scaling(lib, be) for be in BACKENDS}
    report(results, lat, scal, torch_scaling)
    print(f"\ntotal wall time {time.time() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"times_s": results, "compile_latency": lat, "thread_scaling": scal,
                       "torch": th_info, "blas": blas_info()}, f, indent=1)


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def report(results, lat, scal, torch_scaling):
    cases = list(results["numpy"].keys())
    cgcols = BACKENDS + [BEAM_COL]
    cols = cgcols + ["numpy", "torch"]
    ms = lambda k, c: f"{results[k][c] * 1e3:.2f}" if c in results[k] else "-"  # noqa: E731
    print("\n## Times (median, ms)\n")
    print("| case | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for c in cases:
        print(f"| {c} | " + " | ".join(ms(k, c) for k in cols) + " |")
    print("\n## Ratios: cgrad time / peer time (1.0 = as fast as the peer; < 1 = cgrad faster)\n")
    pairs = [(b, p) for b in cgcols for p in ("numpy", "torch")]
    ratio = lambda b, p, c: f"{results[b][c] / results[p][c]:.2f}" if c in results[b] else "-"  # noqa: E731
    print("| case | " + " | ".join(f"{b}/{p}" for b, p in pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for c in cases:
        print(f"| {c} | " + " | ".join(ratio(b, p, c) for b, p in pairs) + " |")
    print("\n## matmul speed relative to numpy (numpy time / cgrad time; targets 2048: default >= 0.5, "
          "BEAM >= 0.8)\n")
    print("| case | " + " | ".join(cgcols) + " |")
    print("|---|" + "---|" * len(cgcols))
    for c in (c for c in cases if c.startswith("matmul")):
        print(f"| {c} | " + " | ".join(f"{results['numpy'][c] / results[b][c]:.2f}" if c in results[b] else "-"
                                       for b in cgcols) + " |")
    print("\n## Compile latency (first realize of a new softmax(tanh(x*c)+c) graph, 64x64)\n")
    print("| backend | first call ms | steady call ms | compile ms (first - steady) | programs |")
    print("|---|---|---|---|---|")
    for be, v in lat.items():
        print(f"| {be} | {v['first_s'] * 1e3:.1f} | {v['steady_s'] * 1e3:.2f} | "
              f"{v['compile_s'] * 1e3:.1f} | {v['programs_compiled']} |")
    if lat["LLVM"]["compile_s"] > 0 and lat["CLANG"]["compile_s"] > 0:
        print(f"\nLLVM compile latency is {lat['CLANG']['compile_s'] / lat['LLVM']['compile_s']:.1f}x "
              f"lower than CLANG's (target: lower) -> {'MET' if lat['LLVM']['compile_s'] < lat['CLANG']['compile_s'] else 'NOT MET'}")
    print("\n## Thread scaling (16M floats, CG_THREADS=1 vs 2; speedup = t1/t2, target >= 1.7)\n")
    print("| backend | kernel | 1 thread ms | 2 threads ms | speedup |")
    print("|---|---|---|---|---|")
    for be, v in scal.items():
        if not v:
            print(f"| {be} | (failed) | | | |")
            continue
        for k in v[1]:
            print(f"| {be} | {k} | {v[1][k] * 1e3:.2f} | {v[2][k] * 1e3:.2f} | {v[1][k] / v[2][k]:.2f} |")
    t1, t2 = torch_scaling.get(1), torch_scaling.get(2)
    if t1 and t2:
        print(f"| torch (machine reference) | compute-bound chain | {t1 * 1e3:.2f} | {t2 * 1e3:.2f} | {t1 / t2:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other jobs on the 2 cores skew scaling)")


if __name__ == "__main__":
    main()
