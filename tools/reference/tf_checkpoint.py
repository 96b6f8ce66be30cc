#!/usr/bin/python3
"""Writes Keras-layout weights (a .safetensors file of `LAYER.VARIABLE`
tensors, as tools/reference/to_keras_layout.py writes them) as the
checkpoint TensorFlow 2's `tf.train.Checkpoint(model=model).save(PREFIX)`
writes for a subclassed Keras model (the seeds' NMT tutorial saves its
encoder and decoder so): PREFIX.index and PREFIX.data-00000-of-00001. An
implementation of the format independent of Heed's reader, after
TensorFlow's tensor_bundle.cc (BundleWriter), its table format (LevelDB's:
prefix-compressed blocks with restart points, an index block, a 48-byte
footer; no compression) and tensor_bundle.proto, with the standard library
and NumPy only.

    /usr/bin/python3 tools/reference/tf_checkpoint.py IN.safetensors PREFIX [options]

Keys are object paths: a layer held in attribute `pre_attention` of the
model held as `model`, a Bidirectional's `forward_layer`, an RNN's `cell`:
`model/pre_attention/forward_layer/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE`.
Beside the weights: the object graph (`_CHECKPOINTABLE_OBJECT_GRAPH`, a
string tensor), `save_counter`, the optimizer's iterations and Adam's slot
variables (`.../.OPTIMIZER_SLOT/optimizer/m/...`). Options:
  --root NAME         the model's attribute in the checkpoint (default
                      model; '' for the model's own save_weights)
  --time-distributed LAYER  (repeatable) a layer wrapped in a
                      TimeDistributed (its `layer` attribute)
  --rename OLD=NEW    (repeatable) layer OLD saved as NEW (dotted: an
                      attribute of an attribute, `encoder.gru`)
  --block-size N      entries' bytes a data block holds before the next
                      (default 4096, LevelDB's)
  --restart-interval N  keys between restart points (default 16)
  --keras-3           Keras 3's attribute names: its Dense and convolution
                      layers hold `_kernel`, its Embedding `_embeddings`
  --positional        Functional-style keys (`layer_with_weights-0/...`)
  --state             also write the directory's `checkpoint` file (as
                      Checkpoint.save does) naming this checkpoint the
                      latest, after the ones it already lists
  --corrupt-data      flip a byte of the first weight's data
  --big-endian        the header says big-endian
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from tensorio import load_safetensors  # noqa: E402


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli), as tensorflow/core/lib/hash/crc32c."""
    table = crc32c.table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32c.table = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    crc32c.table.append(_c)


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, wire, payload):
    key = varint((number << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        return key + varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<I", payload)
    raise ValueError(wire)


def entry_proto(dtype, shape, offset, size, crc):
    """BundleEntryProto: dtype 1, shape 2 (TensorShapeProto: dim 2 {size
    1}), shard_id 3 (0: left out, as protobuf leaves defaults), offset 4,
    size 5, crc32c 6 (fixed32, masked)."""
    dims = b"".join(field(2, 2, field(1, 0, d) if d else b"") for d in shape)
    out = field(1, 0, dtype) + field(2, 2, dims)
    if offset:
        out += field(4, 0, offset)
    if size:
        out += field(5, 0, size)
    return out + field(6, 5, mask(crc))


def header_proto(big_endian):
    """BundleHeaderProto: num_shards 1, endianness 2 (LITTLE = 0), version 3
    (VersionDef: producer 1)."""
    out = field(1, 0, 1)
    if big_endian:
        out += field(2, 0, 1)
    return out + field(3, 2, field(1, 0, 1))


class Block:
    """A block: entries whose keys share a prefix with the one before
    (restarting every `interval` keys), then the restart offsets."""

    def __init__(self, interval):
        self.interval = interval
        self.buffer, self.restarts, self.count, self.last = bytearray(), [0], 0, b""

    def add(self, key, value):
        shared = 0
        if self.count < self.interval:
            while (shared < min(len(key), len(self.last))
                   and key[shared] == self.last[shared]):
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.count = 0
        self.buffer += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self.buffer += key[shared:] + value
        self.last, self.count = key, self.count + 1

    def contents(self):
        return bytes(self.buffer) + b"".join(
            struct.pack("<I", r) for r in self.restarts) + struct.pack(
                "<I", len(self.restarts))


class Table:
    """tensorflow/core/lib/io/table_builder.cc (LevelDB's table): data
    blocks of about `block_size` bytes, a metaindex block (empty), an index
    block (each data block's last key and handle), the footer."""

    def __init__(self, block_size, restart_interval):
        self.block_size, self.interval = block_size, restart_interval
        self.out = bytearray()
        self.index = Block(1)
        self.data = Block(restart_interval)

    def add(self, key, value):
        self.data.add(key, value)
        if len(self.data.buffer) >= self.block_size:
            self.flush()

    def _write(self, contents):
        handle = varint(len(self.out)) + varint(len(contents))
        trailer = b"\x00"  # kNoCompression
        crc = crc32c(trailer, crc32c(contents))
        self.out += contents + trailer + struct.pack("<I", mask(crc))
        return handle

    def flush(self):
        if self.data.buffer:
            self.index.add(self.data.last, self._write(self.data.contents()))
            self.data = Block(self.interval)

    def finish(self):
        self.flush()
        meta = self._write(Block(1).contents())
        index = self._write(self.index.contents())
        footer = meta + index
        footer += b"\x00" * (40 - len(footer))
        footer += struct.pack("<Q", 0xDB4775248B80FB57)
        return bytes(self.out) + footer


def keras_variables(tensors, time_distributed, keras3=False):
    """[(object path, array)] of the Keras-layout `LAYER.VARIABLE` tensors
    (a LAYER may be dotted, `encoder.gru`: attributes of attributes): an
    RNN's variables under its `cell`, a Bidirectional's directions under
    `forward_layer`/`backward_layer`, a TimeDistributed's under `layer`."""
    out = []
    for name, array in tensors.items():
        scopes = name.split(".")
        variable = scopes.pop()
        direction = scopes.pop() if scopes[-1] in ("forward", "backward") else None
        layer = ".".join(scopes)
        path = list(scopes)
        if direction:
            path.append(direction + "_layer")
        recurrent = (layer + ".recurrent_kernel" in tensors
                     or layer + ".forward.recurrent_kernel" in tensors)
        if recurrent:
            path.append("cell")
        elif keras3 and variable in ("kernel", "embeddings"):
            variable = "_" + variable
        if layer in time_distributed:
            path.append("layer")
        out.append(("/".join(path + [variable]), array))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("src")
    p.add_argument("prefix")
    p.add_argument("--root", default="model")
    p.add_argument("--time-distributed", action="append", default=[])
    p.add_argument("--rename", action="append", default=[])
    p.add_argument("--block-size", type=int, default=4096)
    p.add_argument("--restart-interval", type=int, default=16)
    p.add_argument("--positional", action="store_true")
    p.add_argument("--keras-3", action="store_true")
    p.add_argument("--state", action="store_true")
    p.add_argument("--corrupt-data", action="store_true")
    p.add_argument("--big-endian", action="store_true")
    args = p.parse_args()

    tensors = load_safetensors(args.src)
    renames = [r.split("=") for r in args.rename]

    def renamed(key):
        for old, new in renames:
            if key.startswith(old + "."):
                return new + key[len(old):]
        return key
    tensors = {renamed(k): v for k, v in tensors.items()}
    variables = keras_variables(tensors, args.time_distributed, args.keras_3)
    if args.positional:
        layers = list(dict.fromkeys(v.split("/", 1)[0] for v, _ in variables))
        variables = [(f"layer_with_weights-{layers.index(v.split('/', 1)[0])}/"
                      + v.split("/", 1)[1], a) for v, a in variables]
    root = args.root + "/" if args.root else ""
    value = "/.ATTRIBUTES/VARIABLE_VALUE"
    entries = {}
    for path, array in variables:
        entries[root + path + value] = array.astype(np.float32)
        # Adam's slots: one m and one v a weight.
        for slot in ("m", "v"):
            entries[f"{root}{path}/.OPTIMIZER_SLOT/optimizer/{slot}{value}"] = \
                np.zeros_like(array, np.float32)
    entries["optimizer/iter" + value] = np.array(1000, np.int64)
    entries["optimizer/learning_rate" + value] = np.array(0.001, np.float32)
    entries["save_counter" + value] = np.array(1, np.int64)
    entries["_CHECKPOINTABLE_OBJECT_GRAPH"] = b"\x0a\x00object graph (unread)"

    data = bytearray()
    table = Table(args.block_size, args.restart_interval)
    table.add(b"", header_proto(args.big_endian))
    first = True
    for key in sorted(entries):  # BundleWriter's entries_ is a std::map
        value_ = entries[key]
        offset = len(data)
        if isinstance(value_, bytes):  # DT_STRING, one element
            lengths = varint(len(value_))
            crc = crc32c(struct.pack("<I", len(value_)))
            length_checksum = struct.pack("<I", mask(crc))
            crc = crc32c(length_checksum, crc)
            crc = crc32c(value_, crc)
            blob = lengths + length_checksum + value_
            dtype, shape = 7, []
        else:
            blob = value_.tobytes()
            crc = crc32c(blob)
            dtype = {np.dtype(np.float32): 1, np.dtype(np.int64): 9}[value_.dtype]
            shape = list(value_.shape)
            if first and args.corrupt_data and len(blob) > 5:
                blob = bytearray(blob)
                blob[5] ^= 0x20
                blob = bytes(blob)
                first = False
        data += blob
        table.add(key.encode(), entry_proto(dtype, shape, offset, len(blob), crc))
    os.makedirs(os.path.dirname(os.path.abspath(args.prefix)), exist_ok=True)
    with open(args.prefix + ".data-00000-of-00001", "wb") as f:
        f.write(bytes(data))
    with open(args.prefix + ".index", "wb") as f:
        f.write(table.finish())
    if args.state:
        write_state(args.prefix)


def write_state(prefix):
    """The CheckpointState text file beside the checkpoints, paths relative
    to its directory (checkpoint_management.py)."""
    directory, name = os.path.split(os.path.abspath(prefix))
    path = os.path.join(directory, "checkpoint")
    earlier = []
    if os.path.exists(path):
        for line in open(path):
            if line.startswith("all_model_checkpoint_paths:"):
                earlier.append(line.split(":", 1)[1].strip().strip('"'))
    paths = [p for p in earlier if p != name] + [name]
    with open(path, "w") as f:
        f.write('model_checkpoint_path: "%s"\n' % name)
        for p in paths:
            f.write('all_model_checkpoint_paths: "%s"\n' % p)
        for _ in paths:
            f.write("all_model_checkpoint_timestamps: 1765000000.5\n")
        f.write("last_preserved_timestamp: 1764999999.25\n")


if __name__ == "__main__":
    main()
