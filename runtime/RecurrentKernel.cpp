//===- RecurrentKernel.cpp - LSTM/GRU layers on oneDNN --------------------===//
//
// Part of Heed. A plan holds the oneDNN RNN primitive for one call site and
// its weights converted once from PyTorch layout (per direction
// `[G*H, I]`, `[G*H, H]`, two `[G*H]` biases) to oneDNN's `ldigo`/`ldgo` with
// oneDNN's gate order, then reordered into the layout the primitive chose
// (`format_tag::any`: the fast brgemm implementation).
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include "runtime/DnnlEngine.h"

#include <cstring>
#include <tuple>
#include <unordered_map>

using namespace heed::rt;
using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct RnnShape {
  int64_t cell, direction, steps, batch, input, hidden;
  bool hasH0, hasC0;
  // Field by field: a memcmp would also compare the padding after the
  // bools, which a stack-built shape leaves uninitialized (plans were
  // rebuilt on every call from a thread whose stack held other bytes).
  auto fields() const { return std::tie(cell, direction, steps, batch, input, hidden, hasH0, hasC0); }
  bool operator==(const RnnShape &o) const { return fields() == o.fields(); }
};

struct RnnPlan : KernelPlan {
  RnnShape shape;
  const float *weightSource[8] = {};
  dnnl::primitive primitive;
  memory::desc srcLayerMd, dstLayerMd, stateMd, scratchpadMd;
  // Prepared once, read by every call.
  memory weightsLayer, weightsIter, bias;
};

template <typename T> struct Type { using type = T; };

int64_t gatesOf(CellKind cell) { return cell == CellKind::LSTM ? 4 : 3; }

/// oneDNN's gate `g` is PyTorch's gate `pytorchGate(g)`. LSTM: both i, f,
/// g(c~), o. GRU: oneDNN (u, r, o) = PyTorch (z, r, n).
int64_t pytorchGate(CellKind cell, int64_t g) {
  if (cell == CellKind::LSTM)
    return g;
  return g == 0 ? 1 : g == 1 ? 0 : 2;
}

