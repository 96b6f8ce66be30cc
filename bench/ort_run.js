// ONNX Runtime (onnxruntime-node) as a benchmark peer, one thread.
//
//   node bench/ort_run.js MANIFEST.json
//
// The manifest (written by bench/compare.py) names the .onnx model, its
// inputs and the outputs PyTorch computed, as raw little-endian files. The
// outputs are checked against PyTorch's before anything is timed; a
// mismatch exits 1. Prints one JSON line: median and p90 latency in
// microseconds over about a second of runs, and the largest difference.
'use strict';
const fs = require('fs');
const path = require('path');

const ortPath = process.env.HEED_ORT_NODE_MODULES
  ? path.join(process.env.HEED_ORT_NODE_MODULES, 'onnxruntime-node')
  : 'onnxruntime-node';
const ort = require(ortPath);

function readTensor(spec, dir) {
  const bytes = fs.readFileSync(path.join(dir, spec.file));
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  const data = spec.dtype === 'int64' ? new BigInt64Array(copy)
                                      : new Float32Array(copy);
  return new ort.Tensor(spec.dtype, data, spec.shape);
}

async function main() {
  const manifestPath = process.argv[2];
  const dir = path.dirname(manifestPath);
  const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, m.model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const spec of m.inputs)
    feeds[spec.name] = readTensor(spec, dir);
  const results = await session.run(feeds);
  let maxDiff = 0;
  for (const spec of m.outputs) {
    const want = readTensor(spec, dir).data;
    const got = results[spec.name].data;
    if (got.length !== want.length) {
      console.error(`${spec.name}: ${got.length} elements, PyTorch ${want.length}`);
      process.exit(1);
    }
    for (let i = 0; i < got.length; ++i) {
      const g = Number(got[i]), w = Number(want[i]);
      const diff = Math.abs(g - w);
      maxDiff = Math.max(maxDiff, diff);
      if (!(diff <= m.atol + m.rtol * Math.abs(w))) {
        console.error(`${spec.name}[${i}]: ORT ${g}, PyTorch ${w}`);
        process.exit(1);
      }
    }
  }
  const seconds = m.seconds || 1.0;
  for (let i = 0; i < 5; ++i)
    await session.run(feeds);
  const times = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline || times.length < 10) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    median_us: times[Math.floor(times.length / 2)],
    p90_us: times[Math.floor(times.length * 0.9)],
    runs: times.length,
    max_abs_diff: maxDiff,
  }));
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
