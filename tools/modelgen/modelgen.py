#!/usr/bin/python3
"""Random model generator for differential testing (NNSmith/Csmith style).

Each seed gives one random, valid Heed model — dense layers (some under a
submodule path), activations (GELU, exp, dropout too), elementwise chains,
math functions (sqrt, rsqrt, log, abs, pow, minimum, maximum, clip), layer
norm, matrix products
(with a bare parameter, or batched), reshapes and rank-4 permutes, stack,
sequence_mask, reductions, softmax, concatenation, GLU layers, take (steps
by per-row indices), positional encodings, Transformer encoder layers
(sequence_ops.py), Conv1D (valid and
'same' padding, strides: sequences of other lengths), batch norm,
embeddings of id inputs, attention (dot, scaled dot and additive scores;
a query row or a query sequence; lengths, causal masks, smoothing
normalization, window/monotonic constraints; Keras-style subgraphs that
Heed raises), multi-head attention (self, causal, cross), recurrent layers
(LSTM/GRU, bidirectional), time loops carrying LSTM/GRU cell states frozen
with where() and attending inside the loop (with a constraint around the
carried previous argmax), and greedy decoding loops that stop per row
(attention_ops.py, loop_ops.py) —
together with the same computation written in PyTorch, the oracle. The model runs through `heed run` under every
lowering choice that applies (fused/decomposed attention, raised or not,
each cell kind, and the GPU target's schedule run on the CPU, fused or
decomposed, and every third seed with --gpu-precision=tf32x3 too, the
flash kernel's tiles by cp.async or not in turns) at a batch
size drawn from 1, 2, 3, 4, 5, 7, 16, 33; each output must match PyTorch.
Where the CUDA toolkit's ptxas is, each model is also compiled for the GPU
(--target=cuda --emit=ptx, the precision rotating over f32, bf16 and
tf32x3 with the seeds) and its PTX assembled for sm_90.

    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --seeds 0:200
    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --time 90       # CI (2 jobs)
    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --seeds 17 --keep out/

A failing seed is written to KEEP/seed-N/ (model.heed, weights, inputs,
golden, and the heed command that fails); --seeds N reproduces it."""
import argparse
import itertools
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402
import attention_ops  # noqa: E402
import loop_ops  # noqa: E402
import sequence_ops  # noqa: E402
from values import ACTS, Scope, Value, Weight  # noqa: E402

BATCHES = [1, 2, 3, 4, 5, 7, 16, 33]


