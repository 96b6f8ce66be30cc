//===- ConcurrencyTest.cpp - One compiled model, many threads -------------===//
//
// Part of Heed. Every example runs from 8 threads at once, each thread many
// times, starting together so that the first runs race to compile; every
// result must be bit-identical to a run on one thread. HEED_STRESS_RUNS
// sets the runs per thread (200; the TSan job runs fewer).
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"
#include "runtime/TensorFile.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

using namespace heed;

namespace {

constexpr int kThreads = 8;

int runsPerThread() {
  const char *env = std::getenv("HEED_STRESS_RUNS");
  return env ? std::atoi(env) : 200;
}

std::string examplePath(const std::string &name, const std::string &file) {
  return std::string(HEED_SOURCE_DIR) + "/examples/" + name + "/" + file;
}

/// The example's model with its weights, and its inputs (NAME.npy, or in
/// lower case, next to the model for every declared input).
struct LoadedExample {
  std::unique_ptr<Session> session;
  rt::NamedTensors inputs;
};

LoadedExample load(const std::string &name, PipelineOptions options) {
  LoadedExample e;
  auto session = Session::load(examplePath(name, "model.heed"), options);
  if (!session) {
    ADD_FAILURE() << llvm::toString(session.takeError());
    return e;
  }
  e.session = std::move(*session);
  std::string weights = examplePath(name, "weights.safetensors");
  rt::NamedTensors tensors;
  if (llvm::sys::fs::exists(weights)) {
    auto loaded = rt::loadTensorFile(weights);
    if (!loaded) {
      ADD_FAILURE() << llvm::toString(loaded.takeError());
      return e;
    }
    tensors = std::move(*loaded);
  }
  if (auto err = e.session->setWeights(std::move(tensors), weights)) {
    ADD_FAILURE() << llvm::toString(std::move(err));
    return e;
  }
  for (auto &in : e.session->model().inputs) {
    std::string file = examplePath(name, in.name + ".npy");
    if (!llvm::sys::fs::exists(file))
      file = examplePath(name, llvm::StringRef(in.name).lower() + ".npy");
    auto t = rt::loadTensorFile(file);
    if (!t) {
      ADD_FAILURE() << llvm::toString(t.takeError());
      return e;
    }
    e.inputs.emplace_back(in.name, std::move((*t)[0].second));
  }
  return e;
}

bool identical(const rt::NamedTensors &a, const rt::NamedTensors &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].second.shape() != b[i].second.shape() ||
        std::memcmp(a[i].second.data(), b[i].second.data(),
                    a[i].second.numElements() * sizeof(float)) != 0)
      return false;
  return true;
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
