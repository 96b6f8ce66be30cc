#!/usr/bin/python3
"""PyTorch reference for an argmax over a long axis (the GPU target's
block argmax: each thread a strided share, then a tree; checked by
test/GPU/block-argmax-on-cpu.test and the differential tester), with the
cases a tree can get wrong: maxima tied between two threads' shares (the
first must win), tied within one thread's share, every element equal,
every element -inf (index 0), the maximum last, and a row of a longer
batch whose maximum sits in the tail past a power of two. No NaN: PyTorch
ranks NaN highest, Heed's argmax never picks it.

    /usr/bin/python3 tools/reference/long_argmax.py test/Integration/Inputs/long_argmax

Independent of Heed."""
import os
import sys

import numpy as np
import torch

B, V = 7, 300


def main(out_dir):
    gen = torch.Generator().manual_seed(300)
    x = torch.randn(B, V, generator=gen)
    x[1, 7] = x[1, 250] = 9.0        # a tie across two threads' shares
    x[2, 3] = x[2, 259] = 9.0        # a tie within thread 3's share
    x[3] = 0.5                       # all equal: index 0
    x[4] = -float("inf")             # nothing beats -inf: index 0
    x[5, 299] = 9.0                  # the last element
    x[6, 280] = 9.0                  # past 256, a tail thread's second load
    best = torch.argmax(x, dim=1)
    os.makedirs(out_dir, exist_ok=True)
    np.savez(os.path.join(out_dir, "inputs.npz"), x=x.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), best=best.numpy())
    print("best", best.tolist())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/Integration/Inputs/long_argmax")
