#!/usr/bin/python3
"""Seed 000's trigger-word detector in PyTorch, with seeded random weights
and batch-norm statistics (the seed trains on recorded audio, which this
repository does not ship): writes the example's weights, one spectrogram and
the golden output.

    /usr/bin/python3 tools/reference/trigger_word.py examples/trigger_word

Conv1D(196, 15, strides=4) on [B, 5511, 101] -> BatchNorm -> ReLU -> Dropout
-> GRU(128) -> Dropout -> BatchNorm -> GRU(128) -> Dropout -> BatchNorm ->
Dropout -> TimeDistributed(Dense(1, sigmoid)): [B, 1375, 1]. Keras' GRU is
reset_after=True = PyTorch's nn.GRU; batch norm epsilon is Keras' 1e-3.
Weights and input are stored as float16 to keep the repository small; the
golden is computed from exactly those values. Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors  # noqa: E402

TX, N_FREQ, TY = 5511, 101, 1375


class TriggerWord(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_FREQ, 196, 15, stride=4)
        self.bn0 = nn.BatchNorm1d(196, eps=1e-3)
        self.gru1 = nn.GRU(196, 128, batch_first=True)
        self.bn1 = nn.BatchNorm1d(128, eps=1e-3)
        self.gru2 = nn.GRU(128, 128, batch_first=True)
        self.bn2 = nn.BatchNorm1d(128, eps=1e-3)
        self.head = nn.Linear(128, 1)

    def forward(self, x):                       # x: [B, Tx, n_freq]
        x = self.conv(x.transpose(1, 2))        # [B, 196, Ty]
        x = torch.relu(self.bn0(x)).transpose(1, 2)
        x, _ = self.gru1(x)
        x = self.bn1(x.transpose(1, 2)).transpose(1, 2)
        x, _ = self.gru2(x)
        x = self.bn2(x.transpose(1, 2)).transpose(1, 2)
        return torch.sigmoid(self.head(x))      # [B, Ty, 1]


def make_model():
    torch.manual_seed(2026)
    model = TriggerWord().eval()
    with torch.no_grad():
        for bn in (model.bn0, model.bn1, model.bn2):
            n = bn.num_features
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        # A wider head, so the golden spans more of (0, 1).
        model.head.weight.mul_(8)
        # Round every parameter to float16, as stored.
        for p in model.state_dict().values():
            if p.dtype == torch.float32:
                p.copy_(p.half().float())
    return model


def state(model):
    return {k: v.numpy().astype(np.float16) for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def main(out_dir):
    model = make_model()
    rng = np.random.RandomState(5)
    x = rng.rand(1, TX, N_FREQ).astype(np.float16)
    with torch.no_grad():
        y = model(torch.tensor(x.astype(np.float32)))
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state(model),
                     dtype="F16")
    np.save(os.path.join(out_dir, "x.npy"), x)
    np.savez(os.path.join(out_dir, "golden.npz"), y=y.numpy())
    print("y", y.shape, float(y.mean()), float(y.min()), float(y.max()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/trigger_word")
