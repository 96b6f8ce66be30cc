#!/usr/bin/python3
"""Seed 003's AttentionDecoder (equations 1-8) over a Bi-LSTM(64) encoder on
[B, 100, 104] inputs, units 32, 4 output classes, written in PyTorch the
way the seed's Keras `step` computes it. Writes random weights, inputs and
goldens:

    /usr/bin/python3 tools/reference/attention_decoder.py examples/attention_decoder

The decoder's weights are the seed's `add_weight` parameters, named and
shaped as it creates them (Keras layout: `W_a [units, units]` used as
`s @ W_a`, `V_a [units]`, separate biases `b_a`, `b_r`, ...), under the
submodule `decoder`; the encoder is an nn.LSTM. Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, F, UNITS, CLASSES = 4, 100, 104, 32, 4


def keras_weight(*shape):
    """An add_weight-style parameter: uniform in ±1/sqrt(fan_in)."""
    bound = 1.0 / shape[0] ** 0.5
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class AttentionDecoder(nn.Module):
    """The seed's Keras layer: its weights as its build() creates them."""

    def __init__(self, input_dim, units, output_dim):
        super().__init__()
        self.V_a = nn.Parameter(keras_weight(units).detach() * 8)  # sharper alignments
        self.W_a = keras_weight(units, units)
        self.U_a = keras_weight(input_dim, units)
        self.b_a = nn.Parameter(torch.zeros(units).uniform_(-0.1, 0.1))
        for g in "rzp":
            setattr(self, "C_" + g, keras_weight(input_dim, units))
            setattr(self, "U_" + g, keras_weight(units, units))
            setattr(self, "W_" + g, keras_weight(output_dim, units))
            setattr(self, "b_" + g, nn.Parameter(torch.zeros(units).uniform_(-0.1, 0.1)))
        self.C_o = keras_weight(input_dim, output_dim)
        self.U_o = keras_weight(units, output_dim)
        self.W_o = keras_weight(output_dim, output_dim)
        self.b_o = nn.Parameter(torch.zeros(output_dim).uniform_(-0.1, 0.1))
        self.W_s = keras_weight(input_dim, units)

    def forward(self, h):
        uxpb = h @ self.U_a + self.b_a                   # once per sequence
        s = torch.tanh(h[:, 0] @ self.W_s)
        y = torch.zeros(h.shape[0], CLASSES)
        ys, alphas = [], []
        for _ in range(h.shape[1]):
            et = torch.tanh((s @ self.W_a)[:, None, :] + uxpb) @ self.V_a[:, None]  # eq. 1
            at = torch.exp(et)                                                   # eq. 2
            at = at / at.sum(1, keepdim=True)
            context = (at * h).sum(1)                                            # eq. 3
            r = torch.sigmoid(y @ self.W_r + s @ self.U_r + context @ self.C_r + self.b_r)
            z = torch.sigmoid(y @ self.W_z + s @ self.U_z + context @ self.C_z + self.b_z)
            p = torch.tanh(y @ self.W_p + (r * s) @ self.U_p + context @ self.C_p + self.b_p)
            s_new = (1 - z) * s + z * p                                          # eq. 7
            y = torch.softmax(y @ self.W_o + s @ self.U_o + context @ self.C_o + self.b_o,
                              -1)                                                # eq. 8
            s = s_new
            ys.append(y)
            alphas.append(at[:, :, 0])
        return torch.stack(ys, 1), torch.stack(alphas, 1)


class AttentionDecoderModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(F, 64, batch_first=True, bidirectional=True)
        self.decoder = AttentionDecoder(128, UNITS, CLASSES)

    def forward(self, x):
        h, _ = self.encoder(x)                           # [B, T, 128]
        return self.decoder(h)


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
