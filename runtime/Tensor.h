//===- Tensor.h - Dense f32 tensors -----------------------------*- C++ -*-===//
//
// Part of Heed. The runtime's only tensor type: row-major f32 data in a
// 64-byte aligned buffer (what AVX-512 loads want), a shape, and the element
// type of the file it came from or goes to (ElementType.h).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_TENSOR_H
#define HEED_RUNTIME_TENSOR_H

#include "runtime/ElementType.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heed::rt {

struct AlignedFree {
  bool owned = true; // false: borrowed memory, never freed here
  void operator()(float *p) const;
};

/// What a reader does with values float32 cannot hold (integers past
/// 2^24, booleans other than 0 and 1): fail (Report), or keep the tensor
/// with Tensor::valueError set, for whoever uses it to report (WhenUsed:
/// weight files, whose extra tensors may be ignored).
enum class ValueErrors { Report, WhenUsed };

class Tensor {
public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape);
  Tensor(const Tensor &other);
  Tensor &operator=(const Tensor &other);
  Tensor(Tensor &&) = default;
  Tensor &operator=(Tensor &&) = default;
  /// A tensor over memory the caller owns and keeps alive (and does not
  /// write while Heed reads it): no copy. Copying it makes an owned copy.
  static Tensor borrow(float *data, std::vector<int64_t> shape);

  const std::vector<int64_t> &shape() const { return dims; }
  int64_t numElements() const { return count; }
  float *data() { return storage.get(); }
  const float *data() const { return storage.get(); }
  float &operator[](int64_t i) { return storage.get()[i]; }
  float operator[](int64_t i) const { return storage.get()[i]; }

  /// The element type the tensor was read as (a file's int64 token ids),
  /// or is to be written as (an integer output: int64). The data is
  /// float32 either way; integers are exact.
  ElementType elementType() const { return element; }
  void setElementType(ElementType type) { element = type; }

  /// Why the values cannot be used, for a tensor read with
  /// ValueErrors::WhenUsed whose values float32 cannot hold exactly (an
  /// int64 step counter past 2^24); empty when they can.
  const std::string &valueError() const { return unusable; }
  void setValueError(std::string why) { unusable = std::move(why); }

private:
  ElementType element = ElementType::F32;
  std::string unusable;
  std::vector<int64_t> dims;
  int64_t count = 0;
  std::unique_ptr<float, AlignedFree> storage;
};

/// The tensor's data as a file stores it, little-endian: int64 for an
/// integer tensor (an integer output), float32 otherwise. The .npy, .npz
/// and .safetensors writers all write this.
std::string fileBytes(const Tensor &t);

/// "[2, 30, 64]".
std::string shapeToString(const std::vector<int64_t> &shape);

/// The product of the dims, or -1 on overflow or a negative dim.
int64_t checkedNumElements(const std::vector<int64_t> &shape);

} // namespace heed::rt

#endif
