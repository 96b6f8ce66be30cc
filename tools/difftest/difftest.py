#!/usr/bin/python3
"""Differential test: every example and test model under every lowering
choice that applies, at batch sizes other than its golden's, against the
PyTorch golden.

The inputs for batch b repeat the golden's rows cyclically (row i is golden
row i mod B0); rows of these models are independent, so output row i must
equal golden row i mod B0 under every choice. Choices: --attention fused and
decomposed, raised or --no-raise (for models with attention or a softmax
to raise), --live-row-chunk -1, 1, 0 and 3 (rotated over the batch sizes;
loops with `until` on their running rows, a chunk at a time), and for models
with recurrent cells in
loops --cell fused, onednn and auto; the GPU target's schedule run on the
CPU (--target=gpu-schedule-on-cpu, fused or decomposed, raised or not;
fused attention is the flash or attention-rows kernel's body; dot-product
attention on tensor cores, bf16 and f16, against its reference's rounded
recurrence, and tf32x3 against the exact attention to 1e-5; matrix
products in tf32x3 against f32 to 1e-5; the flash kernels' staging
pipelined and not, alternating over the batch sizes); --threads 1, 2 and 3
rotate over the
batch sizes, so that each choice runs at every thread count (a run on
several threads splits the batch into blocks of rows, and a batch too
small to split runs its parallel loops on the threads: every one of them,
HEED_PARALLEL_LOOP_MIN_US=0). Each model is also
made into an ahead-of-time model library (heed compile --emit=shared) at
two of the batch sizes, rotating over the models, and run by heed-aot-run,
and run with --device=cuda over the fake CUDA driver of the build tree
(test/runtime/cuda/FakeCudaDriver.cpp: no kernel runs, so it checks the
runtime's plumbing, not values) at one batch size, with CUDA graphs and
without: the kernels run, and their parameters' values, must agree.
A failure prints the commands that reproduce it. A choice whose
linalg-stage IR (heed compile --emit=linalg at the smallest and largest
batch size) is an earlier choice's with the same cell choice and target
runs the same code and is not run again (--all-choices runs it): the
attention lowering where no attention op is left, the raising where there
is no softmax subgraph to raise.

    /usr/bin/python3 tools/difftest/difftest.py BUILD [--quick] [--only NAME]

--quick runs batch sizes 1, 3, 5 and 33 only, every choice at each. A
full run takes the GPU schedule's choices in turns over the batch sizes
(gpu_choice_runs: one a batch size, fused and decomposed in turn) and each
tensor-core entry at every fourth batch size; --all-pairs, or --target,
runs every choice at every batch size. Independent of Heed's
internals: it drives the `heed` CLI and reads the goldens of
tools/reference/*.py."""
import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")
TI = os.path.join(ROOT, "test", "Integration", "Inputs")

def test_inputs(folder, inputs="inputs_b5.npz", golden="golden_b5.npz",
                model="model.heed", weights="weights.safetensors"):
    """A test model under test/Integration/Inputs/FOLDER, its MODELS entry."""
    at = lambda f: f and os.path.join(TI, folder, f)  # noqa: E731
    return (at(model), at(weights), at(inputs), at(golden))


