#!/usr/bin/python3
"""Writes small HDF5 files, each with the .npz of the tensors Heed must read
from it (numpy: names as docs/weights.md gives them, float32 values), for
test/runtime/hdf5-cases.test, and as the seed corpus of fuzz-hdf5 (.ci/fuzz).
h5py and libhdf5 write the HDF5 side, independently of Heed's reader.

    /usr/bin/python3 tools/reference/hdf5_cases.py DIR

Cases: Keras 2 weight files (save_weights; model.save's layout with
layer_names split in two; names as variable-length strings; the 'latest'
format; weight names with scopes beyond the layer's own), and plain files with every
layout (contiguous, compact, chunked with deflate, shuffle and fletcher32),
element type (float16/32/64, big-endian, int8 to int64, uint8, bool) and
string attribute (fixed and variable length) the reader takes."""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from keras_h5 import write_keras, write_keras_layers  # noqa: E402


def keras_cases(out, rng):
    weights = {"dense.kernel": rng.standard_normal((3, 2)),
               "dense.bias": rng.standard_normal(2),
               "bi.forward.kernel": rng.standard_normal((2, 4)),
               "bi.forward.recurrent_kernel": rng.standard_normal((1, 4)),
               "bi.forward.bias": rng.standard_normal(4),
               "bi.backward.kernel": rng.standard_normal((2, 4)),
               "bi.backward.recurrent_kernel": rng.standard_normal((1, 4)),
               "bi.backward.bias": rng.standard_normal(4)}
    weights = {k: v.astype(np.float32) for k, v in weights.items()}
    for name, flags, libver in [("keras", [], None),
                                ("keras-model", ["full_model", "split_attributes"], None),
                                ("keras-vlen", ["vlen_strings"], None),
                                ("keras-latest", [], "latest")]:
        args = argparse.Namespace(full_model=False, split_attributes=False,
                                  vlen_strings=False)
        for flag in flags:
            setattr(args, flag, True)
        with h5py.File(os.path.join(out, name + ".h5"), "w", libver=libver) as f:
            write_keras(f, weights, args)
        np.savez(os.path.join(out, name + ".npz"), **weights)


def keras_scopes_case(out, rng):
    """Keras weight names beyond a layer's own scope: a nested layer's
    (MultiHeadAttention's query/key/value, kept), an outer name scope
    (dropped through the layer's name), and variables whose scope is not
    the layer's name (the first component dropped)."""
    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    layers = {"mha": [("mha/query/kernel:0", w(4, 2, 2)),
                      ("mha/key/kernel:0", w(4, 2, 2))],
              "dense_x": [("my_model/dense_x/kernel:0", w(3, 2)),
                          ("my_model/dense_x/bias:0", w(2))],
              "dense_2": [("dense/kernel:0", w(2, 2))],
              "encoder": [("encoder/embedding/embeddings:0", w(5, 3))]}
    expected = {"mha.query.kernel": layers["mha"][0][1],
                "mha.key.kernel": layers["mha"][1][1],
                "dense_x.kernel": layers["dense_x"][0][1],
                "dense_x.bias": layers["dense_x"][1][1],
                "dense_2.kernel": layers["dense_2"][0][1],
                "encoder.embedding.embeddings": layers["encoder"][0][1]}
    args = argparse.Namespace(full_model=False, split_attributes=False,
                              vlen_strings=False)
    with h5py.File(os.path.join(out, "keras-scopes.h5"), "w") as f:
        write_keras_layers(f, layers, args)
    np.savez(os.path.join(out, "keras-scopes.npz"), **expected)


def compact(f, name, array):
    """A dataset whose data is in its layout message."""
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(array.shape)
    d = h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(array.dtype),
                        space, dcpl=plist)
    d.write(h5py.h5s.ALL, h5py.h5s.ALL, array)


