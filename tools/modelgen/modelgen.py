#!/usr/bin/python3
"""Random model generator for differential testing (NNSmith/Csmith style).

Each seed gives one random, valid Heed model — dense layers (some under a
submodule path), activations (GELU, exp, dropout too), elementwise chains,
math functions (sqrt, rsqrt, log, abs, pow, minimum, maximum, clip), layer
norm, matrix products
(with a bare parameter, or batched), reshapes and rank-4 permutes, stack,
sequence_mask, reductions, softmax, concatenation, GLU layers, take (steps
by per-row indices), positional encodings, Transformer encoder layers
(tools/modelgen/sequence_ops.py), Conv1D (valid and
'same' padding, strides: sequences of other lengths), batch norm,
embeddings of id inputs, attention (dot, scaled dot and additive scores;
a query row or a query sequence; lengths, causal masks, smoothing
normalization, window/monotonic constraints; Keras-style subgraphs that
Heed raises), multi-head attention (self, causal, cross), recurrent layers
(LSTM/GRU, bidirectional), time loops carrying LSTM/GRU cell states frozen
with where() and attending inside the loop (with a constraint around the
carried previous argmax), and greedy decoding loops that stop per row —
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
import sequence_ops  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

BATCHES = [1, 2, 3, 4, 5, 7, 16, 33]
ACTS = {"none": lambda v: v, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "relu": torch.relu}


class Scope(nn.Module):
    """A module under a submodule path (`L3.inner.weight`): Heed binds it as
    the dotted layer `L3.inner`."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *args):
        return self.inner(*args)


class Weight(nn.Module):
    """A bare nn.Parameter at `P3.p`: Heed's `parameter P3.p: [...]`."""

    def __init__(self, *shape):
        super().__init__()
        self.p = nn.Parameter(torch.randn(*shape) * 0.5)


