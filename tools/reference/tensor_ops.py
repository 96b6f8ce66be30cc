#!/usr/bin/python3
"""PyTorch reference for the elementwise functions, `@`, layer_norm and a
residual block (checked by test/Integration/tensor-ops.test): torch.sqrt,
rsqrt, log, abs, pow, minimum, maximum, clamp, matmul and nn.LayerNorm, on
ordinary values and on special ones (NaN, ±inf, 0, negatives), where
PyTorch's IEEE results (NaN for sqrt(-1), -inf for log(0), ...) are the
golden. Inputs and goldens for batch sizes 1, 2, 5 and 16.

    /usr/bin/python3 tools/reference/tensor_ops.py test/Integration/Inputs/tensor_ops

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, D, F = 6, 16, 12
BATCHES = (1, 2, 5, 16)
SPECIAL = [float("nan"), float("inf"), float("-inf"), 0.0, -0.0, -1.5, 2.0, 1e-30]


class TensorOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(D)                      # eps 1e-5, affine
        self.plain_norm = nn.LayerNorm(D, eps=1e-3, elementwise_affine=False)
        self.ff = nn.Linear(D, D)
        self.W = nn.Parameter(torch.randn(D, F) * 0.3)   # [in, out]
        with torch.no_grad():                            # not the defaults
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x, y, s):
        a = x.abs()
        return {
            "sqrt": torch.sqrt(a), "rsqrt": torch.rsqrt(a + 0.1),
            "log": torch.log(a + 0.5), "abs": a,
            "pow": torch.pow(a, 1.5), "cube": torch.pow(x, 3.0),
            "minimum": torch.minimum(x, y), "maximum": torch.maximum(x, torch.tensor(0.2)),
            "clip": torch.clamp(x, -0.5, 0.5),
            "normed": self.norm(x), "plain_normed": self.plain_norm(x * 3 + 1),
            "residual": self.norm(x + torch.relu(self.ff(x))),
            "matmul": x @ self.W,
            "batched": x @ y.transpose(1, 2),
            "s_sqrt": torch.sqrt(s), "s_rsqrt": torch.rsqrt(s), "s_log": torch.log(s),
            "s_abs": torch.abs(s), "s_pow": torch.pow(s, 0.5), "s_pow15": torch.pow(s, 1.5),
            "pow_tensor": torch.pow(a + 0.1, y),
            "s_minimum": torch.minimum(s, torch.tensor(1.0)),
            "s_maximum": torch.maximum(s, torch.tensor(1.0)),
            "s_clip": torch.clamp(s, -1.0, 1.0),
            # Rows spread so widely that log(softmax) would underflow to -inf.
            "log_softmax": torch.log_softmax(y * 40, -1),
            "log_softmax_steps": torch.log_softmax(x, 1),
            "s_log_softmax": torch.log_softmax(s, -1),
        }


def main(out_dir):
    torch.manual_seed(3)
    model = TensorOps().eval()
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    for b in BATCHES:
        x = torch.randn(b, T, D)
        y = torch.randn(b, T, D) * 2
        s = torch.tensor(SPECIAL).repeat(b, 1)
        with torch.no_grad():
            golden = model(x, y, s)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy(), y=y.numpy(), s=s.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
