//===- WarpMma.h - A warp's tensor-core product -----------------*- C++ -*-===//
//
// Part of Heed. PTX's mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}:
// the 32 threads of a warp multiply a 16 × 16 tile of A by a 16 × 8 tile of
// B and add the product to a 16 × 8 tile of f32 accumulators, each thread
// holding a fragment of each (PTX ISA, "Matrix Fragments for mma.m16n8k16
// with floating point type"). With g = lane / 4 and t = lane % 4:
//
//   A register r (0-3): row g + 8 (r % 2), columns 2t + 8 (r / 2) + {0, 1}
//   B register r (0-1): rows (K) 2t + 8r + {0, 1}, column g
//   accumulator i (0-3): row g + 8 (i / 2), column 2t + i % 2
//
// (a register holds 2 elements of the multiplicands' type).
//
// For f32 multiplicands (3xTF32), mma.sync.aligned.m16n8k8.row.col.f32.tf32:
// a register holds one element, K is 8, and
//
//   A register r (0-3): row g + 8 (r % 2), column t + 4 (r / 2)
//   B register r (0-1): row (K) t + 4r, column g
//   accumulators as above.
//
// Each element x is split into tf32 parts, big = tf32(x) and small =
// tf32(x - big), and the product is three instructions: small·big,
// big·small, big·big (CUTLASS's 3xTF32, what PyTorch's f32 attention runs
// on sm_80 and later): f32's precision to about 2^-22, on tensor cores.
//
// On a GPU the fragments are loaded by the lane itself and the warp runs
// nvvm.mma.sync. On the host (the CPU-run schedule, one thread at a time)
// a lane computes its accumulators from the fragments the lanes holding
// each element of its row of A and column of B would load, through the
// table above read backwards: so the schedule's run on the CPU checks that
// the kernel loads the fragments the instruction expects.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_WARPMMA_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_WARPMMA_H

#include "mlir/IR/Builders.h"

#include <functional>

