//===- HostCodegen.h - LLVM's steps for host code ---------------*- C++ -*-===//
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
/// The functions through which a model linked from object files (which no
/// loader scans for `.init_array`) runs its global constructors (the cuda
/// target's: loading its kernels) and destructors (unloading them).
constexpr const char *kRunConstructorsName = "heed_run_constructors";
constexpr const char *kRunDestructorsName = "heed_run_destructors";

/// Adds kRunConstructorsName (calling `module`'s global constructors by
/// priority) and kRunDestructorsName (its destructors, the other way),
/// external, when it has any.
void addConstructorEntryPoints(llvm::Module &module);

llvm::Error optimizeO3(llvm::Module &module, llvm::TargetMachine &tm,
                       double *seconds = nullptr);

/// Machine code for `module`: an object file or assembly text.
llvm::Expected<std::string> emitMachineCode(llvm::Module &module,
                                            llvm::TargetMachine &tm,
                                            llvm::CodeGenFileType type);

} // namespace heed

#endif