std::unique_ptr<RnnPlan> buildPlan(const RnnShape &s, const float *const w[8]) {
  auto plan = std::make_unique<RnnPlan>();
  plan->shape = s;
  std::memcpy(plan->weightSource, w, sizeof(plan->weightSource));
  auto cell = CellKind(s.cell);
  auto dir = RnnDirection(s.direction);
  int64_t d = dir == RnnDirection::BidirectionalConcat ||
                      dir == RnnDirection::BidirectionalSum
                  ? 2 : 1;
  int64_t g = gatesOf(cell), H = s.hidden, I = s.input, N = s.batch,
          T = s.steps;
  int64_t biasGates = cell == CellKind::LinearBeforeResetGRU ? 4 : g;
  int64_t outC = dir == RnnDirection::BidirectionalConcat ? 2 * H : H;
  dnnl::rnn_direction dnnlDir =
      dir == RnnDirection::Forward   ? dnnl::rnn_direction::unidirectional_left2right
      : dir == RnnDirection::Reverse ? dnnl::rnn_direction::unidirectional_right2left
      : dir == RnnDirection::BidirectionalConcat
          ? dnnl::rnn_direction::bidirectional_concat
          : dnnl::rnn_direction::bidirectional_sum;

  // Batch-first buffers are `ntc`; with one row that is also `tnc`, the
  // layout oneDNN's kernels read without an internal reorder.
  tag layerTag = N == 1 ? tag::tnc : tag::ntc;
  memory::desc srcLayerMd({T, N, I}, dt::f32, layerTag);
  memory::desc dstLayerMd({T, N, outC}, dt::f32, layerTag);
  memory::desc stateMd({1, d, N, H}, dt::f32, tag::ldnc);
  memory::desc srcIterMd = s.hasH0 ? stateMd : memory::desc();
  memory::desc srcIterCMd = s.hasC0 ? stateMd : memory::desc();
  memory::desc wLayerAny({1, d, I, g, H}, dt::f32, tag::any);
  memory::desc wIterAny({1, d, H, g, H}, dt::f32, tag::any);
  memory::desc biasMd({1, d, biasGates, H}, dt::f32, tag::ldgo);
  auto &engine = cpuEngine();
  auto kind = dnnl::prop_kind::forward_inference;

  // The primitive, and the weight layouts it chose.
  memory::desc wLayerMd, wIterMd;
  auto create = [&](auto desc, auto tag) {
    using Primitive = typename decltype(tag)::type;
    typename Primitive::primitive_desc pd(desc, kernelAttributes(), engine);
    plan->primitive = Primitive(pd);
    wLayerMd = pd.weights_layer_desc();
    wIterMd = pd.weights_iter_desc();
    plan->scratchpadMd = pd.scratchpad_desc();
  };
  if (cell == CellKind::LSTM)
    create(dnnl::lstm_forward::desc(kind, dnnlDir, srcLayerMd, srcIterMd,
                                    srcIterCMd, wLayerAny, wIterAny, biasMd,
                                    dstLayerMd, stateMd, stateMd),
           Type<dnnl::lstm_forward>());
  else if (cell == CellKind::LinearBeforeResetGRU)
    create(dnnl::lbr_gru_forward::desc(kind, dnnlDir, srcLayerMd, srcIterMd,
                                       wLayerAny, wIterAny, biasMd, dstLayerMd,
                                       stateMd),
           Type<dnnl::lbr_gru_forward>());
  else
    create(dnnl::gru_forward::desc(kind, dnnlDir, srcLayerMd, srcIterMd,
                                   wLayerAny, wIterAny, biasMd, dstLayerMd,
                                   stateMd),
           Type<dnnl::gru_forward>());

  // PyTorch layout -> ldigo / ldgo with oneDNN's gate order.
  std::vector<float> wl(d * I * g * H), wi(d * H * g * H), b(d * biasGates * H);
  for (int64_t k = 0; k < d; ++k) {
    const float *wih = w[4 * k], *whh = w[4 * k + 1], *bih = w[4 * k + 2],
                *bhh = w[4 * k + 3];
    for (int64_t gate = 0; gate < g; ++gate) {
      int64_t pg = pytorchGate(cell, gate);
      for (int64_t o = 0; o < H; ++o) {
        int64_t row = pg * H + o;
        for (int64_t i = 0; i < I; ++i)
          wl[((k * I + i) * g + gate) * H + o] = wih[row * I + i];
        for (int64_t i = 0; i < H; ++i)
          wi[((k * H + i) * g + gate) * H + o] = whh[row * H + i];
        // Linear-before-reset GRUs keep the n gate's two biases apart: the
        // recurrent one is scaled by r (oneDNN's 4th bias block).
        bool split = cell == CellKind::LinearBeforeResetGRU && gate == 2;
        b[(k * biasGates + gate) * H + o] = bih[row] + (split ? 0 : bhh[row]);
        if (split)
          b[(k * biasGates + 3) * H + o] = bhh[row];
      }
    }
  }
  dnnl::stream stream(engine);
  memory wlSrc({{1, d, I, g, H}, dt::f32, tag::ldigo}, engine, wl.data());
  memory wiSrc({{1, d, H, g, H}, dt::f32, tag::ldigo}, engine, wi.data());
  plan->weightsLayer = memory(wLayerMd, engine);
  plan->weightsIter = memory(wIterMd, engine);
  dnnl::reorder(wlSrc, plan->weightsLayer)
      .execute(stream, wlSrc, plan->weightsLayer);
  dnnl::reorder(wiSrc, plan->weightsIter)
      .execute(stream, wiSrc, plan->weightsIter);
  plan->bias = memory(biasMd, engine);
  std::memcpy(plan->bias.get_data_handle(), b.data(), b.size() * sizeof(float));
  stream.wait();
  plan->srcLayerMd = srcLayerMd;
  plan->dstLayerMd = dstLayerMd;
  plan->stateMd = stateMd;
  return plan;
}

} // namespace

