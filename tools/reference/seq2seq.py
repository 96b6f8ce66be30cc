#!/usr/bin/python3
"""A seq2seq translator written as nested PyTorch modules, the way users
write one: `Encoder` (embedding, GRU over packed sequences), `Decoder`
(embedding, `BahdanauAttention` with an nn.Parameter vector `v`, GRUCell,
output projection), in a `Seq2Seq` module. Its state_dict binds to
examples/seq2seq/model.heed unchanged (checked by
test/Integration/seq2seq.test).

Decoding from int64 source ids and per-row lengths, each sentence on its own:
- greedy: argmax of the logits fed back from <start> until <end> (kept) or
  MAX_LEN steps, written out here with no beam machinery;
- beam search of widths 3 and 4 (beam_search.py), length penalty 0.6.

    /usr/bin/python3 tools/reference/seq2seq.py examples/seq2seq

Writes weights.safetensors, inputs_b{B}.npz and golden_{greedy,beam3,beam4}_b{B}.npz
for batch sizes 1, 2, 4, 7 and 16: sentences whose decodings stay clear of
ties. Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from beam_search import beam_search  # noqa: E402
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

V_IN, V_OUT, E, H, A, S, MAX_LEN = 30, 32, 16, 48, 32, 9, 12
START, END = 1, 2
ALPHA = 0.6
BATCHES = (1, 2, 4, 7, 16)
MIN_GAP = 1e-4


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V_IN, E)
        self.gru = nn.GRU(E, H, batch_first=True)

    def forward(self, src, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(src), lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                  total_length=src.shape[1])
        return out, h[0]


class BahdanauAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_query = nn.Linear(H, A, bias=False)
        self.W_key = nn.Linear(H, A)
        self.v = nn.Parameter(torch.randn(A) * 0.5)

    def forward(self, query, keys, lengths):
        energy = (self.v * torch.tanh(self.W_key(keys) +
                                      self.W_query(query)[:, None])).sum(-1)
        steps = torch.arange(keys.shape[1])[None, :]
        energy = energy.masked_fill(steps >= lengths[:, None], float("-inf"))
        weights = torch.softmax(energy, -1)
        return (weights[..., None] * keys).sum(1), weights


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V_OUT, E)
        self.attention = BahdanauAttention()
        self.cell = nn.GRUCell(E + H, H)
        self.out = nn.Linear(2 * H, V_OUT)

    def forward(self, token, hidden, enc, lengths):
        """One step: log-probabilities of the next token, the new hidden
        state, the attention weights."""
        context, weights = self.attention(hidden, enc, lengths)
        hidden = self.cell(torch.cat([self.embedding(token), context], -1), hidden)
        logits = self.out(torch.cat([hidden, context], -1))
        return torch.log_softmax(logits, -1), hidden, weights


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def greedy(self, src, lengths):
        """One sentence: tokens, per-step weights, final hidden, the smallest
        gap between the best and second-best logit."""
        enc, hidden = self.encoder(src, lengths)
        token, tokens, weights, gap = torch.tensor([START]), [], [], float("inf")
        for _ in range(MAX_LEN):
            logprobs, hidden, w = self.decoder(token, hidden, enc, lengths)
            top = torch.topk(logprobs[0], 2).values
            gap = min(gap, float(top[0] - top[1]))
            token = torch.argmax(logprobs, -1)
            tokens.append(int(token))
            weights.append(w[0])
            if tokens[-1] == END:
                break
        return tokens, weights, hidden[0], gap

    def beam(self, src, lengths, width):
        enc, hidden = self.encoder(src, lengths)

        def step(token, hidden):
            logprobs, hidden, w = self.decoder(torch.tensor([token]), hidden,
                                               enc, lengths)
            return logprobs[0], hidden, w[0]
        best, gap = beam_search(step, hidden, START, END, width, ALPHA, MAX_LEN)
        return best.tokens, best.extras, best.state[0], gap, best.key


def decode(model, src, lengths, width):
    """Every row on its own; outputs as model.heed writes them."""
    b = src.shape[0]
    out = dict(tokens=torch.zeros(b, MAX_LEN), lengths=torch.zeros(b),
               attention=torch.zeros(b, MAX_LEN, S), hidden=torch.zeros(b, H))
    if width:
        out["scores"] = torch.zeros(b)
    gap = float("inf")
    for r in range(b):
        row = (src[r:r + 1], lengths[r:r + 1])
        if width:
            tokens, weights, hidden, g, key = model.beam(*row, width)
            out["scores"][r] = key
        else:
            tokens, weights, hidden, g = model.greedy(*row)
        n = len(tokens)
        out["tokens"][r, :n] = torch.tensor(tokens, dtype=torch.float32)
        out["lengths"][r] = n
        out["attention"][r, :n] = torch.stack(weights)
        out["hidden"][r] = hidden
        gap = min(gap, g)
    return out, gap


def main(out_dir):
    torch.manual_seed(12)
    model = Seq2Seq().eval()
    with torch.no_grad():  # spread the logits so that decodings differ
        model.decoder.out.weight.mul_(6.0)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    gen = torch.Generator().manual_seed(13)
    widths = {"greedy": 0, "beam3": 3, "beam4": 4}
    # A pool of sentences clear of ties under every decoding.
    pool = []
    with torch.no_grad():
        while len(pool) < max(BATCHES):
            src = torch.randint(3, V_IN, (1, S), generator=gen)
            # Every fourth sentence full length, the others shorter.
            lengths = (torch.tensor([S]) if len(pool) % 4 == 0 else
                       torch.randint(2, S, (1,), generator=gen))
            src[0, lengths[0]:] = 0                         # padding
            if all(decode(model, src, lengths, w)[1] >= MIN_GAP
                   for w in widths.values()):
                pool.append((src, lengths))
    differ = 0
    for b in BATCHES:
        rows = [pool[(2 * b + i) % len(pool)] for i in range(b)]
        src = torch.cat([r[0] for r in rows])
        lengths = torch.cat([r[1] for r in rows])
        np.savez(os.path.join(out_dir, "inputs_b%d.npz" % b), src=src.numpy(),
                 lengths=lengths.numpy())
        with torch.no_grad():
            outs = {name: decode(model, src, lengths, w)
                    for name, w in widths.items()}
        for name, (out, gap) in outs.items():
            np.savez(os.path.join(out_dir, "golden_%s_b%d.npz" % (name, b)),
                     **{k: v.numpy() for k, v in out.items()})
        differ += int((outs["greedy"][0]["tokens"] != outs["beam4"][0]["tokens"]).any(1).sum())
        print("b=%d gaps %s" % (b, {n: round(g, 5) for n, (_, g) in outs.items()}))
    print("rows where beam search (4) and greedy decoding differ:", differ)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/seq2seq")
