#!/usr/bin/python3
"""Seed 000's one_step_attention in PyTorch, written the Keras way (repeat,
concat, Dense tanh, Dense relu, softmax over time, weighted sum), on seeded
random weights and inputs. Writes the example's files and golden outputs.

    /usr/bin/python3 tools/reference/attention_step.py examples/attention_step
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

TX, N_A, N_S = 30, 32, 64


class AttentionStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.densor1 = nn.Linear(N_S + 2 * N_A, 10)
        self.densor2 = nn.Linear(10, 1)

    def forward(self, a, s_prev):
        s = s_prev[:, None, :].expand(-1, TX, -1)       # RepeatVector
        concat = torch.cat([s, a], dim=-1)               # Concatenate(-1)
        e = torch.tanh(self.densor1(concat))
        energies = torch.relu(self.densor2(e))
        alphas = torch.softmax(energies, dim=1)          # over Tx
        context = (alphas * a).sum(dim=1)                # Dot(axes=1)
        return context, alphas[..., 0]


def main(out_dir, batch=4):
    torch.manual_seed(0)
    model = AttentionStep()
    with torch.no_grad():  # larger weights so the weights are not uniform
        model.densor1.weight.mul_(4.0)
        model.densor2.weight.mul_(4.0)
        model.densor2.bias.fill_(0.5)
    a = torch.randn(batch, TX, 2 * N_A)
    s_prev = torch.randn(batch, N_S)
    with torch.no_grad():
        context, weights = model(a, s_prev)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.save(os.path.join(out_dir, "a.npy"), a.numpy())
    np.save(os.path.join(out_dir, "s_prev.npy"), s_prev.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), context=context.numpy(),
             weights=weights.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/attention_step")
