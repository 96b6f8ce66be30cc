//===- ConcurrencyTest.cpp - One compiled model, many threads -------------===//
//
// Part of Heed. Every example runs from 8 threads at once, each thread many
// times, starting together so that the first runs race to compile; every
// result must be bit-identical to a run on one thread. Each thread runs 200
// times or for 3 s, whichever ends first (at least 10 runs: the slowest
// example took 34 s for 200 on a 2-core machine); HEED_STRESS_RUNS sets an
// exact count instead (the sanitizer jobs run fewer).
//
//===----------------------------------------------------------------------===//

#include "ExampleLoader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

using namespace heed;
using namespace heed::test;

namespace {

/// Every parallel loop of compiled code (heads, query tiles) runs on the
/// pool whenever a run has threads to spare, not only those worth waking a
/// helper for (heed_parallel_for), so that the comparisons cover it.
const bool kEveryParallelLoopOnThePool =
    setenv("HEED_PARALLEL_LOOP_MIN_US", "0", /*overwrite=*/1) == 0;

constexpr int kThreads = 8;

/// How long each thread runs: `runs` times, or, with `bounded`, until
/// kStressSeconds have passed once it ran kMinRuns times.
struct StressRuns {
  int runs;
  bool bounded;
};
constexpr int kMinRuns = 10;
constexpr auto kStressSeconds = std::chrono::seconds(3);

StressRuns runsPerThread() {
  const char *env = std::getenv("HEED_STRESS_RUNS");
  return env ? StressRuns{std::atoi(env), false} : StressRuns{200, true};
}

struct Case {
  const char *example;
  const char *cells;
};

class Concurrency : public ::testing::TestWithParam<Case> {};

TEST_P(Concurrency, ResultsMatchOneThread) {
  PipelineOptions options;
  options.cells = GetParam().cells;
  // The reference: a session of its own, one thread.
  LoadedExample reference = load(GetParam().example, options);
  ASSERT_TRUE(reference.session);
  reference.session->setThreads(1);
  auto expected = reference.session->run(reference.inputs);
  ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());

  // A fresh session, so that the threads' first runs race to compile.
  LoadedExample shared = load(GetParam().example, options);
  ASSERT_TRUE(shared.session);
  StressRuns stress = runsPerThread();
  std::atomic<int> ready{0}, mismatches{0}, failures{0}, runsDone{0};
  std::vector<std::string> firstError(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      auto end = std::chrono::steady_clock::now() + kStressSeconds;
      for (int r = 0; r < stress.runs; ++r) {
        if (stress.bounded && r >= kMinRuns &&
            std::chrono::steady_clock::now() > end)
          break;
        runsDone.fetch_add(1);
        auto outputs = shared.session->run(shared.inputs);
        if (!outputs) {
          if (failures.fetch_add(1) == 0)
            firstError[t] = llvm::toString(outputs.takeError());
          continue;
        }
        if (!identical(*outputs, *expected))
          mismatches.fetch_add(1);
      }
    });
  for (auto &t : threads)
    t.join();
  for (auto &e : firstError)
    EXPECT_TRUE(e.empty()) << e;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0)
      << "of " << runsDone.load() << " runs differ from the one-thread run";

  // Once built, kernel plans are reused by every thread: more runs from
  // several threads build none. (Plans keyed on uninitialized padding
  // bytes were rebuilt on nearly every call from another thread.)
  auto dims = shared.session->bindDims(shared.inputs);
  ASSERT_TRUE(bool(dims)) << llvm::toString(dims.takeError());
  auto compiled = shared.session->compiled(*dims);
  ASSERT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
  uint64_t built = (*compiled)->kernels->planBuilds();
  std::vector<std::thread> more;
  for (int t = 0; t < kThreads; ++t)
    more.emplace_back([&] {
      for (int r = 0; r < 5; ++r)
        if (auto outputs = shared.session->run(shared.inputs); !outputs)
          failures.fetch_add(1), llvm::consumeError(outputs.takeError());
    });
  for (auto &t : more)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ((*compiled)->kernels->planBuilds(), built)
      << "kernel plans were rebuilt by later runs";
}

