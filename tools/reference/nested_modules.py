#!/usr/bin/python3
"""PyTorch reference for a model written as nested modules (checked by
test/Integration/nested-modules.test): its state_dict, saved from a wrapper
module (`model.` prefix), binds to model.heed with no renaming.

- Module paths: `decoder.attention.W1.weight`, `decoder.proj.weight`.
- Bare parameters (nn.Parameter): `decoder.attention.v` [U] and a
  Keras-layout matrix `decoder.attention.W_q` [H, U] used as `q @ W_q`.
- Attribute names that are Heed built-ins: `embedding`, `gru`, `dense`.
- int64 token ids and int32 lengths; the attention masks steps past each
  row's length; its energies (before the mask) are an output too.

Inputs and goldens for batch sizes 1, 3, 7 and 33.

    /usr/bin/python3 tools/reference/nested_modules.py test/Integration/Inputs/nested_modules

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

V, E, H, U, C, S = 20, 16, 32, 24, 5, 9
BATCHES = (1, 3, 7, 33)


class BahdanauAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W1 = nn.Linear(H, U)
        self.W_q = nn.Parameter(torch.randn(H, U) * 0.3)   # Keras layout
        self.v = nn.Parameter(torch.randn(U) * 0.3)

    def forward(self, query, keys, lengths):
        energy = (self.v * torch.tanh(self.W1(keys) + (query @ self.W_q)[:, None])).sum(-1)
        steps = torch.arange(keys.shape[1])[None, :]
        masked = energy.masked_fill(steps >= lengths[:, None].long(), float("-inf"))
        weights = torch.softmax(masked, -1)
        return (weights[..., None] * keys).sum(1), weights, energy


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = BahdanauAttention()
        self.proj = nn.Linear(2 * H, H)

    def forward(self, h, enc, lengths):
        context, weights, energies = self.attention(h, enc, lengths)
        return torch.tanh(self.proj(torch.cat([context, h], -1))), weights, energies


class NestedModules(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.gru = nn.GRU(E, H, batch_first=True)
        self.decoder = Decoder()
        self.dense = nn.Linear(H, C)

    def forward(self, src, lengths):
        enc, h = self.gru(self.embedding(src))
        state, weights, energies = self.decoder(h[0], enc, lengths)
        return self.dense(state), weights, energies


class Wrapper(nn.Module):  # a training wrapper: its state_dict says `model.`
    def __init__(self):
        super().__init__()
        self.model = NestedModules()


def main(out_dir):
    torch.manual_seed(5)
    wrapper = Wrapper().eval()
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(wrapper))
    gen = torch.Generator().manual_seed(6)
    for b in BATCHES:
        src = torch.randint(0, V, (b, S), generator=gen, dtype=torch.int64)
        lengths = torch.randint(1, S + 1, (b,), generator=gen, dtype=torch.int32)
        lengths[0] = S
        with torch.no_grad():
            logits, weights, energies = wrapper.model(src, lengths)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), src=src.numpy(),
                 lengths=lengths.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"), logits=logits.numpy(),
                 weights=weights.numpy(), energies=energies.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
