#!/usr/bin/python3
"""PyTorch reference for test/Integration/local-attention.test: Luong et al.
2015's local attention and hard attention (seed 003 names both beside global
soft attention), one decoder query per step over a memory with per-row
lengths:

- local-m: p_t = t; softmax over the steps s with |s - p_t| <= D (and
  s < length);
- local-p: p_t = S_b * sigmoid(v_p . tanh(W_p h_t)) (S_b the row's source
  length), the same window around the real-valued p_t, then the weights
  times exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D / 2;
- hard: global softmax weights; the context is the value at their first
  maximum.

A row with no step in its window gets zero weights and a zero context.
Scores are Luong's `general`: q . (W_a k).

    /usr/bin/python3 tools/reference/local_attention.py test/Integration/Inputs/local_attention

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

T, S, H, UNITS, D = 12, 9, 16, 8, 2
BATCHES = (1, 2, 3, 4, 5, 7, 16, 33)


class LocalAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_a = nn.Linear(H, H, bias=False)
        self.W_p = nn.Linear(H, UNITS, bias=False)
        self.v_p = nn.Parameter(torch.randn(UNITS))

    def weights(self, q, memory, lengths, centre=None):
        energy = (self.W_a(memory) * q[:, None, :]).sum(-1)          # [B, T]
        steps = torch.arange(memory.shape[1], dtype=torch.float32)[None, :]
        allowed = steps < lengths[:, None]
        if centre is not None:
            allowed &= (steps - centre[:, None]).abs() <= D
        energy = energy.masked_fill(~allowed, float("-inf"))
        w = torch.softmax(energy, -1)
        return torch.where(allowed.any(-1, keepdim=True), w, torch.zeros_like(w))

    def forward(self, memory, lengths, queries):
        out = {k: [] for k in ("cm", "am", "cp", "ap", "ch", "ah")}
        steps = torch.arange(memory.shape[1], dtype=torch.float32)[None, :]
        for t in range(queries.shape[1]):
            q = queries[:, t]
            am = self.weights(q, memory, lengths, torch.full((q.shape[0],), float(t)))
            p = lengths * torch.sigmoid((self.v_p * torch.tanh(self.W_p(q))).sum(-1))
            ap = self.weights(q, memory, lengths, p)
            ap = ap * torch.exp(-(steps - p[:, None]) ** 2 / (2 * (D / 2) ** 2))
            ah = self.weights(q, memory, lengths)
            first = ah.argmax(-1)
            ch = memory[torch.arange(q.shape[0]), first] * (ah.max(-1).values > 0)[:, None]
            for k, v in (("cm", (am[..., None] * memory).sum(1)), ("am", am),
                         ("cp", (ap[..., None] * memory).sum(1)), ("ap", ap),
                         ("ch", ch), ("ah", ah)):
                out[k].append(v)
        return {k: torch.stack(v, 1) for k, v in out.items()}


def main(out_dir):
    torch.manual_seed(2015)
    model = LocalAttention()
    with torch.no_grad():
        model.W_a.weight.mul_(2.0)  # sharper weights than at random init
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    gen = torch.Generator().manual_seed(2016)
    for b in BATCHES:
        memory = torch.randn(b, T, H, generator=gen)
        queries = torch.randn(b, S, H, generator=gen)
        lengths = torch.randint(1, T + 1, (b,), generator=gen)
        lengths[0] = T
        if b > 1:
            lengths[1] = 3   # decoder steps past the source: empty windows
        with torch.no_grad():
            golden = model(memory, lengths.float(), queries)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), memory=memory.numpy(),
                 queries=queries.numpy(), lengths=lengths.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: np.ascontiguousarray(v.numpy()) for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
