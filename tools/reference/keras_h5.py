#!/usr/bin/python3
"""Writes Keras-layout weights (a .safetensors file of `LAYER.VARIABLE`
tensors, as tools/reference/to_keras_layout.py writes them) as the HDF5 file
Keras 2's `model.save_weights("w.h5")` writes, with h5py (libhdf5): an
implementation of the format independent of Heed's reader.

    /usr/bin/python3 tools/reference/keras_h5.py IN.safetensors OUT.h5 [options]

Keras 2 (tf.keras, `save_weights_to_hdf5_group`): the root's attribute
`layer_names` lists every layer, weightless ones included; each layer is a
group whose attribute `weight_names` lists its variables' names
(`dense/kernel:0`, `gru/gru_cell/kernel:0`,
`bi/forward_lstm/lstm_cell_1/kernel:0`), each also the path of its dataset
inside the group. Options:
  --full-model        as `model.save("m.h5")`: the weights under the group
                      `model_weights`, beside `optimizer_weights` and the
                      model's JSON config (TF2's recurrent layers)
  --old-keras-config  (with --full-model) the config's recurrent layers as
                      Keras 2.0 made them: hard_sigmoid gates, GRUs without
                      reset_after
  --layer-config LAYER:KEY=JSON  (with --full-model, repeatable) a key of a
                      layer's config (LAYER/layer:KEY=JSON: of the layer a
                      Bidirectional or TimeDistributed wraps), JSON-valued
  --time-distributed LAYER  (with --full-model, repeatable) the Dense layer
                      wrapped in a TimeDistributed, as Keras names it
  --split-attributes  `layer_names` in two attributes, `layer_names0` and
                      `layer_names1`, as Keras splits one past 64512 bytes
  --vlen-strings      the names as variable-length strings (Keras writes
                      fixed-length ones; other writers do not)
  --plain             no Keras structure: each tensor a dataset at the path
                      its dotted name spells (`gru1/kernel`), float64
  --gzip              (with --plain) chunked datasets (chunks of 7 along each
                      dim), shuffled, deflate-compressed and checksummed
  --big-endian        (with --plain) big-endian float32
  --libver-latest     h5py's libver='latest' (newer object headers)
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import load_safetensors  # noqa: E402


def keras_names(tensors):
    """{layer: [(weight name, array)]} in the order Keras lists them."""
    layers = {}
    for name, array in tensors.items():
        layer, rest = name.split(".", 1)
        layers.setdefault(layer, []).append((rest, array))
    out, cells = {}, 0
    for layer, weights in layers.items():
        recurrent = any(r.endswith("recurrent_kernel") for r, _ in weights)
        kind = "gru" if any(r.endswith("bias") and a.ndim == 2
                            for r, a in weights) else "lstm"
        named, cell_of = [], {}
        for rest, array in weights:
            parts = rest.split(".")
            if recurrent:
                direction = parts[0] if len(parts) == 2 else ""
                if direction not in cell_of:
                    cells += 1
                    cell_of[direction] = f"{kind}_cell_{cells}"
                cell = cell_of[direction]
                if direction:
                    path = f"{layer}/{direction}_{kind}/{cell}/{parts[1]}:0"
                else:
                    path = f"{layer}/{cell}/{parts[0]}:0"
            else:
                path = f"{layer}/{rest}:0"
            named.append((path, array))
        out[layer] = named
    return out


def model_config(layers, old_keras, settings=(), time_distributed=()):
    """model.save's `model_config`: Keras' JSON of the model, its recurrent
    layers as TF2 configures them (sigmoid gates, tanh, GRU reset_after), or
    with `old_keras` as Keras 2.0 did (hard_sigmoid gates, no reset_after:
    a GRU that resets before its product). Each layer's class follows from
    its weights; its other keys are Keras' defaults, then `settings`
    (`LAYER:KEY=JSON` sets a layer's key, `LAYER/layer:KEY=JSON` its
    wrapped layer's); layers in `time_distributed` are wrapped in a
    TimeDistributed."""
    configs = []
    for layer, weights in layers.items():
        paths = [p for p, _ in weights]
        if not any("_cell_" in p for p in paths):
            names = [p.rsplit("/", 1)[-1] for p in paths]
            kernel = [a for p, a in weights if p.endswith("/kernel:0")]
            if "moving_mean:0" in names:
                config = {"class_name": "BatchNormalization",
                          "config": {"name": layer, "axis": -1, "epsilon": 0.001}}
            elif "embeddings:0" in names:
                vocab, dim = weights[0][1].shape
                config = {"class_name": "Embedding",
                          "config": {"name": layer, "input_dim": int(vocab),
                                     "output_dim": int(dim)}}
            elif "gamma:0" in names:
                config = {"class_name": "LayerNormalization",
                          "config": {"name": layer, "axis": -1, "epsilon": 0.001}}
            elif kernel and kernel[0].ndim == 3:
                config = {"class_name": "Conv1D",
                          "config": {"name": layer, "strides": [1],
                                     "padding": "valid", "dilation_rate": [1],
                                     "activation": "linear"}}
            else:
                config = {"class_name": "Dense",
                          "config": {"name": layer, "activation": "linear"}}
            if layer in time_distributed:
                config["config"]["name"] = "dense"
                config = {"class_name": "TimeDistributed",
                          "config": {"name": layer, "layer": config}}
            configs.append(config)
            continue
        kind = "GRU" if any("gru_cell" in p for p in paths) else "LSTM"
        cell = {"name": layer, "activation": "tanh",
                "recurrent_activation": "hard_sigmoid" if old_keras else "sigmoid",
                "return_sequences": False, "go_backwards": False}
        if kind == "GRU" and not old_keras:
            cell["reset_after"] = True
        rnn = {"class_name": kind, "config": cell}
        if any("/forward_" in p for p in paths):
            rnn = {"class_name": "Bidirectional",
                   "config": {"name": layer, "layer": rnn, "merge_mode": "concat"}}
        configs.append(rnn)
    by_name = {c["config"]["name"]: c for c in configs}
    for setting in settings:
        target, assignment = setting.split(":", 1)
        key, value = assignment.split("=", 1)
        layer, _, inner = target.partition("/")
        config = by_name[layer]["config"]
        if inner:
            config = config[inner]["config"]
        config[key] = json.loads(value)
    return json.dumps({"class_name": "Functional",
                       "config": {"name": "model", "layers": configs}}).encode()


def save_attribute(group, name, data, split, vlen=False):
    if vlen and data:  # variable-length strings, in the global heap
        data = [x.decode("utf8") for x in data]
        group.attrs.create(name, data, dtype=h5py.string_dtype())
        return
    data = np.asarray(data)
    if split:
        for i, chunk in enumerate(np.array_split(data, 2)):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = data


def write_keras(f, tensors, args):
    write_keras_layers(f, keras_names(tensors), args)


def write_keras_layers(f, layers, args):
    """{layer: [(Keras weight name, array)]} as save_weights writes them."""
    # Weightless layers are listed too, with an empty weight_names.
    names = ["input_1"] + list(layers) + ["dropout"]
    root = f.create_group("model_weights") if args.full_model else f
    vlen = getattr(args, "vlen_strings", False)
    save_attribute(root, "layer_names", [n.encode("utf8") for n in names],
                   args.split_attributes, vlen)
    root.attrs["backend"] = b"tensorflow"
    root.attrs["keras_version"] = b"2.11.0"
    for layer in sorted(names):
        g = root.create_group(layer)
        weights = layers.get(layer, [])
        save_attribute(g, "weight_names", [n.encode("utf8") for n, _ in weights],
                       False, vlen)
        for name, array in weights:
            g.create_dataset(name, array.shape, dtype=np.float32)[...] = array
    if args.full_model:
        f.attrs["model_config"] = model_config(
            layers, getattr(args, "old_keras_config", False),
            getattr(args, "layer_config", None) or (),
            getattr(args, "time_distributed", None) or ())
        opt = f.create_group("optimizer_weights")
        opt.attrs["weight_names"] = np.asarray([b"Adam/iter:0"])
        opt.create_dataset("Adam/iter:0", data=np.int64(1000))


def write_plain(f, tensors, args):
    for name, array in tensors.items():
        dtype = ">f4" if args.big_endian else np.float64
        # Chunks of at most 7 along each dim: edge chunks partly outside.
        chunks = tuple(min(d, 7) for d in array.shape) or None
        kwargs = {"compression": "gzip", "shuffle": True, "fletcher32": True,
                  "chunks": chunks} if args.gzip and array.ndim else {}
        f.create_dataset(name.replace(".", "/"), data=array.astype(dtype),
                         **kwargs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("dst")
    for flag in ("full-model", "old-keras-config", "split-attributes",
                 "vlen-strings", "plain", "gzip",
                 "big-endian", "libver-latest"):
        p.add_argument("--" + flag, action="store_true")
    p.add_argument("--layer-config", action="append", metavar="LAYER:KEY=JSON")
    p.add_argument("--time-distributed", action="append", metavar="LAYER")
    args = p.parse_args()
    tensors = load_safetensors(args.src)
    libver = "latest" if args.libver_latest else None
    with h5py.File(args.dst, "w", libver=libver) as f:
        (write_plain if args.plain else write_keras)(f, tensors, args)


if __name__ == "__main__":
    main()
