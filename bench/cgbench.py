# Shared helpers of the benchmarks: loads libcgrad through ctypes (the public C API of
# core/include/cgrad/cgrad.h), wraps the few ops the benchmarks use, captures the library's
# log (DEBUG=2 kernel times) and times callables (warm-up, then the median of several runs).
import ctypes
import glob
import os
import statistics
import time

CG_FLOAT16, CG_FLOAT32 = 9, 11
_DTYPE_SIZE = {CG_FLOAT16: 2, CG_FLOAT32: 4}


class Counters(ctypes.Structure):
    _fields_ = [("kernels", ctypes.c_uint64), ("compiles", ctypes.c_uint64),
                ("schedules", ctypes.c_uint64), ("realizes", ctypes.c_uint64)]


LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


def find_lib(explicit=None):
    """Path of libcgrad.so: explicit, $CGRAD_LIB, or the newest build*/core/libcgrad.so."""
    if explicit:
        return explicit
    if os.environ.get("CGRAD_LIB"):
        return os.environ["CGRAD_LIB"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = glob.glob(os.path.join(root, "build*", "core", "libcgrad.so"))
    if not found:
        raise SystemExit("libcgrad.so not found: build it or pass --lib / set CGRAD_LIB")
    return max(found, key=os.path.getmtime)


class Cgrad:
    """Thin ctypes binding of the part of cgrad.h the benchmarks need."""

    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(path)
        L, P, I64 = self.lib, ctypes.c_void_p, ctypes.c_int64
        sig = {
            "cg_last_error": ([], ctypes.c_char_p),
            "cg_default_device": ([], ctypes.c_char_p),
            "cg_set_default_device": ([ctypes.c_char_p], ctypes.c_int),
            "cg_release": ([P], None),
            "cg_from_data": ([P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(I64)], P),
            "cg_realize": ([P], ctypes.c_int),
            "cg_to_host": ([P, P, ctypes.c_size_t], ctypes.c_int),
            "cg_to_device": ([P, ctypes.c_char_p], P),
            "cg_tensor_device": ([P], ctypes.c_char_p),
            "cg_cast": ([P, ctypes.c_int], P),
            "cg_matmul": ([P, P], P),
            "cg_softmax": ([P, ctypes.c_int], P),
            "cg_add": ([P, P], P), "cg_sub": ([P, P], P), "cg_mul": ([P, P], P),
            "cg_adds": ([P, ctypes.c_double], P), "cg_muls": ([P, ctypes.c_double], P),
            "cg_subs": ([P, ctypes.c_double], P),
            "cg_relu": ([P], P), "cg_abs": ([P], P), "cg_exp": ([P], P), "cg_sin": ([P], P),
            "cg_tanh": ([P], P), "cg_sqrt": ([P], P),
            "cg_get_counters": ([], Counters),
            "cg_set_log": ([LOG_FN, P], None),
        }
        for name, (args, res) in sig.items():
            f = getattr(L, name)
            f.argtypes, f.restype = args, res
        self.log_lines = []
        self._log_cb = LOG_FN(self._on_log)  # kept alive: the library holds the pointer
        L.cg_set_log(self._log_cb, None)

    def _on_log(self, level, msg, user):
        self.log_lines.append(msg.decode(errors="replace"))

    def err(self):
        return self.lib.cg_last_error().decode(errors="replace")

    def check(self, t, what):
        if not t:
            raise RuntimeError(f"{what}: {self.err()}")
        return t

    def set_device(self, name):
        if self.lib.cg_set_default_device(name.encode()) != 0:
            raise RuntimeError(f"cg_set_default_device({name}): {self.err()}")

    def from_numpy(self, arr, dtype=CG_FLOAT32):
        """Tensor on the default device holding arr (float32 array; cast on device for f16)."""
        shape = (ctypes.c_int64 * arr.ndim)(*arr.shape)
        t = self.check(self.lib.cg_from_data(arr.ctypes.data, CG_FLOAT32, arr.ndim, shape), "from_data")
        if dtype != CG_FLOAT32:
            c = self.check(self.lib.cg_cast(t, dtype), "cast")
            self.lib.cg_release(t)
            t = c
        self.realize(t)
        return t

    def realize(self, t):
        if self.lib.cg_realize(t) != 0:
            raise RuntimeError(f"realize: {self.err()}")

    def to_host(self, t, arr):
        if self.lib.cg_to_host(t, arr.ctypes.data, arr.nbytes) != 0:
            raise RuntimeError(f"to_host: {self.err()}")

    def counters(self):
        return self.lib.cg_get_counters()

    def run(self, build, sync=None):
        """Builds a lazy graph with build(), realizes it, optionally waits for the device
        (sync()), releases the result. Returns (seconds, kernels launched)."""
        k0 = self.counters().kernels
        t0 = time.perf_counter()
        out = self.check(build(), "build graph")
        self.realize(out)
        if sync:
            sync()
        dt = time.perf_counter() - t0
        self.lib.cg_release(out)
        return dt, self.counters().kernels - k0

    def kernel_times(self):
        """Seconds of each DEBUG=2 launch line logged since the last call (clears the log)."""
        times = []
        for line in self.log_lines:
            parts = line.split()
            if " us " in line and "GB/s" in line:
                i = parts.index("us")
                times.append(float(parts[i - 1]) * 1e-6)
        self.log_lines.clear()
        return times


def median_time(fn, warmup=1, reps=5, budget_s=10.0):
    """Runs fn() warmup times, then up to reps times (stopping once budget_s of timed runs
    is spent, at least one); fn returns seconds or (seconds, extra). Returns (median, n, extra)."""
    extra = None
    for _ in range(warmup):
        fn()
    times, spent = [], 0.0
    while len(times) < reps and (not times or spent < budget_s):
        r = fn()
        t = r[0] if isinstance(r, tuple) else r
        extra = r[1] if isinstance(r, tuple) else extra
        times.append(t)
        spent += t
    return statistics.median(times), len(times), extra


def wall(fn):
    """Wraps a peer callable so it returns its own wall time."""
    def timed():
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return timed


def fmt_ms(s):
    return "-" if s is None else f"{s * 1e3:10.2f}"


def print_table(title, rows, cols, ratio_note):
    """rows: list of (name, {col: seconds or None}); prints times and ratios vs cols[0]... peers."""
    print(f"\n## {title}\n")
    print(f"| case | " + " | ".join(f"{c} ms" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for name, vals in rows:
        print(f"| {name} | " + " | ".join(fmt_ms(vals.get(c)).strip() for c in cols) + " |")
    print(f"\n{ratio_note}")