def plain_cases(out, rng):
    for name, libver in [("plain", None), ("plain-latest", "latest")]:
        expected = {}
        with h5py.File(os.path.join(out, name + ".h5"), "w", libver=libver) as f:
            def put(path, array, **kwargs):
                f.create_dataset(path, data=array, **kwargs)
                expected[path.replace("/", ".")] = np.asarray(array, np.float32)
            put("g/w", rng.standard_normal((3, 4)).astype("<f4"))
            put("g/h/half", rng.standard_normal(3).astype("<f2"))
            put("g/h/big", rng.standard_normal((2, 2)).astype(">f8"))
            put("g/h/big32", rng.standard_normal(3).astype(">f4"))
            for t in ("<i8", "<i4", "<i2", "i1", "u1", ">i4"):
                put("ints/" + t.strip("<>") + ("be" if t[0] == ">" else ""),
                    np.arange(-3, 3).astype(t) if t != "u1" else
                    np.arange(250, 256).astype(t))
            put("mask", np.array([True, False, True]))
            put("scalar", np.float32(2.5))
            put("empty", np.zeros((0, 3), np.float32))
            if libver is None:
                put("chunked", rng.standard_normal((9, 8)), compression="gzip",
                    shuffle=True, fletcher32=True, chunks=(4, 3))
                put("chunked1", rng.standard_normal(10).astype(np.float32),
                    compression="gzip", chunks=(3,))
                # Checksums alone: over 7 bytes (an odd count) and 16.
                put("checksummed8", np.arange(7, dtype=np.uint8),
                    fletcher32=True, chunks=(7,))
                put("checksummed32", np.arange(10, dtype="<f4") - 4.5,
                    fletcher32=True, chunks=(4,))
            c = np.arange(4, dtype=np.int16)
            compact(f, "compact", c)
            expected["compact"] = c.astype(np.float32)
            f.attrs["names"] = np.asarray([b"a", b"bc"])
            f.attrs["text"] = "variable-length"
        np.savez(os.path.join(out, name + ".npz"), **expected)


def keras3_case(out, rng):
    """Keras 3's .weights.h5 structure (variables by index): an error case,
    so no .npz."""
    with h5py.File(os.path.join(out, "keras3.h5"), "w") as f:
        f.create_dataset("layers/dense/vars/0", data=rng.standard_normal((3, 2)))
        f.create_dataset("layers/dense/vars/1", data=rng.standard_normal(2))
        f.create_group("optimizer/vars")


def linked_case(out, rng):
    """A group linked twice (`g` and `h`) and into itself (`g/self`): read
    once, through its first link (`g`, in name order)."""
    w = rng.standard_normal((2, 3)).astype(np.float32)
    with h5py.File(os.path.join(out, "linked.h5"), "w") as f:
        f.create_dataset("g/w", data=w)
        f["h"] = f["g"]
        f["g/self"] = f["g"]
    np.savez(os.path.join(out, "linked.npz"), **{"g.w": w})


def corrupt_chunk_case(out, rng):
    """A deflated chunk with two of its bytes flipped, and checksummed
    chunks with a byte flipped: error cases."""
    path = os.path.join(out, "corrupt-chunk.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("w", data=rng.standard_normal((20, 20)).astype(np.float32),
                         compression="gzip", chunks=(20, 20))
        offset = f["w"].id.get_chunk_info(0).byte_offset
    data = bytearray(open(path, "rb").read())
    data[offset + 10] ^= 0xFF
    data[offset + 11] ^= 0x55
    open(path, "wb").write(bytes(data))
    # Checksummed chunks (fletcher32, no compression: every byte reaches the
    # checksum): one with a byte flipped in its data, one in its checksum;
    # the file's other chunks stay as written.
    for name, where in (("corrupt-checksummed.h5", 7), ("corrupt-checksum.h5", -2)):
        path = os.path.join(out, name)
        with h5py.File(path, "w") as f:
            f.create_dataset("w", data=rng.standard_normal((6, 5)).astype(np.float32),
                             fletcher32=True, chunks=(3, 5))
            info = f["w"].id.get_chunk_info(1)
        data = bytearray(open(path, "rb").read())
        data[info.byte_offset + (where if where >= 0 else info.size + where)] ^= 0x10
        open(path, "wb").write(bytes(data))


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    keras_cases(out, rng)
    keras_scopes_case(out, rng)
    plain_cases(out, rng)
    keras3_case(out, rng)
    linked_case(out, rng)
    corrupt_chunk_case(out, rng)


if __name__ == "__main__":
    main(sys.argv[1])
