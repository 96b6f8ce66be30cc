//===- JITModel.h - A compiled model, ready to call -------------*- C++ -*-===//
//
// Part of Heed. Wraps mlir::ExecutionEngine for one specialized model
// function: every argument and out-parameter is a dense f32 buffer passed as
// a memref descriptor through the C interface.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_JIT_JITMODEL_H
#define HEED_COMPILER_JIT_JITMODEL_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace llvm {
class Module;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

// Declared only: ExecutionEngine.h (ORC's LLJIT and its layers) took about
// 13 s of the compile of each file that includes this one.
namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace heed {

/// A dense row-major f32 buffer and its shape, seen by compiled code.
struct BufferArg {
  float *data;
  std::vector<int64_t> shape;
};

class JITModel {
public:
  /// Lowers nothing: `module` must already be in the LLVM dialect.
  /// `functions` are the entry points (func names) to look up, in the order
  /// `invoke` numbers them; the JIT targets the host CPU.
  /// `symbols` binds external symbols of the module (runtime kernels and
  /// their context) to host addresses.
  /// With `objects`, the machine code is also kept there as object files
  /// (what createFromObjects loads: the on-disk compile cache).
  /// With `optimizeSeconds`, the time LLVM's optimization pipeline took is
  /// stored there (the rest of `create` is translation and code generation).
  /// With `threads` > 1, a module whose functions split into partitions of
  /// similar weight is optimized and compiled on that many threads
  /// (ParallelCodegen.h); the code is the same.
  static llvm::Expected<std::unique_ptr<JITModel>>
  create(mlir::ModuleOp module, llvm::ArrayRef<std::string> functions,
         llvm::ArrayRef<std::pair<std::string, void *>> symbols = {},
         std::vector<std::string> *objects = nullptr,
         double *optimizeSeconds = nullptr, unsigned threads = 1);

  /// The same model from the object files `create` kept, linked by ORC's
  /// LLJIT without MLIR or LLVM code generation.
  static llvm::Expected<std::unique_ptr<JITModel>> createFromObjects(
      llvm::ArrayRef<std::string> objects,
      llvm::ArrayRef<std::string> functions,
      llvm::ArrayRef<std::pair<std::string, void *>> symbols = {});

  /// Calls entry point `index` with its arguments in order (for a model:
  /// inputs, weights, prepared weights, then outputs as out-params).
  llvm::Error invoke(unsigned index, llvm::ArrayRef<BufferArg> args);

  ~JITModel();

private:
  JITModel();
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::unique_ptr<llvm::orc::LLJIT> linker; // a model loaded from an object
  std::vector<void (*)(void **)> entries;
  void (*destructors)() = nullptr; // a linked object's, run at the end
};

/// Translates an LLVM-dialect module to LLVM IR optimized for the host
/// (O3), and prints it as IR text or as host assembly.
llvm::Error emitHostLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os);
llvm::Error emitHostAssembly(mlir::ModuleOp module, llvm::raw_ostream &os);
/// The same as a position-independent object file (ahead-of-time model
/// libraries); `adjust` may edit the optimized LLVM module before codegen.
llvm::Error
emitHostObject(mlir::ModuleOp module, llvm::raw_ostream &os,
               llvm::function_ref<void(llvm::Module &)> adjust = {});

} // namespace heed

#endif
