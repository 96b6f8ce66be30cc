"""Writes a checkpoint as a training script saves it from a wrapper: every
name under PREFIX (nn.DataParallel's `module.`), plus optimizer state and an
unused head; and, unprefixed, int64 counters past 2**24 beside the weights
and a weight of such an integer (for checkpoint-names.test).
    wrap_checkpoint.py WEIGHTS OUT PREFIX"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "tools", "reference"))
from tensorio import save_safetensors  # noqa: E402
from to_keras_layout import load  # noqa: E402

weights, out, prefix = sys.argv[1:4]
w = {prefix + k: v for k, v in load(weights).items()}
save_safetensors(out + ".wrapped.safetensors", w)
w[prefix + "aux_head.weight"] = np.zeros((3, 10), np.float32)
w["optimizer.step"] = np.zeros((1,), np.float32)
save_safetensors(out + ".extra.safetensors", w)
plain = load(weights)
np.savez(out + ".counters.npz", **plain,
         **{"bn.num_batches_tracked": np.array(2**30, np.int64),
            "optimizer.step": np.array([2**40], np.int64)})
np.savez(out + ".bigint.npz", **dict(plain, **{
    "head.bias": np.array([2**25 + 1], np.int64)}))