# name: (model, weights or None, {input: file} or an inputs .npz, golden)
MODELS = {
    "attention_step": ("attention_step/model.heed", "attention_step/weights.safetensors",
                       ["a", "s_prev"], "attention_step/golden.npz"),
    "dense_attention": ("dense_attention/model.heed", "dense_attention/weights.safetensors",
                        ["x"], "dense_attention/golden.npz"),
    "lstm_attention": ("lstm_attention/model.heed", "lstm_attention/weights.safetensors",
                       ["x"], "lstm_attention/golden.npz"),
    "attention_scores": ("attention_scores/model.heed", "attention_scores/weights.safetensors",
                         ["s", "h", "lengths"], "attention_scores/golden.npz"),
    "attention_decoder": ("attention_decoder/model.heed", "attention_decoder/weights.safetensors",
                          ["x"], "attention_decoder/golden.npz"),
    "date_translation": ("date_translation/model.heed", "date_translation/weights.safetensors",
                         ["X", "s0", "c0"], "date_translation/golden.npz"),
    "trigger_word": ("trigger_word/model.heed", "trigger_word/weights.safetensors",
                     {"X": "x"}, "trigger_word/golden.npz"),
    "mha_encoder": ("mha_encoder/model.heed", "mha_encoder/weights.safetensors",
                    ["x", "lengths"], "mha_encoder/golden.npz"),
    "nmt": ("nmt/model.heed", "nmt/weights.safetensors", ["source"], "nmt/golden.npz"),
    # A seq2seq model of nested modules, packed encoder, beam search (the
    # NMT example's beam search, nmt/beam.heed, is left to
    # test/Integration/beam-search.test, every lowering and batch size,
    # to keep CI within its hour).
    "seq2seq": ("seq2seq/model.heed", "seq2seq/weights.safetensors",
                "seq2seq/inputs_b4.npz", "seq2seq/golden_beam4_b4.npz"),
    "scaled_dot_attention": ("scaled_dot_attention/model.heed", None,
                             ["q", "k", "v"], "scaled_dot_attention/golden.npz"),
    "scaled_dot_causal": ("scaled_dot_attention/causal.heed", None,
                          ["q", "k", "v", "lengths"], "scaled_dot_attention/golden_causal.npz"),
    "sequence_layers": test_inputs("sequence_layers", "inputs.npz", "golden.npz"),
    # An argmax over 300 (a block per row on the GPU target), with ties.
    "long_argmax": test_inputs("long_argmax", "inputs.npz", "golden.npz", weights=None),
    "nonfinite": test_inputs("nonfinite", "inputs.npz", "golden.npz"),
    "frozen_cells": test_inputs("frozen_cells", "inputs.npz", "golden.npz"),
    "zero_state_cells": test_inputs("zero_state_cells", "inputs.npz", "golden.npz"),
    # Elementwise functions (special values included), @, layer_norm.
    "tensor_ops": test_inputs("tensor_ops"),
    # reshape, rank-4 permute, batched @ over heads, stack, sequence_mask.
    "shape_ops": test_inputs("shape_ops"),
    # Luong's local-m, local-p and hard attention in a decoder loop.
    "local_attention": test_inputs("local_attention"),
    # topk (NaN and infinities included), cumsum, 1-D pooling.
    "scan_ops": test_inputs("scan_ops", weights=None),
    # Recurrent layers with per-row lengths (packed sequences).
    "bigru_classifier": ("bigru_classifier/model.heed", "bigru_classifier/weights.safetensors",
                         os.path.join(TI, "packed_recurrent/classifier_inputs_b5.npz"),
                         os.path.join(TI, "packed_recurrent/classifier_golden_b5.npz")),
    "packed_layers": test_inputs("packed_recurrent", "layers_inputs_b5.npz",
                                 "layers_golden_b5.npz", model="layers.heed",
                                 weights="layers.safetensors"),
    # Partial tiles of the tiled dot-product lowering: 7 queries, 70 keys.
    "dot_attention_tails": test_inputs("dot_attention_tails", "inputs_q7_t70.npz",
                                       "golden_q7_t70.npz", weights=None),
    # 512 keys: whole key blocks, laid out block by block; heads in place.
    "dot_attention_blocks": test_inputs("dot_attention_tails", "inputs_q4_t512.npz",
                                        "golden_q4_t512.npz", weights=None),
}
# Variants: a model file and the word parameters (--param) that select it.
TACOTRON2 = {"model": ("model", []), "plain": ("plain", []),
             "smoothing": ("model", ["NORMALIZATION=smoothing"]),
             "window": ("constrained", []),
             "monotonic": ("constrained", ["CONSTRAINT=monotonic"])}
PARAMS = {}
for variant, (model_file, params) in TACOTRON2.items():
    MODELS["tacotron2_" + variant] = (
        "tacotron2_attention/%s.heed" % model_file, "tacotron2_attention/weights.safetensors",
        ["memory", "queries", "lengths"], "tacotron2_attention/golden_%s.npz" % variant)
    PARAMS["tacotron2_" + variant] = params

