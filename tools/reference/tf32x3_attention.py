#!/usr/bin/python3
"""Goldens for test/Integration/Inputs/tf32x3_attention: dot-product
attention with heads of 8 and 24 (multiples of 8, not of 16: only the f32
tensor-core kernel, --gpu-precision=tf32x3, takes them on tensor cores),
computed exactly in float64 and rounded to f32 once; 3xTF32 is f32's
precision to about 2^-22. Cases (queries, keys): one of each; a partial
16-key tile; 130 queries (two blocks of 128 rows, the second of 2) over 37
keys; one query over 300 keys (causal self-attention over 300: tiles
wholly below the diagonal, which the kernel does not mask, beside tiles
on it; lengths 191 and 0: whole tiles, then one whose last key is the
first one masked). Writes inputs_<case>.npz and golden_<case>.npz:

    /usr/bin/python3 tools/reference/tf32x3_attention.py test/Integration/Inputs/tf32x3_attention

Independent of Heed."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reduced_precision_attention import exact  # noqa: E402 (float64 attention)

B = 2
CASES = [(1, 1), (3, 5), (130, 37), (1, 300)]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(2027)
    for tq, t in CASES:
        q = torch.randn(B, tq, 8, generator=g)
        k = torch.randn(B, t, 8, generator=g)
        v = torch.randn(B, t, 40, generator=g)
        x = torch.randn(B, t, 24, generator=g) * 0.5
        w = torch.randn(B, t, 48, generator=g)
        # Over 300 keys, 191: the last key of the third 64-key tile is the
        # first one masked.
        lengths = torch.tensor([191 if t == 300 else t - t // 3, 0], dtype=torch.float32)
        steps = torch.arange(t)
        within = (steps[None, :] < lengths[:, None])[:, None, :].expand(B, tq, t)
        causal = (steps[None, :] <= steps[:, None])[None].expand(B, t, t)
        wh = w.reshape(B, t, 2, 24).permute(0, 2, 1, 3).reshape(B * 2, t, 24)
        split = exact(wh, wh, wh, torch.ones(B * 2, t, t, dtype=torch.bool), 24 ** -0.5)
        out = {"narrow": exact(q, k, v, within, 8 ** -0.5),
               "causal": exact(x, x, x, causal, 1.0),
               "heads": split.reshape(B, 2, t, 24).permute(0, 2, 1, 3).reshape(B, t, 48)}
        name = "q%d_t%d" % (tq, t)
        np.savez(os.path.join(out_dir, "inputs_%s.npz" % name), q=q.numpy(), k=k.numpy(),
                 v=v.numpy(), x=x.numpy(), w=w.numpy(), lengths=lengths.numpy())
        np.savez(os.path.join(out_dir, "golden_%s.npz" % name),
                 **{key: val.numpy() for key, val in out.items()})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/Integration/Inputs/tf32x3_attention")
