#!/usr/bin/python3
"""PyTorch reference for test/Integration/shape-ops.test: reshape (heads
split and merged by hand, -1 inferred), permute of rank 4, batched `@` over
[B, H, T, d] (attention written out as a transformer block computes it),
stack, arange, sequence_mask and take (torch.gather along the steps);
the same attention as one fused
attention(...) over [B, H, T, d] with lengths.

    /usr/bin/python3 tools/reference/shape_ops.py test/Integration/Inputs/shape_ops

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, D, HEADS = 6, 16, 4
BATCHES = (1, 2, 5, 16)


class ShapeOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)

    def forward(self, x, lengths, picks):
        b = x.shape[0]
        q, k, v = self.qkv(x).chunk(3, -1)
        heads = lambda t: t.reshape(b, T, HEADS, D // HEADS).permute(0, 2, 1, 3)  # noqa: E731
        q, k, v = heads(q), heads(k), heads(v)
        mask = torch.arange(T)[None, :] < lengths[:, None]          # [B, T]
        scores = q @ k.transpose(-1, -2) / (D // HEADS) ** 0.5       # [B, H, T, T]
        energies = scores                        # before the mask (energies4)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, -1)
        context = weights @ v                                         # [B, H, T, d]
        merged = context.permute(0, 2, 1, 3).reshape(b, T, D)
        return {
            "merged": merged,
            "flat": x.reshape(b, -1),
            "stacked": torch.stack([x, -x, 2 * x], 1),
            "steps": torch.arange(T).float() * x[:, :, 0],
            "mask": mask.float(),
            "context4": context, "weights4": weights, "energies4": energies,
            "last_valid": x[torch.arange(b), lengths - 1],
            "picked": torch.gather(x, 1, picks[..., None].expand(-1, -1, D)),
            "features": torch.gather(x, 2, picks[:, None, :].expand(-1, T, -1)),
            "feature": x[torch.arange(b), :, lengths - 1],
        }


def main(out_dir):
    torch.manual_seed(8)
    model = ShapeOps().eval()
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    for b in BATCHES:
        x = torch.randn(b, T, D)
        lengths = torch.randint(1, T + 1, (b,))
        picks = torch.randint(0, T, (b, 2))
        with torch.no_grad():
            golden = model(x, lengths, picks)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy(), lengths=lengths.numpy(),
                 picks=picks.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
