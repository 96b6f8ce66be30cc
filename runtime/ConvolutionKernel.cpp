//===- ConvolutionKernel.cpp - Conv1D on oneDNN ---------------------------===//
//
// Part of Heed. Channels-last (`nwc`) activations as the models hold them;
// the PyTorch `[O, C, K]` (`oiw`) weights are reordered once per plan into
// the layout the primitive chose.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include "runtime/DnnlEngine.h"

#include <tuple>
#include <unordered_map>

using namespace heed::rt;
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct ConvShape {
  int64_t batch, steps, channels, filters, kernel, stride, padLeft, padRight,
      outSteps;
  bool hasBias;
  // Field by field: a memcmp would also compare the padding after the
  // bools, which a stack-built shape leaves uninitialized (plans were
  // rebuilt on every call from a thread whose stack held other bytes).
  auto fields() const {
    return std::tie(batch, steps, channels, filters, kernel, stride, padLeft,
                    padRight, outSteps, hasBias);
  }
  bool operator==(const ConvShape &o) const { return fields() == o.fields(); }
};

struct ConvPlan : WeightedPlan {
  ConvShape shape;
};

std::unique_ptr<ConvPlan> buildPlan(const ConvShape &s, const float *w,
                                    const float *b) {
  dnnl::engine &engine = cpuEngine();
  auto plan = std::make_unique<ConvPlan>();
  plan->shape = s;
  plan->weightSource = w;
  plan->biasSource = b;
  memory::desc srcMd({s.batch, s.channels, s.steps}, dt::f32, tag::nwc);
  memory::desc dstMd({s.batch, s.filters, s.outSteps}, dt::f32, tag::nwc);
  memory::desc wAny({s.filters, s.channels, s.kernel}, dt::f32, tag::any);
  memory::desc biasMd =
      s.hasBias ? memory::desc({s.filters}, dt::f32, tag::x) : memory::desc();
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      srcMd, wAny, biasMd, dstMd, {s.stride}, {s.padLeft}, {s.padRight});
  dnnl::convolution_forward::primitive_desc pd(desc, kernelAttributes(),
                                               engine);
  plan->primitive = dnnl::convolution_forward(pd);
  prepareWeighted(*plan, pd,
                  {{s.filters, s.channels, s.kernel}, dt::f32, tag::oiw}, srcMd,
                  dstMd, biasMd);
  return plan;
}

} // namespace

extern "C" void _mlir_ciface_heed_conv1d_forward(
    int64_t context, int64_t site, int64_t batch, int64_t steps,
    int64_t channels, int64_t filters, int64_t kernel, int64_t stride,
    int64_t padLeft, int64_t padRight, int64_t outSteps, KernelBuffer *x,
    KernelBuffer *weight, KernelBuffer *bias, KernelBuffer *y) {
  auto *ctx = reinterpret_cast<KernelContext *>(context);
  bool hasBias = bias->numElements(1) != 0;
  ConvShape shape{batch,  steps,   channels, filters,  kernel,
                  stride, padLeft, padRight, outSteps, hasBias};
  const float *w = weight->data(), *b = hasBias ? bias->data() : nullptr;
  if (!x->holds({batch, steps, channels}) ||
      !y->holds({batch, outSteps, filters}) ||
      !weight->holds({filters, channels, kernel}) ||
      (hasBias && !bias->holds({filters}))) {
    ctx->setError("convolution (site " + std::to_string(site) +
                  "): the compiled code passed buffers of the wrong shape");
    return;
  }
  runWeightedKernel<ConvPlan>(*ctx, site, "convolution", shape, w, b, x->data(),
                              y->data(), buildPlan);
}
