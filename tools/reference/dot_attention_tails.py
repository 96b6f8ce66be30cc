#!/usr/bin/python3
"""Scaled dot-product attention at sizes the tiled lowering cuts into
partial tiles: query counts that 4 does not divide, key counts that are not
multiples of 16 or 64 (T = 8…130), and 512 keys (whole blocks of 64,
which the lowering lays out block by block); plain, with per-row lengths
(one row of length 0), causal self-attention, and self-attention over two
heads split from one tensor. PyTorch matmul/softmax/matmul; writes
one inputs_<case>.npz and golden_<case>.npz per case:

    /usr/bin/python3 tools/reference/dot_attention_tails.py test/Integration/Inputs/dot_attention_tails

Independent of Heed."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from scaled_dot_attention import attention  # noqa: E402

B, D = 2, 64
# (queries, keys)
CASES = [(1, 13), (3, 8), (5, 24), (6, 100), (16, 16), (7, 70), (4, 512)]


def heads(x, count=2):
    """Self-attention over x split into `count` heads, merged back."""
    b, t, d = x.shape
    xh = x.reshape(b, t, count, d // count).permute(0, 2, 1, 3).reshape(b * count, t, -1)
    out = attention(xh, xh, xh).reshape(b, count, t, -1)
    return out.permute(0, 2, 1, 3).reshape(b, t, d)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(816)
    for tq, t in CASES:
        q = torch.randn(B, tq, D, generator=g)
        k, v, x = (torch.randn(B, t, D, generator=g) for _ in range(3))
        lengths = torch.tensor([t - t // 3, 0], dtype=torch.float32)
        valid = torch.arange(t)[None, None, :] < lengths[:, None, None]
        steps = torch.arange(t)
        causal = (steps[None, :] <= steps[:, None])[None]
        name = "q%d_t%d" % (tq, t)
        np.savez(os.path.join(out_dir, "inputs_%s.npz" % name), q=q.numpy(), k=k.numpy(),
                 v=v.numpy(), x=x.numpy(), lengths=lengths.numpy())
        np.savez(os.path.join(out_dir, "golden_%s.npz" % name),
                 plain=attention(q, k, v).numpy(),
                 masked=attention(q, k, v, valid.expand(B, tq, t)).numpy(),
                 causal=attention(x, x, x, causal.expand(B, t, t)).numpy(),
                 heads=heads(x).numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "test/Integration/Inputs/dot_attention_tails")
