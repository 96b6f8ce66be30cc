#!/usr/bin/python3
"""Seed 001's dense-attention MLP in PyTorch: generates the seed's data
(abs(v[1:4] - v[5:8]) from a 10-digit row), trains the model, and writes the
example's weights, inputs, true values and golden outputs.

    /usr/bin/python3 tools/reference/dense_attention.py examples/dense_attention

Independent of Heed: the goldens are what PyTorch computes."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

TIME_STEP = 10


def create_data(n, rng):
    """The seed's create_data: X / 10 and Y / 1000."""
    rows = rng.randint(0, 10, (n, TIME_STEP))
    x1 = rows[:, 1] * 100 + rows[:, 2] * 10 + rows[:, 3]
    x2 = rows[:, 5] * 100 + rows[:, 6] * 10 + rows[:, 7]
    y = np.abs(x1 - x2)
    return (rows / 10).astype(np.float32), (y / 1000).astype(np.float32)


class DenseAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_vec = nn.Linear(TIME_STEP, TIME_STEP)
        self.hidden = nn.Linear(TIME_STEP, TIME_STEP)
        self.head = nn.Linear(TIME_STEP, 1)

    def forward(self, x):
        probs = torch.softmax(self.attention_vec(x), dim=-1)
        y = torch.sigmoid(self.head(torch.sigmoid(self.hidden(x * probs))))
        return y, probs


def main(out_dir):
    torch.manual_seed(1337)
    rng = np.random.RandomState(1337)
    x_train, y_train = create_data(300000, rng)
    model = DenseAttention()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.tensor(x_train), torch.tensor(y_train)[:, None]
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(40):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 256):
            idx = perm[i:i + 256]
            loss = nn.functional.mse_loss(model(xt[idx])[0], yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.5f}")

    x_test, y_test = create_data(1000, np.random.RandomState(7))
    with torch.no_grad():
        y, probs = model(torch.tensor(x_test))
    mse = float(((y[:, 0].numpy() - y_test) ** 2).mean())
    print(f"held-out MSE {mse:.5f}; mean attention {probs.mean(0).numpy().round(3)}")
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"),
                     state_dict_numpy(model))
    np.save(os.path.join(out_dir, "x.npy"), x_test)
    np.save(os.path.join(out_dir, "y_true.npy"), y_test[:, None])
    np.savez(os.path.join(out_dir, "golden.npz"), y=y.numpy(),
             attention=probs.numpy())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/dense_attention")
