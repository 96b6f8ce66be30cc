//===- DenseKernel.cpp - Dense layers on oneDNN's inner product -----------===//
//
// Part of Heed. A dense layer over many rows is a matrix product; oneDNN's
// inner product (brgemm micro-kernels, weights reordered once per plan into
// the blocked layout it chose) runs it near the core's FMA peak, with the
// bias and the activation applied as it writes each output tile (an eltwise
// post-op). The rows are the layer's leading dims, flattened; the weights
// are PyTorch's `[out, in]` (`oi`).
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include "runtime/DnnlEngine.h"
#include "runtime/ThreadPool.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

using namespace heed::rt;
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct DenseShape {
  int64_t rows, ins, outs, activation;
  bool hasBias;
  auto fields() const { return std::tie(rows, ins, outs, activation, hasBias); }
  bool operator==(const DenseShape &o) const { return fields() == o.fields(); }
};

/// One block of the product: rows [firstRow, firstRow + rows) by output
/// columns [firstColumn, firstColumn + width), a primitive of its own.
struct Block : WeightedPlan {
  int64_t firstRow = 0, rows = 0, firstColumn = 0, width = 0;
};

struct DensePlan : KernelPlan {
  DenseShape shape;
  const float *weightSource = nullptr, *biasSource = nullptr;
  /// Blocks of columns (a few rows) or of rows (many), or the whole.
  std::vector<std::unique_ptr<Block>> blocks;
  bool byColumns = false;
};

/// Where a layer's blocks start, along its columns (a large product over a
/// few rows: a batch-1 latency) or its rows (many rows), one per core the
/// process may use up to 4 (column blocks multiples of 64, row blocks of
/// 16); {0, size} for one block. They depend on the shape and the machine
/// alone, never on the thread count, so every thread count computes the
/// same; they cost a one-thread run a primitive call each (~1 us), and
/// column blocks a copy of their outputs.
std::vector<int64_t> blockStarts(const DenseShape &s, bool &byColumns) {
  constexpr int64_t kMaxColumnBlockRows = 64;
  byColumns = s.rows <= kMaxColumnBlockRows;
  int64_t cores = std::min<int64_t>(availableCores(), 4);
  int64_t parts =
      byColumns ? std::min(cores, s.outs / 128) : std::min(cores, s.rows / 32);
  // Each block must outweigh waking a helper (~10-50 us on a VM): a
  // product takes its FLOPs at ~200 GFLOP/s or its weights at ~25 GB/s
  // (every row block reads them all).
  double seconds = std::max(2.0 * s.rows * s.ins * s.outs / 200e9,
                            4.0 * s.ins * s.outs / 25e9);
  int64_t size = byColumns ? s.outs : s.rows, align = byColumns ? 64 : 16;
  if (parts < 2 || seconds / double(parts) < 100e-6)
    return {0, size};
  std::vector<int64_t> starts;
  for (int64_t p = 0; p < parts; ++p)
    starts.push_back(size * p / parts / align * align);
  starts.push_back(size);
  return starts;
}

/// The post-op of an activation (DenseActivation), or false for none.
bool appendActivation(dnnl::post_ops &ops, int64_t activation) {
  using alg = dnnl::algorithm;
  switch (DenseActivation(activation)) {
  case DenseActivation::None:
    return false;
  case DenseActivation::Tanh:
    ops.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
    return true;
  case DenseActivation::Sigmoid:
    ops.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
    return true;
  case DenseActivation::Relu:
    ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
    return true;
  case DenseActivation::Exp:
    ops.append_eltwise(1.0f, alg::eltwise_exp, 0.0f, 0.0f);
    return true;
  }
  throw std::invalid_argument("unknown activation " +
                              std::to_string(activation));
}

