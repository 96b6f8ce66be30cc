#!/usr/bin/python3
"""PyTorch reference for the less common layer options, checked by
test/Integration/sequence-layers.test: embedding, conv1d with `same`
padding and stride, a GRU from a given initial state returning its state,
a bidirectional LSTM with merge=sum, a go_backwards LSTM returning its last
output, a per-step dense layer and argmax, and a strided conv1d over three
channels (Heed's generated convolution). Seeded random weights.

    /usr/bin/python3 tools/reference/sequence_layers.py test/Integration/Inputs/sequence_layers

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, F, V = 3, 12, 6, 20


class SequenceLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, 5)
        self.conv = nn.Conv1d(5 + F, 7, 3, stride=2)
        self.enc = nn.GRU(7, 8, batch_first=True)
        self.bi = nn.LSTM(8, 4, batch_first=True, bidirectional=True)
        self.back = nn.LSTM(4, 4, batch_first=True)
        self.head = nn.Linear(8, 3)
        self.narrow_conv = nn.Conv1d(3, 4, 5, stride=2)       # few input channels

    def forward(self, ids, h0, x):
        e = self.emb(ids.long())
        u = torch.cat([e, x], -1).transpose(1, 2)
        # TensorFlow 'same' with stride 2, kernel 3 on 12 steps: 6 outputs,
        # one padding step, on the right.
        c = self.conv(nn.functional.pad(u, (0, 1))).transpose(1, 2)
        y, h = self.enc(c, h0[None])
        s2, _ = self.bi(y)
        s = s2[..., :4] + s2[..., 4:]                     # merge=sum
        _, (hb, _) = self.back(s.flip(1))                 # go_backwards
        best = self.head(y).argmax(-1).float()
        # 'same', stride 2, kernel 5 on 12 steps: 6 outputs, padding 1 + 2.
        narrow = self.narrow_conv(nn.functional.pad(x[..., :3].transpose(1, 2),
                                               (1, 2))).transpose(1, 2)
        return s, hb[0], h[0], best, narrow


def main(out_dir):
    torch.manual_seed(11)
    model = SequenceLayers().eval()
    ids = torch.randint(0, V, (B, T)).float()
    h0 = torch.randn(B, 8)
    x = torch.randn(B, T, F)
    with torch.no_grad():
        seq, last, state, best, narrow = model(ids, h0, x)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.savez(os.path.join(out_dir, "inputs.npz"), ids=ids.numpy(),
             h0=h0.numpy(), x=x.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), seq=seq.numpy(),
             last=last.numpy(), state=state.numpy(), best=best.numpy(),
             narrow=narrow.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
