//===- AOTRuntime.cpp - The runtime of ahead-of-time model libraries ------===//
//
// Part of Heed. The C functions of heed_runtime.h, over the runtime's own
// tensor files, weight binding and kernels; and `memrefCopy`, which
// compiled code calls for strided copies (the JIT takes it from MLIR's
// runner utilities, a model library from here). Built only into
// libheed_runtime.so, never into the static runtime the compiler links;
// and, with HEED_RUNTIME_CUDA, into libheed_cuda_runtime.so, whose buffers
// are managed memory (the kernels of a --target=cuda library read the
// weights, inputs and outputs where the glue puts them) and which reports
// the first failure of the mgpu* calls instead of a kernel context's.
//
//===----------------------------------------------------------------------===//

#include "runtime/heed_runtime.h"

#include "runtime/ElementType.h"
#include "runtime/Hdf5Weights.h"
#include "runtime/Limits.h"
#include "runtime/Npz.h"
#include "runtime/ThreadPool.h"
#include "runtime/Weights.h"
#ifdef HEED_RUNTIME_CUDA
#include "runtime/cuda/MgpuRuntime.h"
#else
#include "runtime/Kernels.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <xmmintrin.h>

using namespace heed;

namespace {
thread_local std::string lastError;

std::vector<int64_t> shapeOf(const heed_rt_tensor_info &info) {
  return std::vector<int64_t>(info.shape, info.shape + info.rank);
}
} // namespace

