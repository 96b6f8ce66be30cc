#!/usr/bin/env python3
"""Runs on a machine with an NVIDIA GPU and its driver (and Python with
NumPy; PyTorch with CUDA for the baselines), from the repository root,
what bench/gpu/make_device_bundle.py prepared elsewhere:

    python3 bench/gpu/device_check.py build/device-bundle [--skip-torch]
        [--parts machine,goldens,heed,torch,compile] [--out DIR] [--timeout S]
        [--wrap "compute-sanitizer --tool memcheck --error-exitcode 3"]
    python3 bench/gpu/device_check.py --render RESULTS.json...

--parts picks the steps (all by default; --skip-torch drops the last
three); --out writes results.md, results.json and failures.log there as
well as into the bundle, after every row, so a run cut short still says
what it measured; --render merges saved results.json files (later ones
win) and prints their report; --wrap runs each golden case through a
command (a sanitizer: its error summary goes into the report).

0. The machine's ceilings, through PyTorch: a bf16 and a f32 (no TF32)
   8192³ matrix product in TFLOP/s, a device-to-device copy in GB/s
   (bytes read and written), each the median of 10 after 3 warm-ups.

1. Goldens: every case of test/GPU/cuda-goldens.test through its model
   library (heed-aot-run-cuda), against its PyTorch golden with the CPU's
   tolerances (|a - e| <= atol + rtol |e|, heed-allclose's rule). Then the
   error case: a library made for sm_100 must stop with the runtime's
   message naming both architectures (or run, on sm_100 and later). Each
   runs three times and the last run's output is compared (its loop steps
   replay the CUDA graphs of the first); a case that fails or differs runs
   again with HEED_CUDA_GRAPHS=0, and the report says how that went.
2. Benchmarks: each model library run once, then `repeat` more times,
   with HEED_CUDA_PROFILE (every kernel timed with CUDA events, each
   launch then waited for) and without it. Reported: the device time of
   one run (its kernels' time, preparation excluded) from the first, the
   wall time of one run (the median; launches asynchronous, inputs and
   outputs staged through managed memory included) from the second, for
   the NMT decoders also the wall time with HEED_STOP_TEST_LAG=1 (the
   host at most one step ahead of the stop test's count), for every
   benchmark the wall time with HEED_CUDA_STAGING=copy (inputs and outputs
   copied by the driver, not written by the host and prefetched), and for
   attention TFLOP/s (4 S² d per head) from the flash kernel's time.
3. PyTorch on the same GPU, eager (part torch) and torch.compile (part
   compile, the slow one), timed with CUDA
   events (median of 20 after warm-up): F.scaled_dot_product_attention in
   bf16 and f32, the date translator, the seed-size NMT decoder
   (tools/reference/nmt.py, one sentence at a time: its translate() is
   per sentence) and Tacotron2's attention over 200 steps.

Prints a Markdown report and writes it to BUNDLE/results.md."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Results:
    """What the run measured so far, saved after every row (results.json,
    results.md and, for failed runs, their whole output in failures.log) in
    each of `dirs`."""

    def __init__(self, dirs, state=None):
        self.dirs = dirs
        self.state = state or {"gpu": "", "machine": {}, "goldens": [], "heed": {},
                               "torch": {}}

    def log_failure(self, what, r):
        for d in self.dirs:
            with open(os.path.join(d, "failures.log"), "a") as f:
                f.write("=== %s (exit %s)\n%s\n%s\n" % (what, r.returncode, r.stdout[-4000:],
                                                        r.stderr[-8000:]))

    def save(self):
        text = render(self.state)
        for d in self.dirs:
            with open(os.path.join(d, "results.json"), "w") as f:
                json.dump(self.state, f, indent=1)
            with open(os.path.join(d, "results.md"), "w") as f:
                f.write(text)
        return text


# A command the goldens' runs go through (--wrap: compute-sanitizer, say).
WRAP = []


def runner(bundle, args, env=None, timeout=300, wrap=()):
    e = dict(os.environ)
    e["LD_LIBRARY_PATH"] = bundle + ":" + e.get("LD_LIBRARY_PATH", "")
    e.update(env or {})
    try:
        return subprocess.run(list(wrap) + [os.path.join(bundle, "heed-aot-run-cuda")] + args,
                              cwd=ROOT,
                              env=e, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as t:
        out = lambda b: (b.decode(errors="replace") if isinstance(b, bytes) else b or "")  # noqa
        return subprocess.CompletedProcess(t.cmd, "timeout", out(t.stdout),
                                           out(t.stderr) + "\nheed-aot-run: killed after "
                                           "%d s" % timeout)


def failure(r):
    """The runner's own message (its stderr also holds the profile)."""
    lines = [l for l in (r.stderr + r.stdout).splitlines() if l.startswith("heed-aot-run")]
    return (lines[-1] if lines else (r.stderr or r.stdout).strip()[-300:])[:300]


