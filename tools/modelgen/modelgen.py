#!/usr/bin/python3
"""Random model generator for differential testing (NNSmith/Csmith style).

Each seed gives one random, valid Heed model — dense layers, activations,
elementwise chains, reductions, softmax, concatenation, attention (dot,
scaled dot and additive scores, with and without lengths; Keras-style
subgraphs that Heed raises), recurrent layers (LSTM/GRU, bidirectional)
and time loops carrying LSTM/GRU cell states frozen with where() and
attending inside the loop — together with the same computation written in
PyTorch, the oracle. The model runs through `heed run` under every
lowering choice that applies (fused/decomposed attention, raised or not,
each cell kind) at a batch size drawn from 1, 2, 3, 4, 5, 7, 16, 33; each
output must match PyTorch.

    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --seeds 0:200
    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --time 120      # CI
    /usr/bin/python3 tools/modelgen/modelgen.py BUILD --seeds 17 --keep out/

A failing seed is written to KEEP/seed-N/ (model.heed, weights, inputs,
golden, and the heed command that fails); --seeds N reproduces it."""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from tensorio import save_safetensors, state_dict_numpy  # noqa: E402

BATCHES = [1, 2, 3, 4, 5, 7, 16, 33]
ACTS = {"none": lambda v: v, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "relu": torch.relu}


class Value:
    """A tensor of the program: [B, T, d] ('seq') or [B, d] ('vec')."""

    def __init__(self, name, kind, d):
        self.name, self.kind, self.d = name, kind, d