extern "C" void _mlir_ciface_heed_rnn_forward(
    int64_t context, int64_t site, int64_t cell, int64_t direction,
    int64_t steps, int64_t batch, int64_t inputSize, int64_t hiddenSize,
    KernelBuffer *x, KernelBuffer *h0, KernelBuffer *c0, KernelBuffer *w0,
    KernelBuffer *w1, KernelBuffer *w2, KernelBuffer *w3, KernelBuffer *w4,
    KernelBuffer *w5, KernelBuffer *w6, KernelBuffer *w7, KernelBuffer *y,
    KernelBuffer *hn, KernelBuffer *cn) {
  auto *ctx = reinterpret_cast<KernelContext *>(context);
  bool lstm = cell == int64_t(CellKind::LSTM);
  RnnShape shape{cell, direction, steps, batch, inputSize, hiddenSize,
                 h0->numElements(3) != 0, lstm && c0->numElements(3) != 0};
  const float *weights[8];
  KernelBuffer *raw[8] = {w0, w1, w2, w3, w4, w5, w6, w7};
  for (int i = 0; i < 8; ++i)
    weights[i] = raw[i]->numElements(i % 4 < 2 ? 2 : 1) ? raw[i]->data()
                                                          : nullptr;
  int64_t directions =
      direction >= int64_t(RnnDirection::BidirectionalConcat) ? 2 : 1;
  int64_t outC =
      direction == int64_t(RnnDirection::BidirectionalConcat) ? 2 * hiddenSize
                                                              : hiddenSize;
  // The compiled code and this kernel must agree on every buffer; a
  // mismatch is a compiler bug, reported instead of reading out of bounds.
  if (!x->holds({batch, steps, inputSize}) || !y->holds({batch, steps, outC}) ||
      !hn->holds({directions, batch, hiddenSize}) ||
      (shape.hasH0 && !h0->holds({directions, batch, hiddenSize})) ||
      (shape.hasC0 && !c0->holds({directions, batch, hiddenSize})) ||
      (lstm && !cn->holds({directions, batch, hiddenSize}))) {
    ctx->setError("recurrent layer (site " + std::to_string(site) +
                  "): the compiled code passed buffers of the wrong shape");
    return;
  }
  try {
    auto plan = std::static_pointer_cast<const RnnPlan>(ctx->plan(site));
    if (!plan || !(plan->shape == shape) ||
        std::memcmp(plan->weightSource, weights, sizeof(weights)) != 0) {
      plan = buildPlan(shape, weights);
      ctx->setPlan(site, plan);
    }
    // This thread's memory objects of the plan, over the caller's buffers.
    bool fresh;
    ThreadExecution &run = threadExecution(plan->id, fresh);
    if (fresh) {
      auto &engine = cpuEngine();
      auto perCall = [&](const memory::desc &md) {
        return memory(md, engine, DNNL_MEMORY_NONE);
      };
      run.args = {{DNNL_ARG_SRC_LAYER, perCall(plan->srcLayerMd)},
                  {DNNL_ARG_WEIGHTS_LAYER, plan->weightsLayer},
                  {DNNL_ARG_WEIGHTS_ITER, plan->weightsIter},
                  {DNNL_ARG_BIAS, plan->bias},
                  {DNNL_ARG_DST_LAYER, perCall(plan->dstLayerMd)},
                  {DNNL_ARG_DST_ITER, perCall(plan->stateMd)}};
      if (shape.hasH0)
        run.args[DNNL_ARG_SRC_ITER] = perCall(plan->stateMd);
      if (lstm) {
        run.args[DNNL_ARG_DST_ITER_C] = perCall(plan->stateMd);
        if (shape.hasC0)
          run.args[DNNL_ARG_SRC_ITER_C] = perCall(plan->stateMd);
      }
      attachScratchpad(run, plan->scratchpadMd);
    }
    run.args[DNNL_ARG_SRC_LAYER].set_data_handle(x->data());
    run.args[DNNL_ARG_DST_LAYER].set_data_handle(y->data());
    run.args[DNNL_ARG_DST_ITER].set_data_handle(hn->data());
    if (shape.hasH0)
      run.args[DNNL_ARG_SRC_ITER].set_data_handle(h0->data());
    if (lstm) {
      run.args[DNNL_ARG_DST_ITER_C].set_data_handle(cn->data());
      if (shape.hasC0)
        run.args[DNNL_ARG_SRC_ITER_C].set_data_handle(c0->data());
    }
    executeOnThisThread(plan->primitive, run);
  } catch (const dnnl::error &e) {
    ctx->setError(std::string("oneDNN recurrent layer (site ") +
                  std::to_string(site) + "): " + e.what());
  } catch (const std::exception &e) {
    ctx->setError(std::string("recurrent layer (site ") +
                  std::to_string(site) + "): " + e.what());
  }
}