def input_args(specs):
    """NAME=FILE as given, or FILE.npz expanded to one NAME=FILE per array."""
    args = []
    for spec in specs:
        if "=" in spec:
            args.append(spec)
        else:
            with np.load(os.path.join(ROOT, spec)) as z:
                args += ["%s=%s" % (name, spec) for name in z.files]
    return args


def compare(case, out):
    """(ok, worst difference) of a golden case's output file."""
    got, want = np.load(out), np.load(os.path.join(ROOT, case["golden"]))
    worst, ok = 0.0, True
    for key in want.files:
        a, e = got[key].astype(np.float64), want[key].astype(np.float64)
        if a.shape != e.shape:
            ok = False
            continue
        worst = max(worst, float(np.nanmax(np.abs(a - e))) if a.size else 0.0)
        ok &= bool(np.allclose(a, e, atol=case["atol"],
                               rtol=case.get("rtol", 1e-4), equal_nan=True))
    return ok, worst


def goldens(bundle, manifest, tmp, results, timeout):
    for case in manifest["goldens"]:
        out = os.path.join(tmp, case["name"] + ".npz")
        # Three runs, the output of the last: its loop steps replay the CUDA
        # graphs the first run built (runtime/cuda/LaunchGraphs.cpp).
        args = [os.path.join(bundle, case["library"]), case["model"], case["weights"],
                out] + input_args(case["inputs"]) + ["--repeat=2"]
        t0 = time.time()
        r = runner(bundle, args, timeout=timeout, wrap=WRAP)
        summary = re.findall(r"ERROR SUMMARY: \d+ errors?", r.stdout + r.stderr)
        row = {"name": case["name"], "seconds": time.time() - t0}
        if summary:
            row["wrapped"] = summary[-1]
        if r.returncode:
            row["error"] = failure(r)
            results.log_failure(case["name"], r)
        else:
            ok, worst = compare(case, out)
            row.update(ok=ok, worst=worst)
        if not row.get("ok"):
            # Again with every kernel launched by itself: whether the graphs
            # are the cause.
            plain = runner(bundle, args, env={"HEED_CUDA_GRAPHS": "0"}, timeout=timeout)
            row["without_graphs"] = ("fails" if plain.returncode else
                                     "ok" if compare(case, out)[0] else "differs")
        results.state["goldens"].append(row)
        results.save()
        print("golden", case["name"], row, flush=True)
    for case in manifest.get("errors", []):
        results.state["goldens"].append(error_case(bundle, case, tmp, timeout))
        results.save()
    return sum(1 for row in results.state["goldens"] if not row.get("ok"))


def compute_capability():
    """The device's compute capability in tens (90), or None (nvidia-smi's
    compute_cap, which older drivers lack)."""
    try:
        text = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap",
                               "--format=csv,noheader"],
                              capture_output=True, text=True).stdout.split()
        major, minor = text[0].split(".")
        return int(major) * 10 + int(minor)
    except (OSError, IndexError, ValueError):
        return None


