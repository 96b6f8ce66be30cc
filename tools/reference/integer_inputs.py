#!/usr/bin/python3
"""PyTorch reference for integer and boolean tensors (checked by
test/Integration/integer-tensors.test): token ids as int64, lengths as
int32 and a mask as bool, written as NumPy writes them, and integer outputs
(an argmax, a sum of ids, lengths passed through) that Heed must write as
int64. Seeded random weights.

    /usr/bin/python3 tools/reference/integer_inputs.py test/Integration/Inputs/integer_inputs

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

B, T, V, E = 3, 5, 7, 4


class IntegerInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, E)

    def forward(self, ids, lengths, mask):
        e = self.emb(ids)                                  # [B, T, E]
        masked = e.sum(-1) * mask                          # bool mask as 0/1
        best = e.sum(1).argmax(-1)                         # int64 [B]
        total = ids.sum(1)                                 # int64 [B]
        return masked, best, total, lengths.long()


def main(out_dir):
    torch.manual_seed(7)
    model = IntegerInputs().eval()
    ids = torch.randint(0, V, (B, T), dtype=torch.int64)
    lengths = torch.tensor([5, 2, 3], dtype=torch.int32)
    mask = torch.arange(T)[None, :] < lengths[:, None]     # bool [B, T]
    with torch.no_grad():
        masked, best, total, n = model(ids, lengths, mask)
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model))
    np.save(os.path.join(out_dir, "ids.npy"), ids.numpy())
    np.save(os.path.join(out_dir, "lengths.npy"), lengths.numpy())
    np.save(os.path.join(out_dir, "mask.npy"), mask.numpy())
    np.savez(os.path.join(out_dir, "golden.npz"), masked=masked.numpy(),
             best=best.numpy(), total=total.numpy(), n=n.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
