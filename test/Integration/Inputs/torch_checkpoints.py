"""Writes dense_attention's weights as PyTorch users save them, with
torch.save (for torch-checkpoints.test):
    torch_checkpoints.py WEIGHTS X OUT_DIR
  state_dict.pt      model.state_dict()
  training.ckpt      {"model": state_dict, "optimizer": Adam's, "epoch": 3,
                      "args": an object} (names under "model.")
  module.pth         the whole nn.Module (torch.save(model))
  views.pt           one weight a transposed view, one a slice of a larger
                     storage, one shared by two names
  half.pt, bf16.pt   float16 / bfloat16 weights
  double.pt          float64 weights (read as load_state_dict copies them)
  complex.pt         a complex64 bias (Heed reads no complex tensors)
  expanded.pt        a bias expanded from one element (a stride of 0)
  legacy.pt          the format before PyTorch 1.6 (a state_dict); also
                     legacy_training.ckpt, legacy_module.pth,
                     legacy_views.pt and legacy_half.pt, the files above
                     in that format (NVIDIA's Tacotron2 checkpoint, for
                     one, is a training checkpoint of that format)
  script.pt          a TorchScript archive (torch.jit.save)
  golden_half.npz, golden_bf16.npz   PyTorch's outputs on X with the
                     weights rounded so
The files are committed (test/Integration/Inputs/torch_checkpoints/), so
the test needs no PyTorch; this script remakes them:
    torch_checkpoints.py examples/dense_attention/weights.safetensors \
        examples/dense_attention/x.npy test/Integration/Inputs/torch_checkpoints"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "tools", "reference"))
from dense_attention import DenseAttention  # noqa: E402
from to_keras_layout import load  # noqa: E402

weights, x_path, out = sys.argv[1:4]
torch.manual_seed(0)
named = {k: torch.from_numpy(v.copy()) for k, v in load(weights).items()}


model = DenseAttention()
model.load_state_dict(named)
sd = model.state_dict()
p = lambda name: os.path.join(out, name)  # noqa: E731
torch.save(sd, p("state_dict.pt"))
opt = torch.optim.Adam(model.parameters())
model(torch.ones(2, 10))[0].sum().backward()
opt.step()
model.load_state_dict(named)  # the step moved them; the saved ones are these
torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
            "epoch": 3, "args": argparse.Namespace(lr=0.001)},
           p("training.ckpt"))
torch.save(model, p("module.pth"))

views = dict(sd)
views["hidden.weight"] = sd["hidden.weight"].t().contiguous().t()
big = torch.zeros(3, 10)
big[1] = sd["attention_vec.bias"]
views["attention_vec.bias"] = big[1]
views["head.bias"] = views["hidden.bias"][:1] * 0 + sd["head.bias"]
assert not views["hidden.weight"].is_contiguous()
torch.save(views, p("views.pt"))
torch.save({k: v.half() for k, v in sd.items()}, p("half.pt"))
torch.save({k: v.bfloat16() for k, v in sd.items()}, p("bf16.pt"))
torch.save({k: v.double() for k, v in sd.items()}, p("double.pt"))
torch.save(dict(sd, **{"hidden.bias": sd["hidden.bias"].to(torch.complex64)}),
           p("complex.pt"))
torch.save(dict(sd, **{"hidden.bias": torch.full((1,), 0.5).expand(10)}),
           p("expanded.pt"))
torch.save(sd, p("legacy.pt"), _use_new_zipfile_serialization=False)
for name, obj in [("legacy_training.ckpt",
                   {"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "epoch": 3, "args": argparse.Namespace(lr=0.001)}),
                  ("legacy_module.pth", model), ("legacy_views.pt", views),
                  ("legacy_half.pt", {k: v.half() for k, v in sd.items()})]:
    torch.save(obj, p(name), _use_new_zipfile_serialization=False)
torch.jit.save(torch.jit.script(model), p("script.pt"))

x = torch.from_numpy(np.load(x_path))
for name, dtype in [("half", torch.float16), ("bf16", torch.bfloat16)]:
    rounded = DenseAttention()
    rounded.load_state_dict({k: v.to(dtype).float() for k, v in sd.items()})
    with torch.no_grad():
        y, a = rounded(x)
    np.savez(p("golden_%s.npz" % name), y=y.numpy(), attention=a.numpy())
