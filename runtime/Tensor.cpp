//===- Tensor.cpp - Dense f32 tensors -------------------------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

using namespace heed::rt;

void AlignedFree::operator()(float *p) const {
  if (owned)
    std::free(p);
}

Tensor Tensor::borrow(float *data, std::vector<int64_t> shape) {
  Tensor t;
  t.dims = std::move(shape);
  t.count = checkedNumElements(t.dims);
  t.storage = std::unique_ptr<float, AlignedFree>(data, AlignedFree{false});
  return t;
}

static float *allocate(int64_t count) {
  size_t bytes = (size_t(count) * sizeof(float) + 63) / 64 * 64;
  void *p = std::aligned_alloc(64, bytes ? bytes : 64);
  if (!p)
    throw std::bad_alloc();
  std::memset(p, 0, bytes ? bytes : 64);
  return static_cast<float *>(p);
}

Tensor::Tensor(std::vector<int64_t> shape)
    : dims(std::move(shape)), count(checkedNumElements(dims)),
      storage(allocate(count < 0 ? 0 : count)) {}

Tensor::Tensor(const Tensor &other)
    : element(other.element), unusable(other.unusable), dims(other.dims),
      count(other.count), storage(allocate(other.count)) {
  std::memcpy(storage.get(), other.storage.get(), count * sizeof(float));
}

Tensor &Tensor::operator=(const Tensor &other) {
  if (this != &other)
    *this = Tensor(other);
  return *this;
}

std::string heed::rt::fileBytes(const Tensor &t) {
  if (!isInteger(t.elementType()))
    return std::string(reinterpret_cast<const char *>(t.data()),
                       size_t(t.numElements()) * sizeof(float));
  std::string out(size_t(t.numElements()) * sizeof(int64_t), '\0');
  for (int64_t i = 0; i < t.numElements(); ++i) {
    int64_t v = floatToInt64(t[i]);
    std::memcpy(&out[size_t(i) * sizeof v], &v, sizeof v);
  }
  return out;
}

std::string heed::rt::shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t heed::rt::checkedNumElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > INT64_MAX / d))
      return -1;
    n *= d;
  }
  return n;
}
