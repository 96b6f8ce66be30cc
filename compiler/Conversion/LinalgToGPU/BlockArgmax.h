//===- BlockArgmax.h - Long argmaxes as one block per output ----*- C++ -*-===//
//
// Part of Heed. Part of heed-lower-reductions-to-gpu (BlockReduction.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_BLOCKARGMAX_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_BLOCKARGMAX_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace heed {

/// If `op` is an argmax over one long reduction dim (attn.argmax's
/// lowering: the maximum and its index as f32 outputs, the first maximum
/// winning) with few outputs, replaces it with a block per output (a
/// `gpu.launch`; the CPU-run schedule runs it on the host as loops,
/// heed-launches-to-host-loops) and returns true; otherwise leaves it and
/// returns false. `threadsInSteps`: as heed-lower-reductions-to-gpu's
/// option (a small argmax in a loop's step keeps a thread per output).
bool lowerBlockArgmax(mlir::linalg::GenericOp op, bool threadsInSteps);

} // namespace heed

#endif // HEED_COMPILER_CONVERSION_LINALGTOGPU_BLOCKARGMAX_H
