#!/usr/bin/python3
"""Seed 000's date translator in PyTorch: trains it on generated dates
(dates.py), then writes the example's weights, a held-out set and goldens.

    /usr/bin/python3 tools/reference/date_translation.py train examples/date_translation
    /usr/bin/python3 tools/reference/date_translation.py golden examples/date_translation
    /usr/bin/python3 tools/reference/date_translation.py golden_b1 test/GPU/Inputs/date_translation_b1

The architecture is the seed's: a pre-attention Bi-LSTM(n_a) over the Tx
one-hot characters, Ty steps of one_step_attention (RepeatVector, Concatenate,
Dense(10, tanh), Dense(1, relu), softmax over Tx, Dot) feeding a shared
post-attention LSTM cell (n_s) and a shared Dense(11, softmax). Attribute
names are the Heed model's layer names, so state_dict() is its weight file.
Independent of Heed: the goldens are what PyTorch computes."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
import dates  # noqa: E402
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

N_A, N_S = 32, 64


class DateTranslator(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre_attention = nn.LSTM(len(dates.HUMAN_VOCAB), N_A,
                                     batch_first=True, bidirectional=True)
        self.densor1 = nn.Linear(N_S + 2 * N_A, 10)
        self.densor2 = nn.Linear(10, 1)
        self.post_attention_lstm = nn.LSTMCell(2 * N_A, N_S)
        self.output_layer = nn.Linear(N_S, len(dates.MACHINE_VOCAB))

    def forward(self, x, s0, c0, logits=False):
        a, _ = self.pre_attention(x)                         # [B, Tx, 2 n_a]
        s, c = s0, c0
        outputs, weights = [], []
        for _ in range(dates.TY):
            rep = s[:, None, :].expand(-1, dates.TX, -1)      # RepeatVector
            e = torch.tanh(self.densor1(torch.cat([rep, a], -1)))
            energies = torch.relu(self.densor2(e))            # [B, Tx, 1]
            alphas = torch.softmax(energies, dim=1)
            context = (alphas * a).sum(1)                     # Dot(axes=1)
            s, c = self.post_attention_lstm(context, (s, c))
            z = self.output_layer(s)
            outputs.append(z if logits else torch.softmax(z, -1))
            weights.append(alphas[..., 0])
        return torch.stack(outputs, 1), torch.stack(weights, 1)


def one_hot(pairs):
    x = np.zeros((len(pairs), dates.TX, len(dates.HUMAN_VOCAB)), np.float32)
    for i, (human, _) in enumerate(pairs):
        x[i, np.arange(dates.TX), dates.encode_human(human)] = 1
    y = np.array([dates.encode_machine(m) for _, m in pairs], np.int64)
    return torch.tensor(x), torch.tensor(y)


def decode(probs):
    return ["".join(dates.MACHINE_VOCAB[i] for i in row)
            for row in probs.argmax(-1).tolist()]


def accuracy(model, x, pairs):
    with torch.no_grad():
        zeros = torch.zeros(len(x), N_S)
        probs, _ = model(x, zeros, zeros)
    return np.mean([p == m for p, (_, m) in zip(decode(probs), pairs)])


def train(out_dir):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    train_pairs = dates.dataset(40000, seed=1)
    val_pairs = dates.dataset(1000, seed=2)
    x, y = one_hot(train_pairs)
    xv, _ = one_hot(val_pairs)
    model = DateTranslator()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(40):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            idx = perm[i:i + 100]
            zeros = torch.zeros(len(idx), N_S)
            z, _ = model(x[idx], zeros, zeros, logits=True)
            loss = nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]),
                                               y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
        acc = accuracy(model, xv, val_pairs)
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} val exact {acc:.3f}",
              flush=True)
        for g in opt.param_groups:
            g["lr"] *= 0.93
        if acc >= 0.995:
            break
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))


def load(out_dir):
    import json
    import struct
    model = DateTranslator()
    with open(os.path.join(out_dir, "weights.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    state = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        state[name] = torch.tensor(np.frombuffer(blob[b:e], "<f4").reshape(info["shape"]))
    model.load_state_dict(state)
    return model


def golden(out_dir):
    """Held-out inputs (a seed the training never saw) and PyTorch's outputs."""
    model = load(out_dir)
    pairs = dates.dataset(1000, seed=12345)
    x, _ = one_hot(pairs)
    zeros = torch.zeros(len(x), N_S)
    with torch.no_grad():
        probs, weights = model(x, zeros, zeros)
    acc = np.mean([p == m for p, (_, m) in zip(decode(probs), pairs)])
    print(f"PyTorch exact match on 1000 held-out dates: {acc:.3f}")
    # The first 8 rows as arrays (the CLI's --text path encodes the rest).
    np.save(os.path.join(out_dir, "X.npy"), x[:8].numpy())
    np.save(os.path.join(out_dir, "s0.npy"), zeros[:8].numpy())
    np.save(os.path.join(out_dir, "c0.npy"), zeros[:8].numpy())
    with open(os.path.join(out_dir, "heldout.tsv"), "w") as f:
        for human, machine in pairs:
            f.write(f"{human}\t{machine}\n")
    # Goldens for the first 8 rows (the full set would bloat the repo).
    np.savez(os.path.join(out_dir, "golden.npz"), y=probs[:8].numpy(),
             attention=weights[:8].numpy())


def golden_b1(out_dir, weights_dir="examples/date_translation"):
    """One held-out date (the 9th, past the example's 8 rows) at batch 1 and
    PyTorch's outputs: the GPU target runs a batch-1 decoder as one kernel
    of one block (test/GPU/cuda-goldens.test, gpu-schedule-on-cpu.test)."""
    model = load(weights_dir)
    x, _ = one_hot(dates.dataset(1000, seed=12345)[8:9])
    zeros = torch.zeros(1, N_S)
    with torch.no_grad():
        probs, weights = model(x, zeros, zeros)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "X.npy"), x.numpy())
    np.save(os.path.join(out_dir, "s0.npy"), zeros.numpy())
    np.save(os.path.join(out_dir, "c0.npy"), zeros.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), y=probs.numpy(),
             attention=weights.numpy())


if __name__ == "__main__":
    {"train": train, "golden": golden, "golden_b1": golden_b1}[sys.argv[1]](
        sys.argv[2] if len(sys.argv) > 2 else "examples/date_translation")
