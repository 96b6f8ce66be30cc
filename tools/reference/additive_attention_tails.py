#!/usr/bin/python3
"""Attention with scores that are not dot products (tanh(q + k) summed, and
a sigmoid-weighted concatenation), at step counts from 1 to 300 and values
300 wide: one query per row and a causal sequence of three; softmax with
per-row lengths (one row of length 0: all-zero weights and context) and
smoothing (σ(e) / Σ σ(e)); and v · tanh(W [q; k] + b) with W 64 × 96 and
with W 37 × 96 (37 units: the GPU target shares a step's units among 32
threads, some with two).
PyTorch, step by step from the definitions; writes weights.safetensors and
one inputs_t<T>.npz and golden_t<T>.npz per step count:

    /usr/bin/python3 tools/reference/additive_attention_tails.py test/Integration/Inputs/additive_attention_tails

Independent of Heed."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, D, DV, TQ = 2, 48, 300, 3
STEPS = [1, 7, 33, 300]
FLT_MAX = float(np.finfo(np.float32).max)
FLT_MIN = float(np.finfo(np.float32).tiny)


def additive_free(q, k):
    """sum(tanh(q + k)) over the features: q [..., D], k [B, T, D]."""
    return torch.tanh(q.unsqueeze(-2) + k.unsqueeze(-3) if q.dim() == 3 else
                      q.unsqueeze(1) + k).sum(-1)


def concat_mix(q, k):
    """sum(sigmoid(concat(q, k)) * concat(k, q)) over the features."""
    if q.dim() == 2:
        q = q.unsqueeze(1)
    qx = q.unsqueeze(2).expand(-1, -1, k.shape[1], -1)   # [B, Q, T, D]
    kx = k.unsqueeze(1).expand(-1, q.shape[1], -1, -1)
    e = (torch.sigmoid(torch.cat([qx, kx], -1)) * torch.cat([kx, qx], -1)).sum(-1)
    return e                                             # [B, Q, T]


def normalize(e, valid, smoothing=False):
    """Masked steps weigh 0; a row with none valid gets zeros."""
    e = torch.where(valid, e, torch.tensor(float("-inf")))
    if smoothing:
        p = torch.sigmoid(e)
    else:
        m = torch.clamp(e.max(-1, keepdim=True).values, min=-FLT_MAX)
        p = torch.exp(e - m)
    return p / torch.clamp(p.sum(-1, keepdim=True), min=FLT_MIN)


def network(q, k, W, v):
    """v(tanh(W(concat(q, k)))) for one query per row."""
    qx = q.unsqueeze(1).expand(-1, k.shape[1], -1)
    return v(torch.tanh(W(torch.cat([qx, k], -1)))).squeeze(-1)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(4243)
    layers = torch.nn.ModuleDict({"W_mix": torch.nn.Linear(2 * D, 64),
                                  "v_mix": torch.nn.Linear(64, 1, bias=False),
                                  "W_odd": torch.nn.Linear(2 * D, 37),
                                  "v_odd": torch.nn.Linear(37, 1, bias=False)})
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(layers))
    g = torch.Generator().manual_seed(4242)
    for t in STEPS:
        s = torch.randn(B, D, generator=g)
        sq = torch.randn(B, TQ, D, generator=g)
        h = torch.randn(B, t, D, generator=g)
        vals = torch.randn(B, t, DV, generator=g)
        lengths = torch.tensor([t - t // 3, 0], dtype=torch.float32)
        steps = torch.arange(t)
        everything = torch.ones(B, t, dtype=torch.bool)
        within = steps[None, :] < lengths[:, None]
        causal = (steps[None, None, :] <= torch.arange(TQ)[None, :, None]).expand(B, TQ, t)
        out = {}
        w = normalize(additive_free(s, h), everything)
        out["plain"], out["plain_weights"] = torch.einsum("bt,btd->bd", w, vals), w
        w = normalize(concat_mix(s, h)[:, 0], within)
        out["masked"], out["masked_weights"] = torch.einsum("bt,btd->bd", w, vals), w
        w = normalize(additive_free(s, h), within, smoothing=True)
        out["smooth"], out["smooth_weights"] = torch.einsum("bt,btd->bd", w, vals), w
        w = normalize(concat_mix(sq, h), causal)
        out["causal"], out["causal_weights"] = torch.einsum("bqt,btd->bqd", w, vals), w
        with torch.no_grad():
            w = normalize(network(s, h, layers["W_mix"], layers["v_mix"]), within)
        out["net"], out["net_weights"] = torch.einsum("bt,btd->bd", w, vals), w
        with torch.no_grad():
            w = normalize(network(s, h, layers["W_odd"], layers["v_odd"]), within)
        out["odd"], out["odd_weights"] = torch.einsum("bt,btd->bd", w, vals), w
        name = "t%d" % t
        np.savez(os.path.join(out_dir, "inputs_%s.npz" % name), s=s.numpy(), sq=sq.numpy(),
                 h=h.numpy(), vals=vals.numpy(), lengths=lengths.numpy())
        np.savez(os.path.join(out_dir, "golden_%s.npz" % name),
                 **{k: v.numpy() for k, v in out.items()})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "test/Integration/Inputs/additive_attention_tails")
