#!/usr/bin/python3
"""Writes Keras-layout weights (a .safetensors file of `LAYER.VARIABLE`
tensors, as tools/reference/to_keras_layout.py writes them) as the archive
Keras 3's `model.save("m.keras")` writes, with zipfile, json and h5py: an
implementation of the format independent of Heed's reader, after Keras 3's
keras/src/saving/saving_lib.py.

    /usr/bin/python3 tools/reference/keras3_archive.py IN.safetensors OUT.keras [options]

The archive holds `metadata.json`, `config.json` (the model's JSON: a
Functional model whose `layers` list each layer's module, class_name,
config, name and inbound nodes) and `model.weights.h5`. Keras 3 names no
variable by its layer's name: `_save_state` walks the model, and a layer in
the model's `layers` list is the group `layers/<its class in snake case>`,
numbered from the class's second layer on (`dense`, `dense_1`, `dense_2`:
by class and position in the list). Its own variables are the datasets
`vars/0`, `vars/1`, ... in the order it made them (Dense: kernel, bias;
BatchNormalization: gamma, beta, moving_mean, moving_variance; an RNN cell:
kernel, recurrent_kernel, bias); the layers it holds are groups named by the
attribute that holds them (an LSTM's `cell`, a Bidirectional's
`forward_layer` and `backward_layer`, a TimeDistributed's `layer`). Every
saveable gets a `vars` group, empty ones too. Options:
  --order A,B,...     the layers' order in the model (default: the file's
                      order); weightless layers (an InputLayer first, a
                      Dropout, a RepeatVector) are placed among them
  --layer-config LAYER:KEY=JSON  (repeatable) a key of a layer's config
                      (LAYER/layer:KEY=JSON: of the layer a Bidirectional or
                      TimeDistributed wraps)
  --time-distributed LAYER  (repeatable) a Dense layer wrapped in a
                      TimeDistributed
  --nest NAME=A,B     layers A and B in a Functional model NAME inside the
                      model (its own `layers` list, groups named by class
                      afresh), at A's place
  --rnn-cell LAYER    (repeatable) an LSTM or GRU layer made as
                      keras.layers.RNN(LSTMCell(...)): class RNN, its cell
                      in its config
  --deflate           the archive's members deflated (Keras stores them)
  --weights-only      write only the HDF5 file, as Keras 3's
                      model.save_weights("w.weights.h5") does (no config)
  --drop-variable LAYER:INDEX  leave out one variable (a damaged file)
  --extra-variable LAYER  one variable more in a layer's vars
  --rename-class LAYER:CLASS  a layer of another class (a custom layer)
  --rename LAYER:NAME  a layer named otherwise in the config
  --keras-2-13        the layers' groups named `_layer_checkpoint_dependencies`
                      (for `layers`), as Keras 2.13's archives name them
  --subclassed        the config of a subclassed keras.Model (no layers)
  --npz-weights       the weights as model.weights.npz (weights_format="npz")
"""
import argparse
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from keras_h5 import keras_names, model_config  # noqa: E402
from tensorio import load_safetensors  # noqa: E402

# The order in which each class makes its variables (Keras 3's build()).
VARIABLES = {
    "Dense": ["kernel", "bias"],
    "Conv1D": ["kernel", "bias"],
    "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"],
    "LayerNormalization": ["gamma", "beta"],
    "Embedding": ["embeddings"],
    "LSTMCell": ["kernel", "recurrent_kernel", "bias"],
    "GRUCell": ["kernel", "recurrent_kernel", "bias"],
}


def snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def dtype_policy():
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "float32"}, "registered_name": None}


def keras3_config(layer):
    """A Keras 2 layer config ({class_name, config}) as Keras 3 serializes
    it; a Bidirectional's backward layer made as Keras 3 makes it."""
    config = dict(layer["config"])
    config.setdefault("trainable", True)
    config["dtype"] = dtype_policy()
    if layer["class_name"] == "Bidirectional":
        inner = config["layer"]
        forward = json.loads(json.dumps(inner))
        forward["config"]["name"] = "forward_" + config["name"]
        backward = json.loads(json.dumps(inner))
        backward["config"]["name"] = "backward_" + config["name"]
        backward["config"]["go_backwards"] = True
        config["layer"] = keras3_config(forward)
        config["backward_layer"] = keras3_config(backward)
    elif "layer" in config:
        config["layer"] = keras3_config(config["layer"])
    return {"module": "keras.layers", "class_name": layer["class_name"],
            "config": config, "registered_name": None}