def error_case(bundle, case, tmp, timeout):
    """A library the device must refuse with the runtime's message: ok when
    it does, or when it runs on a device of `runs_from` or later."""
    out = os.path.join(tmp, case["name"] + ".npz")
    args = ([os.path.join(bundle, case["library"]), case["model"], case["weights"], out]
            + input_args(case["inputs"]))
    r = runner(bundle, args, timeout=timeout)
    capability = compute_capability()
    row = {"name": case["name"], "error_case": True}
    if r.returncode and case["expect"] in r.stdout + r.stderr:
        row.update(ok=True, result="stopped with the expected message")
    elif not r.returncode and capability is not None and capability >= case["runs_from"]:
        row.update(ok=True, result="ran (the device is sm_%d)" % capability)
    else:
        row.update(ok=False, result="ran" if not r.returncode else failure(r))
    print("error case", case["name"], row, flush=True)
    return row


def make_inputs(bench, tmp, seed_dir):
    rng = np.random.default_rng(0)
    args = []
    for name, spec in bench["inputs"].items():
        path = os.path.join(tmp, "%s_%s.npy" % (bench["name"], name))
        if spec == "nmt-seed":
            source = np.load(os.path.join(seed_dir, "source.npy"))
            np.save(path, np.tile(source, (bench.get("tile", 1), 1)).astype(np.float32))
        elif isinstance(spec, str) and spec.startswith("steps:"):
            _, steps, batch = spec.split(":")
            np.save(path, np.full([int(batch)], float(steps), np.float32))
        else:
            np.save(path, rng.standard_normal(spec).astype(np.float32))
        args.append("%s=%s" % (name, path))
    return args


