#!/usr/bin/env bash
# Decoding that stops: what a batch of 32 costs when its rows stop at
# different steps, with steps on the running rows once they fit in chunks
# covering half the batch (the default: chunks of 8 rows) against every row
# every step (--live-row-chunk=0).
# The NMT example's four sentences stop after 4, 9, 5 and 10 steps; the
# batches repeat them: all the 10-step one ("all long"), the four in turn
# ("mixed"), 31 of the 4-step one and one 10-step one ("one long"), all the
# 4-step one ("all short"). One thread, one block, `heed bench` medians (us)
# of three interleaved rounds.
#   bash bench/live_rows.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import sys, numpy as np
s = np.load("examples/nmt/source.npy")
out = sys.argv[1]
np.save(out + "/all_long.npy", np.tile(s[3:4], (32, 1)))
np.save(out + "/mixed.npy", np.tile(s, (8, 1)))
np.save(out + "/one_long.npy", np.concatenate([np.tile(s[0:1], (31, 1)), s[3:4]]))
np.save(out + "/all_short.npy", np.tile(s[0:1], (32, 1)))
PY
median() { # batch chunk -> median us
  "$build/bin/heed" bench examples/nmt/model.heed \
    --weights examples/nmt/weights.safetensors --input "source=$tmp/$1.npy" \
    --threads 1 --rows-per-block 0 --live-row-chunk "$2" |
    awk '/median/ {for (i=1;i<=NF;i++) if ($i=="median") print $(i+1)}'
}
echo "| batch of 32 | row-steps | every row (us) | running rows (us) | speed-up |"
echo "| --- | --- | --- | --- | --- |"
for batch in all_long mixed one_long all_short; do
  whole=() live=()
  for round in 1 2 3; do
    whole+=("$(median "$batch" 0)")
    live+=("$(median "$batch" -1)")
  done
  w=$(printf '%s\n' "${whole[@]}" | sort -n | sed -n 2p)
  l=$(printf '%s\n' "${live[@]}" | sort -n | sed -n 2p)
  case $batch in
    all_long) steps=320 ;; mixed) steps=224 ;; one_long) steps=134 ;; all_short) steps=128 ;;
  esac
  awk -v b="$batch" -v s="$steps" -v w="$w" -v l="$l" \
    'BEGIN {printf "| %s | %d of 320 | %.1f | %.1f | %.2fx |\n", b, s, w, l, w / l}'
done
