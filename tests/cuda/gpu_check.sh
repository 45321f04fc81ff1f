#!/bin/sh
# Build the CUDA plugin standalone (SDK + plugin + tests/cuda, no libcgrad) and run its
# tests on a GPU machine: plain, under compute-sanitizer (memcheck, racecheck,
# synccheck), and with ASan+UBSan. Usage: tests/cuda/gpu_check.sh [build-root]
root=${1:-/tmp/cg-cuda}
src=$(cd "$(dirname "$0")" && pwd)/standalone
jobs=$(nproc 2>/dev/null || echo 4)
status=0
echo "== device"; nvidia-smi -L 2>&1 | head -4
echo "== libyaml-dev: $(dpkg -s libyaml-dev >/dev/null 2>&1 && echo present || echo missing)"
cmake -S "$src" -B "$root/rel" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$root.cfg.log" 2>&1 || { cat "$root.cfg.log"; exit 1; }
cmake --build "$root/rel" -j"$jobs" 2>&1 | grep -E "error|warning:" | grep -v "/sdk/"
echo "== ctest"; (cd "$root/rel" && ctest --output-on-failure -V 2>&1 | grep -vE "^[0-9]+: (Test command|Working Directory|Test timeout)|^$|UpdateCTest|^Constructing|^Done constr|^Updating test|^Added 0|^Checking test") || status=1
plugin="$root/rel/plugins.d/libcgrad-cuda.so"
cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ -x "$cs" ]; then
  for t in numeric graph mma; do
    for tool in memcheck racecheck synccheck; do
      [ "$t" = graph ] && [ "$tool" != memcheck ] && continue # no shared memory or barriers there
      echo "== compute-sanitizer --tool $tool cuda_test_$t"
      "$cs" --tool "$tool" --error-exitcode 9 "$root/rel/tests/cuda_test_$t" "$plugin" >"$root.cs.log" 2>&1 || status=1
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|failure" "$root.cs.log" | tail -3
    done
  done
else
  echo "== compute-sanitizer not found"
fi
echo "== ASan + UBSan"
cmake -S "$src" -B "$root/asan" -DCG_ASAN=ON -DCG_UBSAN=ON >>"$root.cfg.log" 2>&1 && cmake --build "$root/asan" -j"$jobs" >/dev/null 2>&1 &&
  (cd "$root/asan" && ASAN_OPTIONS=protect_shadow_gap=0 ctest --output-on-failure 2>&1 | tail -12) || status=1
exit $status
