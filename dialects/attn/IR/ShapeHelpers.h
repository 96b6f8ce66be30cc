//===- ShapeHelpers.h - Shared helpers of shape inference -------*- C++ -*-===//
//
// Part of Heed. Internal to the attn IR library: reading inherent attributes
// while building or parsing, shapes of operands, shape strings.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_DIALECTS_ATTN_IR_SHAPEHELPERS_H
#define HEED_DIALECTS_ATTN_IR_SHAPEHELPERS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Value.h"

#include <string>

namespace heed::attn::detail {

using namespace mlir;

inline constexpr int64_t kDyn = ShapedType::kDynamic;

/// An inherent attribute of an op being built or parsed: from its
/// properties once they are set, from the attribute dictionary before.
template <typename AttrT>
inline AttrT inherent(AttrT fromProperties, DictionaryAttr attrs,
                      StringRef name) {
  if (fromProperties)
    return fromProperties;
  return attrs ? attrs.getAs<AttrT>(name) : AttrT();
}

/// The i64 value of an inherent attribute, or failure with a diagnostic.
inline FailureOr<int64_t> intAttr(IntegerAttr fromProperties,
                                  DictionaryAttr attrs, StringRef name,
                                  std::optional<Location> loc, StringRef op) {
  IntegerAttr a = inherent(fromProperties, attrs, name);
  if (!a)
    return emitOptionalError(loc, op, " needs the '", name, "' attribute");
  return a.getInt();
}

inline RankedTensorType f32Tensor(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

inline ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Two sizes that must be equal are compatible when either is dynamic.
inline bool compatible(int64_t a, int64_t b) {
  return a == kDyn || b == kDyn || a == b;
}

/// Same rank and pairwise compatible sizes.
inline bool compatibleShapes(ArrayRef<int64_t> got, ArrayRef<int64_t> want) {
  if (got.size() != want.size())
    return false;
  for (size_t i = 0; i < got.size(); ++i)
    if (!compatible(got[i], want[i]))
      return false;
  return true;
}

inline std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] == kDyn ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

} // namespace heed::attn::detail

#endif
