//===- DnnlEngine.h - The oneDNN CPU engine of the kernels ------*- C++ -*-===//
//
// Part of Heed. Internal to runtime/: one CPU engine for every kernel.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_DNNLENGINE_H
#define HEED_RUNTIME_DNNLENGINE_H

#include "runtime/Kernels.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace heed::rt {

inline dnnl::engine &cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// Primitive attributes of every kernel: a caller-owned scratchpad. With
/// oneDNN's default (library-owned) scratchpad a primitive may only run on
/// the thread that created it, and two threads would share its scratch
/// memory; a plan is created once and run from any thread.
inline dnnl::primitive_attr kernelAttributes() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// One plan's execution state on one thread: the argument map, whose
/// per-call memory objects only get their data handles set by each call
/// (creating them costs about 2 us per recurrent call), and the plan's
/// scratchpad for this thread. Never shared between threads.
struct ThreadExecution {
  std::unordered_map<int, dnnl::memory> args;
  std::unique_ptr<char, decltype(&std::free)> scratch{nullptr, &std::free};
};

/// The calling thread's execution state of plan `planId`; `fresh` is set
/// when it is new (empty), and the caller fills in the arguments and calls
/// attachScratchpad.
inline ThreadExecution &threadExecution(uint64_t planId, bool &fresh) {
  thread_local std::unordered_map<uint64_t, ThreadExecution> executions;
  // Plans of models that are gone leave entries behind; a thread that has
  // seen many plans starts over (entries are rebuilt on demand).
  if (executions.size() > 256 && !executions.count(planId))
    executions.clear();
  auto [it, inserted] = executions.try_emplace(planId);
  fresh = inserted;
  return it->second;
}

/// Gives `execution` a scratchpad of its own for `scratchpad`.
inline void attachScratchpad(ThreadExecution &execution,
                             const dnnl::memory::desc &scratchpad) {
  size_t need = scratchpad.get_size();
  if (!need)
    return;
  execution.scratch.reset(
      static_cast<char *>(std::aligned_alloc(64, (need + 63) / 64 * 64)));
  if (!execution.scratch)
    throw std::bad_alloc();
  execution.args[DNNL_ARG_SCRATCHPAD] =
      dnnl::memory(scratchpad, cpuEngine(), execution.scratch.get());
}

/// Runs `primitive` with `execution`'s arguments on the calling thread's
/// stream, and waits.
inline void executeOnThisThread(const dnnl::primitive &primitive,
                                ThreadExecution &execution) {
  thread_local dnnl::stream stream(cpuEngine());
  primitive.execute(stream, execution.args);
  stream.wait();
}

/// A plan of a primitive with one source, one destination and weights (and
/// maybe a bias) prepared once: the convolution and dense kernels.
struct WeightedPlan : KernelPlan {
  const float *weightSource = nullptr, *biasSource = nullptr;
  dnnl::primitive primitive;
  dnnl::memory::desc srcMd, dstMd, scratchpadMd;
  // Prepared once, read by every call.
  dnnl::memory weights, bias;
};

/// Prepares what `plan` keeps for every call, once: the weights reordered
/// from plan.weightSource (laid out as `sourceWeights`) into the layout the
/// primitive `pd` chose, the bias copied from plan.biasSource (`biasMd`,
/// when there is one), the scratchpad size and the per-call descriptors.
/// With `sameWeights` (a plan over the same weights and bias) whose
/// weights are already in that layout, its copies are shared instead.
inline void prepareWeighted(WeightedPlan &plan,
                            const dnnl::primitive_desc_base &pd,
                            const dnnl::memory::desc &sourceWeights,
                            const dnnl::memory::desc &srcMd,
                            const dnnl::memory::desc &dstMd,
                            const dnnl::memory::desc &biasMd,
                            const WeightedPlan *sameWeights = nullptr) {
  dnnl::engine &engine = cpuEngine();
  plan.scratchpadMd = pd.scratchpad_desc();
  plan.srcMd = srcMd;
  plan.dstMd = dstMd;
  if (sameWeights && sameWeights->weights.get_desc() == pd.weights_desc()) {
    plan.weights = sameWeights->weights;
    plan.bias = sameWeights->bias;
    return;
  }
  dnnl::stream stream(engine);
  dnnl::memory source(sourceWeights, engine,
                      const_cast<float *>(plan.weightSource));
  plan.weights = dnnl::memory(pd.weights_desc(), engine);
  dnnl::reorder(source, plan.weights).execute(stream, source, plan.weights);
  stream.wait();
  if (plan.biasSource) {
    plan.bias = dnnl::memory(biasMd, engine);
    std::memcpy(plan.bias.get_data_handle(), plan.biasSource,
                biasMd.get_size());
  }
}

/// Runs `plan` from `x` into `y` on the calling thread, with the thread's
/// own memory objects and scratchpad.
inline void executeWeighted(const WeightedPlan &plan, float *x, float *y) {
  bool fresh;
  ThreadExecution &run = threadExecution(plan.id, fresh);
  if (fresh) {
    auto &engine = cpuEngine();
    run.args = {
        {DNNL_ARG_SRC, dnnl::memory(plan.srcMd, engine, DNNL_MEMORY_NONE)},
        {DNNL_ARG_WEIGHTS, plan.weights},
        {DNNL_ARG_DST, dnnl::memory(plan.dstMd, engine, DNNL_MEMORY_NONE)}};
    if (plan.biasSource)
      run.args[DNNL_ARG_BIAS] = plan.bias;
    attachScratchpad(run, plan.scratchpadMd);
  }
  run.args[DNNL_ARG_SRC].set_data_handle(x);
  run.args[DNNL_ARG_DST].set_data_handle(y);
  executeOnThisThread(plan.primitive, run);
}

/// The body of a weighted kernel: call site `site`'s plan, rebuilt by
/// `build(shape, w, b)` when the shape or the weights' addresses changed,
/// run from `x` into `y` by `execute` (executeWeighted unless given); a
/// failure is recorded for the caller of the model
/// as "oneDNN <what> (site N): ...".
template <typename Plan, typename Shape, typename Build,
          typename Execute = void (*)(const Plan &, float *, float *)>
void runWeightedKernel(
    KernelContext &ctx, int64_t site, const char *what, const Shape &shape,
    const float *w, const float *b, float *x, float *y, Build build,
    Execute execute = [](const Plan &plan, float *x, float *y) {
      executeWeighted(plan, x, y);
    }) {
  try {
    auto plan = std::static_pointer_cast<const Plan>(ctx.plan(site));
    if (!plan || !(plan->shape == shape) || plan->weightSource != w ||
        plan->biasSource != b) {
      plan = build(shape, w, b);
      ctx.setPlan(site, plan);
    }
    execute(*plan, x, y);
  } catch (const std::exception &e) {
    ctx.setError(std::string("oneDNN ") + what + " (site " +
                 std::to_string(site) + "): " + e.what());
  }
}

} // namespace heed::rt

#endif
