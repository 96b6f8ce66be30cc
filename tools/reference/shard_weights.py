#!/usr/bin/python3
"""Writes a weight file as Hugging Face's save_pretrained shards it, for the
tests of sharded checkpoints (runtime/ShardIndex.h):

    /usr/bin/python3 tools/reference/shard_weights.py IN.safetensors OUT_DIR

OUT_DIR gets model-0000K-of-00003.safetensors with
model.safetensors.index.json, and pytorch_model-0000K-of-00003.bin
(torch.save) with pytorch_model.bin.index.json: the tensors in name order,
split into three shards, each index {"metadata": {"total_size": BYTES},
"weight_map": {NAME: SHARD}}."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import load_safetensors, save_safetensors  # noqa: E402


def main(src, out):
    os.makedirs(out, exist_ok=True)
    tensors = load_safetensors(src)
    names = sorted(tensors)
    shards = [[str(n) for n in part] for part in np.array_split(np.array(names), 3)]
    total = sum(t.nbytes for t in tensors.values())
    for stem, ext in [("model", "safetensors"), ("pytorch_model", "bin")]:
        weight_map = {}
        for k, part in enumerate(shards):
            shard = f"{stem}-{k + 1:05d}-of-{len(shards):05d}.{ext}"
            chunk = {n: tensors[n] for n in part}
            if ext == "safetensors":
                save_safetensors(os.path.join(out, shard), chunk)
            else:
                torch.save({n: torch.from_numpy(np.array(a)) for n, a in chunk.items()},
                           os.path.join(out, shard))
            weight_map.update({n: shard for n in part})
        with open(os.path.join(out, f"{stem}.{ext}.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": int(total)},
                       "weight_map": weight_map}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