/// The example's weights, each element times `scale`.
rt::NamedTensors scaledWeights(const std::string &example, float scale) {
  auto loaded = rt::loadTensorFile(examplePath(example, "weights.safetensors"));
  if (!loaded) {
    ADD_FAILURE() << llvm::toString(loaded.takeError());
    return {};
  }
  for (auto &[name, t] : *loaded)
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.data()[i] *= scale;
  return std::move(*loaded);
}

class BindWhileRunning : public ::testing::TestWithParam<Case> {};

// Weights rebound and the thread count changed while other threads run:
// every run gives the result of one set of weights or the other, bit for
// bit, never a mixture or a crash (the TSan job runs this too).
TEST_P(BindWhileRunning, EachRunSeesOneSetOfWeights) {
  PipelineOptions options;
  options.cells = GetParam().cells;
  const std::string example = GetParam().example;
  LoadedExample shared = load(example, options);
  ASSERT_TRUE(shared.session);
  std::vector<rt::NamedTensors> expected;
  for (float scale : {1.0f, 0.875f}) {
    ASSERT_FALSE(bool(shared.session->setWeights(scaledWeights(example, scale),
                                                 "scaled weights")));
    auto out = shared.session->run(shared.inputs);
    ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
    expected.push_back(std::move(*out));
  }
  ASSERT_FALSE(identical(expected[0], expected[1]));

  constexpr int kRunners = 4;
  int runs = std::max(4, runsPerThread().runs / 10), binds = 8;
  std::atomic<int> running{kRunners}, matched[2] = {0, 0}, mismatches{0},
                                      failures{0};
  std::string firstError;
  std::vector<std::thread> threads;
  for (int t = 0; t < kRunners; ++t)
    threads.emplace_back([&] {
      for (int r = 0; r < runs; ++r) {
        auto out = shared.session->run(shared.inputs);
        if (!out) {
          if (failures.fetch_add(1) == 0)
            firstError = llvm::toString(out.takeError());
          continue;
        }
        if (identical(*out, expected[0]))
          matched[0].fetch_add(1);
        else if (identical(*out, expected[1]))
          matched[1].fetch_add(1);
        else
          mismatches.fetch_add(1);
      }
      running.fetch_sub(1);
    });
  // Binds alternate until the runners are done (at least `binds` of them).
  for (int b = 0; b < binds || running.load() > 0; ++b) {
    if (auto err = shared.session->setWeights(
            scaledWeights(example, b % 2 ? 1.0f : 0.875f), "scaled weights"))
      ADD_FAILURE() << llvm::toString(std::move(err));
    shared.session->setThreads(1 + b % 3);
  }
  for (auto &t : threads)
    t.join();
  EXPECT_TRUE(firstError.empty()) << firstError;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0)
      << "of " << kRunners * runs << " runs match neither set of weights ("
      << matched[0].load() << " and " << matched[1].load() << " do)";
}

// Cells on oneDNN keep reordered weights in their kernel contexts; NMT's
// generated code prepares weights (transposes) when it compiles.
INSTANTIATE_TEST_SUITE_P(Examples, BindWhileRunning,
                         ::testing::Values(Case{"dense_attention", "auto"},
                                           Case{"date_translation", "onednn"},
                                           Case{"nmt", "fused"}),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.example) + "_" +
                                  info.param.cells;
                         });

// Every example; those with recurrent cells in loops also with the cells on
// oneDNN (shared primitives) and generated.
INSTANTIATE_TEST_SUITE_P(
    Examples, Concurrency,
    ::testing::Values(Case{"attention_step", "auto"},
                      Case{"dense_attention", "auto"},
                      Case{"lstm_attention", "auto"},
                      Case{"attention_scores", "auto"},
                      Case{"attention_decoder", "auto"},
                      Case{"date_translation", "auto"},
                      Case{"date_translation", "onednn"},
                      Case{"date_translation", "fused"},
                      Case{"trigger_word", "auto"},
                      Case{"tacotron2_attention", "auto"},
                      Case{"mha_encoder", "auto"},
                      Case{"nmt", "auto"},
                      Case{"nmt", "onednn"},
                      Case{"scaled_dot_attention", "auto"}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.example) + "_" + info.param.cells;
    });

} // namespace