std::unique_ptr<Block> buildBlock(const DenseShape &s, int64_t firstRow,
                                  int64_t rows, int64_t firstColumn,
                                  int64_t width, const float *w, const float *b,
                                  const Block *shareWeightsOf) {
  dnnl::engine &engine = cpuEngine();
  auto block = std::make_unique<Block>();
  block->firstRow = firstRow;
  block->rows = rows;
  block->firstColumn = firstColumn;
  block->width = width;
  block->weightSource = w + firstColumn * s.ins;
  block->biasSource = b ? b + firstColumn : nullptr;
  memory::desc srcMd({rows, s.ins}, dt::f32, tag::nc);
  // Dense [rows, width] outputs: a column block's are copied into the
  // layer's columns (oneDNN runs an inner product into strided outputs on
  // its reference code).
  memory::desc dstMd({rows, width}, dt::f32, tag::nc);
  memory::desc wAny({width, s.ins}, dt::f32, tag::any);
  memory::desc biasMd =
      b ? memory::desc({width}, dt::f32, tag::x) : memory::desc();
  dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference,
                                         srcMd, wAny, biasMd, dstMd);
  dnnl::primitive_attr attr = kernelAttributes();
  dnnl::post_ops ops;
  if (appendActivation(ops, s.activation))
    attr.set_post_ops(ops);
  dnnl::inner_product_forward::primitive_desc pd(desc, attr, engine);
  block->primitive = dnnl::inner_product_forward(pd);
  // Row blocks read the same weights: reordered once.
  prepareWeighted(*block, pd, {{width, s.ins}, dt::f32, tag::oi}, srcMd, dstMd,
                  biasMd, shareWeightsOf);
  return block;
}

std::unique_ptr<DensePlan> buildPlan(const DenseShape &s, const float *w,
                                     const float *b) {
  auto plan = std::make_unique<DensePlan>();
  plan->shape = s;
  plan->weightSource = w;
  plan->biasSource = b;
  std::vector<int64_t> starts = blockStarts(s, plan->byColumns);
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    int64_t first = starts[i], size = starts[i + 1] - starts[i];
    plan->blocks.push_back(
        plan->byColumns
            ? buildBlock(s, 0, s.rows, first, size, w, b, nullptr)
            : buildBlock(s, first, size, 0, s.outs, w, b,
                         plan->blocks.empty() ? nullptr
                                              : plan->blocks.front().get()));
  }
  return plan;
}

void execute(const DensePlan &plan, float *x, float *y) {
  if (plan.blocks.size() == 1)
    return executeWeighted(*plan.blocks.front(), x, y);
  // Nothing may throw out of the pool (ThreadPool.h): the first error is
  // thrown again here.
  std::vector<std::string> errors(plan.blocks.size());
  int64_t ins = plan.shape.ins, outs = plan.shape.outs;
  runParts(unsigned(plan.blocks.size()), [&](unsigned i) {
    const Block &block = *plan.blocks[i];
    try {
      if (!plan.byColumns)
        return executeWeighted(block, x + block.firstRow * ins,
                               y + block.firstRow * outs);
      thread_local std::vector<float> columns;
      columns.resize(size_t(block.rows * block.width));
      executeWeighted(block, x, columns.data());
      for (int64_t r = 0; r < block.rows; ++r)
        std::memcpy(y + r * outs + block.firstColumn,
                    columns.data() + r * block.width,
                    size_t(block.width) * sizeof(float));
    } catch (const std::exception &e) {
      errors[i] = e.what();
    }
  });
  for (const std::string &error : errors)
    if (!error.empty())
      throw std::runtime_error(error);
}

} // namespace

extern "C" void
_mlir_ciface_heed_dense_forward(int64_t context, int64_t site, int64_t rows,
                                int64_t ins, int64_t outs, int64_t activation,
                                KernelBuffer *x, KernelBuffer *weight,
                                KernelBuffer *bias, KernelBuffer *y) {
  auto *ctx = reinterpret_cast<KernelContext *>(context);
  bool hasBias = bias->numElements(1) != 0;
  DenseShape shape{rows, ins, outs, activation, hasBias};
  const float *w = weight->data(), *b = hasBias ? bias->data() : nullptr;
  if (!x->holds({rows, ins}) || !y->holds({rows, outs}) ||
      !weight->holds({outs, ins}) || (hasBias && !bias->holds({outs}))) {
    ctx->setError("dense layer (site " + std::to_string(site) +
                  "): the compiled code passed buffers of the wrong shape");
    return;
  }
  runWeightedKernel<DensePlan>(*ctx, site, "dense layer", shape, w, b,
                               x->data(), y->data(), buildPlan, execute);
}
