#!/usr/bin/python3
"""PyTorch reference for test/Integration/Inputs/zero_state_cells: nn.LSTMCell
stepped from zero (h, c), from zero h with a carried c, and nn.GRUCell from
a zero state, over T steps of x.

    /usr/bin/python3 tools/reference/zero_state_cells.py OUT_DIR

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, F, H = 5, 3, 128, 32


class ZeroStateCells(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm_step = nn.LSTMCell(F, H)
        self.gru_step = nn.GRUCell(F, H)

    def forward(self, x):
        zero = torch.zeros(x.shape[0], H)
        c = zero
        out = {"hz": [], "cz": [], "hc": [], "gz": []}
        for t in range(T):
            h1, c1 = self.lstm_step(x[:, t], (zero, zero))
            h2, c = self.lstm_step(x[:, t], (zero, c))
            g = self.gru_step(x[:, t], zero)
            for k, v in (("hz", h1), ("cz", c1), ("hc", h2), ("gz", g)):
                out[k].append(v)
        out = {k: torch.stack(v, 1) for k, v in out.items()}
        out["c_last"] = c
        return out


def main(out_dir):
    torch.manual_seed(11)
    model = ZeroStateCells()
    x = torch.randn(B, T, F)
    with torch.no_grad():
        golden = model(x)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    np.savez(os.path.join(out_dir, "inputs.npz"), x=x.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/Integration/Inputs/zero_state_cells")
