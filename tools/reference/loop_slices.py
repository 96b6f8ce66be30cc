#!/usr/bin/python3
"""PyTorch reference for test/Integration/loop-slices.test: slices that move
with a loop variable (`x[:, t*K:(t+1)*K]`, `x[:, 2*t+1:2*t+3]`), a frame of
K steps per decoder step as Tacotron's decoder reads reduction-factor frames,
at every batch size.

    /usr/bin/python3 tools/reference/loop_slices.py test/Integration/Inputs/loop_slices

Independent of Heed."""
import os
import sys

import numpy as np
import torch

T, F, K, STEPS = 12, 4, 3, 4
BATCHES = (1, 2, 3, 4, 5, 7, 16, 33)


def model(x):
    frames = [x[:, t * K:(t + 1) * K] for t in range(STEPS)]
    return {"y": torch.stack([f.sum(1) for f in frames], 1),
            "z": torch.stack([x[:, 2 * t + 1:2 * t + 3] for t in range(STEPS)], 1),
            "w": torch.stack([x[:, T - 2 - t:T - t].max(1).values for t in range(STEPS)], 1)}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(9)
    for b in BATCHES:
        x = torch.randn(b, T, F, generator=gen)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in model(x).items()})


if __name__ == "__main__":
    main(sys.argv[1])
