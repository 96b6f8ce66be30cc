#!/usr/bin/python3
"""A small Keras-style model whose layers are of every class a Keras 3
weights-only file (model.save_weights("w.weights.h5")) is matched by in
Heed (compiler/Driver/Keras3Positions.h): an Embedding, a Conv1D, two
BatchNormalizations of different widths, a GRU and a TimeDistributed Dense.
Writes its weights in PyTorch names and layouts (to_keras_layout.py then
writes Keras', keras3_archive.py the file), token ids and the golden, from
PyTorch, for test/Integration/Inputs/keras3_weights_only.heed
(keras-archives.test).

    /usr/bin/python3 tools/reference/keras3_weights_only.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors  # noqa: E402

VOCAB, EMBED, FILTERS, KERNEL, UNITS, OUT, T, B = 12, 5, 8, 3, 6, 2, 11, 3
EPS = 1e-3  # Keras' BatchNormalization epsilon


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(3)
    m = nn.ModuleDict({
        "emb": nn.Embedding(VOCAB, EMBED),
        "conv": nn.Conv1d(EMBED, FILTERS, KERNEL),
        "bn_conv": nn.BatchNorm1d(FILTERS, eps=EPS),
        "rnn": nn.GRU(FILTERS, UNITS, batch_first=True),
        "bn_rnn": nn.BatchNorm1d(UNITS, eps=EPS),
        "head": nn.Linear(UNITS, OUT),
    }).eval()
    with torch.no_grad():
        for bn in (m["bn_conv"], m["bn_rnn"]):   # trained-looking statistics
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        ids = torch.randint(0, VOCAB, (B, T))
        x = m["emb"](ids)                                   # [B, T, E]
        x = m["conv"](x.transpose(1, 2))                    # valid padding
        x = m["bn_conv"](x).transpose(1, 2)                 # [B, T - K + 1, F]
        x, _ = m["rnn"](x)
        x = m["bn_rnn"](x.transpose(1, 2)).transpose(1, 2)
        y = m["head"](x)                                    # [B, T - K + 1, OUT]
    weights = {k: v.numpy() for k, v in m.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    save_safetensors(os.path.join(out, "k3.safetensors"), weights)
    np.save(os.path.join(out, "k3-ids.npy"), ids.numpy().astype(np.int64))
    np.savez(os.path.join(out, "k3-golden.npz"), y=y.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
