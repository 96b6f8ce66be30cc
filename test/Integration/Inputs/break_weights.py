"""Writes three broken copies of a weight file (for bad-recurrent-weights)."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "tools", "reference"))
from tensorio import save_safetensors  # noqa: E402
from to_keras_layout import load  # noqa: E402

w = load(sys.argv[1])
out = sys.argv[2]
gates = dict(w)
gates["pre_attention.weight_ih_l0"] = w["pre_attention.weight_ih_l0"][:96]
save_safetensors(out + ".gates.safetensors", gates)
hidden = dict(w)
hidden["post_attention_lstm.weight_hh"] = w["post_attention_lstm.weight_hh"][:, :32]
save_safetensors(out + ".hidden.safetensors", hidden)
reverse = {k: v for k, v in w.items() if not k.endswith("_reverse")}
save_safetensors(out + ".reverse.safetensors", reverse)
