#!/usr/bin/env bash
# Dense-layer GFLOP/s per shape against this core's measured FMA peak:
#   bash bench/dense.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
export OMP_NUM_THREADS=1 HEED_CACHE=0
mkdir -p "$build/bench"
c++ -O2 -march=native bench/peaks.cpp -o "$build/bench/peaks"
peaks=$("$build/bench/peaks")
echo "$peaks"
peak=$(echo "$peaks" | awk '/fma_peak_gflops/ {print $2}')
/usr/bin/python3 bench/dense.py "$build" "$peak"
