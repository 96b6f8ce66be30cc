//===- Compile.cpp - heed compile -----------------------------------------===//
//
// Part of Heed. Prints the model at one stage (--emit=ast ... asm), or
// makes a model library and its C header (--emit=obj|shared).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "compiler/AOT/ModelLibrary.h"
#include "compiler/JIT/JITModel.h"
#include "frontends/dsl/AST.h"
#include "runtime/FileOutput.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>

using namespace heed;

namespace heed::cli {

llvm::Expected<llvm::StringMap<int64_t>> parseDims(const dsl::Model &model,
                                                   bool defaultToOne) {
  llvm::StringMap<int64_t> dims;
  for (const std::string &spec : dimBindings) {
    auto [name, value] = llvm::StringRef(spec).split('=');
    int64_t v;
    if (value.getAsInteger(10, v) || v <= 0)
      return llvm::createStringError("--dim " + spec +
                                     ": expected NAME=SIZE with SIZE > 0");
    if (std::find(model.symbols.begin(), model.symbols.end(), name.str()) ==
        model.symbols.end())
      return llvm::createStringError(
          "--dim " + spec + ": model '" + model.name +
          "' has no symbolic dimension '" + name.str() + "'");
    dims[name] = v;
  }
  if (defaultToOne)
    for (auto &sym : model.symbols)
      dims.try_emplace(sym, 1);
  return dims;
}

/// The dims of a compilation: --dim, then what the --input files bind (as
/// for heed run), then, with `defaultToOne`, 1 for every other.
static llvm::Expected<llvm::StringMap<int64_t>> compileDims(Session &session,
                                                            bool defaultToOne) {
  auto dims = parseDims(session.model(), /*defaultToOne=*/false);
  if (!dims)
    return dims.takeError();
  auto given = loadInputs();
  if (!given)
    return given.takeError();
  if (!given->empty()) {
    auto bound = session.bindDims(*given);
    if (!bound)
      return bound.takeError();
    for (auto &entry : *bound)
      dims->try_emplace(entry.getKey(), entry.getValue());
  }
  if (defaultToOne)
    for (auto &sym : session.model().symbols)
      dims->try_emplace(sym, 1);
  return dims;
}

/// heed compile --emit=obj|shared: a model library and its C header.
int compileLibrary(Session &session) {
  if (session.pipelineOptions().target == Target::GPUScheduleOnCPU)
    return failWith("--emit=" + emit +
                    " makes a library for --target=cpu or cuda; "
                    "gpu-schedule-on-cpu is a check, run it with heed run");
  const dsl::Model &model = session.model();
  auto dims = compileDims(session, /*defaultToOne=*/false);
  if (!dims)
    return failWith(dims.takeError());
  std::string unbound;
  for (auto &sym : model.symbols)
    if (!dims->count(sym))
      unbound += (unbound.empty() ? "" : ", ") + sym;
  if (!unbound.empty())
    return failWith(
        "--emit=" + emit +
        ": a model library is compiled for fixed "
        "shapes; bind every symbolic dimension with --dim or --input "
        "(unbound: " +
        unbound + ")");
  aot::LibraryOptions options;
  options.kind =
      emit == "obj" ? aot::LibraryKind::Object : aot::LibraryKind::Shared;
  options.outputPath = outFile;
  options.headerPath = headerFile;
  options.origin = modelPath == "-" ? "<stdin>" : modelPath.getValue();
  auto header = aot::emitModelLibrary(session, *dims, options);
  if (!header)
    return failWith(header.takeError());
  llvm::outs() << "wrote " << outFile << " and " << *header << "\n";
  return 0;
}

/// The PTX of every gpu.binary in `module` (one per model: the kernels are
/// merged into one gpu.module).
static llvm::Error emitKernelAssembly(mlir::ModuleOp module,
                                      llvm::raw_ostream &os) {
  unsigned objects = 0;
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute a : binary.getObjects()) {
      auto object = mlir::cast<mlir::gpu::ObjectAttr>(a);
      os << object.getObject().getValue();
      ++objects;
    }
  });
  if (!objects)
    return llvm::createStringError("the model compiled to no GPU kernels");
  return llvm::Error::success();
}

int compileCommand() {
  auto session = openSession(/*needWeights=*/false);
  if (!session)
    return failWith(session.takeError());
  if (emit == "obj" || emit == "shared")
    return compileLibrary(**session);
  if (headerFile.getNumOccurrences())
    return failWith("--header belongs to --emit=obj|shared");
  std::string error;
  auto output = mlir::openOutputFile(outFile, &error);
  if (!output)
    return failWith(error);
  llvm::raw_ostream &os = output->os();
  const dsl::Model &model = (*session)->model();
  if (emit == "ast") {
    dsl::printAST(model, os);
    if (auto err = rt::finishWrite(output->os(), outFile))
      return failWith(std::move(err));
    output->keep();
    return 0;
  }
  Stage stage;
  if (emit == "attn")
    stage = Stage::Attn;
  else if (emit == "linalg")
    stage = Stage::Linalg;
  else if (emit == "llvm-dialect" || emit == "llvm" || emit == "asm" ||
           emit == "ptx")
    stage = Stage::LLVMDialect;
  else if (emit == "gpu")
    stage = Stage::GPU;
  else
    return failWith(
        "--emit must be ast, attn, linalg, gpu, llvm-dialect, llvm, asm, "
        "ptx, obj or shared, not '" +
        emit + "'");
  bool cuda = (*session)->pipelineOptions().target == Target::CUDA;
  if ((emit == "gpu" || emit == "ptx") && !cuda)
    return failWith("--emit=" + emit + " needs --target=cuda");
  if (cuda && (emit == "llvm" || emit == "asm"))
    return failWith("--emit=" + emit +
                    " is the CPU target's; with --target=cuda use "
                    "--emit=gpu, ptx or llvm-dialect");
  auto dims = compileDims(**session, /*defaultToOne=*/stage != Stage::Attn);
  if (!dims)
    return failWith(dims.takeError());
  auto module = (*session)->buildModule(*dims, stage);
  if (!module)
    return failWith(module.takeError());
  if (emit == "ptx") {
    if (auto err = emitKernelAssembly(**module, os))
      return failWith(std::move(err));
  } else if (emit == "llvm") {
    if (auto err = emitHostLLVMIR(**module, os))
      return failWith(std::move(err));
  } else if (emit == "asm") {
    if (auto err = emitHostAssembly(**module, os))
      return failWith(std::move(err));
  } else {
    (*module)->print(os);
    os << "\n";
  }
  if (auto err = rt::finishWrite(output->os(), outFile))
    return failWith(std::move(err));
  output->keep();
  return 0;
}

} // namespace heed::cli
