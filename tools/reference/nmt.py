#!/usr/bin/python3
"""Seed 004's translation model in PyTorch, written the way the seed's Keras
code computes it, with the seed's `translate` loop (greedy decoding from
`<start>` until `<end>` or the maximum length, one sentence at a time).

    /usr/bin/python3 tools/reference/nmt.py examples/nmt            # test size
    /usr/bin/python3 tools/reference/nmt.py --seed-size DIR         # benchmark

Encoder: Embedding + GRU(return_sequences, return_state) from a zero state.
Decoder step, as the seed's DecoderWithPositionalEncoding.call:
  x = concat(hidden, embedding(token)); output = GRU(x) from a zero state
  (the seed passes no initial state; the previous hidden enters through the
  concat); Bahdanau attention V(tanh(W1(values) + W2(hidden))) with the
  previous hidden as query over the *whole* encoder output (the seed's
  `enc_output[:, -1:, :]` keeps only the last step, which makes every weight
  1: a bug, not followed); logits = fc(concat(context, output)).
The decoding loop takes the argmax over the vocabulary (the seed's
`tf.argmax(predictions[0])` reduces the wrong axis), feeds it back, and
stops after a row emits `<end>` (kept in the output). Rows are decoded one
at a time, as the seed's `translate` does; finished rows are padded with 0.
Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from beam_search import beam_search  # noqa: E402
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

# Test size (the "units 128"); the benchmark uses the seed's sizes.
SMALL = dict(vocab_in=40, vocab_out=40, embed=32, units=128, tx=12, max_len=10)
SEED = dict(vocab_in=1000, vocab_out=1000, embed=256, units=1024, tx=16,
            max_len=20)
# `<start>` and `<end>` ids; 35 is an id that the test's random weights emit
# at different steps in different rows.
START, END = 1, 35
B = 4


class Nmt(nn.Module):
    def __init__(self, vocab_in, vocab_out, embed, units, max_len, **_):
        super().__init__()
        self.units, self.max_len = units, max_len
        self.enc_embedding = nn.Embedding(vocab_in, embed)
        self.encoder = nn.GRU(embed, units, batch_first=True)
        self.dec_embedding = nn.Embedding(vocab_out, embed)
        self.dec_gru = nn.GRUCell(units + embed, units)  # one step of a GRU
        self.fc = nn.Linear(2 * units, vocab_out)
        self.W1 = nn.Linear(units, units)
        self.W2 = nn.Linear(units, units)
        self.V = nn.Linear(units, 1)

    def decoder(self, token, hidden, enc_output):
        x = self.dec_embedding(token)                          # [b, E]
        x = torch.cat([hidden, x], -1)
        output = self.dec_gru(x)                               # zero state
        score = self.V(torch.tanh(self.W1(enc_output) +
                                  self.W2(hidden[:, None, :])))
        weights = torch.softmax(score, 1)                      # [b, Tx, 1]
        context = (weights * enc_output).sum(1)
        logits = self.fc(torch.cat([context, output], -1))
        return logits, output, weights[:, :, 0]

    def translate(self, source):
        """The seed's `translate` for one sentence [1, Tx]: token ids and
        attention weights of each emitted step."""
        enc_output, enc_hidden = self.encoder(self.enc_embedding(source))
        hidden, token = enc_hidden[0], torch.tensor([START], device=source.device)
        ids, alignments, margins = [], [], []
        for _ in range(self.max_len):
            logits, hidden, weights = self.decoder(token, hidden, enc_output)
            top = torch.topk(logits[0], 2).values
            margins.append(float(top[0] - top[1]))
            predicted = int(torch.argmax(logits[0]))
            ids.append(predicted)
            alignments.append(weights[0])
            if predicted == END:
                break
            token = torch.tensor([predicted], device=source.device)
        return ids, torch.stack(alignments), hidden[0], min(margins)

    def beam(self, source, width, alpha):
        """Beam search for one sentence [1, Tx] (beam_search.py): the best
        hypothesis and the smallest gap between ranked keys."""
        enc_output, enc_hidden = self.encoder(self.enc_embedding(source))

        def step(token, hidden):
            logits, hidden, weights = self.decoder(torch.tensor([token]),
                                                   hidden, enc_output)
            return torch.log_softmax(logits[0], -1), hidden, weights[0]
        return beam_search(step, enc_hidden[0], START, END, width, alpha,
                           self.max_len)

    def beam_batch(self, source, width, alpha):
        """Every row searched on its own; outputs as examples/nmt/beam.heed
        writes them, and the smallest key gap of any row."""
        b, tx = source.shape
        out = dict(tokens=torch.zeros(b, self.max_len), lengths=torch.zeros(b),
                   scores=torch.zeros(b),
                   attention=torch.zeros(b, self.max_len, tx),
                   hidden=torch.zeros(b, self.units))
        margin = float("inf")
        for r in range(b):
            best, m = self.beam(source[r:r + 1], width, alpha)
            n = len(best.tokens)
            out["tokens"][r, :n] = torch.tensor(best.tokens, dtype=torch.float32)
            out["lengths"][r] = n
            out["scores"][r] = best.key
            out["attention"][r, :n] = torch.stack(best.extras)
            out["hidden"][r] = best.state[0]
            margin = min(margin, m)
        return out, margin

    def forward(self, source):
        """Every row translated on its own; padded [B, max_len] outputs and each
        row's hidden state after its last step."""
        tokens = torch.zeros(source.shape[0], self.max_len)
        attention = torch.zeros(source.shape[0], self.max_len, source.shape[1])
        lengths = torch.zeros(source.shape[0])
        final = torch.zeros(source.shape[0], self.units)
        margin = float("inf")
        for b in range(source.shape[0]):
            ids, alignments, final[b], m = self.translate(source[b:b + 1])
            tokens[b, :len(ids)] = torch.tensor(ids, dtype=torch.float32)
            attention[b, :len(ids)] = alignments
            lengths[b] = len(ids)
            margin = min(margin, m)
        return tokens, lengths, attention, final, margin


