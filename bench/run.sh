#!/usr/bin/env bash
# Heed against PyTorch 1.13 eager, one thread, median latency.
#   bash bench/run.sh [BUILD_DIR]
# Prints a Markdown table with the speed-up and Heed's JIT compile time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

heed_median() { # model batch [heed options] -> "median_us compile_ms"
  local model=$1 batch=$2
  shift 2
  "$build/bin/heed" bench "examples/$model/model.heed" \
    $(test -f "examples/$model/weights.safetensors" &&
      echo --weights "examples/$model/weights.safetensors") \
    --batch "$batch" "$@" |
    awk '/compile:/ {c=$2} /median/ {for (i=1;i<=NF;i++) if ($i=="median") m=$(i+1)} END {print m, c}'
}

echo "| model | batch | Heed median (us) | PyTorch eager median (us) | speed-up | Heed compile (ms) |"
echo "| --- | --- | --- | --- | --- | --- |"
for spec in "date_translation 1" "date_translation 32" "trigger_word 1" \
            "lstm_attention 1" "attention_step 1" "attention_step 100" \
            "dense_attention 1" "dense_attention 1000" \
            "attention_decoder 1 --dim T=100" \
            "tacotron2_attention 1 --dim T=200 --dim S=200" \
            "scaled_dot_attention 8 --dim T=1024 --iterations 10"; do
  set -- $spec
  read -r heed compile < <(heed_median "$@")
  torch=$(/usr/bin/python3 bench/pytorch_eager.py "$1" "$2")
  speedup=$(awk -v a="$torch" -v b="$heed" 'BEGIN {printf "%.1fx", a / b}')
  echo "| $1 | $2 | $heed | $torch | $speedup | $compile |"
done
