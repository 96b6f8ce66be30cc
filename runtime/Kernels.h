//===- Kernels.h - Library kernels called by compiled models ----*- C++ -*-===//
//
// Part of Heed. Compiled models call a few layers in libraries instead of
// generating them: whole-sequence LSTM/GRU layers and Conv1D on oneDNN.
// Each call site of a compiled model owns a plan (a oneDNN primitive and its
// weights reordered into the primitive's preferred layout), built on the
// site's first call and reused by every later call; a plan is rebuilt only
// if its weights move. Plans live in the model's KernelContext, so two
// compiled models never share one.
//
// The C entry points take plain pointers and sizes (the compiled code passes
// the aligned pointers of dense row-major buffers). No MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_KERNELS_H
#define HEED_RUNTIME_KERNELS_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

/// Kinds of recurrent cells, as the compiled code passes them.
enum class CellKind : int64_t { LSTM = 0, GRU = 1, LinearBeforeResetGRU = 2 };
/// Directions, numbered like attn::Direction.
enum class RnnDirection : int64_t {
  Forward = 0, Reverse = 1, BidirectionalConcat = 2, BidirectionalSum = 3
};

class KernelPlan {
public:
  virtual ~KernelPlan() = default;
};

/// The library state of one compiled model.
class KernelContext {
public:
  KernelContext();
  ~KernelContext();
  KernelContext(const KernelContext &) = delete;
  KernelContext &operator=(const KernelContext &) = delete;

  /// The address compiled code reads the context from (the symbol
  /// `heed_kernel_context`, a one-element i64 buffer).
  void *slot() { return &self; }

  /// The plan of call site `site`, or null.
  KernelPlan *plan(int64_t site);
  void setPlan(int64_t site, std::unique_ptr<KernelPlan> plan);
  std::mutex &mutex() { return lock; }

  /// A kernel cannot throw through compiled code: it records its failure
  /// here and the caller of the model reports it after the call.
  void setError(std::string message);
  /// Takes the recorded failure, if any (empty when none).
  std::string takeError();

  /// The symbols compiled code may call, by name.
  static std::vector<std::pair<std::string, void *>> symbols();

private:
  KernelContext *self;
  std::mutex lock;
  std::vector<std::unique_ptr<KernelPlan>> plans;
  std::string error;
  /// Set with `error`; lets takeError skip the lock on every clean run.
  std::atomic<bool> failed{false};
};

} // namespace heed::rt

extern "C" {
/// Runs a whole-sequence recurrent layer. x: [N, T, I]; h0, c0: [D, N, H] or
/// null (zeros); weights: per direction weight_ih, weight_hh, bias_ih,
/// bias_hh in PyTorch layout and gate order (8 slots, unused ones null);
/// y: [N, T, H or 2H]; hn, cn: [D, N, H] (cn only for LSTM).
void heed_rnn_forward(int64_t context, int64_t site, int64_t cell,
                      int64_t direction, int64_t steps, int64_t batch,
                      int64_t inputSize, int64_t hiddenSize, int64_t x,
                      int64_t h0, int64_t c0, int64_t w0, int64_t w1,
                      int64_t w2, int64_t w3, int64_t w4, int64_t w5,
                      int64_t w6, int64_t w7, int64_t y, int64_t hn,
                      int64_t cn);

/// Runs a 1-D convolution. x: [N, T, C] (channels last); weight: [O, C, K]
/// (PyTorch Conv1d); bias: [O] or null; y: [N, T', O].
void heed_conv1d_forward(int64_t context, int64_t site, int64_t batch,
                         int64_t steps, int64_t channels, int64_t filters,
                         int64_t kernel, int64_t stride, int64_t padLeft,
                         int64_t padRight, int64_t outSteps, int64_t x,
                         int64_t weight, int64_t bias, int64_t y);
}

#endif // HEED_RUNTIME_KERNELS_H