class Program:
    def __init__(self, rng, T):
        self.rng, self.T = rng, T
        self.header, self.layers, self.body = [], [], []
        self.modules = nn.ModuleDict()
        self.steps = []            # torch: functions env -> None, in order
        self.values = []           # usable values outside loops
        self.count = 0
        self.inputs = {}           # name -> shape after the batch
        self.uses_lengths = self.uses_mask = False

    def fresh(self, prefix="v"):
        self.count += 1
        return "%s%d" % (prefix, self.count)

    def layer(self, decl, module, prefix="L"):
        name = self.fresh(prefix)
        self.layers.append("layer %s = %s" % (name, decl))
        self.modules[name] = module
        return name

    def pick(self, kind=None, d=None):
        options = [v for v in self.values if v.kind != "ids" and
                   (kind is None or v.kind == kind) and (d is None or v.d == d)]
        return self.rng.choice(options) if options else None

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
        L = self.layer("dense(%d, activation=%s)" % (units, act),
                       nn.Linear(v.d, units))
        out = Value(self.fresh(), v.kind, units)
        m = self.modules[L]
        return self.emit("%s = %s(%s)" % (out.name, L, v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(
                             o, ACTS[act](m(env[i]))), out)

    def unary(self):
        v = self.pick()
        fn = self.rng.choice(["tanh", "sigmoid", "relu"])
        out = Value(self.fresh(), v.kind, v.d)
        f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[fn]
        return self.emit("%s = %s(%s)" % (out.name, fn, v.name),
                         lambda env, o=out.name, i=v.name: env.__setitem__(o, f(env[i])),
                         out)

    def binary(self):
        a = self.pick()
        b = self.pick(a.kind, a.d)
        op = self.rng.choice("+-*")
        out = Value(self.fresh(), a.kind, a.d)
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

    def softmax(self):
        v = self.pick()
        axis = -1 if v.kind == "vec" or self.rng.random() < 0.5 else 1
        out = Value(self.fresh(), v.kind, v.d)
        return self.emit("%s = softmax(%s, axis=%d)" % (out.name, v.name, axis),
                         lambda env, o=out.name, i=v.name: env.__setitem__(
                             o, torch.softmax(env[i], axis)), out)

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
        b = self.pick(a.kind)
        out = Value(self.fresh(), a.kind, a.d + b.d)
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
        return name, lambda q, k: mV(torch.tanh(mW(k) + mU(q).unsqueeze(1))).squeeze(-1)

    def attention_call(self, q, k, v, lengths, score=None):
        """(heed expression text, torch function env -> (context, weights))."""
        kind = score or self.rng.choice(["dot", "scaled_dot", "additive"])
        if kind != "additive" and q.d != k.d:
            kind = "additive"
        if kind == "additive":
            name, f = self.additive_score(q.d, k.d)
        else:
            name = kind
            scale = 1 / np.sqrt(k.d) if kind == "scaled_dot" else 1.0
            f = lambda qq, kk: torch.einsum("bd,btd->bt", qq, kk) * scale  # noqa: E731
        args = "%s, %s, %s, score=%s" % (q.name, k.name, v.name, name)
        if lengths:
            args += ", lengths=lengths"
            self.uses_lengths = True

        def run(env, qn=q.name, kn=k.name, vn=v.name):
            e = f(env[qn], env[kn])
            if lengths:
                t = torch.arange(self.T).unsqueeze(0)
                e = e.masked_fill(t >= env["lengths"].unsqueeze(1), float("-inf"))
            w = torch.softmax(e, -1)
            return torch.einsum("bt,btd->bd", w, env[vn]), w
        return "attention(%s)" % args, run

    def attention(self):
        k = self.pick("seq")
        q = self.pick("vec")
        if not k or not q:
            return None
        v = self.pick("seq")
        text, run = self.attention_call(q, k, v, self.rng.random() < 0.5)
        ctx, w = Value(self.fresh(), "vec", v.d), Value(self.fresh(), "vec", self.T)

        def step(env):
            env[ctx.name], env[w.name] = run(env)
        self.emit("%s, %s = %s" % (ctx.name, w.name, text), step, ctx)
        self.values.append(w)
        return ctx

    def keras_attention(self):
        """softmax(dense(tanh(dense(concat(repeat(q, T), k)))), axis=1)
        weighting values: Heed raises it to one attention op."""
        k, q = self.pick("seq"), self.pick("vec")
        if not k or not q:
            return None
        v = self.pick("seq")
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
        out = Value(self.fresh(), kind, 2 * H if mode == "concat" else H)

        def step(env, i=v.name):
            y = self.modules[L](env[i])[0]
            if mode == "sum":
                y = y[..., :H] + y[..., H:]
            elif mode == "last":
                y = y[:, -1]
            env[out.name] = y
        return self.emit("%s = %s(%s)" % (out.name, L, v.name), step, out)

    def loop(self):
        """A decoder-style loop: per step a cell over x_t (and an attention
        context with the state as query), rows frozen where the mask is 0."""
        xs = self.pick("seq")
        H = self.rng.randint(2, 6)
        lstm = self.rng.random() < 0.5
        freeze = self.rng.random() < 0.7
        attend = self.rng.random() < 0.5
        keys = self.pick("seq") if attend else None
        state = Value("h", "vec", H)
        ctx_text, ctx_run, in_d = None, None, xs.d
        if attend:
            ctx_text, ctx_run = self.attention_call(state, keys, keys,
                                                    self.rng.random() < 0.5,
                                                    score="additive")
            in_d += keys.d
        L = self.layer("%s_cell(%d)" % ("lstm" if lstm else "gru", H),
                       (nn.LSTMCell if lstm else nn.GRUCell)(in_d, H), "cell")
        ys = self.fresh("ys")
        carry = "h = zeros(B, %d)" % H + (", c = zeros(B, %d)" % H if lstm else "")
        lines = ["for t in range(T) carry (%s) {" % carry]
        inp = "%s[:, t]" % xs.name
        if attend:
            lines.append("  ctx, _ = %s" % ctx_text)
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
            out = []
            for t in range(self.T):
                x = env[xs.name][:, t]
                if attend:
                    local = dict(env)
                    local["h"] = h
                    x = torch.cat([x, ctx_run(local)[0]], -1)
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
        self.values += [Value(ys, "seq", H), last]
        return last


def stopping_loop(p):
    """Greedy decoding: a GRU cell over x_t and the fed-back token's
    embedding-free one-hot, argmax over V classes, stop once a row emits
    END. Finished rows keep their state and yield zeros; n counts each
    row's steps, the one that emitted END included."""
    xs = p.pick("seq")
    H, V = p.rng.randint(2, 6), p.rng.randint(2, 5)
    end = p.rng.randrange(V)
    cellL = p.layer("gru_cell(%d)" % H, nn.GRUCell(xs.d + 1, H), "cell")
    outL = p.layer("dense(%d)" % V, nn.Linear(H, V))
    toks, hs, n, last = p.fresh("toks"), p.fresh("hs"), p.fresh("n"), p.fresh()
    lines = ["for t in range(T) carry (h = zeros(B, %d), tok = zeros(B)) "
             "until tok == %d lengths %s {" % (H, end, n),
             "  h = %s(concat(%s[:, t], repeat(tok, 1, axis=1), axis=-1), h)"
             % (cellL, xs.name),
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
            h_new = p.modules[cellL](torch.cat([x[:, t], tok.unsqueeze(1)], -1), h)
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
    p.values += [Value(hs, "seq", H), Value(last, "vec", H),
                 Value(toks, "ids", p.T), Value(n, "ids", 1)]


def generate(seed):
    rng = random.Random(seed)
    T, F, Q = rng.randint(2, 7), rng.randint(2, 6), rng.randint(2, 6)
    p = Program(rng, T)
    p.values = [Value("x", "seq", F), Value("q", "vec", Q)]
    ops = [(p.dense, 4), (p.unary, 2), (p.binary, 3), (p.softmax, 1), (p.reduce, 2),
           (p.concat, 2), (p.attention, 3), (p.keras_attention, 2), (p.recurrent, 2),
           (p.loop, 2), (lambda: stopping_loop(p), 1)]
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
    cells = ["fused", "onednn", "auto"] if "_cell(" in text else ["auto"]
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
        for attention in ["fused", "decomposed"]:
            for raise_ in [True, False]:
                for cell in cells:
                    out = os.path.join(tmp, "out.npz")
                    cmd = [heed, "run", files["model"], "--weights", files["weights"],
                           "--input", files["inputs"], "--output", out,
                           "--attention=" + attention, "--cell=" + cell]
                    if not raise_:
                        cmd.append("--no-raise")
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
        if failures and keep:
            where = os.path.join(keep, "seed-%d" % seed)
            os.makedirs(where, exist_ok=True)
            for f in files.values():
                os.replace(f, os.path.join(where, os.path.basename(f)))
            with open(os.path.join(where, "failures.txt"), "w") as f:
                for cmd, why in failures:
                    f.write(" ".join(cmd).replace(tmp, where) + "\n  " + why + "\n")
    return batch, len(cells) * 4, failures, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seeds", default="0:100", help="N or A:B")
    ap.add_argument("--time", type=float, help="stop starting seeds after this many seconds")
    ap.add_argument("--keep", help="write failing seeds here")
    ap.add_argument("--print", action="store_true", help="print each model")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    a, _, b = args.seeds.partition(":")
    seeds = range(int(a), int(b)) if b else [int(a)]
    start, runs, failed_seeds, count = time.time(), 0, [], 0
    for seed in seeds:
        if args.time and time.time() - start > args.time:
            break
        batch, n, failures, text = check(os.path.abspath(args.build), seed, args.keep)
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
        (" (seeds %s)" % failed_seeds) if failed_seeds else ""))
    return 1 if failed_seeds else 0


if __name__ == "__main__":
    sys.exit(main())