def weightless(class_name, name, **config):
    return {"module": "keras.layers", "class_name": class_name,
            "config": dict(name=name, trainable=True, dtype=dtype_policy(),
                           **config),
            "registered_name": None}


class Store:
    """H5IOStore: a `vars` group for every saveable it is given."""

    def __init__(self, f, drop, extra):
        self.f, self.drop, self.extra = f, drop, extra

    def save(self, path, layer_name, arrays):
        group = self.f.create_group(path + "/vars" if path else "vars")
        arrays = list(arrays)
        if layer_name in self.extra:
            arrays.append(np.zeros((2,), np.float32))
        for i, array in enumerate(arrays):
            if (layer_name, i) not in self.drop:
                group[str(i)] = array.astype(np.float32)


def save_layer(store, layer, path, name, weights):
    """_save_state of one layer: its own variables, then what it holds.
    `weights` maps a variable's Keras name (`kernel`, `forward/kernel`) to
    its array."""
    cls = layer["class_name"]
    config = layer["config"]
    if cls == "RNN":
        store.save(path, name, [])
        save_layer(store, config["cell"], path + "/cell", name, weights)
    elif cls in ("LSTM", "GRU"):
        store.save(path, name, [])
        cell = {"class_name": cls + "Cell", "config": config}
        save_layer(store, cell, path + "/cell", name, weights)
    elif cls == "Bidirectional":
        store.save(path, name, [])
        # dir() order: backward_layer before forward_layer.
        for attr, direction in (("backward_layer", "backward"),
                                ("forward_layer", "forward")):
            inner = config["backward_layer" if direction == "backward" else "layer"]
            sub = {k.split("/", 1)[1]: a for k, a in weights.items()
                   if k.startswith(direction + "/")}
            save_layer(store, inner, path + "/" + attr, name + "." + direction,
                       sub)
    elif cls == "TimeDistributed":
        store.save(path, name, [])
        save_layer(store, config["layer"], path + "/layer", name, weights)
    else:
        # A custom class: its variables in the order they came.
        names = VARIABLES.get(cls, list(weights))
        if cls in ("Dense", "Conv1D", "LSTMCell", "GRUCell") and \
                not config.get("use_bias", True):
            names = names[:-1]
        store.save(path, name, [weights[n] for n in names if n in weights])


def variables_of(keras2_weights):
    """[(`layer/.../kernel:0`, array)] -> {`kernel` or `forward/kernel`}."""
    out = {}
    for path, array in keras2_weights:
        variable = path.rsplit("/", 1)[-1].split(":")[0]
        direction = re.search(r"/(forward|backward)_", path)
        out[(direction.group(1) + "/" if direction else "") + variable] = array
    return out


def link(model, entries):
    """Lists `entries` ([(layer config, name)]) as the layers of `model`'s
    config, each called on the one before."""
    previous = None
    for entry, _ in entries:
        name = entry["config"]["name"]
        entry["name"] = name
        entry["inbound_nodes"] = [] if previous is None else [{
            "args": [{"class_name": "__keras_tensor__",
                      "config": {"shape": [None, None, None],
                                 "dtype": "float32",
                                 "keras_history": [previous, 0, 0]}}],
            "kwargs": {}}]
        model["config"]["layers"].append(entry)
        previous = name


