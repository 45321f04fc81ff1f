#!/usr/bin/env bash
# README command 1: install what is missing, configure, build, and train the MNIST CNN.
# Extra arguments go to the mnist program (e.g. --epochs 2). BUILD_DIR overrides the
# build folder (default <repo>/build); CG_DATA_DIR the data folder (default <repo>/data).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
DATA_DIR="${CG_DATA_DIR:-$ROOT/data}"
JOBS="$(nproc 2>/dev/null || echo 2)"

bash "$ROOT/scripts/setup.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD" -j "$JOBS"
"$BUILD/models/mnist/mnist" --data "$DATA_DIR" "$@"
