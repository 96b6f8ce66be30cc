//===- HostCodegen.h - LLVM's steps for code that runs on this host -*- C++
//-*-===//
//
// Part of Heed. The host's target machine (with the options that bound
// code-generation time) and the steps every way of compiling a model goes
// through: translation of an LLVM-dialect module to LLVM IR for the host,
// LLVM's O3 pipeline, and code generation to an object or assembly. Used
// by the JIT (JITModel), its parallel code generation (ParallelCodegen)
// and the --emit outputs.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_JIT_HOSTCODEGEN_H
#define HEED_COMPILER_JIT_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace heed {

/// The host CPU with its features, O3 code generation; static code unless
/// `positionIndependent` (model libraries).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
hostMachine(bool positionIndependent = false);

/// `module` (LLVM dialect) as LLVM IR in `ctx`, with the data layout and
/// triple of `tm`.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                 llvm::TargetMachine &tm);

/// LLVM's O3 pipeline for `tm`; its duration in `seconds` if given.
llvm::Error optimizeO3(llvm::Module &module, llvm::TargetMachine &tm,
                       double *seconds = nullptr);

/// Machine code for `module`: an object file or assembly text.
llvm::Expected<std::string> emitMachineCode(llvm::Module &module,
                                            llvm::TargetMachine &tm,
                                            llvm::CodeGenFileType type);

} // namespace heed

#endif
