#!/usr/bin/python3
"""A Keras LayerNormalization's weights (`ln.gamma`, `ln.beta`), an input
and its golden from PyTorch's layer_norm with Keras' epsilon (1e-3), for
test/Integration/Inputs/keras_layer_norm.heed (keras-archives.test).

    /usr/bin/python3 tools/reference/keras_layer_norm.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors  # noqa: E402


def main(out):
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    gamma, beta = torch.randn(6, generator=g), torch.randn(6, generator=g)
    x = torch.randn(3, 6, generator=g)
    y = torch.nn.functional.layer_norm(x, (6,), gamma, beta, eps=1e-3)
    save_safetensors(os.path.join(out, "ln.safetensors"),
                     {"ln.gamma": gamma.numpy(), "ln.beta": beta.numpy()})
    np.save(os.path.join(out, "ln-x.npy"), x.numpy())
    np.savez(os.path.join(out, "ln-golden.npz"), y=y.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
