#!/usr/bin/python3
"""Dense-layer throughput per shape: one `dense(N)` layer over [M, K] rows,
Heed's oneDNN inner product (--dense=onednn) against its generated product
(--dense=generated), GFLOP/s (2·M·K·N per run over the median) and the
share of this core's FMA peak, measured in the same run (bench/peaks.cpp).

    bash bench/dense.sh [BUILD_DIR]"""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from tensorio import save_safetensors  # noqa: E402

SHAPES = [(16, 512, 512), (32, 512, 1024), (256, 256, 256), (512, 512, 512),
          (512, 512, 1024), (1024, 1024, 1024), (512, 1024, 3072)]


def median_us(heed, model, weights, rows, dense):
    out = subprocess.run([heed, "bench", model, "--weights", weights, "--batch", str(rows),
                          "--threads", "1", "--dense=" + dense],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split(" median ")[1].split()[0])


def main(build, peak):
    heed = os.path.join(build, "bin", "heed")
    print("| M × K × N | oneDNN (GFLOP/s) | % of peak | generated (GFLOP/s) | % of peak |")
    print("| --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n in SHAPES:
            model = os.path.join(tmp, "dense.heed")
            with open(model, "w") as f:
                f.write("model dense_%d_%d(K = %d, N = %d)\ninput x: [B, K]\n"
                        "layer l = dense(N)\noutput y = l(x)\n" % (k, n, k, n))
            weights = os.path.join(tmp, "w.safetensors")
            save_safetensors(weights, {
                "l.weight": (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32),
                "l.bias": np.zeros(n, np.float32)})
            flops = 2.0 * m * k * n
            cells = []
            for dense in ("onednn", "generated"):
                g = flops / median_us(heed, model, weights, m, dense) / 1e3
                cells += ["%.0f" % g, "%.0f%%" % (100 * g / peak)]
            print("| %d × %d × %d | %s |" % (m, k, n, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
