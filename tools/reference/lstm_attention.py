#!/usr/bin/python3
"""Seed 001's LSTM with attention over time steps, in PyTorch: generates the
seed's one-hot data (y = abs(v[1:4] - v[5:8]) / 1000), trains the model and
writes the example's weights, inputs, true values and goldens.

    /usr/bin/python3 tools/reference/lstm_attention.py examples/lstm_attention

Architecture (the seed's build_lstm_model): Permute((2,1)), Dense(TIME_STEP,
softmax) over time, mean over the features, RepeatVector(DIM), Permute((2,1)),
multiply with the input, LSTM(64), Dense(1, sigmoid). Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

TIME_STEP, DIM = 10, 10


def create_data(n, rng):
    rows = rng.randint(0, 10, (n, TIME_STEP))
    x1 = rows[:, 1] * 100 + rows[:, 2] * 10 + rows[:, 3]
    x2 = rows[:, 5] * 100 + rows[:, 6] * 10 + rows[:, 7]
    x = np.eye(DIM, dtype=np.float32)[rows]              # X_one_hot
    return x, (np.abs(x1 - x2) / 1000).astype(np.float32)


class LstmAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_vec = nn.Linear(TIME_STEP, TIME_STEP)
        self.encoder = nn.LSTM(DIM, 64, batch_first=True)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        a = x.permute(0, 2, 1)                            # [B, DIM, T]
        a = torch.softmax(self.attention_vec(a), dim=-1)
        weight = a.mean(1)                                # [B, T]
        a_probs = weight[:, None, :].expand(-1, DIM, -1).permute(0, 2, 1)
        _, (h, _) = self.encoder(x * a_probs)
        return torch.sigmoid(self.head(h[0])), weight


def main(out_dir):
    torch.manual_seed(1337)
    torch.set_num_threads(1)
    x_train, y_train = create_data(60000, np.random.RandomState(1337))
    model = LstmAttention()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.tensor(x_train), torch.tensor(y_train)[:, None]
    for epoch in range(12):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            idx = perm[i:i + 128]
            loss = nn.functional.mse_loss(model(xt[idx])[0], yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.6f}", flush=True)
    x_test, y_test = create_data(64, np.random.RandomState(7))
    with torch.no_grad():
        y, weight = model(torch.tensor(x_test))
    mse = float(((y[:, 0].numpy() - y_test) ** 2).mean())
    print(f"held-out MSE {mse:.6f}; mean attention {weight.mean(0).numpy().round(3)}")
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.save(os.path.join(out_dir, "x.npy"), x_test)
    np.save(os.path.join(out_dir, "y_true.npy"), y_test[:, None])
    np.savez(os.path.join(out_dir, "golden.npz"), y=y.numpy(),
             attention=weight.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/lstm_attention")
