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

#include <tuple>

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

struct DensePlan : WeightedPlan {
  DenseShape shape;
};

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

std::unique_ptr<DensePlan> buildPlan(const DenseShape &s, const float *w,
                                     const float *b) {
  dnnl::engine &engine = cpuEngine();
  auto plan = std::make_unique<DensePlan>();
  plan->shape = s;
  plan->weightSource = w;
  plan->biasSource = b;
  memory::desc srcMd({s.rows, s.ins}, dt::f32, tag::nc);
  memory::desc dstMd({s.rows, s.outs}, dt::f32, tag::nc);
  memory::desc wAny({s.outs, s.ins}, dt::f32, tag::any);
  memory::desc biasMd =
      s.hasBias ? memory::desc({s.outs}, dt::f32, tag::x) : memory::desc();
  dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference,
                                         srcMd, wAny, biasMd, dstMd);
  dnnl::primitive_attr attr = kernelAttributes();
  dnnl::post_ops ops;
  if (appendActivation(ops, s.activation))
    attr.set_post_ops(ops);
  dnnl::inner_product_forward::primitive_desc pd(desc, attr, engine);
  plan->primitive = dnnl::inner_product_forward(pd);
  prepareWeighted(*plan, pd, {{s.outs, s.ins}, dt::f32, tag::oi}, srcMd, dstMd,
                  biasMd);
  return plan;
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
                               x->data(), y->data(), buildPlan);
}
