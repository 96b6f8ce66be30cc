#!/usr/bin/python3
"""PyTorch reference for test/Integration/nonfinite.test: NaN, +-inf and
values near and beyond float32's range through activations, reductions,
softmax, a dense layer and two forms of attention. Rows mix finite and
non-finite values so that both propagation and containment are checked.

    /usr/bin/python3 tools/reference/nonfinite.py OUT_DIR

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, D = 6, 4
nan, inf = float("nan"), float("inf")


class NonFinite(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(D, D)
        self.score_hidden = nn.Linear(2 * D, 5)
        self.score_out = nn.Linear(5, 1)

    def forward(self, x, h, q, qs, kv):
        out = {"e": torch.exp(x), "t": torch.tanh(x), "s": torch.sigmoid(x),
               "r": torch.relu(x), "sm": torch.softmax(x, -1),
               "mx": x.max(-1).values, "total": x.sum(-1),
               "p": torch.tanh(self.proj(h))}
        cat = torch.cat([q.unsqueeze(1).expand(-1, T, -1), h], -1)
        alphas = torch.softmax(self.score_out(torch.tanh(self.score_hidden(cat))), 1)
        out["keras_context"] = (alphas * h).sum(1)
        out["keras_weights"] = alphas.squeeze(-1)
        w = torch.softmax(torch.einsum("bd,btd->bt", q, h), -1)
        out["dot_context"] = torch.einsum("bt,btd->bd", w, h)
        out["dot_weights"] = w
        # Query sequences over 16 features: Heed's tiled online softmax.
        ws = torch.softmax(qs @ kv.transpose(1, 2) / 4.0, -1)
        out["seq_context"] = ws @ kv
        return out


def main(out_dir):
    torch.manual_seed(5)
    model = NonFinite()
    x = torch.tensor([
        [0.5, -1.0, 2.0, 0.0, 3.0, -2.0, 1.0, 0.25],        # finite
        [nan, 1.0, -1.0, 0.5, 2.0, 0.0, -0.5, 1.5],          # a NaN
        [inf, 1.0, -1.0, 0.5, 2.0, 0.0, -0.5, 1.5],          # +inf
        [-inf, 1.0, -1.0, 0.5, 2.0, 0.0, -0.5, 1.5],         # -inf
        [1e30, 3e38, 88.0, -104.0, 89.0, -87.0, 10.0, -10.0],  # huge
        [3e38, 3e38, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],          # sum overflows
        [-inf] * 8,                                           # all -inf
    ])
    b = x.shape[0]
    h = torch.randn(b, T, D)
    q = torch.randn(b, D)
    h[1, 2, 1] = nan
    h[2, 4, 0] = inf
    h[4, 1, 3] = 1e30
    q[3, 0] = -inf
    q[5, 2] = 1e30
    q[6, 1] = nan
    qs = torch.randn(b, 3, 16)
    kv = torch.randn(b, T, 16)
    qs[0, 1, 2] = nan
    qs[3, 2, 0] = inf
    qs[5, 0, 1] = -1e30
    kv[1, 2, 1] = nan
    kv[2, 4, 0] = inf
    kv[4, 1, 3] = 1e30
    with torch.no_grad():
        out = model(x, h, q, qs, kv)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.savez(os.path.join(out_dir, "inputs.npz"), x=x.numpy(), h=h.numpy(),
             q=q.numpy(), qs=qs.numpy(), kv=kv.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"),
             **{k: v.numpy() for k, v in out.items()})


if __name__ == "__main__":
    main(sys.argv[1])
