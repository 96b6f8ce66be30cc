//===- ConvolutionKernel.cpp - Conv1D on oneDNN ---------------------------===//
//
// Part of Heed. Channels-last (`nwc`) activations as the models hold them;
// the PyTorch `[O, C, K]` (`oiw`) weights are reordered once per plan into
// the layout the primitive chose.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include "runtime/DnnlEngine.h"

#include <cstring>
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
  bool operator==(const ConvShape &o) const {
    return std::memcmp(this, &o, sizeof(*this)) == 0;
  }
};

struct ConvPlan : KernelPlan {
  ConvShape shape;
  const float *weightSource = nullptr, *biasSource = nullptr;
  dnnl::primitive primitive;
  dnnl::stream stream;
  memory src, dst, weights, bias;
  std::unordered_map<int, memory> args;
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
  memory::desc biasMd = s.hasBias ? memory::desc({s.filters}, dt::f32, tag::x)
                                  : memory::desc();
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      srcMd, wAny, biasMd, dstMd, {s.stride}, {s.padLeft}, {s.padRight});
  dnnl::convolution_forward::primitive_desc pd(desc, engine);
  plan->primitive = dnnl::convolution_forward(pd);
  plan->stream = dnnl::stream(engine);
  memory wSrc({{s.filters, s.channels, s.kernel}, dt::f32, tag::oiw}, engine,
              const_cast<float *>(w));
  plan->weights = memory(pd.weights_desc(), engine);
  dnnl::reorder(wSrc, plan->weights).execute(plan->stream, wSrc, plan->weights);
  plan->stream.wait();
  plan->src = memory(srcMd, engine, DNNL_MEMORY_NONE);
  plan->dst = memory(dstMd, engine, DNNL_MEMORY_NONE);
  plan->args = {{DNNL_ARG_SRC, plan->src},
                {DNNL_ARG_WEIGHTS, plan->weights},
                {DNNL_ARG_DST, plan->dst}};
  if (s.hasBias) {
    plan->bias = memory(biasMd, engine);
    std::memcpy(plan->bias.get_data_handle(), b, s.filters * sizeof(float));
    plan->args[DNNL_ARG_BIAS] = plan->bias;
  }
  return plan;
}

} // namespace

extern "C" void heed_conv1d_forward(int64_t context, int64_t site,
                                    int64_t batch, int64_t steps,
                                    int64_t channels, int64_t filters,
                                    int64_t kernel, int64_t stride,
                                    int64_t padLeft, int64_t padRight,
                                    int64_t outSteps, int64_t x,
                                    int64_t weight, int64_t bias, int64_t y) {
  auto *ctx = reinterpret_cast<KernelContext *>(context);
  ConvShape shape{batch,  steps,   channels, filters,  kernel,
                  stride, padLeft, padRight, outSteps, bias != 0};
  auto *w = reinterpret_cast<const float *>(weight);
  auto *b = reinterpret_cast<const float *>(bias);
  try {
    auto *plan = static_cast<ConvPlan *>(ctx->plan(site));
    if (!plan || !(plan->shape == shape) || plan->weightSource != w ||
        plan->biasSource != b) {
      std::lock_guard<std::mutex> guard(ctx->mutex());
      ctx->setPlan(site, buildPlan(shape, w, b));
      plan = static_cast<ConvPlan *>(ctx->plan(site));
    }
    plan->src.set_data_handle(reinterpret_cast<void *>(x));
    plan->dst.set_data_handle(reinterpret_cast<void *>(y));
    plan->primitive.execute(plan->stream, plan->args);
    plan->stream.wait();
  } catch (const std::exception &e) {
    ctx->setError(std::string("oneDNN convolution (site ") +
                  std::to_string(site) + "): " + e.what());
  }
}
