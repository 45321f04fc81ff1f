#!/usr/bin/python3
# Same-process A/B of the CPU matmul (issue 7): numpy/OpenBLAS, cgrad LLVM with its operand
# packing off (CG_NO_PACK=1, read per kernel) and on, called in turn R times so that all
# three see the same load; prints each time and the medians' ratios (numpy time / cgrad
# time). Env: N (default 2048), R (default 5), CG_THREADS / OPENBLAS_NUM_THREADS.
# Run: LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/matmul_ab.py
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cgbench  # noqa: E402
import numpy as np  # noqa: E402

n = int(os.environ.get("N", "2048"))
R = int(os.environ.get("R", "5"))
cg = cgbench.Cgrad(os.path.abspath(cgbench.find_lib(sys.argv[1] if len(sys.argv) > 1 else None)))
cg.set_device("LLVM")
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
ta, tb = cg.from_numpy(a), cg.from_numpy(b)


def mm(nopack):
    if nopack:
        os.environ["CG_NO_PACK"] = "1"
    t0 = time.perf_counter()
    o = cg.lib.cg_matmul(ta, tb)
    cg.realize(o)
    dt = time.perf_counter() - t0
    os.environ.pop("CG_NO_PACK", None)
    got = np.empty((n, n), np.float32) if not res["pack"] else None
    if got is not None:  # once per plan: values against numpy
        cg.to_host(o, got)
        assert np.max(np.abs(got - a @ b)) < 1e-2 * max(1.0, float(np.max(np.abs(got)))), "mismatch"
    cg.lib.cg_release(o)
    return dt


def npmm():
    t0 = time.perf_counter()
    a @ b
    return time.perf_counter() - t0


res = {"numpy": [], "nopack": [], "pack": []}
mm(True), mm(False), npmm()  # compile, warm up
for r in range(R):
    res["numpy"].append(npmm())
    res["nopack"].append(mm(True))
    res["pack"].append(mm(False))
for k, v in res.items():
    print(k, " ".join(f"{x * 1e3:.1f}" for x in v))
med = {k: sorted(v)[len(v) // 2] for k, v in res.items()}
print(f"N={n} threads={os.environ.get('CG_THREADS', 'all')} median ms: numpy {med['numpy'] * 1e3:.1f} "
      f"nopack {med['nopack'] * 1e3:.1f} pack {med['pack'] * 1e3:.1f} | numpy/cgrad nopack "
      f"{med['numpy'] / med['nopack']:.2f} pack {med['numpy'] / med['pack']:.2f} | load {os.getloadavg()[0]:.1f}")
