"""modelgen's recurrent layers and loops: LSTM/GRU layers (bidirectional,
with lengths), time loops carrying cell states (attending inside the
loop) and greedy decoding loops that stop per row. Each takes the Program
(modelgen.py) as `p`, adds lines of the model and the PyTorch steps that
compute the same; Program binds the first two as its methods."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from values import Value


def recurrent(p):
    v = p.pick("seq")
    H = p.rng.randint(2, 6)
    cell = p.rng.choice(["lstm", "gru"])
    mode = p.rng.choice(["forward", "concat", "sum", "last"])
    Module = nn.LSTM if cell == "lstm" else nn.GRU
    if mode in ("concat", "sum"):
        decl = "bidirectional(%s(%d, return_sequences=1), merge=%s)" % (cell, H, mode)
        m = Module(v.d, H, batch_first=True, bidirectional=True)
    else:
        decl = "%s(%d, return_sequences=%d)" % (cell, H, mode == "forward")
        m = Module(v.d, H, batch_first=True)
    L = p.layer(decl, m)
    kind = "vec" if mode == "last" else "seq"
    out = p.like(v, p.fresh(), 2 * H if mode == "concat" else H, kind)
    # Per-row lengths: PyTorch's packed sequences.
    packed = v.t == p.T and p.rng.random() < 0.4
    p.uses_lengths |= packed

    def step(env, i=v.name):
        if packed:
            x = pack_padded_sequence(env[i], env["lengths"].long(), batch_first=True,
                                     enforce_sorted=False)
            y, h = p.modules[L](x)
            y = pad_packed_sequence(y, batch_first=True, total_length=p.T)[0]
            h = h[0] if cell == "lstm" else h
        else:
            y, h = p.modules[L](env[i])
            h = h[0] if cell == "lstm" else h
        if mode == "sum":
            y = y[..., :H] + y[..., H:]
        elif mode == "last":
            y = h[0]  # the final state: the output at each row's length
        env[out.name] = y
    call = "%s(%s, lengths=lengths)" if packed else "%s(%s)"
    return p.emit("%s = %s" % (out.name, call % (L, v.name)), step, out)


def loop(p):
    """A decoder-style loop: per step a cell over x_t (and an attention
    context with the state as query, optionally under a window or
    monotonic constraint around the previous step's argmax, carried),
    rows frozen where the mask is 0."""
    xs = p.pick("seq", t=p.T)
    H = p.rng.randint(2, 6)
    lstm = p.rng.random() < 0.5
    freeze = p.rng.random() < 0.7
    attend = p.rng.random() < 0.5
    keys = p.pick("seq") if attend else None
    constrain = attend and p.rng.random() < 0.4
    state = Value("h", "vec", H)
    ctx_text, ctx_run, in_d = None, None, xs.d
    if attend:
        constraint = None
        if constrain:
            constraint = (p.rng.choice(["window", "monotonic"]),
                          p.rng.randint(1, min(4, keys.t)), "prev")
        ctx_text, ctx_run = p.attention_call(
            state, keys, keys, keys.t == p.T and p.rng.random() < 0.5,
            score="additive", smoothing=p.rng.random() < 0.25,
            constraint=constraint)
        in_d += keys.d
    L = p.layer("%s_cell(%d)" % ("lstm" if lstm else "gru", H),
                   (nn.LSTMCell if lstm else nn.GRUCell)(in_d, H), "cell")
    ys = p.fresh("ys")
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
        p.uses_mask = True
        lines.append("  keep = repeat(mask[:, t], %d, axis=1)" % H)
        lines.append("  h = where(keep, h2, h)")
        if lstm:
            lines.append("  c = where(keep, c2, c)")
    else:
        lines.append("  h = h2")
        if lstm:
            lines.append("  c = c2")
    lines += ["  yield %s = h" % ys, "}"]
    last = Value(p.fresh(), "vec", H)
    lines.append("%s = h" % last.name)

    def step(env):
        b = env[xs.name].shape[0]
        h = torch.zeros(b, H)
        c = torch.zeros(b, H)
        prev = torch.zeros(b)
        out = []
        for t in range(p.T):
            x = env[xs.name][:, t]
            if attend:
                local = dict(env)
                local["h"], local["prev"] = h, prev
                ctx, w = ctx_run(local)
                prev = w.argmax(-1).float()
                x = torch.cat([x, ctx], -1)
            if lstm:
                h2, c2 = p.modules[L](x, (h, c))
            else:
                h2, c2 = p.modules[L](x, h), None
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
    p.emit("\n".join(lines), step)
    p.values += [Value(ys, "seq", H, p.T), last]
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
