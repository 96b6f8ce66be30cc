#!/usr/bin/python3
"""Matrix products with their multiplicands rounded to bf16 or f16 and
summed in f32, as tensor cores compute them (mma.sync with f32
accumulators): two dense layers, fc2(relu(fc1(x))), and a batched product
x @ v. Every product here has M, N and K of at least 16, so the GPU target
runs all of them on tensor cores with --gpu-precision=bf16 or f16. PyTorch,
in float64 from the rounded operands; writes weights.safetensors and, per
case, inputs_<case>.npz and golden_<case>_<precision>.npz (precision f32,
bf16, f16):

    /usr/bin/python3 tools/reference/reduced_precision_products.py test/Integration/Inputs/reduced_precision_products

Independent of Heed."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

IN, HIDDEN, OUT, COLS = 40, 72, 24, 33
# (batch, steps): M = batch · steps rows for the dense layers, steps for x @ v.
CASES = [(1, 20), (3, 20), (33, 17)]
TYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def rounded(t, precision):
    """t's values as the multiplicand type holds them (round to nearest even)."""
    return t.to(TYPES[precision]).to(torch.float64)


def products(layers, x, v, precision):
    w1, b1 = layers["fc1"].weight.double(), layers["fc1"].bias.double()
    w2, b2 = layers["fc2"].weight.double(), layers["fc2"].bias.double()
    # The bias is the accumulators' start, the activation runs on the sum.
    h = torch.relu(rounded(x, precision) @ rounded(w1, precision).T + b1).float()
    y = rounded(h, precision) @ rounded(w2, precision).T + b2
    z = rounded(x, precision) @ rounded(v, precision)
    return {"y": y.float().numpy(), "z": z.float().numpy()}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1616)
    layers = torch.nn.ModuleDict({"fc1": torch.nn.Linear(IN, HIDDEN),
                                  "fc2": torch.nn.Linear(HIDDEN, OUT)})
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(layers))
    g = torch.Generator().manual_seed(1617)
    with torch.no_grad():
        for batch, steps in CASES:
            x = torch.randn(batch, steps, IN, generator=g)
            v = torch.randn(batch, IN, COLS, generator=g)
            name = "b%d_t%d" % (batch, steps)
            np.savez(os.path.join(out_dir, "inputs_%s.npz" % name), x=x.numpy(), v=v.numpy())
            for precision in TYPES:
                np.savez(os.path.join(out_dir, "golden_%s_%s.npz" % (name, precision)),
                         **products(layers, x, v, precision))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "test/Integration/Inputs/reduced_precision_products")