class Program:
    def __init__(self, rng, T):
        self.rng, self.T = rng, T
        self.header, self.layers, self.body = [], [], []
        self.modules = nn.ModuleDict()
        self.steps = []            # torch: functions env -> None, in order
        self.values = []           # usable values outside loops
        self.count = 0
        self.inputs = {}           # extra inputs: name -> (shape text, make(batch, g))
        self.uses_lengths = self.uses_mask = False

    def fresh(self, prefix="v"):
        self.count += 1
        return "%s%d" % (prefix, self.count)

    def layer(self, decl, module, prefix="L"):
        name = self.fresh(prefix)
        self.layers.append("layer %s = %s" % (name, decl))
        self.modules[name] = module
        return name

    def pick(self, kind=None, d=None, t=None, where=None):
        options = [v for v in self.values if v.kind != "ids" and
                   (kind is None or v.kind == kind) and (d is None or v.d == d) and
                   (t is None or v.t == t) and (where is None or where(v))]
        return self.rng.choice(options) if options else None

    def like(self, v, name, d=None, kind=None):
        """A new value of v's kind and length."""
        kind = kind or v.kind
        return Value(name, kind, v.d if d is None else d, v.t if kind == "seq" else None)

    def ids_input(self, V, shape):
        """An input of integer ids in [0, V) ([B] or [B, T])."""
        name = self.fresh("ids")
        if shape == "seq":
            self.inputs[name] = ("[B, T]", lambda b, g: torch.randint(
                0, V, (b, self.T), generator=g).float())
        else:
            self.inputs[name] = ("[B]", lambda b, g: torch.randint(
                0, V, (b,), generator=g).float())
        return name

    def emit(self, line, step, value=None):
        self.body.append(line)
        self.steps.append(step)
        if value:
            self.values.append(value)
        return value

    # ---- operations -------------------------------------------------------
    def dense(self, v=None, units=None, act=None):
        v = v or self.pick()
        units = units or self.rng.randint(2, 7)
        act = act or self.rng.choice(list(ACTS))
        decl = "dense(%d, activation=%s)" % (units, act)
        if self.rng.random() < 0.3:   # a submodule: the dotted layer L.inner
            key = self.layer(decl, Scope(nn.Linear(v.d, units)))
            self.layers[-1] = "layer %s.inner = %s" % (key, decl)
            L = key + ".inner"
            m = self.modules[key]
        else:
            L = self.layer(decl, nn.Linear(v.d, units))
            m = self.modules[L]
        out = self.like(v, self.fresh(), units)
        return self.emit("%s = %s(%s)" % (out.name, L, v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(
                             o, ACTS[act](m(env[i]))), out)

    def unary(self):
        v = self.pick()
        fn = self.rng.choice(["tanh", "sigmoid", "relu", "gelu", "exp", "dropout"])
        out = self.like(v, self.fresh())
        f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
             "gelu": nn.functional.gelu, "exp": lambda x: torch.exp(x.clamp(max=10.0)),
             "dropout": lambda x: x}[fn]
        text = {"exp": "exp(clip(%s, -1000, 10))", "dropout": "dropout(%s, 0.25)"}.get(
            fn, fn + "(%s)")
        return self.emit("%s = %s" % (out.name, text % v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(o, f(env[i])),
                         out)

    def binary(self):
        a = self.pick()
        b = self.pick(a.kind, a.d, a.t)
        op = self.rng.choice("+-*")
        out = self.like(a, self.fresh())
        if self.rng.random() < 0.3:  # with a number
            c = self.rng.choice([0.5, 2.0, -1.5])
            return self.emit("%s = %s %s %g" % (out.name, a.name, op, c),
                             lambda env, o=out.name, i=a.name: env.__setitem__(
                                 o, {"+": env[i] + c, "-": env[i] - c, "*": env[i] * c}[op]),
                             out)
        return self.emit("%s = %s %s %s" % (out.name, a.name, op, b.name),
                         lambda env, o=out.name, i=a.name, j=b.name: env.__setitem__(
                             o, {"+": env[i] + env[j], "-": env[i] - env[j],
                                 "*": env[i] * env[j]}[op]), out)

    def math_fn(self):
        """sqrt, rsqrt, log, abs, pow, minimum, maximum, clip, on values in
        their domain (PyTorch's NaN cases are in tensor-ops.test)."""
        a = self.pick()
        b = self.pick(a.kind, a.d, a.t)
        out = self.like(a, self.fresh())
        forms = {
            "sqrt(abs(%(a)s))": lambda x, y: torch.sqrt(x.abs()),
            "rsqrt(abs(%(a)s) + 0.5)": lambda x, y: torch.rsqrt(x.abs() + 0.5),
            "log(abs(%(a)s) + 1)": lambda x, y: torch.log(x.abs() + 1),
            "abs(%(a)s)": lambda x, y: x.abs(),
            "pow(abs(%(a)s), 1.5)": lambda x, y: torch.pow(x.abs(), 1.5),
            "pow(%(a)s, 2)": lambda x, y: torch.pow(x, 2),
            "pow(%(a)s, 3)": lambda x, y: torch.pow(x, 3),
            "minimum(%(a)s, %(b)s)": lambda x, y: torch.minimum(x, y),
            "maximum(%(a)s, %(b)s)": lambda x, y: torch.maximum(x, y),
            "clip(%(a)s, -0.5, 0.5)": lambda x, y: torch.clamp(x, -0.5, 0.5),
        }
        text, f = self.rng.choice(sorted(forms.items()))
        return self.emit("%s = %s" % (out.name, text % {"a": a.name, "b": b.name}),
                         lambda env, o=out.name, i=a.name, j=b.name: env.__setitem__(
                             o, f(env[i], env[j])), out)

    def layer_norm(self):
        v = self.pick()
        eps = self.rng.choice([None, 1e-3])
        affine = self.rng.random() < 0.7
        m = nn.LayerNorm(v.d, eps=eps or 1e-5, elementwise_affine=affine)
        if affine:
            with torch.no_grad():
                m.weight.normal_()
                m.bias.normal_()
        args = [] if eps is None else ["eps=%g" % eps]
        if not affine:
            args.append("elementwise_affine=0")
        L = self.layer("layer_norm(%s)" % ", ".join(args), m, "ln")
        out = self.like(v, self.fresh())
        return self.emit("%s = %s(%s)" % (out.name, L, v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(o, m(env[i])),
                         out)

    def matmul(self):
        """v @ P with a bare parameter P [d, u] (Keras layout), or a batched
        product of two sequences: a [B, T, d] @ b^T [B, d, T]."""
        a = self.pick()
        out_name = self.fresh()
        if a.kind == "seq" and self.rng.random() < 0.3:
            b = self.pick("seq", a.d, a.t)
            out = Value(out_name, "seq", a.t, a.t)
            return self.emit("%s = %s @ permute(%s, [0, 2, 1])" % (out_name, a.name, b.name),
                             lambda env, i=a.name, j=b.name: env.__setitem__(
                                 out_name, env[i] @ env[j].transpose(1, 2)), out)
        units = self.rng.randint(2, 7)
        key = self.fresh("P")
        self.layers.append("parameter %s.p: [%d, %d]" % (key, a.d, units))
        self.modules[key] = Weight(a.d, units)
        w = self.modules[key].p
        out = self.like(a, out_name, units)
        return self.emit("%s = %s @ %s.p" % (out_name, a.name, key),
                         lambda env, i=a.name: env.__setitem__(out_name, env[i] @ w), out)

    def stack(self):
        """stack(a, b, axis=1) of two [B, d] values: a sequence of 2 steps."""
        a = self.pick("vec")
        b = a and self.pick("vec", a.d)
        if not a:
            return None
        out = Value(self.fresh(), "seq", a.d, 2)
        return self.emit("%s = stack(%s, %s, axis=1)" % (out.name, a.name, b.name),
                         lambda env, i=a.name, j=b.name: env.__setitem__(
                             out.name, torch.stack([env[i], env[j]], 1)), out)

    def shuffle(self):
        """reshape and a rank-4 permute: features [g, d/g] read as [d/g, g]."""
        v = self.pick("seq", where=lambda v: v.d % 2 == 0)
        if not v:
            return None
        g = 2
        out = self.like(v, self.fresh())
        text = "%s = reshape(permute(reshape(%s, [B, %d, %d, %d]), [0, 1, 3, 2]), [B, %d, %d])" % (
            out.name, v.name, v.t, g, v.d // g, v.t, v.d)

        def step(env, i=v.name):
            x = env[i]
            b = x.shape[0]
            env[out.name] = x.reshape(b, v.t, g, v.d // g).permute(0, 1, 3, 2).reshape(b, v.t, v.d)
        return self.emit(text, step, out)

    def cumsum(self):
        """cumsum along the steps or the features."""
        v = self.pick()
        axis = 1 if v.kind == "seq" and self.rng.random() < 0.5 else -1
        out = self.like(v, self.fresh())
        return self.emit("%s = cumsum(%s, %d)" % (out.name, v.name, axis),
                         lambda env, i=v.name: env.__setitem__(
                             out.name, torch.cumsum(env[i], axis)), out)

    def pool(self):
        """max_pool1d / avg_pool1d over the steps (valid or same padding)."""
        v = self.pick("seq")
        if not v:
            return None
        k = self.rng.randint(1, min(3, v.t))
        stride = self.rng.randint(1, k)
        same = self.rng.random() < 0.5
        is_max = self.rng.random() < 0.5
        t = -(-v.t // stride) if same else (v.t - k) // stride + 1
        out = Value(self.fresh(), "seq", v.d, t)
        text = "%s = %s(%s, %d, stride=%d, padding=%s)" % (
            out.name, "max_pool1d" if is_max else "avg_pool1d", v.name, k, stride,
            "same" if same else "valid")

        def step(env, i=v.name):
            x = env[i].transpose(1, 2)
            ones = torch.ones_like(x[:, :1])
            if same:
                total = max((t - 1) * stride + k - v.t, 0)
                pad = (total // 2, total - total // 2)
                x = torch.nn.functional.pad(x, pad, value=float("-inf") if is_max else 0.0)
                ones = torch.nn.functional.pad(ones, pad)
            if is_max:
                y = torch.nn.functional.max_pool1d(x, k, stride)
            else:
                y = (torch.nn.functional.avg_pool1d(x, k, stride) /
                     torch.nn.functional.avg_pool1d(ones, k, stride))
            env[out.name] = y.transpose(1, 2)
        return self.emit(text, step, out)

    def topk(self):
        """values, indices = topk(v, k) of a [B, d] value."""
        v = self.pick("vec", where=lambda v: v.d >= 2)
        if not v:
            return None
        k = self.rng.randint(1, v.d)
        largest = self.rng.random() < 0.7
        vals, idx = Value(self.fresh(), "vec", k), Value(self.fresh(), "vec", k)
        text = "%s, %s = topk(%s, %d%s)" % (vals.name, idx.name, v.name, k,
                                          "" if largest else ", largest=0")

        def step(env, i=v.name):
            # Heed takes the first of equal values first; torch.topk leaves
            # the order of ties open, a stable sort does not.
            a, b = torch.sort(env[i], descending=largest, stable=True)
            env[vals.name], env[idx.name] = a[:, :k], b[:, :k].float()
        self.emit(text, step, vals)
        self.values.append(idx)
        return vals

    def length_mask(self):
        """A sequence zeroed past each row's length: sequence_mask."""
        v = self.pick("seq", t=self.T)
        if not v:
            return None
        self.uses_lengths = True
        out = self.like(v, self.fresh())
        return self.emit("%s = %s * reshape(sequence_mask(lengths, T), [B, T, 1])" % (
            out.name, v.name),
            lambda env, i=v.name: env.__setitem__(out.name, env[i] * (
                torch.arange(self.T)[None, :] < env["lengths"][:, None]).float()[..., None]),
            out)

    def softmax(self):
        """softmax or log_softmax over the last axis or the steps."""
        v = self.pick()
        axis = -1 if v.kind == "vec" or self.rng.random() < 0.5 else 1
        out = self.like(v, self.fresh())
        name, fn = (("log_softmax", torch.log_softmax) if self.rng.random() < 0.3
                    else ("softmax", torch.softmax))
        return self.emit("%s = %s(%s, axis=%d)" % (out.name, name, v.name, axis),
                         lambda env, o=out.name, i=v.name: env.__setitem__(
                             o, fn(env[i], axis)), out)

    def reduce(self):
        v = self.pick("seq")
        if not v:
            return None
        kind = self.rng.choice(["sum", "mean", "max"])
        f = {"sum": lambda t: t.sum(1), "mean": lambda t: t.mean(1),
             "max": lambda t: t.max(1).values}[kind]
        out = Value(self.fresh(), "vec", v.d)
        return self.emit("%s = %s(%s, axis=1)" % (out.name, kind, v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(o, f(env[i])),
                         out)

    def concat(self):
        a = self.pick()
        b = self.pick(a.kind, t=a.t)
        out = self.like(a, self.fresh(), a.d + b.d)
        return self.emit("%s = concat(%s, %s, axis=-1)" % (out.name, a.name, b.name),
                         lambda env, o=out.name, i=a.name, j=b.name: env.__setitem__(
                             o, torch.cat([env[i], env[j]], -1)), out)

    # Attention (attention_ops.py), recurrent layers and time loops
    # (loop_ops.py): functions of the Program, bound as its methods.
    additive_score = attention_ops.additive_score
    attention_call = attention_ops.attention_call
    attention = attention_ops.attention
    multi_head = attention_ops.multi_head
    keras_attention = attention_ops.keras_attention
    recurrent = loop_ops.recurrent
    loop = loop_ops.loop

    def conv1d(self):
        """Keras Conv1D over [B, t, C]: valid or TensorFlow 'same' padding,
        strides; it changes the sequence length."""
        v = self.pick("seq")
        filters, k = self.rng.randint(2, 6), self.rng.randint(1, 4)
        stride = self.rng.choice([1, 1, 2])
        same = self.rng.random() < 0.5
        k = k if same else min(k, v.t)
        bias = self.rng.random() < 0.8
        L = self.layer("conv1d(%d, %d, strides=%d, padding=%s, use_bias=%d)" % (
            filters, k, stride, "same" if same else "valid", bias),
            nn.Conv1d(v.d, filters, k, stride=stride, bias=bias), "conv")
        if same:
            t = -(-v.t // stride)
            total = max((t - 1) * stride + k - v.t, 0)
            pad = (total // 2, total - total // 2)
        else:
            t, pad = (v.t - k) // stride + 1, (0, 0)
        out = Value(self.fresh(), "seq", filters, t)
        m = self.modules[L]
        return self.emit("%s = %s(%s)" % (out.name, L, v.name),
                         lambda env, i=v.name: env.__setitem__(out.name, m(
                             nn.functional.pad(env[i].transpose(1, 2), pad)).transpose(1, 2)),
                         out)

    def batch_norm(self):
        v = self.pick()
        eps = self.rng.choice([None, 1e-5])
        m = nn.BatchNorm1d(v.d, eps=eps or 1e-3)
        with torch.no_grad():
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
            m.weight.normal_()
            m.bias.normal_()
        m.eval()
        L = self.layer("batch_norm(%s)" % ("" if eps is None else "epsilon=%g" % eps), m, "bn")
        out = self.like(v, self.fresh())

        def step(env, i=v.name):
            x = env[i]
            env[out.name] = m(x) if x.dim() == 2 else m(x.transpose(1, 2)).transpose(1, 2)
        return self.emit("%s = %s(%s)" % (out.name, L, v.name), step, out)

    def embedding(self):
        V, E = self.rng.randint(2, 9), self.rng.randint(2, 6)
        kind = self.rng.choice(["seq", "vec"])
        ids = self.ids_input(V, kind)
        L = self.layer("embedding(%d, %d)" % (V, E), nn.Embedding(V, E), "emb")
        out = Value(self.fresh(), kind, E, self.T if kind == "seq" else None)
        m = self.modules[L]
        return self.emit("%s = %s(%s)" % (out.name, L, ids),
                         lambda env: env.__setitem__(out.name, m(env[ids].long())), out)


def generate(seed):
    rng = random.Random(seed)
    T, F, Q = rng.randint(2, 7), rng.randint(2, 6), rng.randint(2, 6)
    # Every eighth seed has 33 to 64 steps: on the GPU targets a softmax's
    # attention rows, fewer than sm_90's multiprocessors, then share their
    # steps among blocks in chunks (docs/gpu.md, "Steps in chunks"). Drawn
    # apart, so that the other seeds' models stay what they were.
    if seed % 8 == 5:
        T = random.Random(seed * 8 + 1).randint(33, 64)
    p = Program(rng, T)
    p.values = [Value("x", "seq", F, T), Value("q", "vec", Q)]
    ops = [(p.dense, 4), (p.unary, 2), (p.binary, 3), (p.softmax, 1), (p.reduce, 2),
           (p.concat, 2), (p.attention, 4), (p.keras_attention, 2), (p.recurrent, 2),
           (p.loop, 2), (lambda: loop_ops.stopping_loop(p), 1), (p.multi_head, 2),
           (p.conv1d, 2), (p.batch_norm, 1), (p.embedding, 1), (p.math_fn, 2),
           (p.layer_norm, 1), (p.matmul, 2), (p.stack, 1), (p.shuffle, 1),
           (p.length_mask, 1), (p.cumsum, 1), (p.pool, 1), (p.topk, 1)]
    ops += [(lambda op=op: op(p, Value), w) for op, w in sequence_ops.OPS]
    for _ in range(rng.randint(3, 9)):
        op = rng.choices([o for o, _ in ops], [w for _, w in ops])[0]
        op()
    produced = p.values[2:] or p.values
    outputs = rng.sample(produced, min(len(produced), rng.randint(1, 3)))
    if produced[-1] not in outputs:
        outputs.append(produced[-1])
    text = ["model generated_%d(T = %d)" % (seed, T),
            "input x: [B, T, %d]" % F, "input q: [B, %d]" % Q]
    if p.uses_mask:
        text.append("input mask: [B, T]")
    if p.uses_lengths:
        text.append("input lengths: [B]")
    text += ["input %s: %s" % (name, shape) for name, (shape, _) in p.inputs.items()]
    text += p.layers + p.body + ["output out_%s = %s" % (v.name, v.name) for v in outputs]
    return p, "\n".join(text) + "\n", outputs


def make_inputs(p, batch, seed):
    g = torch.Generator().manual_seed(seed)
    env = {"x": torch.randn(batch, p.T, p.values[0].d, generator=g),
           "q": torch.randn(batch, p.values[1].d, generator=g)}
    if p.uses_mask:
        env["mask"] = (torch.rand(batch, p.T, generator=g) > 0.3).float()
    if p.uses_lengths:
        env["lengths"] = torch.randint(1, p.T + 1, (batch,), generator=g).float()
    for name, (_, make) in p.inputs.items():
        env[name] = make(batch, g)
    return env


def check(build, seed, keep, atol=1e-4, rtol=1e-4):
    torch.manual_seed(seed)
    p, text, outputs = generate(seed)
    batch = random.Random(seed * 7919 + 1).choice(BATCHES)
    env = make_inputs(p, batch, seed)
    inputs = {k: v.numpy() for k, v in env.items()}
    with torch.no_grad():
        for step in p.steps:
            step(env)
    golden = {"out_" + v.name: env[v.name].numpy() for v in outputs}
    heed = os.path.join(build, "bin", "heed")
    # Cells in loops, and recurrent layers with lengths (loops of cells).
    cells = (["fused", "onednn", "auto"] if "_cell(" in text or "lengths=lengths)" in text
             else ["auto"])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {"model": os.path.join(tmp, "model.heed"),
                 "weights": os.path.join(tmp, "weights.safetensors"),
                 "inputs": os.path.join(tmp, "inputs.npz"),
                 "golden": os.path.join(tmp, "golden.npz")}
        open(files["model"], "w").write(text)
        save_safetensors(files["weights"], state_dict_numpy(p.modules))
        np.savez(files["inputs"], **inputs)
        np.savez(files["golden"], **golden)
        runs = [c + ("cpu", []) for c in itertools.product(
            ["fused", "decomposed"], [True, False], cells)]
        # The GPU target's lowering, its loop nests and kernels mapped onto
        # blocks and threads, run on the CPU (raised or not; dot-product
        # attention through the flash kernel's body or decomposed).
        runs += [("decomposed", r, "fused", "gpu-schedule-on-cpu", [])
                 for r in (True, False)]
        runs += [("fused", True, "fused", "gpu-schedule-on-cpu", [])]
        # Every third seed, the same with the products and dot-product
        # attention on tensor cores in f32 (tf32x3, about f32's precision:
        # the same golden), the flash kernel's tiles by cp.async or staged
        # through registers, in turns.
        if seed % 3 == 1:
            runs += [("fused", True, "fused", "gpu-schedule-on-cpu",
                      ["--gpu-precision=tf32x3",
                       "--gpu-async-copy=%s" % ("true" if seed % 2 else "false")])]
        for index, (attention, raise_, cell, target, extra) in enumerate(runs):
            # Thread counts rotate over the runs (and the seeds).
            threads = 1 + (index + seed) % 3
            # So do the dense-layer lowerings, on another period.
            dense = ["auto", "generated", "onednn"][(2 * index + seed) % 3]
            out = os.path.join(tmp, "out.npz")
            cmd = [heed, "run", files["model"], "--weights", files["weights"],
                   "--input", files["inputs"], "--output", out,
                   "--attention=" + attention, "--cell=" + cell,
                   "--dense=" + dense, "--threads=%d" % threads,
                   "--target=" + target]
            if not raise_:
                cmd.append("--no-raise")
            cmd += extra
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                failures.append((cmd, "exit %d: %s" % (proc.returncode,
                                                       proc.stderr.strip()[-800:])))
                continue
            got = np.load(out)
            for key, want in golden.items():
                if got[key].shape != want.shape:
                    failures.append((cmd, "%s: shape %s, PyTorch %s" % (
                        key, got[key].shape, want.shape)))
                elif not np.allclose(got[key], want, atol=atol, rtol=rtol,
                                     equal_nan=True):
                    diff = np.abs(got[key] - want).max()
                    failures.append((cmd, "%s differs from PyTorch (max |diff| %g)"
                                     % (key, diff)))
        ptxas = os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")
        if os.access(ptxas, os.X_OK):
            precision = ["f32", "bf16", "tf32x3"][seed % 3]
            ptx = os.path.join(tmp, "model.ptx")
            cmd = [heed, "compile", files["model"], "--target=cuda", "--emit=ptx",
                   "--dim=B=%d" % batch, "--gpu-precision=" + precision, "-o", ptx]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode == 0:
                cmd = [ptxas, "-arch=sm_90", ptx, "-o", os.devnull]
                proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                failures.append((cmd, "exit %d: %s" % (proc.returncode,
                                                       proc.stderr.strip()[-800:])))
        if failures and keep:
            where = os.path.join(keep, "seed-%d" % seed)
            os.makedirs(where, exist_ok=True)
            for f in files.values():
                os.replace(f, os.path.join(where, os.path.basename(f)))
            with open(os.path.join(where, "failures.txt"), "w") as f:
                for cmd, why in failures:
                    f.write(" ".join(cmd).replace(tmp, where) + "\n  " + why + "\n")
    return batch, len(runs), failures, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seeds", default="0:100", help="N or A:B")
    ap.add_argument("--time", type=float, help="stop starting seeds after this many seconds")
    ap.add_argument("--keep", help="write failing seeds here")
    ap.add_argument("--print", action="store_true", help="print each model")
    ap.add_argument("--jobs", type=int, default=2, help="seeds checked at once")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    # Every parallel loop of a run with threads to spare goes to the pool.
    os.environ["HEED_PARALLEL_LOOP_MIN_US"] = "0"
    torch.set_num_threads(1)
    a, _, b = args.seeds.partition(":")
    seeds = iter(range(int(a), int(b)) if b else [int(a)])
    start, runs, failed_seeds, count = time.time(), 0, [], 0
    # Seeds run in --jobs processes (each its own torch RNG, seeded by its
    # seed); a seed's runs one at a time within it. A seed's result does not
    # depend on the others or on the order they finish in.
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        pending = {}

        def submit():
            if args.time and time.time() - start > args.time:
                return
            seed = next(seeds, None)
            if seed is not None:
                pending[pool.submit(check, os.path.abspath(args.build), seed, args.keep)] = seed

        for _ in range(args.jobs):
            submit()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                seed = pending.pop(future)
                batch, n, failures, text = future.result()
                submit()
                count += 1
                runs += n
                if args.print:
                    print(text)
                if failures:
                    failed_seeds.append(seed)
                    print("FAIL seed %d (batch %d):" % (seed, batch))
                    print("  " + text.replace("\n", "\n  "))
                    for cmd, why in failures[:4]:
                        print("  " + " ".join(cmd) + "\n    " + why)
    print("modelgen: %d models, %d runs in %.0f s; %d passed, %d failed%s" % (
        count, runs, time.time() - start, count - len(failed_seeds), len(failed_seeds),
        (" (seeds %s)" % sorted(failed_seeds)) if failed_seeds else ""))
    return 1 if failed_seeds else 0


if __name__ == "__main__":
    sys.exit(main())
