//===- AttnDialect.h - The attention dialect --------------------*- C++ -*-===//
//
// Part of Heed. Declares the `attn` dialect, its enums and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_DIALECTS_ATTN_IR_ATTNDIALECT_H
#define HEED_DIALECTS_ATTN_IR_ATTNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/attn/IR/AttnDialect.h.inc"
#include "dialects/attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/attn/IR/AttnAttrs.h.inc"

namespace heed::attn {
/// Marks the `arith.cmpf` in a stopping loop's condition (`rows still
/// running > 0`, made by the DSL's `for ... until`). Every row freezes once
/// it has finished (its states keep their values, its yields are zeros,
/// its length stops counting), so a step run after the last row finished
/// changes nothing, and the count of running rows never grows: the test
/// may see the count of an earlier step. heed-lag-stop-tests relies on it.
inline constexpr llvm::StringLiteral kStopTestAttrName = "heed.stop_test";
} // namespace heed::attn

#endif // HEED_DIALECTS_ATTN_IR_ATTNDIALECT_H
