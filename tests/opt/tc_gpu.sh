# TC opt on the GPU machine in one command (repo root): build the pieces, run the TC tests,
# the optimizer fuzz and the op table on CUDA, then the GPU benchmark. Logs under $OUT.
# Usage: sh tests/opt/tc_gpu.sh [dir of libyaml .debs] [bench: 1|0]
set -u
out=${OUT:-/tmp/cg-out}; mkdir -p "$out" /tmp/y
for f in ${1:-build-devdeps}/*.deb; do [ -f "$f" ] && dpkg -x "$f" /tmp/y; done
export LD_LIBRARY_PATH=/tmp/y/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export CG_CACHE_DIR=/tmp/cgcache
nvidia-smi -L
cmake -S . -B /tmp/b -DCMAKE_BUILD_TYPE=Release -DYAML_INCLUDE_DIR=/tmp/y/usr/include \
  -DYAML_LIBRARY=/tmp/y/usr/lib/x86_64-linux-gnu/libyaml.so -DCG_WITH_LLVM=OFF -DCG_WITH_OPENCL=OFF \
  -DCG_WITH_HIP=OFF >"$out/cfg.log" 2>&1 || tail -20 "$out/cfg.log"
cmake --build /tmp/b -j16 --target cgrad cgrad-plugin-cuda cgrad-plugin-ref cgrad-plugin-clang tc_sweep test_tc test_tc_plan test_opt cg_ops_test \
  >"$out/build.log" 2>&1 || grep -E "error" -A3 "$out/build.log" | head -30
echo "== tc_plan"; timeout 60 /tmp/b/tests/opt/test_tc_plan | tail -3
echo "== tc cuda"; timeout 200 /tmp/b/tests/opt/test_tc -b CUDA --beam >"$out/tc.log" 2>&1; echo "rc=$?"; grep -vE "^ok" "$out/tc.log" | tail -30
echo "== opt fuzz"; timeout 200 /tmp/b/tests/opt/test_opt -b CUDA -s 2 >"$out/opt.log" 2>&1; echo "rc=$?"; tail -3 "$out/opt.log"
echo "== ops"; timeout 200 /tmp/b/tests/ops/cg_ops_test -r -b CUDA >"$out/ops_cuda.log" 2>&1; echo "rc=$?"; grep -E "FAIL|passed" "$out/ops_cuda.log" | tail -5
echo "== sweep"; T="TC2:16 UNROLL2:2"
timeout 120 /tmp/b/tests/opt/tc_sweep -n 4096 "" "TC2:16 UNROLL2:4 UPCAST0:4 UPCAST1:8 LOCAL0:2 LOCAL1:2" \
  "$T UPCAST0:4 UPCAST1:8" "$T UPCAST0:4 UPCAST1:8 LOCAL0:4" "$T UPCAST0:4 UPCAST1:8 LOCAL1:4" \
  "$T UPCAST0:2 UPCAST1:8 LOCAL0:4 LOCAL1:2" 2>&1 | tail -30
[ "${2:-1}" = 1 ] || exit 0
echo "== gpu bench"; PYTHONUNBUFFERED=1 timeout 300 python3 bench/gpu_bench.py --lib /tmp/b/core/libcgrad.so \
  --json "$out/gpu.json" >"$out/gpu_bench.txt" 2>&1; echo "rc=$?"; sed -n '/^## Times/,$p' "$out/gpu_bench.txt" | head -30
grep -E "r_4096_4096" "$out/gpu_bench.txt" | sort | uniq -c | head -5