def save_container(store, entries, path, layers, list_name="layers"):
    """_save_container_state of a model's `layers`: each layer's group named
    by its class, numbered from the class's second layer on. An entry whose
    name is a list is a model inside the model: its own layers."""
    used = {}
    for entry, name in entries:
        key = snake_case(entry["class_name"])
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        if isinstance(name, list):
            store.save(path + "/" + key, None, [])
            save_container(store, name, path + "/" + key + "/" + list_name,
                           layers, list_name)
            continue
        weights = variables_of(layers.get(name, [])) if name else {}
        save_layer(store, entry, path + "/" + key,
                   name or entry["config"]["name"], weights)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--order")
    p.add_argument("--layer-config", action="append", default=[])
    p.add_argument("--time-distributed", action="append", default=[])
    p.add_argument("--deflate", action="store_true")
    p.add_argument("--weights-only", action="store_true")
    p.add_argument("--drop-variable", action="append", default=[])
    p.add_argument("--extra-variable", action="append", default=[])
    p.add_argument("--rename-class", action="append", default=[])
    p.add_argument("--rename", action="append", default=[])
    p.add_argument("--rnn-cell", action="append", default=[])
    p.add_argument("--nest")
    p.add_argument("--keras-2-13", action="store_true")
    p.add_argument("--subclassed", action="store_true")
    p.add_argument("--npz-weights", action="store_true")
    args = p.parse_args()

    layers = keras_names(load_safetensors(args.src))
    keras2 = json.loads(model_config(layers, False, args.layer_config,
                                     args.time_distributed))
    by_name = {c["config"]["name"]: c for c in keras2["config"]["layers"]}
    order = args.order.split(",") if args.order else list(by_name)
    for layer in args.rnn_cell:
        rnn = by_name[layer]
        cell = {"class_name": rnn["class_name"] + "Cell",
                "config": dict(rnn["config"], name=layer + "_cell")}
        by_name[layer] = {"class_name": "RNN", "config": {
            "name": layer, "cell": keras3_config(cell),
            "return_sequences": rnn["config"]["return_sequences"],
            "go_backwards": False}}
    for rename in args.rename_class:
        layer, cls = rename.split(":")
        by_name[layer]["class_name"] = cls
    for rename in args.rename:
        layer, new = rename.split(":")
        by_name[layer]["config"]["name"] = new
    entries = [(weightless("InputLayer", "input_layer",
                           batch_shape=[None, None, None]), None)]
    for i, name in enumerate(order):
        entries.append((keras3_config(by_name[name]), name))
        if i == 0:
            entries.append((weightless("Dropout", "dropout", rate=0.1), None))
            entries.append((weightless("RepeatVector", "repeat_vector", n=1),
                            None))
    config = {"module": "keras", "class_name": "Functional",
              "config": {"name": "functional", "trainable": True,
                         "layers": [], "input_layers": [["input_layer", 0, 0]],
                         "output_layers": [[order[-1], 0, 0]]},
              "registered_name": "Functional", "build_config": {},
              "compile_config": {"optimizer": "adam", "loss": "mse"}}
    if args.nest:
        outer, inner = args.nest.split("=")
        inner = inner.split(",")
        nested = [(weightless("InputLayer", "input_layer",
                              batch_shape=[None, None, None]), None)]
        nested += [e for e in entries if e[1] in inner]
        model = {"module": "keras", "class_name": "Functional",
                 "config": {"name": outer, "trainable": True, "layers": [],
                            "input_layers": [["input_layer", 0, 0]],
                            "output_layers": [[inner[-1], 0, 0]]},
                 "registered_name": "Functional"}
        link(model, nested)
        at = [e[1] for e in entries].index(inner[0])
        entries = [e for e in entries if e[1] not in inner]
        entries.insert(at, (model, nested))
    link(config, entries)
    if args.subclassed:
        config = {"module": None, "class_name": "Translator",
                  "config": {"name": "translator", "trainable": True},
                  "registered_name": "Custom>Translator"}

    drop = {(d.split(":")[0], int(d.split(":")[1])) for d in args.drop_variable}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        store = Store(f, drop, set(args.extra_variable))
        store.save("", None, [])  # the model's own (none)
        root = "_layer_checkpoint_dependencies" if args.keras_2_13 else "layers"
        save_container(store, entries, root, layers,
                       "_layer_checkpoint_dependencies" if args.keras_2_13
                       else "layers")
        # The optimizer's state, beside the layers (not weights).
        store.save("optimizer", None, [np.array([1000.0]), np.ones((3, 2))])
    h5 = buffer.getvalue()
    if args.weights_only:
        with open(args.dst, "wb") as out:
            out.write(h5)
        return
    metadata = {"keras_version": "3.6.0", "date_saved": "2026-12-06@12:00:00"}
    compression = zipfile.ZIP_DEFLATED if args.deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(args.dst, "w", compression) as zf:
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.npz" if args.npz_weights
                    else "model.weights.h5", h5)


if __name__ == "__main__":
    main()
