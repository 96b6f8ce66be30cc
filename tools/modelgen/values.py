"""modelgen's values and modules: what a Program (modelgen.py) and its
operations (attention_ops.py, loop_ops.py, sequence_ops.py) hold."""
import torch
from torch import nn

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
