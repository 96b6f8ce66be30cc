#!/usr/bin/python3
"""Prepares, on a machine with Heed's toolchain, everything a GPU machine
needs to check and time Heed's CUDA target without it: model libraries
(heed compile --target=cuda --emit=shared), libheed_cuda_runtime.so and
heed-aot-run-cuda (no LLVM, MLIR or oneDNN), and a manifest that
bench/gpu/device_check.py runs there.

    /usr/bin/python3 bench/gpu/make_device_bundle.py [BUILD] [OUT] [--only NAME,...]

BUILD defaults to build, OUT to BUILD/device-bundle (an ignored path: the
device tool carries it); --only keeps the named goldens and benchmarks
(test/GPU/device-bundle.test makes a small bundle so). The goldens are the cases of
test/GPU/cuda-goldens.test; the benchmarks are the issue's table:
scaled dot-product attention (8 × 1024² × 64 and 16 × 4096² × 128, bf16,
f32 and tf32x3), the date translator and the seed-size NMT decoder at batch 1 and
256, Tacotron2's location-sensitive attention over 200 decoder steps at
batch 1 and 32; the batch-256 decoders and Tacotron2 at 32 again with
--gpu-precision=tf32x3; the heads-128 attention and the batch-256 NMT
again with --gpu-prefetch=false (`_noprefetch`: the tiled kernels without
software pipelining; the attention with --gpu-async-copy=false too); the
tensor-core attention again with --gpu-async-copy=false (`_noasync`: key
and value tiles staged from f32 through registers rather than rounded
before the kernel and copied by cp.async); the heads-64 attention again with
--gpu-multiprocessors=0 (`_128rows`: 64 blocks of 128 query rows rather
than sm_90's 128 blocks of 64); the date translator and Tacotron2 at batch
1 again with --gpu-one-block-steps=false (`_launches`: a launch per kernel
of a step, the steps replayed as CUDA graphs, rather than a step as one
block and the date translator's decoder loop as one launch); Tacotron2 at
batch 1 and 32 again with --gpu-multiprocessors=0 (`_rows`: its attention
a block per row rather than its 200 steps in chunks on more blocks). One error case: a golden's library made
for sm_100 must stop with the runtime's message on an earlier device."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lit_commands(path):
    """The RUN: commands of a lit test, continuation lines joined."""
    commands, current = [], ""
    for line in open(path):
        if not line.startswith("RUN:"):
            continue
        text = line[4:].strip()
        if text.endswith("\\"):
            current += text[:-1] + " "
            continue
        commands.append(current + text)
        current = ""
    return commands


def golden_cases():
    """(name, heed run arguments, golden, atol, rtol) per case of cuda-goldens.test."""
    runs, cases = {}, []
    for command in lit_commands(os.path.join(ROOT, "test/GPU/cuda-goldens.test")):
        command = command.replace("%examples", "examples").replace("%S", "test/GPU")
        words = shlex.split(command)
        if words[0] == "%{cuda}":
            out = words[words.index("--output") + 1]
            runs[out] = [w for i, w in enumerate(words[1:], 1)
                         if w != "--output" and words[i - 1] != "--output"]
        elif words[0] == "heed-allclose":
            out, golden = words[1], words[2]
            atol = float(words[words.index("--atol") + 1]) if "--atol" in words else 1e-5
            rtol = float(words[words.index("--rtol") + 1]) if "--rtol" in words else 1e-4
            name = os.path.basename(out)[:-len(".npz")]
            cases.append((name, runs[out], golden, atol, rtol))
    return cases


def model_name(path):
    return re.search(r"^model\s+(\w+)", open(os.path.join(ROOT, path)).read(), re.M).group(1)


def compile_library(heed, out, name, model, options):
    lib = os.path.join(out, "lib%s.so" % name)
    subprocess.run([heed, "compile", model, "--target=cuda", "--emit=shared",
                    "-o", lib, "--header", os.path.join(out, name + ".h")] + options,
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return os.path.basename(lib)


def main(build, out, only=None):
    build, out = os.path.abspath(build), os.path.abspath(out)
    wanted = lambda name: only is None or name in only  # noqa: E731
    heed = os.path.join(build, "bin", "heed")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    shutil.copy(os.path.join(build, "lib", "libheed_cuda_runtime.so"), out)
    shutil.copy(os.path.join(build, "bin", "heed-aot-run-cuda"), out)
    manifest = {"goldens": [], "benchmarks": []}

    for name, args, golden, atol, rtol in golden_cases():
        if not wanted(name):
            continue
        model = args[0]
        weights = args[args.index("--weights") + 1] if "--weights" in args else "-"
        inputs = [args[i + 1] for i, w in enumerate(args) if w == "--input"]
        options = [w for i, w in enumerate(args[1:], 1)
                   if w != "--weights" and args[i - 1] != "--weights"]
        lib = compile_library(heed, out, name, model, options)
        manifest["goldens"].append({"name": name, "model": model_name(model), "library": lib,
                                    "weights": weights, "inputs": inputs,
                                    "golden": golden, "atol": atol, "rtol": rtol})
        print("golden", name, file=sys.stderr)

    # An error the device must give: the dense_attention case compiled
    # for sm_100, later than an H100's or H200's sm_90. The runtime stops
    # it with one line naming both architectures (on sm_100 and later it
    # runs).
    for name, args, golden, atol, rtol in golden_cases():
        if name != "dense_attention" or not wanted("later_chip"):
            continue
        options = ["--dim=B=1000", "--gpu-chip=sm_100"]
        lib = compile_library(heed, out, "later_chip", args[0], options)
        manifest["errors"] = [{
            "name": "later_chip", "model": model_name(args[0]), "library": lib,
            "weights": args[args.index("--weights") + 1],
            "inputs": [args[i + 1] for i, w in enumerate(args) if w == "--input"],
            "expect": "the model's kernels are PTX for sm_100 (--gpu-chip), later than "
                      "this GPU's sm_", "runs_from": 100}]
        print("error case later_chip", file=sys.stderr)

    # Benchmarks: inputs made on the device (random; the values do not
    # change the work), weights from the repository or made here.
    # The seed-size NMT's weights (60 MB) are made on the device by the
    # same reference script; only the sentence length is needed here.
    sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
    import nmt  # noqa: E402 (PyTorch, for its SEED sizes)
    tx = nmt.SEED["tx"]
    nmt_params = ["--param", "VOCAB_IN=1000", "--param", "VOCAB=1000", "--param", "EMBED=256",
                  "--param", "UNITS=1024", "--param", "MAX_LEN=20"]
    benches = []
    for heads, steps, depth in [(8, 1024, 64), (16, 4096, 128)]:
        for precision in ["bf16", "f32", "tf32x3"]:
            benches.append({
                "name": "sdpa_%dx%dx%d_%s" % (heads, steps, depth, precision),
                "model_file": "bench/gpu/sdpa.heed", "weights": "-",
                "options": ["--dim", "B=%d" % heads, "--dim", "S=%d" % steps,
                            "--param", "D=%d" % depth, "--gpu-precision=" + precision],
                "inputs": {n: [heads, steps, depth] for n in "qkv"},
                "flops": 4 * steps * steps * depth * heads, "repeat": 20})
    for batch in [1, 256]:
        benches.append({
            "name": "date_translation_b%d" % batch,
            "model_file": "examples/date_translation/model.heed",
            "weights": "examples/date_translation/weights.safetensors",
            "options": ["--dim", "B=%d" % batch],
            "inputs": {"X": [batch, 30, 37], "s0": [batch, 64], "c0": [batch, 64]},
            "repeat": 20})
        benches.append({
            "name": "nmt_seed_b%d" % batch, "model_file": "examples/nmt/model.heed",
            "weights": "nmt-seed", "options": nmt_params + ["--dim", "B=%d" % batch,
                                                            "--dim", "TX=%d" % tx],
            "inputs": {"source": "nmt-seed"}, "tile": batch, "repeat": 20})
    for batch in [1, 32]:
        benches.append({
            "name": "tacotron2_b%d" % batch,
            "model_file": "examples/tacotron2_attention/model.heed",
            "weights": "examples/tacotron2_attention/weights.safetensors",
            "options": ["--dim", "B=%d" % batch, "--dim", "T=200", "--dim", "S=200"],
            "inputs": {"memory": [batch, 200, 512], "lengths": "steps:200:%d" % batch,
                       "queries": [batch, 200, 1024]},
            "repeat": 10})
    # The batched decoders and Tacotron2 with their products in f32 on
    # tensor cores (3xTF32) too: where products, not launches, dominate.
    for b in list(benches):
        if b["name"] in ("date_translation_b256", "nmt_seed_b256", "tacotron2_b32"):
            benches.append(dict(b, name=b["name"] + "_tf32x3",
                                options=b["options"] + ["--gpu-precision=tf32x3"]))
    # The flash kernels' key and value tiles by cp.async (--gpu-async-copy,
    # the default; bf16 keys and values rounded before the kernel) against
    # staged from f32 through registers, the next step's read while a step
    # computes where they fit (--gpu-prefetch).
    sdpa_tensor_cores = ("sdpa_8x1024x64_bf16", "sdpa_16x4096x128_bf16",
                         "sdpa_8x1024x64_tf32x3", "sdpa_16x4096x128_tf32x3")
    for b in list(benches):
        if b["name"] in sdpa_tensor_cores:
            benches.append(dict(b, name=b["name"] + "_noasync",
                                options=b["options"] + ["--gpu-async-copy=false"]))
    # The tiled kernels' software pipelining against each step reading its
    # own tiles, where it applies: the flash kernels at heads of 128 (with
    # neither cp.async nor --gpu-prefetch), the products of the batched NMT.
    for b in list(benches):
        if b["name"] in ("sdpa_16x4096x128_bf16", "sdpa_16x4096x128_tf32x3",
                         "nmt_seed_b256", "nmt_seed_b256_tf32x3"):
            off = ["--gpu-prefetch=false"]
            if b["name"] in sdpa_tensor_cores:
                off.append("--gpu-async-copy=false")
            benches.append(dict(b, name=b["name"] + "_noprefetch",
                                options=b["options"] + off))
    # The flash kernels' blocks by the chip's multiprocessors (the default:
    # 64 query rows where 128-row blocks would be fewer than sm_90's 132)
    # against by the sizes alone.
    for b in list(benches):
        if b["name"] in ("sdpa_8x1024x64_bf16", "sdpa_8x1024x64_tf32x3"):
            benches.append(dict(b, name=b["name"] + "_128rows",
                                options=b["options"] + ["--gpu-multiprocessors=0"]))
    # The small decoders' steps as one block each, their loops one launch
    # (the default), against a launch per kernel replayed as CUDA graphs.
    for b in list(benches):
        if b["name"] in ("date_translation_b1", "tacotron2_b1"):
            benches.append(dict(b, name=b["name"] + "_launches",
                                options=b["options"] + ["--gpu-one-block-steps=false"]))
    # Tacotron2's attention rows by the chip's multiprocessors (the
    # default: the 200 steps of its 1 or 32 rows in 12 or 5 chunks on
    # their own blocks, combined by a second kernel) against a block per
    # row.
    for b in list(benches):
        if b["name"] in ("tacotron2_b1", "tacotron2_b32"):
            benches.append(dict(b, name=b["name"] + "_rows",
                                options=b["options"] + ["--gpu-multiprocessors=0"]))
    # Products in a loop's step over at most 32 terms a thread per output
    # (the default: the date translator's encoder at batch 256, its cells
    # then in the products' loops) against tiled (=0, as before), and
    # attention_decoder at batch 256 with 128 (its decoder's 128-term
    # products too: 305 launches a run over the fake driver, 585 at 32).
    for b in list(benches):
        if b["name"] == "date_translation_b256":
            benches.append(dict(b, name=b["name"] + "_tiled",
                                options=b["options"] + ["--gpu-step-product-terms=0"]))
    decoder = {"model_file": "examples/attention_decoder/model.heed",
               "weights": "examples/attention_decoder/weights.safetensors",
               "inputs": {"x": [256, 20, 104]}, "repeat": 20}
    for terms in [32, 128]:
        benches.append(dict(decoder, name="attention_decoder_b256_terms%d" % terms,
                            options=["--dim", "B=256", "--dim", "T=20",
                                     "--gpu-step-product-terms=%d" % terms]))
    for b in benches:
        if not wanted(b["name"]):
            continue
        b["model"] = model_name(b["model_file"])
        b["library"] = compile_library(heed, out, b["name"], b["model_file"], b["options"])
        manifest["benchmarks"].append(b)
        print("benchmark", b["name"], file=sys.stderr)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("wrote %s (%d goldens, %d benchmarks, %d error cases)" % (
        out, len(manifest["goldens"]), len(manifest["benchmarks"]),
        len(manifest.get("errors", []))))


if __name__ == "__main__":
    args, only = sys.argv[1:], None
    if "--only" in args:
        at = args.index("--only")
        only = set(args[at + 1].split(","))
        del args[at:at + 2]
    build = args[0] if args else "build"
    main(build, args[1] if len(args) > 1 else os.path.join(build, "device-bundle"), only)
