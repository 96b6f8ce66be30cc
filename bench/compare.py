#!/usr/bin/python3
"""Heed, PyTorch eager and ONNX Runtime side by side, one thread, the same
weights and inputs for all three (issue 14's table).

    bash bench/compare.sh [BUILD_DIR] [ROW ...]

(compare.sh installs onnxruntime-node from the npm registry into
BUILD_DIR/bench/ort on first use and builds bench/peaks.cpp.) For each row
the PyTorch model (tools/reference/, or a few lines here for the bare
layers) makes the weights and the reference outputs; torch.onnx.export
writes the ONNX graph (opset 13; loops unrolled by tracing), which ORT
runs only after its outputs match PyTorch's (bench/ort_run.js); Heed runs
the model file on the state_dict, and its outputs are checked against
PyTorch's too. Prints a Markdown table of medians (µs) and ratios."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from tensorio import save_safetensors  # noqa: E402
import date_translation  # noqa: E402
import dates  # noqa: E402
import nmt  # noqa: E402
import tacotron2_attention as tacotron  # noqa: E402
import trigger_word  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_eager import median_us  # noqa: E402


# --- the bare layers of the table -----------------------------------

class Glu(nn.Module):
    def __init__(self, d=512):
        super().__init__()
        self.feed_forward = nn.Linear(d, 2 * d)

    def forward(self, x):
        return F.glu(self.feed_forward(x), dim=-1)


class EncoderBlock(nn.Module):
    """nn.TransformerEncoderLayer (post-norm, ReLU) under the attribute
    `encoder`, as bench/models/transformer.heed binds it."""
    def __init__(self, d=256, heads=4, ff=1024):
        super().__init__()
        self.encoder = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0,
                                                  batch_first=True)

    def forward(self, x):
        return self.encoder(x)


class SelfAttention(nn.Module):
    def __init__(self, d=512, heads=8):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(d, heads, batch_first=True)

    def forward(self, x):
        return self.self_attention(x, x, x, need_weights=False)[0]


class ScaledDot(nn.Module):
    def forward(self, q, k, v):
        return torch.softmax(q @ k.transpose(1, 2) / 8.0, -1) @ v


class Tacotron(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(2002)
        self.m = tacotron.LocationSensitiveAttention()

    def forward(self, memory, lengths, queries):
        return tacotron.run(self.m, memory, lengths, queries, False, True, None)

    def state_dict(self, *args, **kwargs):
        return self.m.state_dict(*args, **kwargs)


class NmtGreedy(nn.Module):
    """The reference's decoder step, decoding every step (no early stop:
    the bench's sentences never emit <end>), as tensors so that tracing
    keeps the argmax feeding the next step."""
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, source):
        n = self.net
        enc_output, enc_hidden = n.encoder(n.enc_embedding(source))
        hidden = enc_hidden[0]
        token = torch.full((source.shape[0],), nmt.START, dtype=torch.long)
        tokens = []
        for _ in range(n.max_len):
            logits, hidden, _ = n.decoder(token, hidden, enc_output)
            token = torch.argmax(logits, -1)
            tokens.append(token)
        return torch.stack(tokens, 1)

    def state_dict(self, *args, **kwargs):
        return self.net.state_dict(*args, **kwargs)


# --- rows ---------------------------------------------------------------------
# name -> function(batch) returning a dict: module, torch inputs (tuple),
# input names, output names (torch order), heed model, heed inputs
# {name: array}, heed options, heed outputs to check (heed name -> torch
# output index).

def glu_row(batch):
    torch.manual_seed(0)
    return dict(module=Glu(), args=(torch.randn(batch, 16, 512),), inputs=["x"],
                outputs=["y"], model="bench/models/glu.heed",
                heed_inputs=lambda a: {"x": a[0]}, options=["--dim", "T=16"],
                check={"y": 0})


def mha_row(batch):
    torch.manual_seed(0)
    return dict(module=SelfAttention(), args=(torch.randn(batch, 16, 512),),
                inputs=["x"], outputs=["y"], model="bench/models/mha.heed",
                heed_inputs=lambda a: {"x": a[0]}, options=["--dim", "T=16"],
                check={"y": 0})


def transformer_row(batch):
    torch.manual_seed(0)
    return dict(module=EncoderBlock(), args=(torch.randn(batch, 128, 256),),
                inputs=["x"], outputs=["y"], model="bench/models/transformer.heed",
                heed_inputs=lambda a: {"x": a[0]}, options=["--dim", "T=128"],
                check={"y": 0})


def transformer_attention_row(batch):
    """The attention path of bench/models/transformer.heed's block alone:
    nn.MultiheadAttention(256, 4) (in-projection, 4-D scaled dot-product
    attention over [B, 4, 128, 64], out-projection)."""
    torch.manual_seed(0)
    return dict(module=SelfAttention(256, 4), args=(torch.randn(batch, 128, 256),),
                inputs=["x"], outputs=["y"], model="bench/models/mha.heed",
                heed_inputs=lambda a: {"x": a[0]},
                options=["--dim", "T=128", "--param", "D=256", "--param", "HEADS=4"],
                check={"y": 0})


def sdpa_row(batch):  # batch × 8 heads as the batch axis, 16 × 16 × 64
    torch.manual_seed(0)
    q, k, v = (torch.randn(batch * 8, 16, 64) for _ in range(3))
    return dict(module=ScaledDot(), args=(q, k, v), inputs=["q", "k", "v"],
                outputs=["context"], model="examples/scaled_dot_attention/model.heed",
                heed_inputs=lambda a: {"q": a[0], "k": a[1], "v": a[2]},
                options=["--dim", "T=16"], check={"context": 0})


def full_length_sources(net, config, batch):
    """`batch` random sentences that the model decodes for all max_len steps
    without <end>, so every row does the same work in Heed (which stops a
    row at <end>) and in the traced graph (which cannot)."""
    g = torch.Generator().manual_seed(7)
    rows = []
    with torch.no_grad():
        while len(rows) < batch:
            source = torch.randint(3, config["vocab_in"], (1, config["tx"]), generator=g)
            if len(net.translate(source)[0]) == config["max_len"]:
                rows.append(source)
    return torch.cat(rows)


def nmt_row(config, params):
    def make(batch):
        net = nmt.make_model(config)
        if config is nmt.SEED:  # the reference's sentence, batch times
            source = nmt.seed_size_source(net).repeat(batch, 1)
        else:
            source = full_length_sources(net, config, batch)
        options = []
        for k, v in params.items():
            options += ["--param", "%s=%d" % (k, config[v])]
        return dict(module=NmtGreedy(net), args=(source,), inputs=["source"],
                    outputs=["tokens"], model="examples/nmt/model.heed",
                    heed_inputs=lambda a: {"source": a[0].astype(np.float32)},
                    options=options, check={"tokens": 0})
    return make


NMT_SEED_PARAMS = {"VOCAB_IN": "vocab_in", "VOCAB": "vocab_out", "EMBED": "embed",
                   "UNITS": "units", "MAX_LEN": "max_len"}


def tacotron_row(batch):  # 10 queries over 200 memory steps
    memory, lengths, queries = tacotron.make_inputs(batch, 200, 10)
    return dict(module=Tacotron(), args=(memory, lengths.long(), queries),
                inputs=["memory", "lengths", "queries"],
                outputs=["contexts", "alignment_history"],
                model="examples/tacotron2_attention/model.heed",
                heed_inputs=lambda a: {"memory": a[0], "lengths": a[1].astype(np.float32),
                                       "queries": a[2]},
                options=[], check={"contexts": 0, "alignment_history": 1})


def trigger_row(batch):
    torch.manual_seed(5)
    x = torch.rand(batch, trigger_word.TX, trigger_word.N_FREQ)
    return dict(module=trigger_word.make_model(), args=(x,), inputs=["X"],
                outputs=["y"], model="examples/trigger_word/model.heed",
                heed_inputs=lambda a: {"X": a[0]}, options=[], check={"y": 0})


def date_row(batch):
    torch.manual_seed(0)
    x = torch.zeros(batch, dates.TX, len(dates.HUMAN_VOCAB))
    x[:, :, 0] = 1
    s0 = torch.zeros(batch, date_translation.N_S)
    return dict(module=date_translation.DateTranslator().eval(), args=(x, s0, s0),
                inputs=["X", "s0", "c0"], outputs=["y", "attention"],
                model="examples/date_translation/model.heed",
                heed_inputs=lambda a: {"X": a[0], "s0": a[1], "c0": a[2]},
                options=[], check={"y": 0, "attention": 1})


ROWS = [
    ("GLU (two 512→512 dense), x [B, 16, 512]", glu_row, [32, 1]),
    ("multi-head self-attention d512 h8, [B, 16, 512]", mha_row, [32, 1]),
    ("scaled dot-product, B × 8 heads × 16 × 16 × 64", sdpa_row, [32, 1]),
    ("NMT GRU+Bahdanau, seed sizes, 20 steps", nmt_row(nmt.SEED, NMT_SEED_PARAMS), [1, 32]),
    ("NMT units 128, 10 steps", nmt_row(nmt.SMALL, {}), [32, 1]),
    ("Tacotron2 attention, 10 queries over 200", tacotron_row, [32, 1]),
    ("trigger word", trigger_row, [1, 32]),
    ("date translator", date_row, [1, 32]),
    ("transformer encoder layer d256 h4 ff1024, [B, 128, 256]", transformer_row, [1, 32]),
    ("its attention path: multi-head self-attention d256 h4, [B, 128, 256]",
     transformer_attention_row, [1, 32]),
]


def write_raw(tmp, name, array):
    f = name + ".bin"
    np.ascontiguousarray(array).tofile(os.path.join(tmp, f))
    return {"name": name, "file": f, "shape": list(array.shape),
            "dtype": "int64" if array.dtype == np.int64 else "float32"}


def run_row(build, ort_modules, title, make, batch, tmp, atol, rtol):
    row = make(batch)
    module = row["module"].eval()
    args = row["args"]
    torch.set_num_threads(1)
    with torch.no_grad():
        outs = module(*args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        torch_us = median_us(lambda: module(*args))
    arrays = [a.numpy() for a in args]
    # Heed: the state_dict as it is, the same inputs.
    weights = os.path.join(tmp, "weights.safetensors")
    save_safetensors(weights, {k: v.detach().numpy().astype(np.float32)
                               for k, v in module.state_dict().items()
                               if not k.endswith("num_batches_tracked")})
    heed_in = os.path.join(tmp, "inputs.npz")
    np.savez(heed_in, **row["heed_inputs"](arrays))
    heed = os.path.join(build, "bin", "heed")
    common = [os.path.join(ROOT, row["model"]), "--weights", weights, "--input", heed_in,
              "--threads", "1"] + row["options"]
    out_file = os.path.join(tmp, "heed_out.npz")
    proc = subprocess.run([heed, "run"] + common + ["--output", out_file],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("%s B=%d: heed run: %s" % (title, batch, proc.stderr.strip()))
    got = np.load(out_file)
    for name, index in row["check"].items():
        want = outs[index].numpy().astype(np.float32)
        if not np.allclose(got[name], want, atol=atol, rtol=rtol):
            raise SystemExit("%s B=%d: Heed's %s differs from PyTorch (max |diff| %g)" % (
                title, batch, name, np.abs(got[name] - want).max()))
    bench = subprocess.run([heed, "bench"] + common, check=True, capture_output=True,
                           text=True).stdout
    heed_us = float(bench.split(" median ")[1].split()[0])
    # ORT: the traced graph, checked against PyTorch before it is timed.
    onnx = os.path.join(tmp, "model.onnx")
    # Traced with autograd on: nn.MultiheadAttention's inference fast path
    # (aten::_native_multi_head_attention) has no ONNX export.
    torch.onnx.export(module, args, onnx, input_names=row["inputs"],
                      output_names=row["outputs"], opset_version=13)
    manifest = {"model": "model.onnx", "atol": atol, "rtol": rtol,
                "inputs": [write_raw(tmp, n, a) for n, a in zip(row["inputs"], arrays)],
                "outputs": [write_raw(tmp, n, o.numpy())
                            for n, o in zip(row["outputs"], outs)]}
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    env = dict(os.environ, HEED_ORT_NODE_MODULES=os.path.abspath(ort_modules))
    proc = subprocess.run(["node", os.path.join(ROOT, "bench", "ort_run.js"),
                           os.path.join(tmp, "manifest.json")],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit("%s B=%d: ORT: %s" % (title, batch, proc.stderr.strip()))
    ort_us = json.loads(proc.stdout)["median_us"]
    return heed_us, torch_us, ort_us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("ort_modules")
    ap.add_argument("rows", nargs="*", help="row numbers (1-based) to run")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--rtol", type=float, default=1e-3)
    args = ap.parse_args()
    print("| work | batch | Heed (us) | PyTorch eager (us) | ORT (us) | Heed vs ORT | Heed vs PyTorch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for i, (title, make, batches) in enumerate(ROWS, 1):
        if args.rows and str(i) not in args.rows:
            continue
        for batch in batches:
            with tempfile.TemporaryDirectory() as tmp:
                heed, eager, ort = run_row(os.path.abspath(args.build), args.ort_modules,
                                           title, make, batch, tmp, args.atol, args.rtol)
            print("| %s | %d | %.1f | %.1f | %.1f | %.2fx | %.2fx |" % (
                title, batch, heed, eager, ort, ort / heed, eager / heed), flush=True)


if __name__ == "__main__":
    main()
