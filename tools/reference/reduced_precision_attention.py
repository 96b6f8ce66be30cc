#!/usr/bin/python3
"""Scaled dot-product attention as a flash kernel on tensor cores computes
it (FlashAttention-2's online softmax over tiles of BK keys, in base 2):
the queries scaled by scale · log2(e), the keys and the values rounded to
bf16 or f16; scores summed in f32; per tile m' = max(m, the tile's
scores), p = 2^(s - m'), l = α l + Σ p (p in f32), O = α O + round(p) V
with α = 2^(m - m'); context O / l (0 where every key is masked). Rounding p happens per tile against the running
maximum, so the result depends on BK: the key tile FlashMmaKernel.cpp picks
(the largest of 64, 32, 16 up to the keys rounded up to a power of two, at
least 16, whose shared tiles, with 128 query rows a block where there are
more than 64 queries and 64 otherwise, fit 99 KB, and whose accumulators
fit: 128 registers with 32 rows a warp, which the kernel prefers for 128
rows, else 160 with 16) is written out here as the rule `key_tile`. The
f32 goldens (for --gpu-precision=tf32x3, whose products are f32's to about
2^-22) are the exact attention, in float64, rounded to f32 once. Writes
inputs_<case>.npz and golden_<case>_<precision>.npz:

    /usr/bin/python3 tools/reference/reduced_precision_attention.py test/Integration/Inputs/reduced_precision_attention

Independent of Heed."""
import os
import sys

import numpy as np
import torch

B = 2
# (queries, keys): one partial tile of 16; partial tiles of 64; two blocks of
# 64 queries over three tiles and a tail.
CASES = [(1, 13), (7, 70), (70, 100)]
TYPES = {"bf16": torch.bfloat16, "f16": torch.float16}
FLT_MAX = float(np.finfo(np.float32).max)


def key_tile(queries, steps, depth, value_depth):
    """FlashMmaKernel.cpp's BK for these sizes."""
    pad = 8
    longest = 1 << (max(steps, 16) - 1).bit_length()

    def fits(rows, row_tiles, tile, registers):
        smem = 2 * (rows * (depth + pad) + tile * (depth + pad) + tile * (value_depth + pad))
        accumulators = row_tiles * (value_depth // 8 + tile // 8) * 4
        return tile <= longest and smem <= 99 * 1024 and accumulators <= registers

    if queries > 64:
        for tile in (64, 32, 16):
            if fits(128, 2, tile, 128):
                return tile
    for tile in (64, 32, 16):
        if tile == 16 or fits(128 if queries > 64 else 64, 1, tile, 160):
            return tile
    raise ValueError("no tile")


def rounded(t, precision):
    return t.to(TYPES[precision]).float()


def flash(q, k, v, valid, precision):
    """q [N, Q, D], k [N, T, D], v [N, T, Dv], valid [N, Q, T] (bool)."""
    steps, depth, value_depth = k.shape[1], k.shape[2], v.shape[2]
    tile = key_tile(q.shape[1], steps, depth, value_depth)
    # The kernel's constant: f32 scale times f32 log2(e), in f32.
    scale = np.float32(np.float32(1.0 / depth ** 0.5) * np.float32(np.log2(np.e)))
    qr = rounded(q * torch.tensor(scale), precision)
    kr, vr = rounded(k, precision), rounded(v, precision)
    m = torch.full(q.shape[:2], -FLT_MAX)
    l = torch.zeros(q.shape[:2])
    o = torch.zeros(q.shape[0], q.shape[1], value_depth)
    for j0 in range(0, steps, tile):
        s = qr @ kr[:, j0:j0 + tile].transpose(1, 2)
        s = torch.where(valid[:, :, j0:j0 + tile], s, torch.tensor(float("-inf")))
        new = torch.maximum(m, s.max(-1).values)
        alpha = torch.exp2(m - new)
        p = torch.exp2(s - new[..., None])
        l = alpha * l + p.sum(-1)
        o = alpha[..., None] * o + rounded(p, precision) @ vr[:, j0:j0 + tile]
        m = new
    return torch.where(l[..., None] > 0, o / torch.where(l > 0, l, 1)[..., None],
                       torch.tensor(0.0))


def exact(q, k, v, valid, scale=None):
    """softmax(scale · q kᵀ over the valid keys) v in float64 (0 where every
    key is masked), as f32; scale 1 / sqrt(D) unless given."""
    q, k, v = q.double(), k.double(), v.double()
    scale = 1.0 / q.shape[2] ** 0.5 if scale is None else scale
    s = scale * (q @ k.transpose(1, 2))
    s = torch.where(valid, s, torch.tensor(float("-inf"), dtype=torch.float64))
    any_valid = valid.any(-1, keepdim=True)
    w = torch.softmax(torch.where(any_valid, s, torch.zeros_like(s)), -1)
    return torch.where(any_valid, w @ v, torch.zeros(1, dtype=torch.float64)).float()


def heads_of(x, h):
    """[B, T, h·d] → [B·h, T, d], head-major within a row."""
    n, t, _ = x.shape
    return x.reshape(n, t, h, -1).permute(0, 2, 1, 3).reshape(n * h, t, -1)


def merged(x, h):
    nh, t, d = x.shape
    return x.reshape(nh // h, h, t, d).permute(0, 2, 1, 3).reshape(nh // h, t, h * d)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(2026)
    for tq, t in CASES:
        q = torch.randn(B, tq, 64, generator=g)
        k = torch.randn(B, t, 64, generator=g)
        v = torch.randn(B, t, 64, generator=g)
        x = torch.randn(B, t, 128, generator=g)
        w = torch.randn(B, t, 96, generator=g)
        lengths = torch.tensor([t - t // 3, 0], dtype=torch.float32)
        steps = torch.arange(t)
        everything = torch.ones(B, tq, t, dtype=torch.bool)
        within = (steps[None, :] < lengths[:, None])[:, None, :].expand(B, tq, t)
        causal = (steps[None, :] <= steps[:, None])[None].expand(B, t, t)
        name = "q%d_t%d" % (tq, t)
        np.savez(os.path.join(out_dir, "inputs_%s.npz" % name), q=q.numpy(), k=k.numpy(),
                 v=v.numpy(), x=x.numpy(), w=w.numpy(), lengths=lengths.numpy())
        for precision in list(TYPES) + ["f32"]:
            def attend(q, k, v, valid):
                return exact(q, k, v, valid) if precision == "f32" else \
                    flash(q, k, v, valid, precision)
            wh = heads_of(w, 3)
            out = {"plain": attend(q, k, v, everything),
                   "masked": attend(q, k, v, within),
                   "causal": attend(x, x, x, causal),
                   "heads": merged(attend(wh, wh, wh, torch.ones(B * 3, t, t, dtype=torch.bool)), 3)}
            np.savez(os.path.join(out_dir, "golden_%s_%s.npz" % (name, precision)),
                     **{key: val.numpy() for key, val in out.items()})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "test/Integration/Inputs/reduced_precision_attention")