# Dot-product attention on tensor cores, the flash kernel's body on the
# GPU schedule only (fused), against the reference's rounded recurrence
# (tools/reference/reduced_precision_attention.py) with its tolerances: 7
# queries (a block of 64 rows) and 70 (a block of 128), heads of 64, 128
# (dynamic shared memory on a GPU) and 32.
# name: (test inputs, options, atol, rtol).
TENSOR_CORES = {}
# (tf32x3 in blocks of 64 query rows: the tf32x3 model's 300-key case.)
for queries, keys, precisions in [(7, 70, ["bf16", "f16"]),
                                  (70, 100, ["bf16", "f16", "tf32x3"])]:
    for precision in precisions:
        atol, rtol = (1e-5, 1e-5) if precision == "tf32x3" else (5e-4, 1e-3)
        golden = "f32" if precision == "tf32x3" else precision
        TENSOR_CORES["tensor_core_attention_q%d_%s" % (queries, precision)] = (
            test_inputs("reduced_precision_attention", "inputs_q%d_t%d.npz" % (queries, keys),
                        "golden_q%d_t%d_%s.npz" % (queries, keys, golden), weights=None),
            ["--gpu-precision=" + precision], atol, rtol)
for queries, keys in [(130, 37), (1, 300)]:
    TENSOR_CORES["tf32x3_attention_q%d_t%d" % (queries, keys)] = (
        test_inputs("tf32x3_attention", "inputs_q%d_t%d.npz" % (queries, keys),
                    "golden_q%d_t%d.npz" % (queries, keys), weights=None),
        ["--gpu-precision=tf32x3"], 1e-5, 1e-5)
TENSOR_CORES["tensor_core_products_tf32x3"] = (
    test_inputs("reduced_precision_products", "inputs_b33_t17.npz", "golden_b33_t17_f32.npz"),
    ["--gpu-precision=tf32x3"], 1e-5, 1e-5)
# Options of a model's every run (besides its --param words).
EXTRA_ARGS = {name: entry[1] for name, entry in TENSOR_CORES.items()}

# Outputs whose batch axis is not the first: stacked final states
# [layers · directions, B, H].
BATCH_AXIS = {("bigru_classifier", "h"): 1, ("packed_layers", "h2"): 1,
              ("packed_layers", "c2"): 1, ("packed_layers", "h5"): 1}

BATCHES = [1, 2, 3, 4, 5, 7, 16, 33]
QUICK = [1, 3, 5, 33]


def path(p):
    return p if p is None or os.path.isabs(p) else os.path.join(EX, p)


def load_inputs(spec):
    if isinstance(spec, str):
        z = np.load(path(spec))
        return {k: z[k] for k in z.files}
    names = spec.items() if isinstance(spec, dict) else [(n, n) for n in spec]
    return {n: np.load(os.path.join(os.path.dirname(path(MODEL_FILE[0])), f + ".npy"))
            for n, f in names}


def choices(model_text):
    # Cells in loops, and recurrent layers with per-row lengths (run as
    # loops of cells).
    cells = ["fused", "onednn", "auto"] if ("lstm_cell" in model_text or
                                           "gru_cell" in model_text or
                                           re.search(r"\blengths=", model_text) and
                                           re.search(r"\b(lstm|gru)\(", model_text)
                                           ) else ["auto"]
    # The attention lowering and raising matter only where there is
    # attention to lower or a softmax subgraph to raise.
    attends = re.search(r"\b(attention|multi_head_attention|transformer_encoder_layer|"
                        r"softmax)\b", model_text)
    lowerings = ["fused", "decomposed"] if attends else ["fused"]
    raising = [False, True] if attends else [False]
    cpu = [c + ("cpu",) for c in itertools.product(lowerings, raising, cells)]
    # The GPU target's lowering (no oneDNN, recurrent layers as loops of
    # cells; attention as the flash kernel's body for dot-product scores
    # over query sequences, the attention-rows kernel's for other scores, or
    # decomposed) with its loop nests mapped to blocks and threads, run on
    # the CPU: raised or not.
    gpu = [(a, r, "fused", "gpu-schedule-on-cpu")
           for a, r in itertools.product(lowerings, raising)]
    return cpu + gpu


def batch_rows(inputs, batch):
    """The inputs at batch size `batch`: the golden's rows, repeated."""
    return {k: np.take(v, np.arange(batch) % v.shape[0], axis=0) for k, v in inputs.items()}


def model_args(name, weights):
    """The weights, --param words and fixed options of each of a model's runs."""
    args = ["--weights", path(weights)] if weights else []
    for param in PARAMS.get(name, []):
        args += ["--param", param]
    return args + EXTRA_ARGS.get(name, [])


def choice_args(choice):
    attention, no_raise, cell, target = choice
    return (["--attention=" + attention, "--cell=" + cell, "--target=" + target] +
            (["--no-raise"] if no_raise else []))


