//===- AttnOps.h - Operations of the attention dialect ----------*- C++ -*-===//
//
// Part of Heed. Declares the `attn` ops generated from AttnOps.td and the
// shape rules they share with the frontend and the lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_DIALECTS_ATTN_IR_ATTNOPS_H
#define HEED_DIALECTS_ATTN_IR_ATTNOPS_H

#include "dialects/attn/IR/AttnDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/attn/IR/AttnOps.h.inc"

namespace heed::attn {

/// Normalizes a possibly negative `axis` for a tensor of `rank`; returns -1
/// when it is out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank);

/// The NumPy broadcast of two shapes (dynamic dims stay dynamic unless the
/// other side is a known size > 1); fails when two static sizes disagree.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

} // namespace heed::attn

#endif // HEED_DIALECTS_ATTN_IR_ATTNOPS_H
