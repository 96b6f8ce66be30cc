#!/usr/bin/env bash
# Heed against PyTorch 1.13 eager, one thread, median latency.
#   bash bench/run.sh [BUILD_DIR]
# Prints a Markdown table with the speed-up and Heed's JIT compile time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# The compile column measures compilations, not the on-disk cache.
export HEED_CACHE=0

heed_median() { # model batch [heed options] -> "median_us compile_ms"
  local model=$1 batch=$2 weights=${HEED_WEIGHTS:-examples/$1/weights.safetensors}
  shift 2
  "$build/bin/heed" bench "examples/$model/model.heed" \
    $(test -f "$weights" && echo --weights "$weights") \
    --batch "$batch" --threads 1 "$@" |
    awk '/compile:/ {c=$2} /median/ {for (i=1;i<=NF;i++) if ($i=="median") m=$(i+1)} END {print m, c}'
}

echo "| model | batch | Heed median (us) | PyTorch eager median (us) | speed-up | Heed compile (ms) |"
echo "| --- | --- | --- | --- | --- | --- |"
for spec in "date_translation 1" "date_translation 32" "trigger_word 1" \
            "lstm_attention 1" "attention_step 1" "attention_step 100" \
            "dense_attention 1" "dense_attention 1000" \
            "attention_decoder 1 --dim T=100" \
            "tacotron2_attention 1 --dim T=200 --dim S=200" "nmt 1" \
            "scaled_dot_attention 8 --dim T=1024 --iterations 10"; do
  set -- $spec
  if [ "$1" = nmt ]; then
    # The seed's sizes (embedding 256, units 1024, vocabulary 1000), weights
    # and a sentence decoded for all 20 steps made by the reference script.
    /usr/bin/python3 tools/reference/nmt.py --seed-size "$build/bench/nmt"
    read -r heed compile < <(HEED_WEIGHTS="$build/bench/nmt/weights.safetensors" \
      heed_median "$@" --input "source=$build/bench/nmt/source.npy" \
      --param VOCAB_IN=1000 --param VOCAB=1000 --param EMBED=256 \
      --param UNITS=1024 --param MAX_LEN=20)
  else
    read -r heed compile < <(heed_median "$@")
  fi
  torch=$(/usr/bin/python3 bench/pytorch_eager.py "$1" "$2")
  speedup=$(awk -v a="$torch" -v b="$heed" 'BEGIN {printf "%.1fx", a / b}')
  echo "| $1 | $2 | $heed | $torch | $speedup | $compile |"
done