def distinct_choices(heed, name, model, weights, text, inputs, candidates, batches, jobs):
    """The choices that give the model code of its own: choices that differ
    only in the attention lowering or the raising (same cell choice, same
    target) and give the same linalg-stage IR at the smallest and the
    largest batch size compile to the same code (the attention lowering has
    no attention op to act on, or the model no softmax subgraph to raise),
    so only the first of them runs. Returns the kept choices and the
    dropped ones, each with the choice it duplicates."""
    dims = [["--dim=%s=%d" % dim for dim in symbolic_dims(text, batch_rows(inputs, b)).items()]
            for b in sorted({batches[0], batches[-1]})]

    def signature(choice):
        irs = []
        for dim_args in dims:
            cmd = [heed, "compile", path(model), "--emit=linalg"] + choice_args(choice) + \
                dim_args + model_args(name, weights)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            # A choice that does not compile keeps its runs (they report it).
            irs.append(proc.stdout if proc.returncode == 0 else object())
        return choice[2:] + tuple(irs)  # the cell choice and target

    with ThreadPoolExecutor(jobs) as pool:
        signatures = list(pool.map(signature, candidates))
    kept, dropped, first = [], [], {}
    for choice, sig in zip(candidates, signatures):
        if sig in first:
            dropped.append((choice, first[sig]))
        else:
            first[sig] = choice
            kept.append(choice)
    return kept, dropped


def choice_name(choice):
    attention, no_raise, cell, target = choice
    return "%s,%s,%s,%s" % (attention, "noraise" if no_raise else "raise", cell, target)


