#!/usr/bin/python3
"""Seed 002's location-sensitive attention (Tacotron2, Rayhane-mamah's
LocationSensitiveAttention) run over a sequence of decoder queries, in
PyTorch, following the seed's TensorFlow code step by step: processed
query + processed memory + location features (Conv1D 'same' over the
previous cumulative alignments, then a Dense layer) → v_a·tanh(... + b_a);
synthesis constraints built with sequence_mask exactly as the seed does;
the memory_sequence_length mask (-inf); softmax or smoothing; cumulative or
plain alignment state; argmax of the alignments as the next step's
previous position. Writes random weights, inputs and one golden per
variant:

    /usr/bin/python3 tools/reference/tacotron2_attention.py examples/tacotron2_attention

The weights are named as the seed creates them: memory_layer, query_layer,
location_convolution and location_layer (no bias) are layers; v_a
(`attention_variable_projection`) and b_a (`attention_bias`) are bare
variables of [units], kept as nn.Parameters `v_a` and `b_a`. Independent of
Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

UNITS, MEMORY, QUERY, FILTERS, KERNEL, WINDOW = 128, 512, 1024, 32, 31, 7
VARIANTS = {  # name: (smoothing, cumulate, constraint)
    "model": (False, True, None),
    "smoothing": (True, True, None),
    "window": (False, True, "window"),
    "monotonic": (False, True, "monotonic"),
    "plain": (False, False, None),
}


class LocationSensitiveAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.memory_layer = nn.Linear(MEMORY, UNITS, bias=False)
        self.query_layer = nn.Linear(QUERY, UNITS, bias=False)
        self.location_convolution = nn.Conv1d(1, FILTERS, KERNEL,
                                              padding=(KERNEL - 1) // 2)
        self.location_layer = nn.Linear(FILTERS, UNITS, bias=False)
        # The seed's bare variables: xavier-initialized v_a, b_a (zeros at
        # the seed's init; random here, as after training).
        self.v_a = nn.Parameter(nn.init.xavier_uniform_(torch.empty(1, UNITS))[0])
        self.b_a = nn.Parameter(torch.empty(UNITS).uniform_(-0.1, 0.1))


def sequence_mask(lengths, maxlen):
    return torch.arange(maxlen, device=lengths.device)[None, :] < lengths[:, None]


def run(m, memory, lengths, queries, smoothing, cumulate, constraint):
    B, T, _ = memory.shape
    keys = m.memory_layer(memory)
    valid = sequence_mask(lengths, T)
    values = memory * valid[:, :, None]          # TF masks the memory too
    state = torch.zeros(B, T, device=memory.device)
    prev_max = torch.zeros(B, dtype=torch.long, device=memory.device)
    contexts, history = [], []
    for i in range(queries.shape[1]):
        pq = m.query_layer(queries[:, i])[:, None, :]
        f = m.location_convolution(state[:, None, :]).transpose(1, 2)
        energy = (m.v_a * torch.tanh(keys + pq + m.location_layer(f) + m.b_a)).sum(-1)
        if constraint == "monotonic":
            key_masks = sequence_mask(prev_max, T)
            reverse_masks = sequence_mask(T - WINDOW - prev_max, T).flip(-1)
        elif constraint == "window":
            key_masks = sequence_mask(
                prev_max - (WINDOW // 2 + (WINDOW % 2 != 0)), T)
            reverse_masks = sequence_mask(T - WINDOW // 2 - prev_max, T).flip(-1)
        if constraint:
            masks = key_masks | reverse_masks
            energy = torch.where(masks, torch.full_like(energy, -2.0 ** 32 + 1),
                                 energy)
        energy = energy.masked_fill(~valid, float("-inf"))
        if smoothing:
            a = torch.sigmoid(energy)
            alignments = a / a.sum(-1, keepdim=True)
        else:
            alignments = torch.softmax(energy, -1)
        prev_max = alignments.argmax(-1)
        contexts.append(torch.bmm(alignments[:, None, :], values)[:, 0])
        history.append(alignments)
        state = alignments + state if cumulate else alignments
    return torch.stack(contexts, 1), torch.stack(history, 1)


def make_inputs(batch, steps, queries, seed=0):
    g = torch.Generator().manual_seed(seed)
    memory = torch.randn(batch, steps, MEMORY, generator=g)
    lengths = torch.tensor([steps - 37 * i for i in range(batch)],
                           dtype=torch.float32).clamp(min=1)
    q = torch.randn(batch, queries, QUERY, generator=g)
    return memory, lengths, q


def main(out_dir):
    torch.manual_seed(2002)
    m = LocationSensitiveAttention()
    with torch.no_grad():
        m.v_a.mul_(4.0)              # sharper alignments than at random init
    memory, lengths, queries = make_inputs(2, 200, 40)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(m))
    np.save(os.path.join(out_dir, "memory.npy"), memory.numpy())
    np.save(os.path.join(out_dir, "lengths.npy"), lengths.numpy())
    np.save(os.path.join(out_dir, "queries.npy"), queries.numpy())
    with torch.no_grad():
        for name, (smoothing, cumulate, constraint) in VARIANTS.items():
            c, a = run(m, memory, lengths.long(), queries, smoothing, cumulate,
                       constraint)
            np.savez(os.path.join(out_dir, f"golden_{name}.npz"),
                     contexts=c.numpy(), alignment_history=a.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/tacotron2_attention")
