//===- WeightsTest.cpp - Binding weights by state_dict name ---------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Weights.h"

#include <gtest/gtest.h>

using namespace heed::rt;

TEST(Weights, BindsInModelOrder) {
  NamedTensors file;
  file.emplace_back("d.bias", Tensor({3}));
  file.emplace_back("d.weight", Tensor({3, 2}));
  auto bound = bindWeights({{"d.weight", {3, 2}}, {"d.bias", {3}}},
                           std::move(file), "w.safetensors");
  ASSERT_TRUE(bool(bound));
  EXPECT_EQ((*bound)[0].shape(), (std::vector<int64_t>{3, 2}));
}

// A tensor whose values float32 cannot hold (read with WhenUsed) is an
// error where it is bound, and nothing where it is not (a BatchNorm step
// counter past 2^24, an ignored extra).
TEST(Weights, ValueErrorsOnlyWhereBound) {
  auto file = [] {
    NamedTensors f;
    f.emplace_back("d.weight", Tensor({3, 2}));
    f.emplace_back("bn.num_batches_tracked", Tensor(std::vector<int64_t>{}));
    f.back().second.setValueError("w.npz: tensor 'bn.num_batches_tracked': "
                                  "element 0 is 33554433");
    f.emplace_back("step", Tensor({1}));
    f.back().second.setValueError("w.npz: tensor 'step': element 0 is -1e10");
    return f;
  };
  WeightOptions ignoreExtra;
  ignoreExtra.ignoreExtra = true;
  EXPECT_TRUE(
      bool(bindWeights({{"d.weight", {3, 2}}}, file(), "w.npz", ignoreExtra)));
  auto bound =
      bindWeights({{"d.weight", {3, 2}}, {"step", {1}}}, file(), "w.npz");
  ASSERT_FALSE(bool(bound));
  std::string err = llvm::toString(bound.takeError());
  EXPECT_NE(err.find("w.npz: 1 weight problem:\n  w.npz: tensor 'step': "
                     "element 0 is -1e10"),
            std::string::npos)
      << err;
}

TEST(Weights, ReportsEveryProblemAtOnce) {
  NamedTensors file;
  file.emplace_back("d.weight", Tensor({3, 4}));
  file.emplace_back("extra.bias", Tensor({7}));
  auto bound = bindWeights({{"d.weight", {3, 2}}, {"d.bias", {3}}},
                           std::move(file), "w.safetensors");
  ASSERT_FALSE(bool(bound));
  std::string err = llvm::toString(bound.takeError());
  EXPECT_NE(err.find("w.safetensors: 3 weight problems:"), std::string::npos) << err;
  EXPECT_NE(err.find("wrong shape for d.weight: file has [3, 4], the model expects [3, 2]"),
            std::string::npos) << err;
  EXPECT_NE(err.find("missing d.bias [3]"), std::string::npos) << err;
  EXPECT_NE(err.find("unexpected extra.bias [7]"), std::string::npos) << err;
}
