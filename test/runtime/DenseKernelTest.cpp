//===- DenseKernelTest.cpp - oneDNN dense layers in blocks ----------------===//
//
// Part of Heed. A large product runs as blocks of output columns (a few
// rows: a batch-1 latency) or of rows (many), on several threads when the
// run has them; the blocks depend on the shape and the machine, never on
// the thread count, so every thread count must give the same bits, and
// those must be the product.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"
#include "runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace heed::rt;

namespace {

/// A memref descriptor of rank 1 or 2 over `data` (what compiled code
/// passes).
struct Descriptor {
  float *allocated, *aligned;
  int64_t offset = 0;
  int64_t sizesAndStrides[4] = {};
  Descriptor(std::vector<float> &data, std::vector<int64_t> shape)
      : allocated(data.data()), aligned(data.data()) {
    size_t rank = shape.size();
    for (size_t i = 0; i < rank; ++i)
      sizesAndStrides[i] = shape[i];
    sizesAndStrides[rank + rank - 1] = 1;
    if (rank == 2)
      sizesAndStrides[2] = shape[1];
  }
  KernelBuffer *buffer() { return reinterpret_cast<KernelBuffer *>(this); }
};

std::vector<float> dense(int64_t rows, int64_t ins, int64_t outs,
                         unsigned threads, KernelContext &context,
                         std::vector<float> &x, std::vector<float> &w,
                         std::vector<float> &b) {
  std::vector<float> y(size_t(rows * outs), -1.0f);
  Descriptor dx(x, {rows, ins}), dw(w, {outs, ins}), db(b, {outs}),
      dy(y, {rows, outs});
  ScopedLoopThreads scope(threads);
  _mlir_ciface_heed_dense_forward(reinterpret_cast<int64_t>(&context),
                                  /*site=*/0, rows, ins, outs,
                                  int64_t(DenseActivation::Tanh), dx.buffer(),
                                  dw.buffer(), db.buffer(), dy.buffer());
  return y;
}

TEST(DenseKernel, BlocksGiveTheSameBitsOnAnyThreadCount) {
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
  // 1000 outputs (an NMT vocabulary: blocks of 448 and 552 columns on two
  // cores); 100 rows: blocks of 48 and 52 rows, the weights reordered once;
  // 40 rows of 256 -> 256: too small to split.
  struct Shape {
    int64_t rows, ins, outs;
  };
  for (Shape shape :
       {Shape{1, 1024, 1000}, Shape{3, 1024, 1000}, Shape{16, 1024, 1000},
        Shape{100, 1024, 1000}, Shape{40, 256, 256}}) {
    int64_t rows = shape.rows, ins = shape.ins, outs = shape.outs;
    std::vector<float> x(size_t(rows * ins)), w(size_t(outs * ins)),
        b(static_cast<size_t>(outs));
    for (auto *v : {&x, &w, &b})
      for (float &f : *v)
        f = uniform(random) * 20;
    KernelContext context;
    std::vector<float> one = dense(rows, ins, outs, 1, context, x, w, b);
    ASSERT_EQ(context.takeError(), "");
    for (unsigned threads : {2u, 3u}) {
      std::vector<float> more =
          dense(rows, ins, outs, threads, context, x, w, b);
      ASSERT_EQ(context.takeError(), "");
      EXPECT_EQ(one, more) << rows << " rows, " << threads << " threads";
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < outs; ++o) {
        double sum = b[o];
        for (int64_t i = 0; i < ins; ++i)
          sum += double(x[r * ins + i]) * w[o * ins + i];
        ASSERT_NEAR(one[r * outs + o], std::tanh(sum), 1e-4)
            << "row " << r << ", column " << o << " of " << rows;
      }
  }
}

} // namespace
