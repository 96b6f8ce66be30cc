"""modelgen's attention operations: scores (dot, scaled dot, additive),
attention over a query row or a query sequence with lengths, causal masks,
smoothing and window/monotonic constraints, multi-head attention and the
Keras-style subgraphs Heed raises. Each takes the Program (modelgen.py) as
`p`, adds lines of the model and the PyTorch steps that compute the same;
Program binds them as its methods."""
import numpy as np
import torch
from torch import nn

from values import Value


def additive_score(p, dq, dk):
    units = p.rng.randint(2, 6)
    W = p.layer("dense(%d)" % units, nn.Linear(dk, units))
    U = p.layer("dense(%d)" % units, nn.Linear(dq, units))
    V = p.layer("dense(1)", nn.Linear(units, 1))
    name = p.fresh("score")
    p.layers.append("score %s(qq, kk) = %s(tanh(%s(kk) + %s(qq)))" % (name, V, W, U))
    mW, mU, mV = p.modules[W], p.modules[U], p.modules[V]

    def energies(q, k):   # q [B, Dq] -> [B, T]; q [B, Tq, Dq] -> [B, Tq, T]
        if q.dim() == 2:
            return mV(torch.tanh(mW(k) + mU(q).unsqueeze(1))).squeeze(-1)
        return mV(torch.tanh(mW(k).unsqueeze(1) + mU(q).unsqueeze(2))).squeeze(-1)
    return name, energies


def attention_call(p, q, k, v, lengths, score=None, causal=False,
                   smoothing=False, constraint=None, hard=False):
    """(heed expression text, torch function env -> (context, weights)).
    constraint: (window|monotonic, w, name of the [B] previous argmax) or
    (local_m|local_p, half-width D, name of the [B] position)."""
    kind = score or p.rng.choice(["dot", "scaled_dot", "additive"])
    if kind != "additive" and q.d != k.d:
        kind = "additive"
    if kind == "additive":
        name, f = p.additive_score(q.d, k.d)
    else:
        name = kind
        scale = 1 / np.sqrt(k.d) if kind == "scaled_dot" else 1.0
        f = lambda qq, kk: torch.einsum(  # noqa: E731
            "bd,btd->bt" if qq.dim() == 2 else "bqd,btd->bqt", qq, kk) * scale
    args = "%s, %s, %s, score=%s" % (q.name, k.name, v.name, name)
    if lengths:
        args += ", lengths=lengths"
        p.uses_lengths = True
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


def attention(p):
    """One attention op: a query row or a query sequence (causal or
    not), any score, lengths, smoothing, a window/monotonic constraint."""
    k = p.pick("seq")
    sequence = p.rng.random() < 0.3
    q = p.pick("seq" if sequence else "vec")
    if not k or not q:
        return None
    v = p.pick("seq", t=k.t)
    lengths = k.t == p.T and p.rng.random() < 0.5
    causal = sequence and p.rng.random() < 0.5
    smoothing = p.rng.random() < 0.25
    constraint = None
    if not sequence and p.rng.random() < 0.25:
        constraint = (p.rng.choice(["window", "monotonic"]),
                      p.rng.randint(1, min(4, k.t)), p.ids_input(k.t, "vec"))
    elif not sequence and p.rng.random() < 0.25:
        how = p.rng.choice(["local_m", "local_p"])
        if how == "local_m":
            position = p.ids_input(k.t, "vec")
        else:  # a real-valued predicted position in [0, T)
            position = p.fresh("pos")
            p.inputs[position] = ("[B]", lambda b, g, t=k.t: torch.rand(
                b, generator=g) * t)
        constraint = (how, p.rng.randint(1, 3), position)
    hard = p.rng.random() < 0.15
    text, run = p.attention_call(q, k, v, lengths, causal=causal,
                                    smoothing=smoothing, constraint=constraint,
                                    hard=hard)
    if sequence:
        ctx = Value(p.fresh(), "seq", v.d, q.t)
        w = Value(p.fresh(), "seq", k.t, q.t)
    else:
        ctx, w = Value(p.fresh(), "vec", v.d), Value(p.fresh(), "vec", k.t)

    def step(env):
        env[ctx.name], env[w.name] = run(env)
    p.emit("%s, %s = %s" % (ctx.name, w.name, text), step, ctx)
    p.values.append(w)
    return ctx


def multi_head(p):
    """multi_head_attention: p (optionally causal), (q, kv) or
    (q, k, v), keys masked by lengths; nn.MultiheadAttention is the oracle."""
    q = p.pick("seq")
    d = q.d
    heads = p.rng.choice([h for h in range(1, d + 1) if d % h == 0])
    mode = p.rng.choice(["p", "p", "kv", "kvv"])
    k = q if mode == "p" else p.pick("seq", d=d)
    v = k if mode != "kvv" else p.pick("seq", d=d, t=k.t)
    causal = mode == "p" and p.rng.random() < 0.5
    lengths = k.t == p.T and p.rng.random() < 0.5
    L = p.layer("multi_head_attention(%d, heads=%d, causal=%d)" % (d, heads, causal),
                   nn.MultiheadAttention(d, heads, batch_first=True), "mha")
    args = {"p": q.name, "kv": "%s, %s" % (q.name, k.name),
            "kvv": "%s, %s, %s" % (q.name, k.name, v.name)}[mode]
    if lengths:
        args += ", lengths=lengths"
        p.uses_lengths = True
    out = p.like(q, p.fresh())
    m = p.modules[L]

    def step(env):
        kw = {"need_weights": False}
        if lengths:
            kw["key_padding_mask"] = (torch.arange(k.t).unsqueeze(0) >=
                                      env["lengths"].unsqueeze(1))
        if causal:
            kw["attn_mask"] = torch.ones(q.t, k.t, dtype=torch.bool).triu(1)
        env[out.name] = m(env[q.name], env[k.name], env[v.name], **kw)[0]
    return p.emit("%s = %s(%s)" % (out.name, L, args), step, out)


def keras_attention(p):
    """softmax(dense(tanh(dense(concat(repeat(q, T), k)))), axis=1)
    weighting values: Heed raises it to one attention op."""
    k, q = p.pick("seq", t=p.T), p.pick("vec")
    if not k or not q:
        return None
    v = p.pick("seq", t=p.T)
    units = p.rng.randint(2, 6)
    H = p.layer("dense(%d, activation=tanh)" % units, nn.Linear(q.d + k.d, units))
    E = p.layer("dense(1)", nn.Linear(units, 1))
    mH, mE = p.modules[H], p.modules[E]
    out = Value(p.fresh(), "vec", v.d)
    alphas = p.fresh("alphas")
    line = ("%s = softmax(%s(%s(concat(repeat(%s, T), %s, axis=-1))), axis=1)\n"
            "%s = sum(%s * %s, axis=1)" % (alphas, E, H, q.name, k.name,
                                           out.name, alphas, v.name))

    def step(env, qn=q.name, kn=k.name, vn=v.name):
        cat = torch.cat([env[qn].unsqueeze(1).expand(-1, p.T, -1), env[kn]], -1)
        a = torch.softmax(mE(torch.tanh(mH(cat))), 1)
        env[out.name] = (a * env[vn]).sum(1)
    return p.emit(line, step, out)