def gpu_choice_runs(gpu_choices, choice, b, model_index):
    """Whether a choice runs at the b-th batch size. The GPU schedule's
    choices (run on the CPU, the slowest: 58% of a full run's time when two
    ran at each batch size, 2026-12-07) take turns over the batch sizes of a
    full run: one choice at each batch size, fused and decomposed in turn
    (which of them starts alternates over the models, so that both meet the
    smallest and the largest batch size), raised and not in turn within
    each: with both lowerings and both raisings each choice meets every
    fourth batch size, a lowering's only choice every other, a model's
    only choice every one. CPU choices run at every batch size."""
    if choice not in gpu_choices:
        return True
    families = [f for f in ([c for c in gpu_choices if c[0] == "fused"],
                            [c for c in gpu_choices if c[0] == "decomposed"]) if f]
    turn = b + model_index
    family = families[turn % len(families)]
    return choice == family[(turn // len(families)) % len(family)]


THREADS = [1, 2, 3]
# Dense-layer lowerings, rotated over batch sizes like the thread counts.
DENSE = ["auto", "generated", "onednn"]
# Rows per chunk of a loop that stops and computes its running rows only
# (-1 automatic, 0 every row every step), rotated the same way.
LIVE_ROWS = [-1, 1, 0, 3]


def run_one(heed, name, model, weights, inputs, golden, batch, choice, threads, dense,
            live, tmp, atol, rtol, extra=()):
    attention, no_raise, cell, target = choice
    tag = "%s-b%d-%s-%s-%s-%s-t%d-%s-live%d%s" % (name, batch, attention,
                                                  "noraise" if no_raise else "raise", cell,
                                                  "dense_" + dense, threads, target, live,
                                                  "".join(extra).replace("--", "-").replace("=", "_"))
    rows = batch_rows(inputs, batch)
    in_file = os.path.join(tmp, tag + ".in.npz")
    out_file = os.path.join(tmp, tag + ".out.npz")
    np.savez(in_file, **rows)
    cmd = [heed, "run", path(model), "--input", in_file, "--output", out_file,
           "--dense=" + dense, "--threads=%d" % threads, "--live-row-chunk=%d" % live]
    cmd += choice_args(choice) + model_args(name, weights) + list(extra)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return tag, "heed failed (exit %d): %s\n  %s" % (
            proc.returncode, proc.stderr.strip()[-600:], " ".join(cmd))
    problems = compare(np.load(out_file), golden, batch, atol, rtol, name)
    os.remove(in_file)
    os.remove(out_file)
    if problems:
        return tag, "; ".join(problems) + "\n  " + " ".join(cmd)
    return tag, None


def run_cuda_plumbing(heed, fake_driver, name, model, weights, inputs, batch, tmp):
    """--device=cuda over the fake CUDA driver (test/runtime/cuda/): no
    kernel runs, so no values are compared; the run must finish, load one
    module, give every kernel device-reachable pointers, leave no managed
    allocation behind and unload the module, and run the same kernels with
    the same values with CUDA graphs as without."""
    tag = "%s-b%d-cuda-fake-driver" % (name, batch)
    rows = batch_rows(inputs, batch)
    in_file = os.path.join(tmp, tag + ".in.npz")
    np.savez(in_file, **rows)
    cmd = [heed, "run", path(model), "--input", in_file, "--device=cuda"]
    cmd += model_args(name, weights)
    traces = [os.path.join(tmp, tag + ".graphs"), os.path.join(tmp, tag + ".launches")]
    env = dict(os.environ, LD_LIBRARY_PATH=fake_driver, FAKE_CUDA_SUMMARY="1",
               FAKE_CUDA_TRACE=traces[0])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    # Again with every kernel launched by itself (no CUDA graphs; the
    # compile cache spares a second compile): the same kernels must run
    # with the same values.
    eager = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(env, HEED_CUDA_GRAPHS="0", FAKE_CUDA_TRACE=traces[1]))
    os.remove(in_file)
    summary = [line for line in proc.stderr.splitlines() if line.startswith("fake-cuda:")]
    where = "\n  LD_LIBRARY_PATH=%s FAKE_CUDA_SUMMARY=1 %s" % (fake_driver, " ".join(cmd))
    same = all(os.path.exists(t) for t in traces) and \
        open(traces[0], "rb").read() == open(traces[1], "rb").read()
    for t in traces:
        if os.path.exists(t):
            os.remove(t)
    if proc.returncode != 0:
        return tag, "heed failed (exit %d): %s%s" % (proc.returncode,
                                                     proc.stderr.strip()[-600:], where)
    if not summary or " 1 modules loaded" not in summary[-1] or \
            " 0 allocations live, 1 modules unloaded," not in summary[-1]:
        return tag, "fake driver: %s%s" % (summary[-1] if summary else "no summary", where)
    if eager.returncode != 0 or not same:
        return tag, ("the kernels run with CUDA graphs differ from those launched one by "
                     "one (FAKE_CUDA_TRACE, HEED_CUDA_GRAPHS=0)%s" % where)
    return tag, None


def symbolic_dims(model_text, inputs):
    """Each symbolic dimension of the model's inputs, bound from the arrays:
    a dim that is a bare name and not a header parameter."""
    header = re.search(r"^model\s+\w+\s*\((.*?)\)", model_text, re.M | re.S)
    params = set(re.findall(r"(\w+)\s*=", header.group(1))) if header else set()
    dims = {}
    for name, shape in re.findall(r"^input\s+(\w+)\s*:\s*(?:\w+)?\[([^\]]*)\]",
                                  model_text, re.M):
        for axis, d in enumerate(x.strip() for x in shape.split(",")):
            if re.fullmatch(r"[A-Za-z_]\w*", d) and d not in params:
                dims[d] = inputs[name].shape[axis]
    return dims


def run_aot(heed, name, model, weights, inputs, golden, batch, tmp, atol, rtol):
    """The model as a library compiled for this batch, run by heed-aot-run."""
    tag = "%s-b%d-aot" % (name, batch)
    rows = batch_rows(inputs, batch)
    in_file = os.path.join(tmp, tag + ".in.npz")
    out_file = os.path.join(tmp, tag + ".out.npz")
    lib = os.path.join(tmp, "lib" + tag + ".so")
    np.savez(in_file, **rows)
    text = open(path(model)).read()
    compile_cmd = [heed, "compile", path(model), "--emit=shared", "-o", lib,
                   "--header", os.path.join(tmp, tag + ".h")]
    for d, size in symbolic_dims(text, rows).items():
        compile_cmd += ["--dim", "%s=%d" % (d, size)]
    for param in PARAMS.get(name, []):
        compile_cmd += ["--param", param]
    model_name = re.search(r"^model\s+(\w+)", text, re.M).group(1)
    run_cmd = [os.path.join(os.path.dirname(heed), "heed-aot-run"), lib, model_name,
               path(weights) if weights else "-", out_file]
    run_cmd += ["%s=%s" % (k, in_file) for k in rows]
    for cmd in [compile_cmd, run_cmd]:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return tag, "exit %d: %s\n  %s" % (proc.returncode, proc.stderr.strip()[-600:],
                                                 " ".join(cmd))
    problems = compare(np.load(out_file), golden, batch, atol, rtol, name)
    for f in [in_file, out_file, lib]:
        os.remove(f)
    if problems:
        return tag, "; ".join(problems) + "\n  " + " ".join(compile_cmd) + \
            "\n  " + " ".join(run_cmd)
    return tag, None


def compare(out, golden, batch, atol, rtol, name):
    problems = []
    for key in golden.files:
        axis = BATCH_AXIS.get((name, key), 0)
        want = np.take(golden[key], np.arange(batch) % golden[key].shape[axis], axis=axis)
        got = out[key]
        if got.shape != want.shape:
            problems.append("%s: shape %s, expected %s" % (key, got.shape, want.shape))
            continue
        bad = ~np.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
        if bad.any():
            i = np.argwhere(bad)[0]
            problems.append("%s: %d of %d elements differ (first at %s: %g vs %g)" % (
                key, bad.sum(), bad.size, tuple(i), got[tuple(i)], want[tuple(i)]))
    return problems


def print_slowest(seconds, wall, jobs, shown=12):
    """The kinds of run that took the most time, summed over batch sizes
    and choices (seconds of one job slot; the wall time is about their sum
    over the number of jobs)."""
    total = sum(seconds.values())
    kinds = defaultdict(float)
    for (_, kind), spent in seconds.items():
        kinds[kind] += spent
    print("difftest: %.0f s wall, %.0f s of runs over %d jobs (%s); the most:" %
          (wall, total, jobs, ", ".join("%s %.0f s" % kv for kv in
                                        sorted(kinds.items(), key=lambda kv: -kv[1]))))
    for (name, kind), spent in sorted(seconds.items(), key=lambda kv: -kv[1])[:shown]:
        print("  %6.1f s  %5.1f%%  %s %s" % (spent, 100 * spent / max(total, 1e-9),
                                              name, kind))


def main():
    global MODEL_FILE
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("--target", choices=["cpu", "gpu-schedule-on-cpu"],
                    help="only the lowering choices of this target (and no "
                         "model libraries or fake-driver runs)")
    ap.add_argument("--all-pairs", action="store_true",
                    help="every GPU-schedule choice at every batch size")
    ap.add_argument("--all-choices", action="store_true",
                    help="also the choices whose linalg-stage IR is that of an "
                         "earlier choice (the same code)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--rtol", type=float, default=1e-4)
    args = ap.parse_args()
    heed = os.path.join(os.path.abspath(args.build), "bin", "heed")
    # The fake libcuda.so.1 of a build tree (not in a copy of bin/ and lib/).
    fake_driver = os.path.join(os.path.abspath(args.build), "test", "fake-cuda")
    if not os.path.isdir(fake_driver):
        print("difftest: no %s: the --device=cuda runs over the fake driver are "
              "skipped" % fake_driver, flush=True)
    # Every parallel loop of a run with threads to spare (heads, query
    # tiles) goes to the pool, however little its work.
    env_threads = {"OMP_NUM_THREADS": "1", "HEED_PARALLEL_LOOP_MIN_US": "0"}
    os.environ.update(env_threads)
    batches = QUICK if args.quick else BATCHES
    jobs = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, (model, weights, spec, golden)) in enumerate(MODELS.items()):
            if args.only and args.only != name:
                continue
            MODEL_FILE = (model,)
            inputs = load_inputs(spec)
            gold = np.load(path(golden))
            text = open(path(model)).read()
            all_choices = choices(text)
            if not args.all_choices:
                all_choices, dropped = distinct_choices(
                    heed, name, model, weights, text, inputs, all_choices, batches, args.jobs)
                for choice, same in dropped:
                    print("difftest: %s: %s gives the code of %s; not run" %
                          (name, choice_name(choice), choice_name(same)), flush=True)
            gpu_choices = [c for c in all_choices if c[3] == "gpu-schedule-on-cpu"]
            for b, batch in enumerate(batches):
                for c, choice in enumerate(all_choices):
                    if args.target and choice[3] != args.target:
                        continue
                    if not (args.quick or args.all_pairs or args.target) and \
                            not gpu_choice_runs(gpu_choices, choice, b, index):
                        continue
                    threads = THREADS[(b + c) % len(THREADS)]
                    dense = DENSE[(2 * b + c) % len(DENSE)]
                    live = LIVE_ROWS[(b + 3 * c) % len(LIVE_ROWS)]
                    # Every third GPU-schedule run with a launch per kernel
                    # of a loop step (small steps are otherwise one block),
                    # and of the others every second with a step's products
                    # of up to 128 terms a thread per output or tiled from
                    # 16 terms (--gpu-step-product-terms, default 32).
                    extra = ()
                    if choice[3] == "gpu-schedule-on-cpu":
                        if (b + index) % 3 == 0:
                            extra = ("--gpu-one-block-steps=false",)
                        elif (b + index) % 2 == 0:
                            extra = ("--gpu-step-product-terms=%d" %
                                     (128 if (b + index) % 4 == 0 else 0),)
                        # Every fifth for an unknown chip: attention rows a
                        # block per (row, query), where by default a softmax
                        # over fewer of them than sm_90's 132
                        # multiprocessors shares its steps among blocks.
                        if (b + 2 * index) % 5 == 0:
                            extra += ("--gpu-multiprocessors=0",)
                    jobs.append((run_one, heed, name, model, weights, inputs, gold, batch,
                                 choice, threads, dense, live, tmp, args.atol, args.rtol,
                                 extra))
            n = len(batches)
            if args.target:
                continue
            # Libraries at two batch sizes per model, rotating over the models.
            for batch in sorted({batches[index % n], batches[(index + n // 2) % n]}):
                jobs.append((run_aot, heed, name, model, weights, inputs, gold, batch,
                             tmp, args.atol, args.rtol))
            # The CUDA runtime's plumbing over the fake driver, one batch
            # size per model, rotating.
            if os.path.isdir(fake_driver):
                jobs.append((run_cuda_plumbing, heed, fake_driver, name, model, weights,
                             inputs, batches[(index + 1) % n], tmp))
        if args.target != "cpu":
            tensor_core_choice = ("fused", False, "fused", "gpu-schedule-on-cpu")
            tensor_core_runs = 0
            for k, (name, ((model, weights, spec, golden), _, atol, rtol)) in \
                    enumerate(TENSOR_CORES.items()):
                if args.only and args.only != name:
                    continue
                inputs, gold = load_inputs(spec), np.load(path(golden))
                # A full run takes every fourth batch size, the entries in
                # turn (every batch size meets two of the eight entries);
                # over all the entries' runs in order, the tiled kernels'
                # copies pipelined and not, alternating; the flash kernels'
                # tiles by cp.async and not, so that every four runs meet
                # each pair of the two; and the flash kernels' blocks by
                # sm_90's 132 multiprocessors (the default: 64 query rows at
                # these grids) and by the sizes alone (128 rows beyond 64
                # queries), every other pair.
                runs = [(b, batch) for b, batch in enumerate(batches)
                        if args.quick or args.all_pairs or args.target or (b + k) % 4 == 0]
                for b, batch in runs:
                    n = tensor_core_runs
                    tensor_core_runs += 1
                    flag = lambda yes: "true" if yes else "false"
                    options = ("--gpu-prefetch=%s" % flag(n % 2 == 0),
                               "--gpu-async-copy=%s" % flag((n + n // 2) % 2 == 0),
                               "--gpu-multiprocessors=%d" % (-1 if n // 2 % 2 == 0 else 0))
                    jobs.append((run_one, heed, name, model, weights, inputs, gold, batch,
                                 tensor_core_choice, THREADS[b % len(THREADS)], "auto",
                                 -1, tmp, atol, rtol, options))
        failures = 0
        # Seconds of each kind of run (model, what ran), to show where CI's
        # time goes.
        seconds = defaultdict(float)

        def timed(job):
            begin = time.monotonic()
            tag, problem = job[0](*job[1:])
            name = job[3] if job[0] is run_cuda_plumbing else job[2]
            kind = job[8][3] if job[0] is run_one else job[0].__name__
            seconds[(name, kind)] += time.monotonic() - begin
            return tag, problem

        begin = time.monotonic()
        with ThreadPoolExecutor(args.jobs) as pool:
            for tag, problem in pool.map(timed, jobs):
                if problem:
                    failures += 1
                    print("FAIL %s: %s" % (tag, problem), flush=True)
    print_slowest(seconds, time.monotonic() - begin, args.jobs)
    print("difftest: %d passed, %d failed" % (len(jobs) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
