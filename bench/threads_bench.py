#!/usr/bin/python3
# Thread-scaling benchmark of issue 4.4 ("large elementwise kernels reach >= 1.7x single-thread
# speed on 2 cores"), in one process run:
#   - cgrad (LLVM plugin by default) with CG_THREADS=1 and CG_THREADS=2, as child processes
#     (the plugin reads the thread count once), on large memory-bound and compute-bound
#     elementwise kernels; each kernel's time is the launch time the core logs at DEBUG=2
#     (the kernel alone) and the wall time of realize (graph + schedule + launch);
#   - peers on the same work: PyTorch with torch.set_num_threads(1/2), numpy (one thread,
#     for the absolute scale) and bench/stream_triad.c (a C/OpenMP STREAM-like o = a*b + c
#     with ordinary and non-temporal stores), which shows what this machine's memory
#     system allows two cores.
# The machine is shared, so each number is the minimum of several runs, and the children
# run alternately (1, 2, 1, 2, ...) so that a busy neighbour hits both thread counts.
#
#   /usr/bin/python3 bench/threads_bench.py [--lib build/core/libcgrad.so] [--rounds 3]
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgbench  # noqa: E402

N = 16 * 1024 * 1024  # 16M float32 = 64 MiB per tensor
HERE = os.path.dirname(os.path.abspath(__file__))


def kernels(cg, x, y, z):
    """name -> build() of one fused elementwise kernel over N floats."""
    L = cg.lib

    def rel(*ts):
        for t in ts:
            L.cg_release(t)

    def triad():  # 3 reads, 1 write: memory-bound
        a = L.cg_mul(x, y); b = L.cg_add(a, z); rel(a)
        return b

    def scale():  # 1 read, 1 write: memory-bound
        return L.cg_muls(x, 1.5)

    def chain8():  # cpu_bench's memory-bound chain: 2 reads, 1 write, 8 ops
        a = L.cg_mul(x, y); b = L.cg_adds(a, 0.5); c = L.cg_muls(b, 1.5); d = L.cg_subs(c, 0.25)
        e = L.cg_relu(d); f = L.cg_mul(e, y); g = L.cg_add(f, x); h = L.cg_abs(g)
        rel(a, b, c, d, e, f, g)
        return h

    def heavy():  # compute-bound: tanh(sin(x)*exp(-|x|)) + sqrt(|x|)
        a = L.cg_sin(x); b = L.cg_abs(x); c = L.cg_muls(b, -1.0); d = L.cg_exp(c); e = L.cg_mul(a, d)
        f = L.cg_tanh(e); g = L.cg_sqrt(b); h = L.cg_add(f, g)
        rel(a, b, c, d, e, f, g)
        return h

    return {"mem a*b+c": triad, "mem x*1.5": scale, "mem chain8": chain8, "compute chain": heavy}


def child(lib, backend, reps, only=None):
    """One child: min kernel time and min wall time of each kernel (JSON on stdout)."""
    os.environ["DEBUG"] = "2"
    cg = cgbench.Cgrad(lib)
    cg.set_device(backend)
    rng = np.random.default_rng(1)
    x, y, z = (cg.from_numpy(rng.standard_normal(N, dtype=np.float32)) for _ in range(3))
    out = {}
    for name, build in kernels(cg, x, y, z).items():
        if only and not any(o in name for o in only):
            continue
        cg.run(build)  # compile + first touch of the output buffer
        cg.kernel_times()
        walls, ks = [], []
        for _ in range(reps):
            walls.append(cg.run(build)[0])
            kt = cg.kernel_times()
            if kt:
                ks.append(sum(kt))
        out[name] = {"kernel": min(ks) if ks else None, "wall": min(walls)}
    print(json.dumps(out))


def run_children(lib, backend, rounds, reps, plugin_path=None, only=None):
    """{threads: {kernel: {kernel, wall}}}, minimum over `rounds` alternating children."""
    best = {1: {}, 2: {}}
    for _ in range(rounds):
        for n in (1, 2):
            env = dict(os.environ, CG_THREADS=str(n), CG_CACHE_DIR=tempfile.mkdtemp(prefix="cgtb"))
            if plugin_path:
                env["CG_PLUGIN_PATH"] = plugin_path
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "--lib", lib,
                                "--backend", backend, "--child", str(reps)]
                               + (["--only", ",".join(only)] if only else []),
                               env=env, capture_output=True, text=True, timeout=300)
            shutil.rmtree(env["CG_CACHE_DIR"], ignore_errors=True)
            if p.returncode != 0:
                raise SystemExit(f"child (CG_THREADS={n}) failed: {p.stderr[-800:]}")
            for k, v in json.loads(p.stdout.strip().splitlines()[-1]).items():
                b = best[n].setdefault(k, {"kernel": None, "wall": None})
                for f in ("kernel", "wall"):
                    if v[f] is not None and (b[f] is None or v[f] < b[f]):
                        b[f] = v[f]
    return best


