#!/usr/bin/env bash
#===- tools/install-deps.sh - Install Heed's system dependencies ----------===#
#
# Idempotent: installs the pinned Debian 12 packages Heed builds and tests
# against. Safe to run repeatedly; does nothing when everything is present.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

packages=(
  # Compiler infrastructure: MLIR/LLVM 22 shared libraries, tblgen, lit tools.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # Recurrent layers (oneDNN 2.x, v2 API) and formatting.
  libdnnl-dev libfmt-dev
  # Build and test tools; clang and its runtimes for the sanitizer and
  # libFuzzer builds CI runs (.ci/sanitizers).
  cmake ninja-build g++ ccache libgtest-dev zlib1g-dev python3 pkg-config
  clang-22 libclang-rt-22-dev
  # Reference implementations and benchmarks (never a runtime dependency).
  python3-torch python3-numpy libopenblas0-pthread
  # HDF5 files as Keras writes them (h5py, libhdf5), for the .h5 reader's tests.
  python3-h5py
  # The Python package (compiler/Bindings/Python) and its tests.
  pybind11-dev python3-dev python3-pytest
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