def heed_benchmarks(bundle, manifest, tmp, seed_dir, results, timeout):
    rows = results.state["heed"]
    for bench in manifest["benchmarks"]:
        weights = bench["weights"]
        if weights == "nmt-seed":
            weights = os.path.join(seed_dir, "weights.safetensors")
        out = os.path.join(tmp, bench["name"] + ".npz")
        args = ([os.path.join(bundle, bench["library"]), bench["model"], weights, out]
                + make_inputs(bench, tmp, seed_dir) + ["--repeat=%d" % bench["repeat"]])

        def wall_ms(env):
            """Median wall time per run, launches asynchronous (no profile)."""
            w = runner(bundle, args, env=env, timeout=timeout)
            if w.returncode:
                results.log_failure(bench["name"] + " " + str(env), w)
                return None
            found = re.search(r"median ([0-9.]+) ms", w.stdout)
            return float(found.group(1)) if found else None

        # The profile times each launch with events and waits for it: device
        # times per kernel, but not the wall time of asynchronous launches.
        r = runner(bundle, args, env={"HEED_CUDA_PROFILE": "1"}, timeout=timeout)
        if r.returncode:
            rows[bench["name"]] = {"error": failure(r)}
            results.log_failure(bench["name"] + " (profiled)", r)
            results.save()
            continue
        wall = wall_ms({})
        runs = bench["repeat"] + 1
        device, flash, launches, kernels = 0.0, 0.0, 0, []
        for name, n, ms in re.findall(r"heed-cuda-profile: (\S+) (\d+) launches ([0-9.]+) ms",
                                      r.stderr):
            if "_prepare" in name:
                continue
            device += float(ms) / runs
            launches += int(n) // runs
            kernels.append([name, int(n) // runs, float(ms) / runs])
            if "flash_attention" in name:
                flash += float(ms) / runs
        row = {"wall_ms": wall, "device_ms": device, "launches": launches,
               "kernels": kernels[:8]}
        if not bench["name"].startswith("sdpa"):
            # Every kernel launched by itself, no CUDA graphs
            # (runtime/cuda/LaunchGraphs.cpp): what the graphs save.
            row["wall_no_graphs_ms"] = wall_ms({"HEED_CUDA_GRAPHS": "0"})
        # Inputs and outputs copied by the driver (HEED_CUDA_STAGING=copy)
        # rather than written by the host and prefetched.
        row["wall_copy_staging_ms"] = wall_ms({"HEED_CUDA_STAGING": "copy"})
        if bench["name"].startswith("nmt"):
            # A decoder with `until`: the host at most 1 step ahead of the
            # stop test's count instead of 3 (HEED_STOP_TEST_LAG).
            row["wall_lag1_ms"] = wall_ms({"HEED_STOP_TEST_LAG": "1"})
        if "flops" in bench and flash > 0:
            row["tflops"] = bench["flops"] / (flash * 1e-3) / 1e12
        rows[bench["name"]] = row
        results.save()
        print("benchmark", bench["name"], {k: v for k, v in row.items() if k != "kernels"},
              flush=True)


def time_ms(fn, device, repeat=20):
    """Median milliseconds of fn(): CUDA events on a GPU, the host's clock
    otherwise (a smoke test of this script without one)."""
    import torch
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2]


def machine_ceilings(results):
    """The GPU's matrix rates and copy bandwidth, measured now."""
    import torch
    dev = torch.device("cuda")
    m = results.state["machine"]
    m["torch"] = torch.__version__
    # The chip's multiprocessors and L2, beside the count the bundle's
    # kernels were sized for (--gpu-multiprocessors' default for sm_90).
    props = torch.cuda.get_device_properties(dev)
    m["multiprocessors"] = props.multi_processor_count
    m["l2_mb"] = getattr(props, "L2_cache_size", 0) / 2 ** 20
    n = 8192
    for precision, dtype in [("bf16", torch.bfloat16), ("f32", torch.float32)]:
        torch.backends.cuda.matmul.allow_tf32 = False
        a, b = (torch.randn(n, n, device=dev, dtype=dtype) for _ in range(2))
        ms = time_ms(lambda: a @ b, dev, repeat=10)
        m["matmul_%s_tflops" % precision] = 2 * n ** 3 / (ms * 1e-3) / 1e12
    src = torch.randn(1 << 30, device=dev)  # 4 GiB
    dst = torch.empty_like(src)
    ms = time_ms(lambda: dst.copy_(src), dev, repeat=10)
    m["copy_gbs"] = 2 * src.numel() * 4 / (ms * 1e-3) / 1e9
    del src, dst
    torch.cuda.empty_cache()
    results.save()
    print("machine", m, flush=True)


def torch_baselines(seed_dir, results, compiled, device_name="cuda", sizes=None):
    """results.state["torch"][benchmark] gets "eager" (or, with `compiled`,
    "compile") milliseconds: PyTorch on the GPU."""
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
    from date_translation import DateTranslator, N_S  # noqa: E402
    import dates  # noqa: E402
    import nmt  # noqa: E402
    import tacotron2_attention as tacotron  # noqa: E402
    dev = torch.device(device_name)
    out = results.state["torch"]

    def both(name, make, compile_too=True):
        row = out.setdefault(name, {})
        if compiled and not compile_too:
            return
        try:
            fn = make()
            with torch.no_grad():
                if not compiled:
                    row["eager"] = time_ms(fn, dev)
                else:
                    t0 = time.time()
                    fast = torch.compile(fn)
                    fast()
                    row["compile"] = time_ms(fast, dev)
                    row["compile_s"] = time.time() - t0
        except Exception as e:  # a baseline that fails is reported, not fatal
            row["compile_error" if compiled else "error"] = (
                "%s: %s" % (type(e).__name__, e))[:200]
        results.save()
        print("torch", "compile" if compiled else "eager", name, row, flush=True)

    for heads, steps, depth in sizes or [(8, 1024, 64), (16, 4096, 128)]:
        for precision, dtype in [("bf16", torch.bfloat16), ("f32", torch.float32)]:
            def make(heads=heads, steps=steps, depth=depth, dtype=dtype):
                q, k, v = (torch.randn(1, heads, steps, depth, device=dev, dtype=dtype)
                           for _ in range(3))
                return lambda: F.scaled_dot_product_attention(q, k, v)
            both("sdpa_%dx%dx%d_%s" % (heads, steps, depth, precision), make)
    for batch in [1, 256]:
        def make(batch=batch):
            net = DateTranslator().eval().to(dev)
            x = torch.randn(batch, dates.TX, len(dates.HUMAN_VOCAB), device=dev)
            s0 = torch.zeros(batch, N_S, device=dev)
            return lambda: net(x, s0, s0)
        both("date_translation_b%d" % batch, make)

    def make_nmt():
        model = nmt.make_model(nmt.SEED).to(dev)
        source = torch.tensor(np.load(os.path.join(seed_dir, "source.npy")),
                              device=dev).long()
        return lambda: model.translate(source)
    both("nmt_seed_b1", make_nmt, compile_too=False)
    if "eager" in out.get("nmt_seed_b1", {}):
        out["nmt_seed_b256"] = {"eager": out["nmt_seed_b1"]["eager"] * 256,
                                "note": "256 sentences one at a time"}
    for batch in [1, 32]:
        def make(batch=batch):
            att = tacotron.LocationSensitiveAttention().eval().to(dev)
            memory, lengths, queries = (t.to(dev) for t in
                                        tacotron.make_inputs(batch, 200, 200))
            return lambda: tacotron.run(att, memory, lengths.long(), queries,
                                        False, True, None)
        both("tacotron2_b%d" % batch, make, compile_too=False)


def render(state):
    """The Markdown report of a results state."""
    report = ["# Heed on %s\n" % (state.get("gpu") or "a GPU without nvidia-smi")]
    m = state.get("machine", {})
    if m:
        report.append("Measured in the same run (PyTorch %s): bf16 8192³ product %.0f TFLOP/s, "
                      "f32 (no TF32) %.1f TFLOP/s, device copy %.0f GB/s.\n" % (
                          m.get("torch", "?"), m.get("matmul_bf16_tflops", 0),
                          m.get("matmul_f32_tflops", 0), m.get("copy_gbs", 0)))
        if "multiprocessors" in m:
            report.append("%d multiprocessors (the bundle's flash blocks assume sm_90's 132: "
                          "--gpu-multiprocessors), %.0f MB of L2.\n" % (
                              m["multiprocessors"], m.get("l2_mb", 0)))
    rows = state.get("goldens", [])
    if rows:
        report.append("## Goldens (model libraries on the device)\n")
        report.append("| case | result | max abs diff |\n| --- | --- | --- |")
        for row in rows:
            wrapped = " (%s)" % row["wrapped"] if "wrapped" in row else ""
            if "without_graphs" in row:
                wrapped += "; without CUDA graphs: %s" % row["without_graphs"]
            if row.get("error_case"):
                report.append("| %s (error case) | %s: %s | |" % (
                    row["name"], "ok" if row["ok"] else "WRONG", row["result"]))
            elif "error" in row:
                report.append("| %s | FAILED: %s%s | |" % (row["name"], row["error"], wrapped))
            else:
                report.append("| %s | %s%s | %.3g |" % (row["name"], "ok" if row["ok"] else
                                                        "DIFFERS", wrapped, row["worst"]))
        report.append("\n%d of %d cases differ or fail.\n" % (
            sum(1 for row in rows if not row.get("ok")), len(rows)))
    torch_rows = state.get("torch", {})
    for name, row in torch_rows.items():
        for key, mode in [("error", "eager"), ("compile_error", "torch.compile")]:
            if key in row:
                report.append("PyTorch %s, %s: %s\n" % (name, mode, row[key]))
    heed = state.get("heed", {})
    if heed:
        report.append("## Benchmarks (ms per run; medians)\n")
        report.append("| benchmark | Heed device | Heed wall | wall, no graphs "
                      "| wall, stop-test lag 1 | wall, copy staging | launches "
                      "| TFLOP/s | PyTorch eager | torch.compile | eager / Heed wall |")
        report.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, row in heed.items():
        # A tf32x3 row is measured against PyTorch in f32 (whose f32 SDPA
        # runs 3xTF32 too on sm_80 and later).
        # A _noprefetch row (the tiled kernels without software
        # pipelining), a _noasync one (the flash kernel's tiles staged
        # through registers, not by cp.async) or a _128rows one (the flash
        # kernel's blocks by the sizes alone), a _launches one (a decoder's
        # step a launch per kernel), a _tiled one (a step's short products
        # tiled) or a _rows one (attention rows a block per row) against the
        # same PyTorch row as its default one.
        base = re.sub(r"_(noprefetch|noasync|128rows|launches|tiled|rows)$", "", name)
        tf32x3 = base.endswith("_tf32x3")
        base = base[:-len("_tf32x3")] if tf32x3 else base
        t = torch_rows.get(base + "_f32" if name.startswith("sdpa_") and tf32x3
                           else base, {})
        if "error" in row:
            report.append("| %s | FAILED: %s | | | | | | | | | |" % (name, row["error"]))
            continue
        eager = t.get("eager")
        wall = row["wall_ms"]
        lag1 = row.get("wall_lag1_ms")
        eager_launches = row.get("wall_no_graphs_ms")
        copied = row.get("wall_copy_staging_ms")
        report.append("| %s | %.3f | %s | %s | %s | %s | %d | %s | %s | %s | %s |" % (
            name, row["device_ms"], "%.3f" % wall if wall else "FAILED",
            "%.3f" % eager_launches if eager_launches else "",
            "%.3f" % lag1 if lag1 else "", "%.3f" % copied if copied else "",
            row["launches"],
            "%.1f" % row["tflops"] if "tflops" in row else "",
            "%.3f" % eager if eager else "", "%.3f" % t["compile"] if "compile" in t else "",
            "%.2fx" % (eager / wall) if eager and wall else ""))
    if any(row.get("kernels") for row in heed.values()):
        report.append("\n## Longest kernels per run (ms)\n")
        for name, row in heed.items():
            if row.get("kernels"):
                report.append("- %s: %s" % (name, ", ".join(
                    "%s ×%d %.3f" % (k, n, ms) for k, n, ms in row["kernels"][:4])))
    return "\n".join(report) + "\n"


def main(bundle, parts, out_dir, timeout):
    bundle = os.path.abspath(bundle)
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    dirs = [bundle] + ([os.path.abspath(out_dir)] if out_dir else [])
    for d in dirs:
        if os.path.exists(os.path.join(d, "failures.log")):
            os.remove(os.path.join(d, "failures.log"))
    results = Results(dirs)
    try:
        results.state["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        if "machine" in parts:
            try:
                machine_ceilings(results)
            except Exception as e:
                print("machine ceilings failed: %s" % str(e)[:300], flush=True)
        if "goldens" in parts:
            failures = goldens(bundle, manifest, tmp, results, timeout)
        seed_dir = os.path.join(tmp, "nmt-seed")
        if {"heed", "torch", "compile"} & parts:
            subprocess.run([sys.executable, "tools/reference/nmt.py", "--seed-size", seed_dir],
                           cwd=ROOT, check=True)
        if "heed" in parts:
            heed_benchmarks(bundle, manifest, tmp, seed_dir, results, timeout)
        for compiled in [False, True]:
            if ("compile" if compiled else "torch") not in parts:
                continue
            try:
                torch_baselines(seed_dir, results, compiled)
            except Exception as e:
                print("PyTorch baselines failed: %s" % str(e)[:300], flush=True)
    print(results.save())
    return 1 if failures else 0


if __name__ == "__main__":
    argv = sys.argv[1:]

    def option(name, default):
        if name not in argv:
            return default
        at = argv.index(name)
        value = argv[at + 1]
        del argv[at:at + 2]
        return value

    if argv and argv[0] == "--render":
        state = {}
        for path in argv[1:]:
            with open(path) as f:
                saved = json.load(f)
            for key, value in saved.items():
                if isinstance(value, dict):
                    for name, row in value.items():
                        if isinstance(row, dict):
                            state.setdefault(key, {}).setdefault(name, {}).update(row)
                        else:
                            state.setdefault(key, {})[name] = row
                elif value:
                    state[key] = value
        print(render(state))
        sys.exit(0)
    all_parts = "machine,goldens,heed,torch,compile"
    parts = set(option("--parts", all_parts).split(","))
    if "--skip-torch" in argv:
        argv.remove("--skip-torch")
        parts -= {"machine", "torch", "compile"}
    out_dir = option("--out", None)
    WRAP[:] = option("--wrap", "").split()
    timeout = int(option("--timeout", "300"))
    sys.exit(main(argv[0] if argv else "build/device-bundle", parts, out_dir, timeout))