namespace {
/// A model library's lock, as Session's: the queue mutex lets a waiting
/// exclusive holder go before shared ones that come later.
struct ModelLock {
  std::mutex queue;
  std::shared_mutex rw;
};

ModelLock &lockIn(void **slot) {
  void *current = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (current)
    return *static_cast<ModelLock *>(current);
  auto *fresh = new ModelLock; // lives as long as the library's slot
  void *expected = nullptr;
  if (__atomic_compare_exchange_n(slot, &expected, fresh, false,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return *fresh;
  delete fresh; // another thread's came first
  return *static_cast<ModelLock *>(expected);
}
} // namespace

extern "C" {

const char *heed_rt_last_error(void) { return lastError.c_str(); }

int heed_rt_fail(const char *message) {
  lastError = message ? message : "unknown error";
  return 1;
}

int heed_rt_ok(void) {
  lastError.clear();
  return 0;
}

float *heed_rt_alloc(int64_t count) {
  if (count < 0 || uint64_t(count) * sizeof(float) > limits::memoryLimit()) {
    heed_rt_fail(("cannot allocate " + std::to_string(count) +
                  " floats: above the memory limit (" +
                  limits::memoryLimitOrigin() + ")")
                     .c_str());
    return nullptr;
  }
  size_t bytes = (size_t(count) * sizeof(float) + 63) / 64 * 64;
#ifdef HEED_RUNTIME_CUDA
  std::string error;
  void *p = rt::cuda::allocateManaged(bytes ? bytes : 64, error);
  if (!p)
    heed_rt_fail(
        ("cannot allocate " + std::to_string(count) + " floats: " + error)
            .c_str());
#else
  void *p = std::aligned_alloc(64, bytes ? bytes : 64);
  if (!p)
    heed_rt_fail("out of memory");
#endif
  return static_cast<float *>(p);
}

#ifdef HEED_RUNTIME_CUDA
void heed_rt_free(float *buffer) { rt::cuda::freeManaged(buffer); }
void heed_rt_prefetch(const float *buffer, int64_t count, int to_device) {
  if (count <= 0)
    return;
  size_t bytes = size_t(count) * sizeof(float);
  if (to_device)
    rt::cuda::prefetchToDevice(buffer, bytes);
  else
    rt::cuda::prefetchToHost(buffer, bytes);
}
void heed_rt_wait(void) { rt::cuda::waitForDevice(); }
void heed_rt_run_begin(void) { rt::cuda::beginRun(); }
void heed_rt_stage_in(float *to, const float *from, int64_t count) {
  if (count > 0)
    rt::cuda::stageIn(to, from, size_t(count) * sizeof(float));
}
void heed_rt_stage_out(float *to, const float *from, int64_t count) {
  if (count > 0)
    rt::cuda::stageOut(to, from, size_t(count) * sizeof(float));
}
#else
void heed_rt_free(float *buffer) { std::free(buffer); }
void heed_rt_prefetch(const float *, int64_t, int) {}
void heed_rt_wait(void) {}
void heed_rt_run_begin(void) {}
void heed_rt_stage_in(float *to, const float *from, int64_t count) {
  if (count > 0)
    std::memcpy(to, from, size_t(count) * sizeof(float));
}
void heed_rt_stage_out(float *to, const float *from, int64_t count) {
  if (count > 0)
    std::memcpy(to, from, size_t(count) * sizeof(float));
}
#endif

int heed_rt_load_weights(const char *path, size_t count,
                         const heed_rt_tensor_info *expected, float **out) {
  try {
    if (!path || (count && (!expected || !out)))
      return heed_rt_fail("heed_rt_load_weights: a NULL argument");
    auto tensors = rt::loadTensorFile(path, rt::ValueErrors::WhenUsed);
    if (!tensors)
      return heed_rt_fail(llvm::toString(tensors.takeError()).c_str());
    if (rt::hasKeras3PositionalNames(*tensors))
      return heed_rt_fail(
          (std::string(path) +
           ": this is a Keras 3 weights file (save_weights: layers named by "
           "class and position, variables by index); a model library binds "
           "PyTorch names and layouts only (docs/embedding.md)")
              .c_str());
    std::vector<rt::ExpectedWeight> want;
    for (size_t i = 0; i < count; ++i)
      want.push_back({expected[i].name, shapeOf(expected[i])});
    auto bound = rt::bindWeights(want, std::move(*tensors), path);
    if (!bound)
      return heed_rt_fail(llvm::toString(bound.takeError()).c_str());
    for (size_t i = 0; i < count; ++i) {
      const rt::Tensor &t = (*bound)[i];
      out[i] = heed_rt_alloc(t.numElements());
      if (!out[i]) {
        for (size_t j = 0; j < i; ++j) {
          heed_rt_free(out[j]);
          out[j] = nullptr;
        }
        return 1;
      }
      std::memcpy(out[i], t.data(), size_t(t.numElements()) * sizeof(float));
      heed_rt_prefetch(out[i], t.numElements(), 1);
    }
    return heed_rt_ok();
  } catch (const std::bad_alloc &) {
    return heed_rt_fail("out of memory while reading the weights");
  }
}

size_t heed_rt_dtype_size(heed_rt_dtype dtype) {
  return dtype == HEED_RT_INT64 ? 8 : dtype == HEED_RT_BOOL ? 1 : 4;
}

static rt::ElementType elementTypeOf(heed_rt_dtype dtype) {
  return dtype == HEED_RT_INT64   ? rt::ElementType::I64
         : dtype == HEED_RT_INT32 ? rt::ElementType::I32
         : dtype == HEED_RT_BOOL  ? rt::ElementType::Bool
                                  : rt::ElementType::F32;
}

int heed_rt_to_float(const void *data, const heed_rt_tensor_info *info,
                     float **out) {
  try {
    int64_t count = rt::checkedNumElements(shapeOf(*info));
    if (!(*out = heed_rt_alloc(count)))
      return 1;
    std::string what = "input '" + std::string(info->name) + "'";
    if (auto err = rt::decodeElements(elementTypeOf(info->dtype),
                                      static_cast<const char *>(data), count,
                                      *out, what, 0)) {
      heed_rt_free(*out);
      *out = nullptr;
      return heed_rt_fail(llvm::toString(std::move(err)).c_str());
    }
    if (info->dtype == HEED_RT_BOOL)
      for (int64_t i = 0; i < count; ++i)
        if (static_cast<const unsigned char *>(data)[i] > 1) {
          heed_rt_free(*out);
          *out = nullptr;
          return heed_rt_fail(
              (what + " is bool, but element " + std::to_string(i) + " is " +
               std::to_string(static_cast<const unsigned char *>(data)[i]) +
               " (booleans are 0 or 1)")
                  .c_str());
        }
    return 0;
  } catch (const std::bad_alloc &) {
    return heed_rt_fail("out of memory");
  }
}

void heed_rt_to_int64(const float *data, int64_t count, int64_t *out) {
  for (int64_t i = 0; i < count; ++i)
    out[i] = rt::floatToInt64(data[i]);
}

int heed_rt_read_tensor(const char *path, const heed_rt_tensor_info *info,
                        void **out) {
  try {
    if (!path || !info || !out)
      return heed_rt_fail("heed_rt_read_tensor: a NULL argument");
    auto tensors = rt::loadTensorFile(path);
    if (!tensors)
      return heed_rt_fail(llvm::toString(tensors.takeError()).c_str());
    bool npy = llvm::StringRef(path).ends_with(".npy");
    for (auto &[name, t] : *tensors) {
      if (!npy && name != info->name)
        continue;
      if (t.elementType() == rt::ElementType::F64)
        return heed_rt_fail((std::string(path) + ": tensor '" + name +
                             "' holds float64 values; model inputs are "
                             "float32 (save it with x.astype(np.float32))")
                                .c_str());
      if (t.shape() != shapeOf(*info))
        return heed_rt_fail((std::string(path) + ": tensor '" + name + "' is " +
                             rt::shapeToString(t.shape()) + ", expected " +
                             rt::shapeToString(shapeOf(*info)))
                                .c_str());
      size_t size = heed_rt_dtype_size(info->dtype);
      // Buffers are floats; an int64 needs two per element.
      void *buffer = heed_rt_alloc((t.numElements() * int64_t(size) + 3) / 4);
      if (!buffer)
        return 1;
      for (int64_t i = 0; i < t.numElements(); ++i) {
        char *dst = static_cast<char *>(buffer) + i * int64_t(size);
        if (info->dtype == HEED_RT_FLOAT32) {
          std::memcpy(dst, &t.data()[i], 4);
        } else if (info->dtype == HEED_RT_INT64) {
          int64_t v = rt::floatToInt64(t[i]);
          std::memcpy(dst, &v, 8);
        } else if (info->dtype == HEED_RT_INT32) {
          int32_t v = int32_t(rt::floatToInt64(t[i]));
          std::memcpy(dst, &v, 4);
        } else {
          *dst = t[i] != 0.0f;
        }
      }
      *out = buffer;
      return heed_rt_ok();
    }
    return heed_rt_fail(
        (std::string(path) + ": no tensor '" + info->name + "'").c_str());
  } catch (const std::bad_alloc &) {
    return heed_rt_fail("out of memory while reading a tensor");
  }
}

int heed_rt_write_npz(const char *path, size_t count,
                      const heed_rt_tensor_info *infos,
                      const void *const *data) {
  try {
    if (!path || (count && (!infos || !data)))
      return heed_rt_fail("heed_rt_write_npz: a NULL argument");
    rt::NamedTensors tensors;
    for (size_t i = 0; i < count; ++i) {
      rt::Tensor t(shapeOf(infos[i]));
      if (infos[i].dtype == HEED_RT_FLOAT32) {
        std::memcpy(t.data(), data[i], size_t(t.numElements()) * sizeof(float));
      } else {
        // Written back in the file as int64 (rt::ElementType): exact.
        if (auto err =
                rt::decodeElements(elementTypeOf(infos[i].dtype),
                                   static_cast<const char *>(data[i]),
                                   t.numElements(), t.data(), infos[i].name, 0))
          return heed_rt_fail(llvm::toString(std::move(err)).c_str());
        t.setElementType(rt::ElementType::I64);
      }
      tensors.emplace_back(infos[i].name, std::move(t));
    }
    if (auto err = rt::writeNpz(path, tensors))
      return heed_rt_fail(llvm::toString(std::move(err)).c_str());
    return heed_rt_ok();
  } catch (const std::bad_alloc &) {
    return heed_rt_fail("out of memory while writing tensors");
  }
}

#ifdef HEED_RUNTIME_CUDA
// No kernel context: the mgpu* calls record the first failure of the
// thread's run (runtime/cuda/MgpuRuntime.h).
void *heed_rt_context_new(void) {
  static char none;
  return &none;
}

void heed_rt_context_free(void *) {}

int heed_rt_context_check(void *, const char *model) {
  std::string error = rt::cuda::takeFirstError();
#else
void *heed_rt_context_new(void) {
  try {
    return new rt::KernelContext();
  } catch (const std::bad_alloc &) {
    heed_rt_fail("out of memory");
    return nullptr;
  }
}

void heed_rt_context_free(void *context) {
  delete static_cast<rt::KernelContext *>(context);
}

int heed_rt_context_check(void *context, const char *model) {
  std::string error = static_cast<rt::KernelContext *>(context)->takeError();
#endif
  if (error.empty())
    return 0;
  return heed_rt_fail(
      ("while running '" + std::string(model) + "': " + error).c_str());
}

unsigned heed_rt_enter(void) {
  rt::useOneOpenMPThread();
  // FTZ and DAZ, as the JIT's runs (compiler/JIT/JITModel.cpp says why).
  unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040);
  return saved;
}

void heed_rt_leave(unsigned saved) { _mm_setcsr(saved); }

void heed_rt_lock(void **slot, int exclusive) {
  ModelLock &lock = lockIn(slot);
  std::lock_guard<std::mutex> queue(lock.queue);
  if (exclusive)
    lock.rw.lock();
  else
    lock.rw.lock_shared();
}

void heed_rt_unlock(void **slot, int exclusive) {
  ModelLock &lock = lockIn(slot);
  if (exclusive)
    lock.rw.unlock();
  else
    lock.rw.unlock_shared();
}

void heed_rt_parallel_for(unsigned n, unsigned threads,
                          void (*fn)(void *context, unsigned index),
                          void *context) {
  threads = threads ? threads : rt::availableCores();
  // Each block's parallel loops get its share of the threads.
  unsigned share = std::max(1u, threads / std::max(1u, n));
  rt::ThreadPool::shared().parallelFor(n, threads, [&](unsigned index) {
    rt::ScopedLoopThreads loops(share);
    fn(context, index);
  });
}

int heed_rt_check_range(const float *data, const heed_rt_tensor_info *info,
                        const char *role, int64_t min, int64_t max) {
  int64_t count = rt::checkedNumElements(shapeOf(*info));
  for (int64_t i = 0; i < count; ++i) {
    float v = data[i];
    if (v == std::floor(v) && v >= float(min) && v <= float(max))
      continue;
    char value[64];
    std::snprintf(value, sizeof value, "%.9g", double(v));
    return heed_rt_fail(("input '" + std::string(info->name) + "' " +
                         rt::shapeToString(shapeOf(*info)) + ": element " +
                         std::to_string(i) + " is " + value + ", but the " +
                         role + " must be integers in [" + std::to_string(min) +
                         ", " + std::to_string(max) + "]")
                            .c_str());
  }
  return 0;
}

/// MLIR's ranked memref descriptor behind an unranked one, as compiled code
/// passes it to memrefCopy.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

/// Copies a strided memref of `elementSize`-byte elements into another of
/// the same shape (MLIR's CRunnerUtils contract).
void memrefCopy(int64_t elementSize, UnrankedMemRef *source,
                UnrankedMemRef *target) {
  struct Head {
    char *allocated, *aligned;
    int64_t offset;
    int64_t sizesAndStrides[1];
  };
  auto *src = static_cast<Head *>(source->descriptor);
  auto *dst = static_cast<Head *>(target->descriptor);
  int64_t rank = source->rank;
  const int64_t *sizes = src->sizesAndStrides;
  const int64_t *srcStrides = src->sizesAndStrides + rank;
  const int64_t *dstStrides = dst->sizesAndStrides + rank;
  for (int64_t d = 0; d < rank; ++d)
    if (sizes[d] == 0)
      return;
  char *from = src->aligned + src->offset * elementSize;
  char *to = dst->aligned + dst->offset * elementSize;
  if (rank == 0) {
    std::memcpy(to, from, size_t(elementSize));
    return;
  }
  std::vector<int64_t> index(size_t(rank), 0);
  for (;;) {
    int64_t s = 0, t = 0;
    for (int64_t d = 0; d < rank; ++d) {
      s += index[d] * srcStrides[d];
      t += index[d] * dstStrides[d];
    }
    std::memcpy(to + t * elementSize, from + s * elementSize,
                size_t(elementSize));
    int64_t d = rank - 1;
    while (d >= 0 && ++index[d] == sizes[d])
      index[d--] = 0;
    if (d < 0)
      return;
  }
}

} // extern "C"
