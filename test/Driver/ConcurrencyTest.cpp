//===- ConcurrencyTest.cpp - One compiled model, many threads -------------===//
//
// Part of Heed. Every example runs from 8 threads at once, each thread many
// times, starting together so that the first runs race to compile; every
// result must be bit-identical to a run on one thread. HEED_STRESS_RUNS
// sets the runs per thread (200; the TSan job runs fewer).
//
//===----------------------------------------------------------------------===//

#include "ExampleLoader.h"

#include <atomic>
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

int runsPerThread() {
  const char *env = std::getenv("HEED_STRESS_RUNS");
  return env ? std::atoi(env) : 200;
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
  int runs = runsPerThread();
  std::atomic<int> ready{0}, mismatches{0}, failures{0};
  std::vector<std::string> firstError(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int r = 0; r < runs; ++r) {
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
      << "of " << kThreads * runs << " runs differ from the one-thread run";

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
