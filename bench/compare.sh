#!/usr/bin/env bash
# Heed, PyTorch eager and ONNX Runtime side by side, one thread:
#   bash bench/compare.sh [BUILD_DIR] [ROW ...]
# Installs onnxruntime-node from the npm registry into BUILD_DIR/bench/ort
# on first use (--ignore-scripts: its install script only fetches optional
# CUDA binaries; the CPU ones are in the package), measures this core's FMA
# peak and read bandwidth (bench/peaks.cpp), then prints the table of
# bench/compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
ort="$build/bench/ort"
if [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
  mkdir -p "$ort"
  (cd "$ort" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >/dev/null)
fi
mkdir -p "$build/bench"
c++ -O2 -march=native bench/peaks.cpp -o "$build/bench/peaks"
"$build/bench/peaks"
/usr/bin/python3 bench/compare.py "$build" "$ort/node_modules" "$@"
