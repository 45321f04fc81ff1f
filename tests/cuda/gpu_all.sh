#!/bin/sh
# Full GPU verification of the CUDA side in one go (used through the device tool): build
# the project (libyaml from build-devdeps/*.deb when the machine lacks it), then the CUDA
# plugin tests, conformance, the op table and fusion tests on CUDA, and the GPU benchmark
# with the IR tensor-core matmul. Logs go to $OUT (or /tmp/cg-out).
# Usage (repo root): sh tests/cuda/gpu_all.sh [debs-dir]
debs=${1:-build-devdeps}
out=${OUT:-/tmp/cg-out}
mkdir -p "$out" /tmp/y
yaml=""
if [ -d "$debs" ]; then
  for f in "$debs"/*.deb; do dpkg -x "$f" /tmp/y; done
  export LD_LIBRARY_PATH=/tmp/y/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
  yaml="-DYAML_INCLUDE_DIR=/tmp/y/usr/include -DYAML_LIBRARY=/tmp/y/usr/lib/x86_64-linux-gnu/libyaml.so"
fi
export CG_CACHE_DIR=/tmp/cgcache
nvidia-smi -L
cmake -S . -B /tmp/b -DCMAKE_BUILD_TYPE=Release $yaml -DCG_WITH_LLVM=OFF -DCG_WITH_OPENCL=OFF -DCG_WITH_HIP=OFF \
  >"$out/cfg.log" 2>&1 || tail -20 "$out/cfg.log"
cmake --build /tmp/b -j16 --target cgrad cgrad-plugin-cuda cgrad-plugin-ref cgrad-plugin-clang cgrad-plugin-null \
  cg_ops_test cg_fusion_test cgrad-tool cuda_test_load cuda_test_numeric cuda_test_graph cuda_test_mma \
  >"$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; }
plugin=/tmp/b/plugins.d/libcgrad-cuda.so
for t in load numeric graph mma; do
  echo "== cuda_test_$t"
  timeout 120 /tmp/b/tests/cuda/cuda_test_$t $plugin >"$out/cuda_$t.log" 2>&1
  echo "rc=$?"; grep -vE "^\[plugin log" "$out/cuda_$t.log" | tail -25
done
echo "== conformance cuda"
timeout 300 /tmp/b/tools/cgrad conformance cuda --report "$out/conformance_cuda.yaml" >"$out/conformance.log" 2>&1
echo "rc=$?"; grep -E "FAIL|SKIP|6\.4|passed" "$out/conformance.log" | tail -12
echo "== ops on CUDA"
timeout 300 /tmp/b/tests/ops/cg_ops_test -r -b CUDA >"$out/ops_cuda.log" 2>&1
echo "rc=$?"; grep -E "FAIL|passed" "$out/ops_cuda.log" | tail -8
echo "== fusion on CUDA"
timeout 120 /tmp/b/tests/fusion/cg_fusion_test -b CUDA >"$out/fusion.log" 2>&1
echo "rc=$?"; tail -3 "$out/fusion.log"
echo "== gpu bench"
PYTHONUNBUFFERED=1 timeout 300 python3 bench/gpu_bench.py --lib /tmp/b/core/libcgrad.so --json "$out/gpu.json" \
  --mma-bench /tmp/b/tests/cuda/cuda_test_mma --cuda-plugin $plugin >"$out/gpu_bench.txt" 2>&1
echo "rc=$?"; sed -n '/^## Times/,$p' "$out/gpu_bench.txt"; grep -iE "error|Traceback|fail" "$out/gpu_bench.txt" | head
