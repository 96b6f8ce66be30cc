#!/usr/bin/python3
"""PyTorch references for recurrent layers with per-row lengths, run as
PyTorch runs packed sequences (pack_padded_sequence / pad_packed_sequence):
the backward direction starts at each row's last valid step, outputs past a
row's length are zero, final states are those at the row's length.

1. examples/bigru_classifier: a Bi-GRU text classifier with attention pooling
   (embedding, bidirectional GRU over packed sequences, additive attention
   over the valid steps with a bare nn.Parameter vector, a linear head),
   trained here for a few seconds on a synthetic task (does a text hold more
   "positive" or "negative" words, or as many of each?). Its state_dict binds
   to examples/bigru_classifier/model.heed unchanged.
2. test/Integration/Inputs/packed_recurrent: the classifier's inputs and
   goldens at batch sizes 1, 2, 3, 4, 5, 7, 16 and 33, and a model of every
   recurrent form with lengths (LSTM with initial states, a 2-layer
   bidirectional LSTM, a go_backwards GRU, a bidirectional GRU summing its
   directions, a 2-layer GRU) with random weights.

    /usr/bin/python3 tools/reference/packed_recurrent.py examples/bigru_classifier \\
        test/Integration/Inputs/packed_recurrent

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

BATCHES = (1, 2, 3, 4, 5, 7, 16, 33)

# The classifier.
V, E, H, U, C, T = 32, 32, 32, 32, 3, 24
POSITIVE, NEGATIVE = range(1, 6), range(6, 11)


def run_packed(rnn, x, lengths, state=None):
    """rnn over the valid steps of each row; zeros past the length."""
    packed = pack_padded_sequence(x, lengths.long(), batch_first=True, enforce_sorted=False)
    y, final = rnn(packed, state)
    y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return y, final


def flip_valid(x, lengths):
    """Each row's first lengths[b] steps in reverse order (the rest kept)."""
    out = x.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = x[b, :n].flip(0)
    return out


class AttentionPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(2 * H, U)
        self.v = nn.Parameter(torch.randn(U) * 0.3)

    def forward(self, y, lengths):
        energy = (self.v * torch.tanh(self.proj(y))).sum(-1)
        steps = torch.arange(y.shape[1])[None, :]
        energy = energy.masked_fill(steps >= lengths[:, None].long(), float("-inf"))
        weights = torch.softmax(energy, -1)
        return (weights[..., None] * y).sum(1), weights


class BiGruClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.gru = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.attention = AttentionPool()
        self.out = nn.Linear(2 * H, C)

    def forward(self, src, lengths):
        y, h = run_packed(self.gru, self.embedding(src), lengths)
        context, weights = self.attention(y, lengths)
        return self.out(context), weights, h


def synthetic_batch(gen, b):
    """Texts of 4..T words (0 pads); label 0: more positive words,
    1: more negative, 2: as many of each."""
    lengths = torch.randint(4, T + 1, (b,), generator=gen)
    src = torch.randint(1, V, (b, T), generator=gen)
    src[torch.arange(T)[None, :] >= lengths[:, None]] = 0
    pos = sum((src == w).sum(1) for w in POSITIVE)
    neg = sum((src == w).sum(1) for w in NEGATIVE)
    labels = torch.where(pos > neg, 0, torch.where(neg > pos, 1, 2))
    return src, lengths, labels


def train_classifier():
    torch.manual_seed(11)
    model = BiGruClassifier()
    gen = torch.Generator().manual_seed(12)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(600):
        src, lengths, labels = synthetic_batch(gen, 64)
        logits, _, _ = model(src, lengths)
        loss = nn.functional.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    src, lengths, labels = synthetic_batch(gen, 1000)
    with torch.no_grad():
        accuracy = (model(src, lengths)[0].argmax(-1) == labels).float().mean().item()
    print(f"bigru_classifier: held-out accuracy {accuracy:.3f}")
    return model


# Every recurrent form with lengths (random weights).
LT, LF, LH = 9, 6, 8


class PackedLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(LF, LH, batch_first=True)
        self.bilstm = nn.LSTM(LF, LH, num_layers=2, batch_first=True, bidirectional=True)
        self.back = nn.GRU(LF, LH, batch_first=True)
        self.bigru = nn.GRU(LF, LH, batch_first=True, bidirectional=True)
        self.deep = nn.GRU(LF, LH, num_layers=2, batch_first=True)

    def forward(self, x, lengths, h0, c0):
        y1, (h1, c1) = run_packed(self.lstm, x, lengths, (h0, c0))
        y2, (h2, c2) = run_packed(self.bilstm, x, lengths)
        # go_backwards: the valid steps from the last one down.
        _, h3 = run_packed(self.back, flip_valid(x, lengths), lengths)
        y4, _ = run_packed(self.bigru, x, lengths)
        y4 = y4[..., :LH] + y4[..., LH:]
        y5, h5 = run_packed(self.deep, x, lengths)
        return {"y1": y1, "h1": h1[0], "c1": c1[0], "y2": y2, "h2": h2, "c2": c2,
                "h3": h3[0], "y4": y4, "y5": y5, "h5": h5}


def main(example_dir, test_dir):
    os.makedirs(example_dir, exist_ok=True)
    os.makedirs(test_dir, exist_ok=True)

    classifier = train_classifier()
    save_safetensors(os.path.join(example_dir, "weights.safetensors"),
                     state_dict_numpy(classifier))
    gen = torch.Generator().manual_seed(13)
    src, lengths, _ = synthetic_batch(gen, 8)
    with torch.no_grad():
        logits, weights, h = classifier(src, lengths)
    np.save(os.path.join(example_dir, "src.npy"), src.numpy())
    np.save(os.path.join(example_dir, "lengths.npy"), lengths.numpy())
    np.savez(os.path.join(example_dir, "golden.npz"), logits=logits.numpy(),
             weights=weights.numpy(), h=h.numpy())
    for b in BATCHES:
        src, lengths, _ = synthetic_batch(gen, b)
        lengths[0] = T  # one full row, and a row of one word where there are two
        if b > 1:
            lengths[1] = 1
            src[1, 1:] = 0
        with torch.no_grad():
            logits, weights, h = classifier(src, lengths)
        np.savez(os.path.join(test_dir, f"classifier_inputs_b{b}.npz"), src=src.numpy(),
                 lengths=lengths.numpy())
        np.savez(os.path.join(test_dir, f"classifier_golden_b{b}.npz"),
                 logits=logits.numpy(), weights=weights.numpy(), h=h.numpy())

    torch.manual_seed(14)
    layers = PackedLayers().eval()
    save_safetensors(os.path.join(test_dir, "layers.safetensors"), state_dict_numpy(layers))
    for b in BATCHES:
        x = torch.randn(b, LT, LF, generator=gen)
        lengths = torch.randint(1, LT + 1, (b,), generator=gen, dtype=torch.int32)
        lengths[0] = LT
        if b > 1:
            lengths[1] = 1
        h0, c0 = torch.randn(1, b, LH, generator=gen), torch.randn(1, b, LH, generator=gen)
        with torch.no_grad():
            golden = layers(x, lengths, h0, c0)
        np.savez(os.path.join(test_dir, f"layers_inputs_b{b}.npz"), x=x.numpy(),
                 lengths=lengths.numpy(), h0=h0[0].numpy(), c0=c0[0].numpy())
        np.savez(os.path.join(test_dir, f"layers_golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
