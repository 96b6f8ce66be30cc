#!/usr/bin/python3
"""Goldens for examples/nmt/beam.heed: seed 004's translation model
(nmt.py, its weights in examples/nmt) decoded by the reference beam search
(beam_search.py), sentence by sentence.

    /usr/bin/python3 tools/reference/nmt_beam.py examples/nmt \\
        test/Integration/Inputs/beam_search

- examples/nmt/golden_beam.npz: the example's four sentences, width 4,
  length penalty 0.6.
- Inputs/beam_search/source_b{B}.npy and golden_b{B}_k{K}_a{A}.npz for batch
  sizes 1, 2, 3, 5, 7, 16 and 33, widths 1, 2 and 5, penalties 0 and 0.6:
  sentences whose searches stay clear of ties (the gap between ranked keys
  is at least 1e-4 at every step). Width 1 is greedy decoding.

Independent of Heed."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import nmt  # noqa: E402

BATCHES = (1, 2, 3, 5, 7, 16, 33)
WIDTHS = (1, 2, 5)
PENALTIES = (0.0, 0.6)
MIN_GAP = 1e-4


def save(path, out):
    np.savez(path, **{k: v.numpy() for k, v in out.items()})


def main(example_dir, inputs_dir):
    model = nmt.make_model(nmt.SMALL)
    source = torch.tensor(np.load(os.path.join(example_dir, "source.npy"))).long()
    with torch.no_grad():
        out, gap = model.beam_batch(source, 4, 0.6)
    assert gap >= MIN_GAP, gap
    save(os.path.join(example_dir, "golden_beam.npz"), out)
    print("example: lengths", out["lengths"].tolist(), "gap", gap)

    # A pool of sentences clear of ties under every width and penalty.
    gen = torch.Generator().manual_seed(5)
    pool = []
    with torch.no_grad():
        while len(pool) < max(BATCHES):
            s = torch.randint(3, nmt.SMALL["vocab_in"], (1, nmt.SMALL["tx"]),
                              generator=gen)
            if all(model.beam(s, k, a)[1] >= MIN_GAP
                   for k in WIDTHS for a in PENALTIES):
                pool.append(s)
    os.makedirs(inputs_dir, exist_ok=True)
    for b in BATCHES:
        # Batches start at different places of the pool.
        rows = torch.cat([pool[(3 * b + i) % len(pool)] for i in range(b)])
        np.save(os.path.join(inputs_dir, "source_b%d.npy" % b), rows.numpy())
        for k in WIDTHS:
            for a in PENALTIES:
                with torch.no_grad():
                    out, _ = model.beam_batch(rows, k, a)
                save(os.path.join(inputs_dir, "golden_b%d_k%d_a%g.npz" % (b, k, a)),
                     out)


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["examples/nmt", "test/Integration/Inputs/beam_search"]))
