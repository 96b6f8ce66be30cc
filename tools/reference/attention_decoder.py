#!/usr/bin/python3
"""Seed 003's AttentionDecoder (equations 1-8) over a Bi-LSTM(64) encoder on
[B, 100, 104] inputs, units 32, 4 output classes, written in PyTorch the
way the seed's Keras `step` computes it. Writes random weights, inputs and
goldens:

    /usr/bin/python3 tools/reference/attention_decoder.py examples/attention_decoder

The seed's Keras weights (W_a [units, units] as x @ W) become nn.Linear
layers ([out, in]); b_a sits in U_a, b_r/b_z/b_p/b_o in W_r/W_z/W_p/W_o.
Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, F, UNITS, CLASSES = 4, 100, 104, 32, 4


class AttentionDecoderModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(F, 64, batch_first=True, bidirectional=True)
        D = 128
        self.W_s = nn.Linear(D, UNITS, bias=False)
        self.W_a = nn.Linear(UNITS, UNITS, bias=False)
        self.U_a = nn.Linear(D, UNITS)                   # + b_a
        self.V_a = nn.Linear(UNITS, 1, bias=False)
        for g in "rzp":
            setattr(self, "W_" + g, nn.Linear(CLASSES, UNITS))  # + b_g
            setattr(self, "U_" + g, nn.Linear(UNITS, UNITS, bias=False))
            setattr(self, "C_" + g, nn.Linear(D, UNITS, bias=False))
        self.W_o = nn.Linear(CLASSES, CLASSES)           # + b_o
        self.U_o = nn.Linear(UNITS, CLASSES, bias=False)
        self.C_o = nn.Linear(D, CLASSES, bias=False)

    def forward(self, x):
        h, _ = self.encoder(x)                           # [B, T, 128]
        uxpb = self.U_a(h)                               # once per sequence
        s = torch.tanh(self.W_s(h[:, 0]))
        y = torch.zeros(x.shape[0], CLASSES)
        ys, alphas = [], []
        for _ in range(h.shape[1]):
            et = self.V_a(torch.tanh(self.W_a(s)[:, None, :] + uxpb))  # eq. 1
            at = torch.exp(et)                                         # eq. 2
            at = at / at.sum(1, keepdim=True)
            context = (at * h).sum(1)                                  # eq. 3
            r = torch.sigmoid(self.W_r(y) + self.U_r(s) + self.C_r(context))
            z = torch.sigmoid(self.W_z(y) + self.U_z(s) + self.C_z(context))
            p = torch.tanh(self.W_p(y) + self.U_p(r * s) + self.C_p(context))
            s_new = (1 - z) * s + z * p                                # eq. 7
            y = torch.softmax(self.W_o(y) + self.U_o(s) + self.C_o(context),
                              -1)                                      # eq. 8
            s = s_new
            ys.append(y)
            alphas.append(at[:, :, 0])
        return torch.stack(ys, 1), torch.stack(alphas, 1)


def main(out_dir):
    torch.manual_seed(2003)
    model = AttentionDecoderModel()
    x = torch.randn(B, T, F)
    with torch.no_grad():
        y, alpha = model(x)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.save(os.path.join(out_dir, "x.npy"), x.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), out=y.numpy(),
             attention=alpha.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/attention_decoder")
