//===- ThreadsTest.cpp - Results do not depend on the thread count --------===//
//
// Part of Heed. A batch runs as blocks of rows (each compiled for its own
// size) in parallel, and a block's parallel loops (heads, query tiles) on
// the threads it has to spare; every example, at batch sizes that give
// blocks of unequal sizes, must give bit-identical results on 1, 2 and 3
// threads,
// and results close to the whole batch run as one block. Models whose
// rows are independent must be recognized as such
// (frontends/dsl/BatchRows.h), or the split would silently never happen.
//
//===----------------------------------------------------------------------===//

#include "ExampleLoader.h"

#include <cmath>
#include <cstdlib>

using namespace heed;
using namespace heed::test;

namespace {

/// Every parallel loop of compiled code (heads, query tiles) runs on the
/// pool whenever a run has threads to spare, not only those worth waking a
/// helper for (heed_parallel_for), so that the comparisons cover it.
const bool kEveryParallelLoopOnThePool =
    setenv("HEED_PARALLEL_LOOP_MIN_US", "0", /*overwrite=*/1) == 0;

/// Row i of the result is row i mod B0 of `t` ([B0, ...]).
rt::Tensor tileRows(const rt::Tensor &t, int64_t batch) {
  std::vector<int64_t> shape = t.shape();
  int64_t perRow = t.numElements() / shape[0];
  int64_t rows0 = shape[0];
  shape[0] = batch;
  rt::Tensor out(shape);
  for (int64_t i = 0; i < batch; ++i)
    std::memcpy(out.data() + i * perRow, t.data() + (i % rows0) * perRow,
                perRow * sizeof(float));
  return out;
}

/// Where two results differ, or "" when they are bit-identical.
std::string difference(const rt::NamedTensors &a, const rt::NamedTensors &b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const rt::Tensor &x = a[i].second, &y = b[i].second;
    if (x.shape() != y.shape())
      return a[i].first + ": shapes differ";
    float worst = 0;
    int64_t count = 0, first = -1;
    for (int64_t k = 0; k < x.numElements(); ++k)
      if (std::memcmp(&x.data()[k], &y.data()[k], sizeof(float)) != 0) {
        ++count;
        first = first < 0 ? k : first;
        worst = std::max(worst, std::fabs(x.data()[k] - y.data()[k]));
      }
    if (count)
      return a[i].first + ": " + std::to_string(count) + " of " +
             std::to_string(x.numElements()) + " elements differ (first " +
             std::to_string(first) + ", max |diff| " + std::to_string(worst) +
             ")";
  }
  return a.size() == b.size() ? "" : "different output counts";
}

struct Case {
  const char *example;
  const char *file;
  const char *cells;
  bool rowsIndependent;
  /// Batch 7 only (mha_encoder takes over 10 s per compilation).
  bool slowToCompile = false;
};

class Threads : public ::testing::TestWithParam<Case> {};

/// The largest |a - b| / (atol + rtol |b|) over all outputs (<= 1: close).
double closeness(const rt::NamedTensors &a, const rt::NamedTensors &b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    for (int64_t k = 0; k < a[i].second.numElements(); ++k) {
      double x = a[i].second.data()[k], y = b[i].second.data()[k];
      if (std::isnan(x) && std::isnan(y))
        continue;
      worst = std::max(worst, std::fabs(x - y) / (1e-5 + 1e-5 * std::fabs(y)));
    }
  return worst;
}

TEST_P(Threads, ResultsDoNotDependOnTheThreadCount) {
  PipelineOptions options;
  options.cells = GetParam().cells;
  LoadedExample e = load(GetParam().example, options, GetParam().file);
  ASSERT_TRUE(e.session);
  EXPECT_EQ(bool(e.session->batchDim()), GetParam().rowsIndependent)
      << e.session->whyNoRowBlocks();
  // Blocks of at most 3 rows: batch 7 runs as 3 + 2 + 2, 16 as six blocks
  // (few block sizes, so few compilations).
  std::vector<int64_t> batches = {1, 7, 16};
  if (GetParam().slowToCompile)
    batches = {7};
  for (int64_t batch : batches) {
    rt::NamedTensors inputs;
    for (auto &[name, t] : e.inputs)
      inputs.emplace_back(name, tileRows(t, batch));
    e.session->setRowsPerBlock(3);
    e.session->setThreads(1);
    auto expected = e.session->run(inputs);
    ASSERT_TRUE(bool(expected)) << llvm::toString(expected.takeError());
    for (unsigned threads : {2u, 3u}) {
      e.session->setThreads(threads);
      auto outputs = e.session->run(inputs);
      ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
      EXPECT_EQ(difference(*outputs, *expected), "")
          << "batch " << batch << ", " << threads << " threads";
    }
    // The blocks together compute what the whole batch does (up to the
    // rounding of code compiled for another batch size): a block given
    // the wrong rows would not.
    e.session->setRowsPerBlock(0);
    auto whole = e.session->run(inputs);
    ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
    EXPECT_LE(closeness(*expected, *whole), 1.0) << "batch " << batch;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, Threads,
    ::testing::Values(
        Case{"attention_step", "model.heed", "auto", true},
        Case{"dense_attention", "model.heed", "auto", true},
        Case{"lstm_attention", "model.heed", "auto", true},
        Case{"attention_scores", "model.heed", "auto", true},
        Case{"attention_decoder", "model.heed", "auto", true},
        Case{"date_translation", "model.heed", "auto", true},
        Case{"date_translation", "model.heed", "onednn", true},
        Case{"date_translation", "model.heed", "fused", true},
        Case{"trigger_word", "model.heed", "auto", true},
        Case{"tacotron2_attention", "model.heed", "auto", true},
        Case{"tacotron2_attention", "constrained.heed", "auto", true},
        Case{"mha_encoder", "model.heed", "auto", true, true},
        Case{"nmt", "model.heed", "auto", true},
        Case{"nmt", "model.heed", "onednn", true},
        Case{"nmt", "beam.heed", "auto", true},
        Case{"scaled_dot_attention", "causal.heed", "auto", true}),
    [](const ::testing::TestParamInfo<Case> &info) {
      std::string file = info.param.file;
      return std::string(info.param.example) + "_" +
             file.substr(0, file.find('.')) + "_" + info.param.cells;
    });

} // namespace
