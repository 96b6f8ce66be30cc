"""Writes .safetensors without the safetensors package (format: u64 header
length, JSON header, raw little-endian data). Used by the reference scripts."""
import json
import struct

import numpy as np


def save_safetensors(path, tensors, dtype="F32"):
    header, offset, blobs = {}, 0, []
    np_type = {"F32": "<f4", "F16": "<f2"}[dtype]
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np_type).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def state_dict_numpy(module):
    return {k: v.detach().cpu().numpy().astype(np.float32)
            for k, v in module.state_dict().items()}


def load_safetensors(path):
    """The F32 tensors of a .safetensors file, by name."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base, out = 8 + length, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[base + begin:base + end], "<f4").reshape(info["shape"])
    return out