namespace heed {

/// The products' precisions by name, `precision` options of the passes and
/// `--gpu-precision`: f32 (no tensor cores), then those on tensor cores.
inline constexpr llvm::StringLiteral kPrecisions[] = {"f32", "tf32x3", "bf16",
                                                      "f16"};
/// Whether `name` is one of kPrecisions.
bool isPrecision(llvm::StringRef name);
/// kPrecisions as a list for messages, "f32, tf32x3, bf16 or f16", each
/// name between `quote`s.
std::string precisionList(llvm::StringRef quote = "");

/// The element types tensor cores take here, by name: "bf16", "f16", and
/// f32 for "tf32x3" (f32 multiplicands as 3xTF32 products); none for "f32"
/// (the f32 kernels without tensor cores) and anything else.
mlir::Type mmaElementType(mlir::MLIRContext *context, llvm::StringRef name);

/// K of one instruction: 16 for bf16 and f16, 8 for f32 (tf32).
int64_t mmaDepth(mlir::Type element);
/// Elements a fragment register holds: 2 for bf16 and f16, 1 for f32.
int64_t mmaRegisterElements(mlir::Type element);

/// `x` (f32) as tf32 parts {big, small}: big = x rounded to tf32 (to
/// nearest, ties away from zero: cvt.rna.tf32.f32), small = x - big
/// rounded the same way; both f32 values with the 13 low bits zero.
std::pair<mlir::Value, mlir::Value>
splitTF32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// A pass's `precision` option: the multiplicands' type (null for "f32"),
/// or failure after an error on `op` naming `pass` and what it takes.
mlir::FailureOr<mlir::Type> parsePrecision(mlir::Operation *op,
                                           llvm::StringRef pass,
                                           llvm::StringRef precision);

/// Lane `lane`'s register `reg` (an index value) of A (0-3) or B (0-1): a
/// vector of mmaRegisterElements elements of the multiplicands' type, loaded
/// from memory the whole warp reads (shared memory) with the layout above.
/// Called with other lanes than the thread's own on the host.
using WarpMmaLoad = std::function<mlir::Value(
    mlir::OpBuilder &, mlir::Value lane, mlir::Value reg)>;

/// A fragment of A or B: its registers one at a time, for any lane (the
/// host's emulation reads other lanes'), and where set, all of the lane's
/// own at once (on a GPU: one ldmatrix).
struct WarpFragment {
  WarpFragment(WarpMmaLoad perRegister) : perRegister(std::move(perRegister)) {}
  WarpMmaLoad perRegister;
  std::function<llvm::SmallVector<mlir::Value>(mlir::OpBuilder &,
                                               mlir::Value lane)>
      ownRegisters;
};

/// A fragment that PTX's ldmatrix loads from a tile of 16-bit elements in
/// shared memory: `matrices` (2 or 4) 8 × 8 matrices, register j from
/// matrix j. Lane l points at row l % 8 of matrix l / 8 (`rowAddress(l)`:
/// the row's first element, 16-byte aligned) and gets, of matrix j, the
/// elements 2 (l % 4) and 2 (l % 4) + 1 of the row lane 8j + l / 4 points
/// at; transposed, element l / 4 of the rows lanes 8j + 2 (l % 4) and
/// 8j + 2 (l % 4) + 1 point at. On the host each register is read from
/// the tile by that rule, through the same `rowAddress`.
struct LdMatrixSource {
  mlir::Value tile;
  bool transpose = false;
  std::function<std::pair<mlir::Value, mlir::Value>(mlir::OpBuilder &,
                                                    mlir::Value lane)>
      rowAddress;
};
WarpFragment ldmatrixFragment(mlir::Location loc, bool onHost,
                              mlir::Type element, LdMatrixSource source,
                              int64_t matrices);

/// A fragment whose registers lane `lane` loads itself with `own` (in
/// register order), on a GPU as its own registers and on the host, where
/// a lane reads another's register `reg`, by picking it from what `own`
/// gives for that lane: so the host checks the lane's own loads.
using LaneLoads = std::function<llvm::SmallVector<mlir::Value>(
    mlir::OpBuilder &, mlir::Value lane)>;
WarpFragment laneLoadedFragment(mlir::Location loc, bool onHost, LaneLoads own);

/// f32 fragments (3xTF32) of a tile of f32 in shared memory whose rows
/// are M (A) or N (B) and whose columns are K. Heed's f32 products take
/// the instruction's k within each 8 as column 2 (k % 4) + k / 4 (a sum
/// over k does not mind its order): then A's registers 0 and 2 of a lane
/// are columns 2t and 2t + 1 of row g, its registers 1 and 3 the same of
/// row g + 8, and B's registers 0 and 1 columns 2t and 2t + 1 of row g:
/// each pair one 8-byte load (ldmatrix reads 16-bit elements only). The
/// rows from `row0`, the columns from `k0` (even); `rowsOfA` picks A's
/// fragment (16 rows) or B's (8). In a tile whose row stride is 8 words
/// modulo 32, each half-warp's loads fall in distinct banks.
WarpFragment f32RowPairsFragment(mlir::Location loc, bool onHost,
                                 mlir::Value tile, mlir::Value row0,
                                 mlir::Value k0, bool rowsOfA);

/// `accs[j] + A · B_j` for each j, the products of one tile of A with
/// several tiles of B, for the lane `lane` (thread id % 32) of a warp:
/// each accumulator and result is the lane's 4 accumulators as a
/// vector<4xf32>. `element` is bf16, f16 or f32 (3xTF32). On a GPU, A's
/// registers are loaded (and split) once for all products.
llvm::SmallVector<mlir::Value>
emitWarpMmas(mlir::OpBuilder &b, mlir::Location loc, bool onHost,
             mlir::Type element, mlir::Value lane, const WarpFragment &loadA,
             llvm::ArrayRef<WarpFragment> loadB, mlir::ValueRange accs);

/// The same for several tiles of A: `accs[a * |loadB| + j] + A_a · B_j`.
/// On a GPU every fragment's registers are loaded once, so each B
/// fragment serves every A.
llvm::SmallVector<mlir::Value>
emitWarpMmaGrid(mlir::OpBuilder &b, mlir::Location loc, bool onHost,
                mlir::Type element, mlir::Value lane,
                llvm::ArrayRef<WarpFragment> loadA,
                llvm::ArrayRef<WarpFragment> loadB, mlir::ValueRange accs);

} // namespace heed

#endif
