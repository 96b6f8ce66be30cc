#!/usr/bin/python3
"""Rewrites a PyTorch-layout weight file into Keras names and layouts, the
inverse of what `weights keras` models convert on load (numpy, independent of
Heed). Used by the tests to check the Keras path against PyTorch goldens.

    /usr/bin/python3 tools/reference/to_keras_layout.py IN.safetensors OUT.safetensors [--embedding LAYER]...

Dense: kernel = weight.T. LSTM: kernel = weight_ih.T, recurrent_kernel =
weight_hh.T (gates i,f,c,o = PyTorch i,f,g,o), bias = bias_ih + bias_hh.
GRU: gates z,r,h from PyTorch r,z,n; bias [2, 3H] = (input, recurrent).
Bidirectional: LAYER.forward.* / LAYER.backward.*. Conv1D: kernel [K, C, O].
BatchNorm: gamma, beta, moving_mean, moving_variance. Embedding (the layers
--embedding names: a PyTorch embedding's weight is shaped as a Dense
layer's): embeddings = weight."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import save_safetensors  # noqa: E402


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dtype = {"F32": "<f4", "F16": "<f2"}[info["dtype"]]
        out[name] = np.frombuffer(blob[b:e], dtype).astype(np.float32).reshape(info["shape"])
    return out


def gru_gates(m, axis):
    r, z, n = np.split(m, 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


def main(src, dst, embeddings=()):
    w = load(src)
    out = {}
    layers = sorted({k.split(".")[0] for k in w})
    for layer in layers:
        p = {k[len(layer) + 1:]: v for k, v in w.items() if k.startswith(layer + ".")}
        if "weight_ih_l0" in p or "weight_ih" in p:
            gru = p.get("weight_ih_l0", p.get("weight_ih")).shape[0] // \
                p.get("weight_hh_l0", p.get("weight_hh")).shape[1] == 3
            for sfx, prefix in (("_l0", ""), ("_l0_reverse", "backward."), ("", "")):
                if "weight_ih" + sfx not in p:
                    continue
                if sfx == "_l0" and "weight_ih_l0_reverse" in p:
                    prefix = "forward."
                wi, wh = p["weight_ih" + sfx], p["weight_hh" + sfx]
                bi, bh = p["bias_ih" + sfx], p["bias_hh" + sfx]
                name = f"{layer}.{prefix}"
                if gru:
                    out[name + "kernel"] = gru_gates(wi, 0).T
                    out[name + "recurrent_kernel"] = gru_gates(wh, 0).T
                    out[name + "bias"] = np.stack([gru_gates(bi, 0), gru_gates(bh, 0)])
                else:
                    out[name + "kernel"] = wi.T
                    out[name + "recurrent_kernel"] = wh.T
                    out[name + "bias"] = bi + bh
        elif layer in embeddings:
            out[layer + ".embeddings"] = p["weight"]
        elif "running_mean" in p:
            out[layer + ".gamma"] = p["weight"]
            out[layer + ".beta"] = p["bias"]
            out[layer + ".moving_mean"] = p["running_mean"]
            out[layer + ".moving_variance"] = p["running_var"]
        elif p["weight"].ndim == 3:
            out[layer + ".kernel"] = p["weight"].transpose(2, 1, 0)
            if "bias" in p:
                out[layer + ".bias"] = p["bias"]
        else:
            out[layer + ".kernel"] = p["weight"].T
            if "bias" in p:
                out[layer + ".bias"] = p["bias"]
    save_safetensors(dst, out)


if __name__ == "__main__":
    args = sys.argv[1:]
    embeddings = [args[i + 1] for i, a in enumerate(args) if a == "--embedding"]
    positional = [a for i, a in enumerate(args)
                  if a != "--embedding" and (i == 0 or args[i - 1] != "--embedding")]
    main(positional[0], positional[1], embeddings)