class Value:
    """A tensor of the program: [B, t, d] ('seq', t steps: the model's T
    unless a conv1d changed it) or [B, d] ('vec')."""

    def __init__(self, name, kind, d, t=None):
        self.name, self.kind, self.d = name, kind, d
        self.t = t


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

    def additive_score(self, dq, dk):
        units = self.rng.randint(2, 6)
        W = self.layer("dense(%d)" % units, nn.Linear(dk, units))
        U = self.layer("dense(%d)" % units, nn.Linear(dq, units))
        V = self.layer("dense(1)", nn.Linear(units, 1))
        name = self.fresh("score")
        self.layers.append("score %s(qq, kk) = %s(tanh(%s(kk) + %s(qq)))" % (name, V, W, U))
        mW, mU, mV = self.modules[W], self.modules[U], self.modules[V]

        def energies(q, k):   # q [B, Dq] -> [B, T]; q [B, Tq, Dq] -> [B, Tq, T]
            if q.dim() == 2:
                return mV(torch.tanh(mW(k) + mU(q).unsqueeze(1))).squeeze(-1)
            return mV(torch.tanh(mW(k).unsqueeze(1) + mU(q).unsqueeze(2))).squeeze(-1)
        return name, energies

    def attention_call(self, q, k, v, lengths, score=None, causal=False,
                       smoothing=False, constraint=None, hard=False):
        """(heed expression text, torch function env -> (context, weights)).
        constraint: (window|monotonic, w, name of the [B] previous argmax) or
        (local_m|local_p, half-width D, name of the [B] position)."""
        kind = score or self.rng.choice(["dot", "scaled_dot", "additive"])
        if kind != "additive" and q.d != k.d:
            kind = "additive"
        if kind == "additive":
            name, f = self.additive_score(q.d, k.d)
        else:
            name = kind
            scale = 1 / np.sqrt(k.d) if kind == "scaled_dot" else 1.0
            f = lambda qq, kk: torch.einsum(  # noqa: E731
                "bd,btd->bt" if qq.dim() == 2 else "bqd,btd->bqt", qq, kk) * scale
        args = "%s, %s, %s, score=%s" % (q.name, k.name, v.name, name)
        if lengths:
            args += ", lengths=lengths"
            self.uses_lengths = True
        if causal:
            args += ", causal=1"
        if smoothing:
            args += ", normalization=smoothing"
        local = constraint and constraint[0].startswith("local")
        if constraint:
            args += (", constraint=%s, window=%d, position=%s" if local else
                     ", constraint=%s, window=%d, previous=%s") % constraint
        if hard:
            args += ", hard=1"
        T = k.t

        def run(env, qn=q.name, kn=k.name, vn=v.name):
            e = f(env[qn], env[kn])
            t = torch.arange(T)
            if constraint and not local:  # seed 002: disallowed energies -2^32 + 1
                how, w, prev = constraint
                p = env[prev].long().unsqueeze(1)
                if how == "window":
                    allowed = (t >= p - (w + 1) // 2) & (t < p + w // 2)
                else:
                    allowed = (t >= p) & (t < p + w)
                e = torch.where(allowed, e, torch.full_like(e, -2.0 ** 32 + 1))
            valid = torch.ones(e.shape, dtype=torch.bool)
            if lengths:
                keys = t.unsqueeze(0) < env["lengths"].unsqueeze(1)
                valid &= keys if e.dim() == 2 else keys.unsqueeze(1)
            if causal:
                valid &= t.unsqueeze(0) <= torch.arange(e.shape[1]).unsqueeze(1)
            if local:   # Luong: only |t - p| <= D takes part
                valid &= (t.unsqueeze(0) - env[constraint[2]].unsqueeze(1)).abs() <= constraint[1]
            e = e.masked_fill(~valid, float("-inf"))
            if smoothing:    # a row whose sigmoids are all 0 gets zeros (docs/language.md)
                s = torch.sigmoid(e)
                total = s.sum(-1, keepdim=True)
                w = torch.where(total > 0, s / total, torch.zeros_like(s))
            else:
                w = torch.softmax(e, -1)
            w = torch.where(valid.any(-1, keepdim=True), w, torch.zeros_like(w))
            if local and constraint[0] == "local_p":
                sigma = constraint[1] / 2
                w = w * torch.exp(-(t.unsqueeze(0) - env[constraint[2]].unsqueeze(1)) ** 2
                                  / (2 * sigma ** 2))
            if hard:    # the value at the first maximum (zero if none)
                first = nn.functional.one_hot(w.argmax(-1), T).float()
                first = first * (w.max(-1, keepdim=True).values > 0)
                w_ctx = first
            else:
                w_ctx = w
            if w.dim() == 2:
                return torch.einsum("bt,btd->bd", w_ctx, env[vn]), w
            return torch.einsum("bqt,btd->bqd", w_ctx, env[vn]), w
        return "attention(%s)" % args, run

    def attention(self):
        """One attention op: a query row or a query sequence (causal or
        not), any score, lengths, smoothing, a window/monotonic constraint."""
        k = self.pick("seq")
        sequence = self.rng.random() < 0.3
        q = self.pick("seq" if sequence else "vec")
        if not k or not q:
            return None
        v = self.pick("seq", t=k.t)
        lengths = k.t == self.T and self.rng.random() < 0.5
        causal = sequence and self.rng.random() < 0.5
        smoothing = self.rng.random() < 0.25
        constraint = None
        if not sequence and self.rng.random() < 0.25:
            constraint = (self.rng.choice(["window", "monotonic"]),
                          self.rng.randint(1, min(4, k.t)), self.ids_input(k.t, "vec"))
        elif not sequence and self.rng.random() < 0.25:
            how = self.rng.choice(["local_m", "local_p"])
            if how == "local_m":
                position = self.ids_input(k.t, "vec")
            else:  # a real-valued predicted position in [0, T)
                position = self.fresh("pos")
                self.inputs[position] = ("[B]", lambda b, g, t=k.t: torch.rand(
                    b, generator=g) * t)
            constraint = (how, self.rng.randint(1, 3), position)
        hard = self.rng.random() < 0.15
        text, run = self.attention_call(q, k, v, lengths, causal=causal,
                                        smoothing=smoothing, constraint=constraint,
                                        hard=hard)
        if sequence:
            ctx = Value(self.fresh(), "seq", v.d, q.t)
            w = Value(self.fresh(), "seq", k.t, q.t)
        else:
            ctx, w = Value(self.fresh(), "vec", v.d), Value(self.fresh(), "vec", k.t)

        def step(env):
            env[ctx.name], env[w.name] = run(env)
        self.emit("%s, %s = %s" % (ctx.name, w.name, text), step, ctx)
        self.values.append(w)
        return ctx

    def multi_head(self):
        """multi_head_attention: self (optionally causal), (q, kv) or
        (q, k, v), keys masked by lengths; nn.MultiheadAttention is the oracle."""
        q = self.pick("seq")
        d = q.d
        heads = self.rng.choice([h for h in range(1, d + 1) if d % h == 0])
        mode = self.rng.choice(["self", "self", "kv", "kvv"])
        k = q if mode == "self" else self.pick("seq", d=d)
        v = k if mode != "kvv" else self.pick("seq", d=d, t=k.t)
        causal = mode == "self" and self.rng.random() < 0.5
        lengths = k.t == self.T and self.rng.random() < 0.5
        L = self.layer("multi_head_attention(%d, heads=%d, causal=%d)" % (d, heads, causal),
                       nn.MultiheadAttention(d, heads, batch_first=True), "mha")
        args = {"self": q.name, "kv": "%s, %s" % (q.name, k.name),
                "kvv": "%s, %s, %s" % (q.name, k.name, v.name)}[mode]
        if lengths:
            args += ", lengths=lengths"
            self.uses_lengths = True
        out = self.like(q, self.fresh())
        m = self.modules[L]

        def step(env):
            kw = {"need_weights": False}
            if lengths:
                kw["key_padding_mask"] = (torch.arange(k.t).unsqueeze(0) >=
                                          env["lengths"].unsqueeze(1))
            if causal:
                kw["attn_mask"] = torch.ones(q.t, k.t, dtype=torch.bool).triu(1)
            env[out.name] = m(env[q.name], env[k.name], env[v.name], **kw)[0]
        return self.emit("%s = %s(%s)" % (out.name, L, args), step, out)

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

    def keras_attention(self):
        """softmax(dense(tanh(dense(concat(repeat(q, T), k)))), axis=1)
        weighting values: Heed raises it to one attention op."""
        k, q = self.pick("seq", t=self.T), self.pick("vec")
        if not k or not q:
            return None
        v = self.pick("seq", t=self.T)
        units = self.rng.randint(2, 6)
        H = self.layer("dense(%d, activation=tanh)" % units, nn.Linear(q.d + k.d, units))
        E = self.layer("dense(1)", nn.Linear(units, 1))
        mH, mE = self.modules[H], self.modules[E]
        out = Value(self.fresh(), "vec", v.d)
        alphas = self.fresh("alphas")
        line = ("%s = softmax(%s(%s(concat(repeat(%s, T), %s, axis=-1))), axis=1)\n"
                "%s = sum(%s * %s, axis=1)" % (alphas, E, H, q.name, k.name,
                                               out.name, alphas, v.name))

        def step(env, qn=q.name, kn=k.name, vn=v.name):
            cat = torch.cat([env[qn].unsqueeze(1).expand(-1, self.T, -1), env[kn]], -1)
            a = torch.softmax(mE(torch.tanh(mH(cat))), 1)
            env[out.name] = (a * env[vn]).sum(1)
        return self.emit(line, step, out)

    def recurrent(self):
        v = self.pick("seq")
        H = self.rng.randint(2, 6)
        cell = self.rng.choice(["lstm", "gru"])
        mode = self.rng.choice(["forward", "concat", "sum", "last"])
        Module = nn.LSTM if cell == "lstm" else nn.GRU
        if mode in ("concat", "sum"):
            decl = "bidirectional(%s(%d, return_sequences=1), merge=%s)" % (cell, H, mode)
            m = Module(v.d, H, batch_first=True, bidirectional=True)
        else:
            decl = "%s(%d, return_sequences=%d)" % (cell, H, mode == "forward")
            m = Module(v.d, H, batch_first=True)
        L = self.layer(decl, m)
        kind = "vec" if mode == "last" else "seq"
        out = self.like(v, self.fresh(), 2 * H if mode == "concat" else H, kind)
        # Per-row lengths: PyTorch's packed sequences.
        packed = v.t == self.T and self.rng.random() < 0.4
        self.uses_lengths |= packed

        def step(env, i=v.name):
            if packed:
                x = pack_padded_sequence(env[i], env["lengths"].long(), batch_first=True,
                                         enforce_sorted=False)
                y, h = self.modules[L](x)
                y = pad_packed_sequence(y, batch_first=True, total_length=self.T)[0]
                h = h[0] if cell == "lstm" else h
            else:
                y, h = self.modules[L](env[i])
                h = h[0] if cell == "lstm" else h
            if mode == "sum":
                y = y[..., :H] + y[..., H:]
            elif mode == "last":
                y = h[0]  # the final state: the output at each row's length
            env[out.name] = y
        call = "%s(%s, lengths=lengths)" if packed else "%s(%s)"
        return self.emit("%s = %s" % (out.name, call % (L, v.name)), step, out)

    def loop(self):
        """A decoder-style loop: per step a cell over x_t (and an attention
        context with the state as query, optionally under a window or
        monotonic constraint around the previous step's argmax, carried),
        rows frozen where the mask is 0."""
        xs = self.pick("seq", t=self.T)
        H = self.rng.randint(2, 6)
        lstm = self.rng.random() < 0.5
        freeze = self.rng.random() < 0.7
        attend = self.rng.random() < 0.5
        keys = self.pick("seq") if attend else None
        constrain = attend and self.rng.random() < 0.4
        state = Value("h", "vec", H)
        ctx_text, ctx_run, in_d = None, None, xs.d
        if attend:
            constraint = None
            if constrain:
                constraint = (self.rng.choice(["window", "monotonic"]),
                              self.rng.randint(1, min(4, keys.t)), "prev")
            ctx_text, ctx_run = self.attention_call(
                state, keys, keys, keys.t == self.T and self.rng.random() < 0.5,
                score="additive", smoothing=self.rng.random() < 0.25,
                constraint=constraint)
            in_d += keys.d
        L = self.layer("%s_cell(%d)" % ("lstm" if lstm else "gru", H),
                       (nn.LSTMCell if lstm else nn.GRUCell)(in_d, H), "cell")
        ys = self.fresh("ys")
        carry = "h = zeros(B, %d)" % H + (", c = zeros(B, %d)" % H if lstm else "")
        if constrain:
            carry += ", prev = zeros(B)"
        lines = ["for t in range(T) carry (%s) {" % carry]
        inp = "%s[:, t]" % xs.name
        if attend:
            lines.append("  ctx, w = %s" % ctx_text)
            if constrain:
                lines.append("  prev = argmax(w)")
            inp = "concat(%s, ctx, axis=-1)" % inp
        lines.append("  h2, c2 = %s(%s, h, c)" % (L, inp) if lstm else
                     "  h2 = %s(%s, h)" % (L, inp))
        if freeze:
            self.uses_mask = True
            lines.append("  keep = repeat(mask[:, t], %d, axis=1)" % H)
            lines.append("  h = where(keep, h2, h)")
            if lstm:
                lines.append("  c = where(keep, c2, c)")
        else:
            lines.append("  h = h2")
            if lstm:
                lines.append("  c = c2")
        lines += ["  yield %s = h" % ys, "}"]
        last = Value(self.fresh(), "vec", H)
        lines.append("%s = h" % last.name)

        def step(env):
            b = env[xs.name].shape[0]
            h = torch.zeros(b, H)
            c = torch.zeros(b, H)
            prev = torch.zeros(b)
            out = []
            for t in range(self.T):
                x = env[xs.name][:, t]
                if attend:
                    local = dict(env)
                    local["h"], local["prev"] = h, prev
                    ctx, w = ctx_run(local)
                    prev = w.argmax(-1).float()
                    x = torch.cat([x, ctx], -1)
                if lstm:
                    h2, c2 = self.modules[L](x, (h, c))
                else:
                    h2, c2 = self.modules[L](x, h), None
                if freeze:
                    keep = env["mask"][:, t:t + 1] != 0
                    h = torch.where(keep, h2, h)
                    if lstm:
                        c = torch.where(keep, c2, c)
                else:
                    h, c = h2, c2
                out.append(h)
            env[ys] = torch.stack(out, 1)
            env[last.name] = h
        self.emit("\n".join(lines), step)
        self.values += [Value(ys, "seq", H, self.T), last]
        return last


def stopping_loop(p):
    """Greedy decoding: a GRU cell over x_t and the fed-back token (its
    embedding, or the id as one number), argmax over V classes, stop once a
    row emits END. Finished rows keep their state and yield zeros; n counts
    each row's steps, the one that emitted END included."""
    xs = p.pick("seq", t=p.T)
    H, V = p.rng.randint(2, 6), p.rng.randint(2, 5)
    end = p.rng.randrange(V)
    embed = p.rng.random() < 0.5
    E = p.rng.randint(2, 4) if embed else 1
    if embed:
        embL = p.layer("embedding(%d, %d)" % (V, E), nn.Embedding(V, E), "emb")
    cellL = p.layer("gru_cell(%d)" % H, nn.GRUCell(xs.d + E, H), "cell")
    outL = p.layer("dense(%d)" % V, nn.Linear(H, V))
    toks, hs, n, last = p.fresh("toks"), p.fresh("hs"), p.fresh("n"), p.fresh()
    fed = "%s(tok)" % embL if embed else "repeat(tok, 1, axis=1)"
    lines = ["for t in range(T) carry (h = zeros(B, %d), tok = zeros(B)) "
             "until tok == %d lengths %s {" % (H, end, n),
             "  h = %s(concat(%s[:, t], %s, axis=-1), h)" % (cellL, xs.name, fed),
             "  tok = argmax(%s(h))" % outL,
             "  yield %s = tok" % toks, "  yield %s = h" % hs, "}",
             "%s = h" % last]

    def step(env):
        x = env[xs.name]
        b = x.shape[0]
        h, tok = torch.zeros(b, H), torch.zeros(b)
        finished = torch.zeros(b, dtype=torch.bool)
        lengths = torch.full((b,), float(p.T))
        out_t, out_h = torch.zeros(b, p.T), torch.zeros(b, p.T, H)
        for t in range(p.T):
            f = p.modules[embL](tok.long()) if embed else tok.unsqueeze(1)
            h_new = p.modules[cellL](torch.cat([x[:, t], f], -1), h)
            tok_new = p.modules[outL](h_new).argmax(-1).float()
            live = ~finished
            h = torch.where(live.unsqueeze(1), h_new, h)
            tok = torch.where(live, tok_new, tok)
            out_t[live, t] = tok_new[live]
            out_h[live, t] = h_new[live]
            stop = live & (tok_new == end)
            lengths[stop] = t + 1
            finished |= stop
            if finished.all():
                break
        env[toks], env[hs], env[n], env[last] = out_t, out_h, lengths, h
    p.emit("\n".join(lines), step)
    p.values += [Value(hs, "seq", H, p.T), Value(last, "vec", H),
                 Value(toks, "ids", p.T), Value(n, "ids", 1)]


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
           (p.loop, 2), (lambda: stopping_loop(p), 1), (p.multi_head, 2),
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
