"""modelgen's operations on sequences that came later: GLU layers, take
(steps picked by per-row indices), positional encodings and Transformer
encoder layers. Each takes the Program (modelgen.py), adds a line of the
model and the PyTorch step that computes the same, and returns the new
value, or None where no value fits."""
import torch
from torch import nn


def glu(p, Value):
    """glu(units): nn.Linear(in, 2 units) then F.glu (proj rows first)."""
    v = p.pick()
    units = p.rng.randint(1, 5)
    bias = p.rng.random() < 0.8
    L = p.layer("glu(%d, use_bias=%d)" % (units, bias), nn.Linear(v.d, 2 * units, bias=bias),
                "glu")
    m = p.modules[L]
    out = p.like(v, p.fresh(), units)
    return p.emit("%s = %s(%s)" % (out.name, L, v.name),
                  lambda env, i=v.name: env.__setitem__(
                      out.name, nn.functional.glu(m(env[i]), -1)), out)


def take(p, Value):
    """take(x, idx): one step of each row ([B] indices: an input, or each
    row's last valid step, lengths - 1) or T steps of each row ([B, T]
    indices), from a sequence of any length."""
    v = p.pick("seq")
    if not v:
        return None
    form = p.rng.choice(["row", "row", "steps", "last"] if v.t == p.T else ["row", "steps"])
    if form == "last":
        p.uses_lengths = True
        out = Value(p.fresh(), "vec", v.d)
        return p.emit("%s = take(%s, lengths - 1)" % (out.name, v.name),
                      lambda env, i=v.name: env.__setitem__(out.name, env[i][
                          torch.arange(env[i].shape[0]), env["lengths"].long() - 1]), out)
    ids = p.ids_input(v.t, "vec" if form == "row" else "seq")
    if form == "row":
        out = Value(p.fresh(), "vec", v.d)
        return p.emit("%s = take(%s, %s)" % (out.name, v.name, ids),
                      lambda env, i=v.name: env.__setitem__(out.name, env[i][
                          torch.arange(env[i].shape[0]), env[ids].long()]), out)
    out = Value(p.fresh(), "seq", v.d, p.T)

    def step(env, i=v.name):
        index = env[ids].long().unsqueeze(-1).expand(-1, -1, v.d)
        env[out.name] = torch.gather(env[i], 1, index)
    return p.emit("%s = take(%s, %s, axis=1)" % (out.name, v.name, ids), step, out)


def positional_encoding(p, Value):
    """x + the Transformer's sinusoids, on a sequence of even width."""
    v = p.pick("seq", where=lambda v: v.d % 2 == 0)
    if not v:
        return None
    out = p.like(v, p.fresh())

    def step(env, i=v.name):
        t = torch.arange(v.t, dtype=torch.float64).unsqueeze(1)
        rate = torch.pow(10000.0, -torch.arange(0, v.d, 2, dtype=torch.float64) / v.d)
        pe = torch.zeros(v.t, v.d, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(t * rate)
        pe[:, 1::2] = torch.cos(t * rate)
        env[out.name] = env[i] + pe.float()
    return p.emit("%s = positional_encoding(%s)" % (out.name, v.name), step, out)


def transformer_layer(p, Value):
    """nn.TransformerEncoderLayer (batch_first, no dropout): post- or
    pre-norm, ReLU or GELU, with or without biases, causal or not, keys
    masked by lengths (src_key_padding_mask)."""
    v = p.pick("seq")
    d = v.d
    heads = p.rng.choice([h for h in range(1, d + 1) if d % h == 0])
    ff = p.rng.randint(2, 8)
    activation = p.rng.choice(["relu", "gelu"])
    norm_first = p.rng.random() < 0.5
    eps = p.rng.choice([1e-5, 1e-3])
    bias = p.rng.random() < 0.8
    causal = p.rng.random() < 0.3
    lengths = v.t == p.T and p.rng.random() < 0.5
    m = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation=activation,
                                   layer_norm_eps=eps, batch_first=True,
                                   norm_first=norm_first)
    if not bias:  # PyTorch 2.1's bias=False, on Debian's PyTorch 1.13
        for module, name in [(m.self_attn, "in_proj_bias"), (m.self_attn.out_proj, "bias"),
                             (m.linear1, "bias"), (m.linear2, "bias"), (m.norm1, "bias"),
                             (m.norm2, "bias")]:
            module.register_parameter(name, None)
    with torch.no_grad():  # norms other than the identity
        for name, w in m.named_parameters():
            if name.startswith("norm"):
                w.normal_()
    # Training mode without dropout: PyTorch's plain path, the same
    # arithmetic as its inference fast path.
    m.train()
    L = p.layer("transformer_encoder_layer(%d, heads=%d, dim_feedforward=%d, activation=%s, "
                "norm_first=%d, layer_norm_eps=%g, bias=%d, causal=%d)" % (
                    d, heads, ff, activation, norm_first, eps, bias, causal), m, "enc")
    out = p.like(v, p.fresh())
    p.uses_lengths |= lengths

    def step(env, i=v.name):
        kw = {}
        if lengths:
            kw["src_key_padding_mask"] = (torch.arange(v.t).unsqueeze(0) >=
                                          env["lengths"].unsqueeze(1))
        if causal:
            kw["src_mask"] = torch.ones(v.t, v.t, dtype=torch.bool).triu(1)
        env[out.name] = m(env[i], **kw)
    call = "%s(%s, lengths=lengths)" if lengths else "%s(%s)"
    return p.emit("%s = %s" % (out.name, call % (L, v.name)), step, out)


OPS = [(glu, 1), (take, 1), (positional_encoding, 1), (transformer_layer, 1)]
