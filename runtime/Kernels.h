//===- Kernels.h - Library kernels called by compiled models ----*- C++ -*-===//
//
// Part of Heed. Compiled models call a few layers in libraries instead of
// generating them: whole-sequence LSTM/GRU layers and Conv1D on oneDNN.
// Each call site of a compiled model owns a plan (a oneDNN primitive and its
// weights reordered into the primitive's preferred layout), built on the
// site's first call and reused by every later call; a plan is rebuilt only
// if its weights move. Plans live in the model's KernelContext, so two
// compiled models never share one. A plan is never written after it is
// built: every call makes its own oneDNN memory objects and runs on its
// thread's stream with its thread's scratchpad, so one compiled model runs
// from many threads at once.
//
// The C entry points take plain pointers and sizes (the compiled code passes
// the aligned pointers of dense row-major buffers). No MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_KERNELS_H
#define HEED_RUNTIME_KERNELS_H

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

/// Kinds of recurrent cells, as the compiled code passes them.
enum class CellKind : int64_t { LSTM = 0, GRU = 1, LinearBeforeResetGRU = 2 };
/// Directions, numbered like attn::Direction.
/// Activations a dense kernel applies as it writes its outputs, as the
/// compiled code passes them (softmax is not one: it needs whole rows).
enum class DenseActivation : int64_t {
  None = 0,
  Tanh = 1,
  Sigmoid = 2,
  Relu = 3,
  Exp = 4
};
enum class RnnDirection : int64_t {
  Forward = 0,
  Reverse = 1,
  BidirectionalConcat = 2,
  BidirectionalSum = 3
};

class KernelPlan {
public:
  KernelPlan();
  virtual ~KernelPlan() = default;
  /// Unique over the process's lifetime (per-thread state is keyed by it;
  /// an address could be reused by a later plan).
  const uint64_t id;
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

  /// The plan of call site `site`, or null. Plans are immutable once set,
  /// and a caller holds the one it got even if another thread replaces it.
  std::shared_ptr<const KernelPlan> plan(int64_t site);
  void setPlan(int64_t site, std::shared_ptr<const KernelPlan> plan);
  /// Plans set so far: one per call site (a few more when first runs race),
  /// then none while the weights stay put. The tests check that runs do
  /// not rebuild plans.
  uint64_t planBuilds() const { return builds.load(); }

  /// A kernel cannot throw through compiled code: it records its failure
  /// and the caller of the model reports it after the call. Failures are
  /// kept per thread (compiled code runs its kernels on the calling thread),
  /// so concurrent runs of one model never see each other's.
  void setError(std::string message);
  /// Takes the calling thread's recorded failure, if any (empty when none).
  std::string takeError();

  /// The symbols compiled code may call, by name.
  static std::vector<std::pair<std::string, void *>> symbols();

private:
  KernelContext *self;
  std::mutex lock;
  std::vector<std::shared_ptr<const KernelPlan>> plans;
  std::atomic<uint64_t> builds{0};
};

/// A buffer as compiled code passes it to a kernel: the head of MLIR's
/// ranked memref descriptor (`allocated, aligned, offset, sizes[rank],
/// strides[rank]`), whose layout does not depend on the rank.
struct KernelBuffer {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizesAndStrides[1]; // really [2 * rank]

  float *data() const { return aligned + offset; }
  int64_t size(int axis) const { return sizesAndStrides[axis]; }
  /// The element count of a buffer of `rank` (0: the kernel got none).
  int64_t numElements(int rank) const;
  /// Whether a buffer of `rank` is dense and row-major.
  bool isDense(int rank) const;
  /// Whether the buffer is exactly `shape`, dense and row-major (kernels
  /// check what compiled code passed against the sizes they were given).
  bool holds(std::initializer_list<int64_t> shape) const;
};

/// The version of the oneDNN library loaded ("2.6.3"), for --version.
std::string oneDNNVersion();

} // namespace heed::rt

extern "C" {
using heed::rt::KernelBuffer;
/// Runs a whole-sequence recurrent layer. x: [N, T, I]; h0, c0: [D, N, H] or
/// empty (zeros); weights: per direction weight_ih, weight_hh, bias_ih,
/// bias_hh in PyTorch layout and gate order (8 slots, unused ones empty);
/// y: [N, T, H or 2H]; hn, cn: [D, N, H] (cn only for LSTM, else empty).
/// Compiled code calls it through MLIR's C interface (buffers as memref
/// descriptors, see convert-attn-to-runtime).
void _mlir_ciface_heed_rnn_forward(
    int64_t context, int64_t site, int64_t cell, int64_t direction,
    int64_t steps, int64_t batch, int64_t inputSize, int64_t hiddenSize,
    KernelBuffer *x, KernelBuffer *h0, KernelBuffer *c0, KernelBuffer *w0,
    KernelBuffer *w1, KernelBuffer *w2, KernelBuffer *w3, KernelBuffer *w4,
    KernelBuffer *w5, KernelBuffer *w6, KernelBuffer *w7, KernelBuffer *y,
    KernelBuffer *hn, KernelBuffer *cn);

/// Runs a 1-D convolution. x: [N, T, C] (channels last); weight: [O, C, K]
/// (PyTorch Conv1d); bias: [O] or empty; y: [N, T', O].
/// y[rows, outs] = activation(x[rows, ins] · weightᵀ + bias), weight
/// [outs, ins]; bias may be empty.
void _mlir_ciface_heed_dense_forward(int64_t context, int64_t site,
                                     int64_t rows, int64_t ins, int64_t outs,
                                     int64_t activation, KernelBuffer *x,
                                     KernelBuffer *weight, KernelBuffer *bias,
                                     KernelBuffer *y);

void _mlir_ciface_heed_conv1d_forward(
    int64_t context, int64_t site, int64_t batch, int64_t steps,
    int64_t channels, int64_t filters, int64_t kernel, int64_t stride,
    int64_t padLeft, int64_t padRight, int64_t outSteps, KernelBuffer *x,
    KernelBuffer *weight, KernelBuffer *bias, KernelBuffer *y);
}

#endif // HEED_RUNTIME_KERNELS_H
