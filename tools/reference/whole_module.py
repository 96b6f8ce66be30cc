#!/usr/bin/python3
"""Saves the trigger-word detector (tools/reference/trigger_word.py, the
weights of examples/trigger_word) as a whole nn.Module, torch.save(model),
as PyTorch users who save models rather than state_dicts do: the modules
are pickled with their settings (a BatchNorm1d's eps, a Conv1d's stride and
padding, a GRU's direction count).

    /usr/bin/python3 tools/reference/whole_module.py OUT.pt [options]

  --set MODULE.ATTR=VALUE  (repeatable) an attribute of a submodule before
                           saving, a Python literal (`bn0.eps=1e-5`,
                           `conv.padding=(7,)`): the file then records
                           other settings than the model file's
  --wrap KEY               save {KEY: model, "epoch": 3}, a training
                           checkpoint
  --non-persistent MODULE.NAME  (repeatable) a buffer registered with
                           persistent=False (no part of the state_dict, as
                           a positional encoding's table often is)
  --legacy                 the format before PyTorch 1.6
"""
import argparse
import ast
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from trigger_word import make_model  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--set", action="append", default=[], metavar="MODULE.ATTR=VALUE")
    p.add_argument("--wrap")
    p.add_argument("--non-persistent", action="append", default=[],
                   metavar="MODULE.NAME")
    p.add_argument("--legacy", action="store_true")
    args = p.parse_args()
    model = make_model()
    for setting in args.set:
        target, value = setting.split("=", 1)
        module, attr = target.rsplit(".", 1)
        setattr(model.get_submodule(module), attr, ast.literal_eval(value))
    for buffer in args.non_persistent:
        module, name = buffer.rsplit(".", 1)
        model.get_submodule(module).register_buffer(
            name, torch.arange(12.0).reshape(3, 4), persistent=False)
    saved = {args.wrap: model, "epoch": 3} if args.wrap else model
    torch.save(saved, args.out, _use_new_zipfile_serialization=not args.legacy)


if __name__ == "__main__":
    main()
