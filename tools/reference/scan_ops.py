#!/usr/bin/python3
"""PyTorch reference for test/Integration/scan-ops.test: topk (largest and
smallest, NaN and infinities among the values, along the steps too), cumsum along the steps and
the features, and 1-D max/average pooling over the steps of channels-last
[B, T, C] tensors (torch's pools on the transposed tensor; padding=same as
TensorFlow pads: the extra step on the right, padding left out of the
average).

    /usr/bin/python3 tools/reference/scan_ops.py test/Integration/Inputs/scan_ops

Independent of Heed."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

T, C, N, K = 10, 8, 12, 3
BATCHES = (1, 2, 3, 4, 5, 7, 16, 33)


def same_padding(steps, window, stride):
    out = -(-steps // stride)
    total = max((out - 1) * stride + window - steps, 0)
    return total // 2, total - total // 2


def max_pool(x, window, stride, same=False):
    x = x.transpose(1, 2)                                   # [B, C, T]
    if same:
        x = F.pad(x, same_padding(x.shape[-1], window, stride), value=float("-inf"))
    return F.max_pool1d(x, window, stride).transpose(1, 2)


def avg_pool(x, window, stride, same=False):
    x = x.transpose(1, 2)
    ones = torch.ones_like(x[:, :1])
    if same:
        pad = same_padding(x.shape[-1], window, stride)
        x, ones = F.pad(x, pad), F.pad(ones, pad)
    sums = F.avg_pool1d(x, window, stride) * window
    counts = F.avg_pool1d(ones, window, stride) * window
    return (sums / counts).transpose(1, 2)


def model(x, s, special):
    vals, idx = torch.topk(s, K)
    small, where = torch.topk(s, 2, largest=False)
    order, places = torch.topk(special, special.shape[-1])
    steps, at = torch.topk(x, 2, dim=1)                     # along the steps
    return {"vals": vals, "idx": idx, "small": small, "where": where,
            "order": order, "places": places, "steps": steps, "at": at,
            "run": torch.cumsum(x, 1), "run_features": torch.cumsum(x, -1),
            "mp": max_pool(x, 2, 2), "mp3": max_pool(x, 3, 2),
            "mps": max_pool(x, 3, 2, same=True), "ap": avg_pool(x, 2, 2),
            "aps": avg_pool(x, 4, 3, same=True)}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(31)
    for b in BATCHES:
        x = torch.randn(b, T, C, generator=gen)
        s = torch.randn(b, N, generator=gen)
        # Distinct finite values, one NaN, +inf and -inf in every row.
        special = torch.randn(b, 6, generator=gen)
        for r in range(b):
            p = torch.randperm(6, generator=gen)
            special[r, p[0]], special[r, p[1]], special[r, p[2]] = \
                float("nan"), float("inf"), float("-inf")
        golden = model(x, s, special)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy(), s=s.numpy(),
                 special=special.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: np.ascontiguousarray(v.numpy()) for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
