#!/usr/bin/env bash
# JIT compile time of every example, on-disk cache off; runs on one thread
# (--threads 1), compilation on the cores the process may use (taskset -c 0
# bash bench/compile.sh: one core).
#   bash bench/compile.sh [BUILD_DIR] [RUNS]
# Prints a Markdown table: the median of RUNS (default 3) compilations and
# where that run's time went (heed bench's phases: the MLIR pipeline,
# LLVM's -O3, code generation with linking, weight preparation), in ms.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-3}
export HEED_CACHE=0
echo "| model | dims | compile (ms) | MLIR | LLVM -O3 | code generation | weights |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for spec in "dense_attention B=1000" "attention_step B=100" "lstm_attention B=1" \
            "attention_scores B=4 T=20" "bigru_classifier B=64 T=50" \
            "trigger_word B=1" "date_translation B=1" "date_translation B=32" \
            "tacotron2_attention B=1 T=200 S=200" "attention_decoder B=1 T=100" \
            "scaled_dot_attention B=8 T=1024" "mha_encoder B=1 T=16" \
            "mha_encoder B=32 T=16" "nmt B=1 TX=12" "nmt B=32 TX=12" \
            "seq2seq B=1 S=12" "seq2seq B=16 S=12"; do
  set -- $spec
  model=$1
  shift
  args=()
  for d in "$@"; do
    case $d in
      B=*) args+=(--batch "${d#B=}") ;;
      *) args+=(--dim "$d") ;;
    esac
  done
  weights=examples/$model/weights.safetensors
  for ((r = 0; r < runs; ++r)); do
    "$build/bin/heed" bench "examples/$model/model.heed" \
      $(test -f "$weights" && echo --weights "$weights") "${args[@]}" \
      --threads 1 --iterations 1 |
      sed -n 's/^ *compile: \([0-9.]*\) ms (MLIR pipeline \([0-9.]*\), LLVM -O3 \([0-9.]*\), code generation \([0-9.]*\), weight preparation \([0-9.]*\)).*/\1 \2 \3 \4 \5/p'
  done | sort -n | awk -v n="$runs" -v m="$model" -v d="$*" \
    'NR == int((n + 1) / 2) {printf "| %s | %s | %s | %s | %s | %s | %s |\n", m, d, $1, $2, $3, $4, $5}'
done
