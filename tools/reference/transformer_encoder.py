#!/usr/bin/python3
"""PyTorch reference for test/Integration/transformer-encoder.test: a
two-layer nn.TransformerEncoder (d_model 256, 4 heads, batch_first, a
padding mask from per-row lengths) and nn.MultiheadAttention variants
(bias=False; kdim/vdim ≠ d_model, which saves q/k/v_proj_weight), each
state_dict saved as it is and bound by Heed with no renaming.

Post-norm (the default) with ReLU and a final LayerNorm on the encoder;
norm_first=True with GELU (d_model 64). Weights are saved as F16. The encoder runs with enable_nested_tensor=False:
PyTorch's nested-tensor fast path writes zeros at padded positions, the
plain path computes them; the valid positions agree either way.

    /usr/bin/python3 tools/reference/transformer_encoder.py test/Integration/Inputs/transformer_encoder

Independent of Heed."""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

D, HEADS, FF, T, KDIM, VDIM, S = 256, 4, 256, 12, 48, 40, 7
D2, FF2 = 64, 128          # the norm_first encoder reads x[..., :D2]
BATCHES = (1, 2, 5, 16)


class Encoders(nn.Module):
    def __init__(self):
        super().__init__()
        post = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(post, 2, norm=nn.LayerNorm(D),
                                             enable_nested_tensor=False)
        pre = nn.TransformerEncoderLayer(D2, HEADS, FF2, dropout=0.0, activation="gelu",
                                         batch_first=True, norm_first=True)
        self.pre_norm = nn.TransformerEncoder(pre, 2, enable_nested_tensor=False)
        self.plain = nn.MultiheadAttention(D, HEADS, bias=False, batch_first=True)
        self.cross = nn.MultiheadAttention(D, HEADS, kdim=KDIM, vdim=VDIM, batch_first=True)

    def forward(self, x, lengths, memory, keys, values):
        pad = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
        return {
            "encoded": self.encoder(x, src_key_padding_mask=pad),
            "pre_norm": self.pre_norm(x[..., :D2], src_key_padding_mask=pad),
            "plain_attention": self.plain(x, memory, memory, need_weights=False)[0],
            "cross_attention": self.cross(x, keys, values, need_weights=False)[0],
        }


def main(out_dir):
    torch.manual_seed(13)
    model = Encoders().eval()
    with torch.no_grad():   # non-default norms and biases
        for name, p in model.named_parameters():
            if name.split(".")[-2].startswith("norm") and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            elif name.endswith("bias"):
                p.uniform_(-0.2, 0.2)
        # Saved as F16 (half the size in the repository); the golden uses
        # the same rounded values.
        for p in model.parameters():
            p.copy_(p.half().float())
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "weights.safetensors"), state_dict_numpy(model),
                     dtype="F16")
    gen = torch.Generator().manual_seed(14)
    for b in BATCHES:
        x = torch.randn(b, T, D, generator=gen)
        lengths = torch.randint(1, T + 1, (b,), generator=gen)
        lengths[0] = T
        memory = torch.randn(b, S, D, generator=gen)
        keys = torch.randn(b, S, KDIM, generator=gen)
        values = torch.randn(b, S, VDIM, generator=gen)
        with torch.no_grad():
            golden = model(x, lengths, memory, keys, values)
        np.savez(os.path.join(out_dir, f"inputs_b{b}.npz"), x=x.numpy(),
                 lengths=lengths.numpy(), memory=memory.numpy(), keys=keys.numpy(),
                 values=values.numpy())
        np.savez(os.path.join(out_dir, f"golden_b{b}.npz"),
                 **{k: v.numpy() for k, v in golden.items()})


if __name__ == "__main__":
    main(sys.argv[1])