def make_model(config, seed=2004):
    torch.manual_seed(seed)
    model = Nmt(**config).eval()
    with torch.no_grad():  # spread the logits so that greedy choices are clear
        model.fc.weight.mul_(32.0)
    return model


def seed_size_source(model):
    """A [1, tx] sentence that the seed-size model decodes for max_len steps
    without <end> (bench/run.sh, bench/pytorch_eager.py)."""
    gen = torch.Generator().manual_seed(1004)
    with torch.no_grad():
        while True:
            source = torch.randint(3, SEED["vocab_in"], (1, SEED["tx"]),
                                   generator=gen)
            if len(model.translate(source)[0]) == SEED["max_len"]:
                return source


def main(args):
    seed_size = args and args[0] == "--seed-size"
    config = SEED if seed_size else SMALL
    out_dir = (args[1:] if seed_size else args) or ["examples/nmt"]
    out_dir = out_dir[0]
    model = make_model(config)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    if seed_size:
        # One sentence whose translation runs all max_len steps, so that
        # Heed and PyTorch time the same amount of decoding.
        source = seed_size_source(model)
        np.save(os.path.join(out_dir, "source.npy"), source.float().numpy())
        return
    # Source sentences whose translations end at different steps, one of
    # them never: the test then covers early stops, frozen rows and the
    # maximum length. Greedy choices are kept clear of ties (margin).
    gen = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for _ in range(100000):
            source = torch.randint(3, config["vocab_in"], (B, config["tx"]),
                                   generator=gen)
            tokens, lengths, attention, final, margin = model(source)
            ls = sorted(lengths.tolist())
            never_ends = [b for b in range(B) if END not in tokens[b]]
            if (margin > 1e-2 and len(set(ls)) == B and ls[0] >= 2 and
                    len(never_ends) == 1):
                break
        else:
            raise SystemExit("no suitable source sentences found")
    np.save(os.path.join(out_dir, "source.npy"), source.float().numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), tokens=tokens.numpy(),
             lengths=lengths.numpy(), attention=attention.numpy(),
             hidden=final.numpy())
    print("lengths", lengths.tolist(), "margin", margin)


if __name__ == "__main__":
    main(sys.argv[1:])
