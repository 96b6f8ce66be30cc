#!/usr/bin/env bash
# Thread scaling: each model at batch 1 and 32 on 1 and 2 threads, on an
# idle machine and beside one other busy process (a spinning Python loop),
# median and p99 latency of `heed bench`.
#   bash bench/threads.sh [BUILD_DIR] [all|blocks|inside]
# Prints two Markdown tables (batch rows in blocks; work inside one block at
# small batches: attention loops and dense layer blocks, idle only);
# docs/benchmarks.md keeps the latest.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
part=${2:-all}

bench() { # model batch threads [options] -> "median p99"
  local model=$1 batch=$2 threads=$3 weights=${WEIGHTS:-examples/$1/weights.safetensors}
  shift 3
  "$build/bin/heed" bench "examples/$model/model.heed" \
    $(test -f "$weights" && echo --weights "$weights") \
    --batch "$batch" --threads "$threads" "$@" |
    awk '/median/ {for (i=1;i<=NF;i++) {if ($i=="median") m=$(i+1); if ($i=="p99") p=$(i+1)}}
         END {print m, p}'
}

busy_pid=
start_busy() { /usr/bin/python3 -c 'while True: pass' & busy_pid=$!; sleep 0.5; }
stop_busy() { kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; }
trap stop_busy EXIT

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; }

if [ "$part" != inside ]; then
echo "| model | batch | idle 1t median / p99 (us) | idle 2t | 2t speed-up | busy 1t | busy 2t | 2t speed-up |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for spec in "date_translation" "nmt --dim TX=12" "attention_scores --dim T=30" "lstm_attention" \
            "mha_encoder --dim T=16" "tacotron2_attention --dim T=200 --dim S=10" \
            "trigger_word --param Tx=1000 --iterations 20"; do
  set -- $spec
  model=$1
  shift
  for batch in 1 32; do
    read -r i1 i1p < <(bench "$model" "$batch" 1 "$@")
    read -r i2 i2p < <(bench "$model" "$batch" 2 "$@")
    start_busy
    read -r b1 b1p < <(bench "$model" "$batch" 1 "$@")
    read -r b2 b2p < <(bench "$model" "$batch" 2 "$@")
    stop_busy
    echo "| $model | $batch | $i1 / $i1p | $i2 / $i2p | $(ratio "$i1" "$i2") |" \
         "$b1 / $b1p | $b2 / $b2p | $(ratio "$b1" "$b2") |"
  done
done
fi
[ "$part" != blocks ] || exit 0

# Inside one block: batches too small to split, work the block runs on its
# spare threads (attention rows, heads and query tiles; large dense
# layers). The NMT decoder at the seed's sizes runs on weights made
# by tools/reference/nmt.py (PyTorch).
seed_weights=$(mktemp --suffix=.npz)
/usr/bin/python3 - "$seed_weights" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "tools/reference")
import nmt
net = nmt.make_model(nmt.SEED)
np.savez(sys.argv[1], **{k: v.detach().numpy() for k, v in net.state_dict().items()})
PY
echo
echo "| model | batch | 1t median / p99 (us) | 2t | 2t speed-up |"
echo "| --- | --- | --- | --- | --- |"
for spec in "scaled_dot_attention 1 --dim T=1024" "scaled_dot_attention 8 --dim T=1024" \
            "mha_encoder 1 --dim T=512" "mha_encoder 1 --dim T=16" \
            "nmt 1 --dim TX=16 --param VOCAB_IN=1000 --param VOCAB=1000 --param EMBED=256 --param UNITS=1024 --param MAX_LEN=20"; do
  set -- $spec
  model=$1 batch=$2
  shift 2
  weights=
  case "$*" in *UNITS=1024*) weights=$seed_weights ;; esac
  read -r i1 i1p < <(WEIGHTS=$weights bench "$model" "$batch" 1 "$@")
  read -r i2 i2p < <(WEIGHTS=$weights bench "$model" "$batch" 2 "$@")
  echo "| $model $(echo "$@" | grep -o 'T[X]*=[0-9]*' | head -1)$(case "$*" in *UNITS=1024*) echo " (seed sizes)";; esac) | $batch | $i1 / $i1p | $i2 / $i2p | $(ratio "$i1" "$i2") |"
done
rm -f "$seed_weights"
