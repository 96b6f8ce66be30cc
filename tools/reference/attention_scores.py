#!/usr/bin/python3
"""Seed 003's score functions (Luong dot, general, concat; Bahdanau additive,
in seed 004's form with biases), scaled dot-product, smoothing
normalization and causal self-attention, with per-row memory lengths, in
plain PyTorch. Writes the example's random weights, inputs and goldens:

    /usr/bin/python3 tools/reference/attention_scores.py examples/attention_scores

Masked steps (t >= length, or t > query for causal) get weight 0; a row
whose steps are all masked gets all-zero weights. Independent of Heed."""
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, D, UNITS = 4, 30, 48, 32


class Scores(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_general = nn.Linear(D, D, bias=False)       # Luong general
        self.W_concat = nn.Linear(2 * D, UNITS, bias=False)  # Luong concat
        self.v_concat = nn.Linear(UNITS, 1, bias=False)
        self.W1 = nn.Linear(D, UNITS)                      # Bahdanau (seed 004)
        self.W2 = nn.Linear(D, UNITS)
        self.V = nn.Linear(UNITS, 1)


def attend(energies, values, valid, smoothing=False):
    """energies [B, (Tq,) T], valid mask of the same shape."""
    e = energies.masked_fill(~valid, float("-inf"))
    if smoothing:
        p = torch.sigmoid(e)
        w = p / p.sum(-1, keepdim=True)
    else:
        w = torch.softmax(e, -1)
    w = torch.where(valid.any(-1, keepdim=True), w, torch.zeros_like(w))
    return w @ values if w.dim() == 3 else (w[:, None, :] @ values)[:, 0], w


def main(out_dir):
    torch.manual_seed(3)
    m = Scores()
    s = torch.randn(B, D)
    h = torch.randn(B, T, D)
    lengths = torch.tensor([T, 17, 0, 1], dtype=torch.float32)
    steps = torch.arange(T)
    valid = steps[None, :] < lengths[:, None]                   # [B, T]
    with torch.no_grad():
        out = {}
        e = (h @ s[:, :, None])[:, :, 0]
        out["dot_context"], out["dot_weights"] = attend(e, h, valid)
        e = (m.W_general(h) @ s[:, :, None])[:, :, 0]
        out["general_context"], out["general_weights"] = attend(e, h, valid)
        cat = torch.cat([s[:, None, :].expand(-1, T, -1), h], -1)
        e = m.v_concat(torch.tanh(m.W_concat(cat)))[:, :, 0]
        out["concat_context"], out["concat_weights"] = attend(e, h, valid)
        e = m.V(torch.tanh(m.W1(h) + m.W2(s)[:, None, :]))[:, :, 0]
        out["additive_context"], out["additive_weights"] = attend(e, h, valid)
        out["smooth_context"], out["smooth_weights"] = attend(e, h, valid, True)
        e = (h @ s[:, :, None])[:, :, 0] / math.sqrt(D)
        out["scaled_context"], out["scaled_weights"] = attend(e, h, valid)
        # Causal self-attention over h, with the same lengths.
        e = h @ h.transpose(1, 2) / math.sqrt(D)                 # [B, Tq, T]
        causal = steps[None, :] <= steps[:, None]                # [Tq, T]
        out["self_context"], out["self_weights"] = attend(
            e, h, valid[:, None, :] & causal[None])
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(m))
    np.save(os.path.join(out_dir, "s.npy"), s.numpy())
    np.save(os.path.join(out_dir, "h.npy"), h.numpy())
    np.save(os.path.join(out_dir, "lengths.npy"), lengths.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"),
             **{k: v.numpy() for k, v in out.items()})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/attention_scores")
