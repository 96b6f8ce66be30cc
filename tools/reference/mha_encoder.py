#!/usr/bin/python3
"""A multi-head self-attention encoder block (seed 002's self-attention,
seed 004's positional encoding and GLU) with PyTorch's own modules:
sinusoidal positional encoding, nn.MultiheadAttention (d_model 512, 8
heads, d_k 64; key padding mask from per-row lengths), a causal
nn.MultiheadAttention, and a GLU feed-forward (nn.Linear(512, 1024) then
F.glu). Writes random weights, inputs and goldens:

    /usr/bin/python3 tools/reference/mha_encoder.py examples/mha_encoder

Independent of Heed."""
import math
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, D, HEADS = 2, 64, 512, 8


def positional_encoding(steps, depth):
    pos = torch.arange(steps, dtype=torch.float64)[:, None]
    i = torch.arange(0, depth, 2, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(10000.0, i / depth)
    pe = torch.zeros(steps, depth, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(D, HEADS, batch_first=True)
        self.masked_attention = nn.MultiheadAttention(D, HEADS, batch_first=True)
        self.feed_forward = nn.Linear(D, 2 * D)

    def forward(self, x, lengths):
        h = x + positional_encoding(x.shape[1], D)
        padding = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
        a, _ = self.self_attention(h, h, h, key_padding_mask=padding,
                                   need_weights=False)
        y = F.glu(self.feed_forward(h + a), dim=-1)
        causal = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), 1)
        c, _ = self.masked_attention(h, h, h, attn_mask=causal, need_weights=False)
        return y, c


def main(out_dir):
    torch.manual_seed(512)
    block = EncoderBlock().eval()
    x = torch.randn(B, T, D)
    lengths = torch.tensor([T, 40], dtype=torch.float32)
    with torch.no_grad():
        y, c = block(x, lengths)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(block))
    np.save(os.path.join(out_dir, "x.npy"), x.numpy())
    np.save(os.path.join(out_dir, "lengths.npy"), lengths.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), y=y.numpy(), causal=c.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/mha_encoder")
