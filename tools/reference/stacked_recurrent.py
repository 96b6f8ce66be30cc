#!/usr/bin/python3
"""PyTorch reference for test/Integration/stacked-recurrent.test: recurrent
layers with num_layers > 1 bound as nn.LSTM/nn.GRU save them (`_l1`, `_l2`
weights, `_reverse` for bidirectional ones), with given initial states and
the final states in h_n's layout [num_layers · directions, B, H].

    /usr/bin/python3 tools/reference/stacked_recurrent.py test/Integration/Inputs/stacked_recurrent

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, F, H = 7, 10, 16
BATCHES = (1, 3, 7, 16)


class Stacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(F, H, num_layers=2, batch_first=True)
        self.gru = nn.GRU(F, H, num_layers=3, batch_first=True, bidirectional=True)
        self.bilstm = nn.LSTM(F, H, num_layers=2, batch_first=True, bidirectional=True)

    def forward(self, x, h0, c0):
        y1, (h1, c1) = self.lstm(x, (h0, c0))
        y2, h2 = self.gru(x)
        y3, (h3, c3) = self.bilstm(x)
        return {"y1": y1, "h1": h1, "c1": c1, "y2": y2, "h2": h2,
                "y3": y3, "h3": h3, "c3": c3}


def main(out_dir):
    torch.manual_seed(21)
    model = Stacked().eval()
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    for b in BATCHES:
        x = torch.randn(b, T, F)
        h0, c0 = torch.randn(2, b, H), torch.randn(2, b, H)
        with torch.no_grad():
            golden = model(x, h0, c0)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy(), h0=h0.numpy(),
                 c0=c0.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
