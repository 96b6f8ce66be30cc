//===- AttnDialect.cpp - The attention dialect ----------------------------===//
//
// Part of Heed. Registers the `attn` dialect's ops and attributes.
//
//===----------------------------------------------------------------------===//

#include "dialects/attn/IR/AttnDialect.h"
#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace heed::attn;

#include "dialects/attn/IR/AttnDialect.cpp.inc"
#include "dialects/attn/IR/AttnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/attn/IR/AttnAttrs.cpp.inc"

void AttnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/attn/IR/AttnOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/attn/IR/AttnAttrs.cpp.inc"
      >();
}
