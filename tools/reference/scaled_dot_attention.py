#!/usr/bin/python3
"""Scaled dot-product attention in PyTorch (matmul, softmax, matmul), plain
and causal with per-row lengths (a row of length 0 gives zeros). Writes the
example's inputs and goldens:

    /usr/bin/python3 tools/reference/scaled_dot_attention.py examples/scaled_dot_attention

Independent of Heed."""
import math
import os
import sys

import numpy as np
import torch

B, T, D = 3, 192, 64


def attention(q, k, v, valid=None):
    s = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
    if valid is None:
        return torch.softmax(s, -1) @ v
    s = s.masked_fill(~valid, float("-inf"))
    w = torch.softmax(s, -1)
    w = torch.where(valid.any(-1, keepdim=True), w, torch.zeros_like(w))
    return w @ v


def main(out_dir):
    g = torch.Generator().manual_seed(64)
    q, k, v = (torch.randn(B, T, D, generator=g) for _ in range(3))
    lengths = torch.tensor([T, 77, 0], dtype=torch.float32)
    steps = torch.arange(T)
    valid = (steps[None, None, :] <= steps[None, :, None]) & \
        (steps[None, None, :] < lengths[:, None, None])
    os.makedirs(out_dir, exist_ok=True)
    for name, t in (("q", q), ("k", k), ("v", v), ("lengths", lengths)):
        np.save(os.path.join(out_dir, f"{name}.npy"), t.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), context=attention(q, k, v).numpy())
    np.savez(os.path.join(out_dir, "golden_causal.npz"),
             context=attention(q, k, v, valid).numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/scaled_dot_attention")