def torch_peer(rounds, reps):
    """PyTorch 1 vs 2 threads on the same kernels (out= buffers, so no allocation)."""
    try:
        import torch
    except ImportError:
        return None, "no torch"
    g = torch.Generator().manual_seed(1)
    x, y, z = (torch.randn(N, generator=g) for _ in range(3))
    o = torch.empty(N)
    cases = {
        "mem a*b+c": lambda: torch.addcmul(z, x, y, out=o),
        "mem x*1.5": lambda: torch.mul(x, 1.5, out=o),
        "compute chain": lambda: torch.add(torch.tanh(torch.sin(x) * torch.exp(-x.abs())), x.abs().sqrt()),
    }
    best = {1: {}, 2: {}}
    for _ in range(rounds):
        for n in (1, 2):
            torch.set_num_threads(n)
            for k, fn in cases.items():
                fn()
                for _ in range(reps):
                    t0 = time.perf_counter()
                    fn()
                    dt = time.perf_counter() - t0
                    best[n][k] = min(best[n].get(k, dt), dt)
    return best, f"torch {torch.__version__}"


def numpy_peer(reps):
    """numpy (single-threaded ufuncs) absolute times of the memory-bound kernels."""
    rng = np.random.default_rng(1)
    x, y, z = (rng.standard_normal(N, dtype=np.float32) for _ in range(3))
    o = np.empty(N, np.float32)
    cases = {"mem a*b+c": lambda: (np.multiply(x, y, out=o), np.add(o, z, out=o)),
             "mem x*1.5": lambda: np.multiply(x, np.float32(1.5), out=o)}
    res = {}
    for k, fn in cases.items():
        fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        res[k] = min(ts)
    return res


def triad_peer(reps):
    """Builds bench/stream_triad.c with the system compiler and returns its table."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return "stream_triad: no C compiler"
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "stream_triad")
        p = subprocess.run([cc, "-O2", "-march=native", "-fopenmp", "-std=c11",
                            os.path.join(HERE, "stream_triad.c"), "-o", exe],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return "stream_triad: build failed: " + p.stderr[-300:]
        env = dict(os.environ, OMP_WAIT_POLICY="passive")
        p = subprocess.run([exe, str(N), str(reps)], capture_output=True, text=True, env=env, timeout=300)
        return p.stdout.strip() if p.returncode == 0 else "stream_triad failed: " + p.stderr[-300:]


def ms(s):
    return "-" if s is None else f"{s * 1e3:.2f}"


def ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lib", help="libcgrad.so (default: newest build*/core/libcgrad.so)")
    ap.add_argument("--backend", default="LLVM")
    ap.add_argument("--rounds", type=int, default=3, help="alternating 1/2-thread children each")
    ap.add_argument("--reps", type=int, default=7, help="timed runs per kernel per child")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--plugin-path", help="CG_PLUGIN_PATH for the children (e.g. an older plugin build)")
    ap.add_argument("--only", help="comma list: run the kernels whose name contains one (e.g. mem)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    lib = os.path.abspath(cgbench.find_lib(args.lib))
    only = args.only.split(",") if args.only else None
    if args.child:
        return child(lib, args.backend, args.child, only)
    print(f"# threads_bench: {N // (1 << 20)}M float32 per tensor, {args.backend}, lib {lib}"
          + (f", CG_PLUGIN_PATH={args.plugin_path}" if args.plugin_path else ""))
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    cg = run_children(lib, args.backend, args.rounds, args.reps, args.plugin_path, only)
    print(f"\n## cgrad {args.backend}, CG_THREADS=1 vs 2 (min of {args.rounds} x {args.reps} runs; "
          "kernel = DEBUG=2 launch time, wall = realize)\n")
    print("| kernel | 1 thread ms | 2 threads ms | speedup (kernel) | speedup (wall) |")
    print("|---|---|---|---|---|")
    for k in cg[1]:
        a, b = cg[1][k], cg[2].get(k, {})
        print(f"| {k} | {ms(a['kernel'])} | {ms(b.get('kernel'))} | **{ratio(a['kernel'], b.get('kernel'))}** "
              f"| {ratio(a['wall'], b.get('wall'))} |")
    if not args.no_peers:
        th, ver = torch_peer(args.rounds, args.reps)
        if th:
            print(f"\n## peer: {ver}, torch.set_num_threads(1 vs 2)\n")
            print("| kernel | 1 thread ms | 2 threads ms | speedup |\n|---|---|---|---|")
            for k in th[1]:
                print(f"| {k} | {ms(th[1][k])} | {ms(th[2][k])} | {ratio(th[1][k], th[2][k])} |")
        npr = numpy_peer(args.reps)
        print("\n## peer: numpy (one thread)\n")
        print("| kernel | ms |\n|---|---|")
        for k, v in npr.items():
            print(f"| {k} | {ms(v)} |")
        print("\n## peer: bench/stream_triad.c (C/OpenMP, machine memory system)\n")
        print(triad_peer(max(5, args.rounds * args.reps)))
    print(f"\n# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
