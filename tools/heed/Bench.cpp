//===- Bench.cpp - heed bench
//----------------------------------------------===//
//
// Part of Heed. Compile time, latency (min/median/p99/max) and throughput
// of a model on given or generated inputs; says how it bound every
// dimension and never guesses one.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "frontends/dsl/AST.h"
#include "runtime/ElementType.h"
#include "runtime/Limits.h"
#include "runtime/cuda/MgpuRuntime.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>

using namespace heed;

namespace heed::cli {

int benchCommand() {
  auto session = openSession(/*needWeights=*/true, /*runs=*/true);
  if (!session)
    return failWith(session.takeError());
  const dsl::Model &model = (*session)->model();
  if (batch <= 0)
    return failWith("--batch must be positive");
  // Inputs: given files, or deterministic pseudo-random data of the
  // declared shapes with the first symbolic dim set to --batch.
  auto given = loadInputs();
  if (!given)
    return failWith(given.takeError());
  rt::NamedTensors in = std::move(*given);
  // Every symbolic dimension is bound from --input files, --dim or (the
  // batch) --batch, and said how; none is guessed.
  std::vector<std::pair<std::string, std::string>> boundHow;
  if (in.empty()) {
    auto dims = parseDims(model, /*defaultToOne=*/false);
    if (!dims)
      return failWith(dims.takeError());
    const std::optional<std::string> &rows = (*session)->batchDim();
    std::string batchSymbol = rows                    ? *rows
                              : model.symbols.empty() ? ""
                                                      : model.symbols.front();
    std::string unbound;
    for (auto &sym : model.symbols) {
      if (dims->count(sym)) {
        boundHow.emplace_back(sym, "--dim");
      } else if (sym == batchSymbol) {
        (*dims)[sym] = batch;
        boundHow.emplace_back(sym, "--batch");
      } else {
        unbound += (unbound.empty() ? "" : ", ") + sym;
      }
    }
    if (!unbound.empty())
      return failWith("heed bench: bind every symbolic dimension of '" +
                      model.name + "' other than the batch (" + batchSymbol +
                      ", from --batch) with --dim NAME=SIZE or give --input "
                      "files; unbound: " +
                      unbound);
    uint32_t state = 12345;
    for (auto &decl : model.inputs) {
      std::vector<int64_t> shape;
      for (auto &d : decl.shape)
        shape.push_back(d.isKnown() ? d.size : dims->lookup(d.symbol));
      if (auto err = limits::checkTensorSize(
              shape, sizeof(float), "heed bench: input '" + decl.name + "'"))
        return failWith(std::move(err));
      rt::Tensor t(shape);
      // Inputs the model constrains: full lengths, token ids in range.
      const dsl::Model::InputRange *range = nullptr;
      for (auto &r : model.inputRanges)
        if (r.input == decl.name)
          range = &r;
      int64_t hi = range ? range->upper(*dims) : 0;
      bool lengths =
          range && llvm::StringRef(range->role).starts_with("lengths");
      for (int64_t i = 0; i < t.numElements(); ++i) {
        state = state * 1664525u + 1013904223u;
        float u = float(state >> 8) / float(1 << 24);
        t[i] = range
                   ? (lengths ? float(hi)
                              : float(range->min +
                                      int64_t(u * float(hi - range->min + 1)) %
                                          (hi - range->min + 1)))
               : decl.elementType == "bool" ? float(state >> 31)
               : decl.isInteger()           ? float((state >> 8) % 10)
                                            : u;
      }
      if (decl.isInteger())
        t.setElementType(decl.elementType == "bool" ? rt::ElementType::Bool
                                                    : rt::ElementType::I64);
      in.emplace_back(decl.name, std::move(t));
    }
  }
  auto first = (*session)->run(in); // compiles
  if (!first)
    return failWith(first.takeError());
  auto boundDims = (*session)->bindDims(in);
  if (!boundDims)
    return failWith(boundDims.takeError());
  if (boundHow.empty())
    for (auto &sym : model.symbols)
      boundHow.emplace_back(sym, "the inputs");
  printCacheWarnings(**session);
  double compileMs = (*session)->lastCompileSeconds() * 1e3;
  const Session::CompilePhases &phases = (*session)->lastCompilePhases();
  using clock = std::chrono::steady_clock;
  unsigned n = iterations;
  if (n == 0) {
    auto t0 = clock::now();
    if (auto r = (*session)->run(in); !r)
      return failWith(r.takeError());
    double one = std::chrono::duration<double>(clock::now() - t0).count();
    n = unsigned(std::clamp(1.0 / std::max(one, 1e-7), 10.0, 100000.0));
    // A long bench says so before it goes quiet (--iterations sets n).
    if (n * one > 10)
      llvm::errs() << "heed bench: timing " << n << " runs of about "
                   << llvm::format("%.1f", one) << " s each\n";
  }
  // On a GPU, CUDA events time each run on the device.
  std::unique_ptr<rt::cuda::DeviceTimer> deviceTimer;
  if ((*session)->pipelineOptions().target == Target::CUDA) {
    std::string error;
    deviceTimer = rt::cuda::DeviceTimer::create(error);
    if (!deviceTimer)
      return failWith(llvm::createStringError(error));
  }
  std::vector<double> times;
  for (unsigned i = 0; i < n; ++i) {
    auto t0 = clock::now();
    if (deviceTimer)
      deviceTimer->start();
    auto r = (*session)->run(in);
    double seconds = std::chrono::duration<double>(clock::now() - t0).count();
    if (!r)
      return failWith(r.takeError());
    if (deviceTimer) {
      std::string error;
      seconds = deviceTimer->stop(error);
      if (seconds < 0)
        return failWith(llvm::createStringError(error));
    }
    times.push_back(seconds);
  }
  std::sort(times.begin(), times.end());
  auto us = [](double s) { return llvm::format("%.2f", s * 1e6); };
  double median = times[times.size() / 2];
  int64_t rows = 1;
  if (auto b = (*session)->batchDim())
    rows = boundDims->lookup(*b);
  std::string dimsText;
  for (auto &[sym, how] : boundHow)
    dimsText += (dimsText.empty() ? "" : ", ") + sym + "=" +
                std::to_string(boundDims->lookup(sym)) + " (" + how + ")";
  // A decoder's tokens: rows x the trip count of its (first) time loop.
  std::string tokens;
  for (auto &stmt : model.stmts)
    if (stmt->kind == dsl::Stmt::Kind::For && tokens.empty()) {
      int64_t steps = stmt->count.isKnown()
                          ? stmt->count.size
                          : boundDims->lookup(stmt->count.symbol);
      tokens = llvm::formatv(", {0}{1:F0} tokens/s ({2} loop steps per row{3})",
                             stmt->until ? "at most " : "",
                             double(rows * steps) / median, steps,
                             stmt->until ? ", fewer where rows stop early" : "")
                   .str();
    }
  // Threads split batch rows on the CPU; a device run is one block of rows.
  unsigned threads = (*session)->threads();
  llvm::outs()
      << "model " << model.name << ", batch " << rows << ", "
      << (deviceTimer
              ? std::string("on the GPU")
              : std::to_string(threads) + " thread" + (threads == 1 ? "" : "s"))
      << (!deviceTimer && threads > 1 && !(*session)->batchDim()
              ? " (rows not split: " + (*session)->whyNoRowBlocks() + ")"
              : std::string())
      << (gpuDevice().empty() ? "" : "\n  device: " + gpuDevice())
      << "\n  dims: " << (dimsText.empty() ? "none" : dimsText)
      << "\n  compile: " << llvm::format("%.1f", compileMs) << " ms"
      << ((*session)->lastCompileWasCached()
              ? " (linked from the on-disk compile cache; "
                "--no-compile-cache measures a compilation)"
              : llvm::formatv(" (MLIR pipeline {0:F1}, LLVM -O3 "
                              "{1:F1}, code generation {2:F1}, "
                              "weight preparation {3:F1})",
                              phases.mlir * 1e3, phases.optimize * 1e3,
                              phases.codegen * 1e3, phases.prepare * 1e3)
                    .str())
      << "\n"
      << "  latency over " << n << " runs"
      << (deviceTimer ? " (CUDA events)" : "") << ": min " << us(times.front())
      << " us, median " << us(median) << " us, p99 "
      << us(times[std::min(times.size() - 1, times.size() * 99 / 100)])
      << " us, max " << us(times.back()) << " us\n"
      << "  throughput: " << llvm::formatv("{0:F0}", double(rows) / median)
      << " rows/s" << tokens << "\n";
  return 0;
}

} // namespace heed::cli
