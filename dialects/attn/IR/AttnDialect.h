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

#endif // HEED_DIALECTS_ATTN_IR_ATTNDIALECT_H
