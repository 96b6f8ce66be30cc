#!/usr/bin/python3
"""PyTorch reference for test/Integration/frozen-cells.test: an LSTM cell
and a GRU cell in a loop whose body reads the old carried states after the
cells ran (masked rows keep their state, as padded or finished rows do).
Seeded random weights, inputs and masks.

    /usr/bin/python3 tools/reference/frozen_cells.py OUT_DIR [BATCH]

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, F, H = 6, 3, 5


class FrozenCells(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm_step = nn.LSTMCell(F, H)
        self.gru_step = nn.GRUCell(F, H)

    def forward(self, x, mask):
        b = x.shape[0]
        h = c = g = torch.zeros(b, H)
        hs, gs = [], []
        for t in range(T):
            keep = mask[:, t:t + 1] != 0
            h2, c2 = self.lstm_step(x[:, t], (h, c))
            g2 = self.gru_step(x[:, t], g)
            h = torch.where(keep, h2, h)
            c = torch.where(keep, c2 + c * 0, c)
            g = torch.where(keep, g2, g)
            hs.append(h)
            gs.append(g)
        return torch.stack(hs, 1), torch.stack(gs, 1), c


def main(out, batch):
    torch.manual_seed(3)
    model = FrozenCells()
    x = torch.randn(batch, T, F)
    mask = (torch.rand(batch, T) > 0.35).float()
    with torch.no_grad():
        hs, gs, c = model(x, mask)
    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "weights.safetensors"),
                     state_dict_numpy(model))
    np.savez(os.path.join(out, "inputs.npz"), x=x.numpy(), mask=mask.numpy())
    np.savez(os.path.join(out, "golden.npz"), hs=hs.numpy(), gs=gs.numpy(),
             c_last=c.numpy())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
