//===- Compile.cpp - heed compile
//------------------------------------------===//
//
// Part of Heed. Prints the model at one stage (--emit=ast ... asm), or
// makes a model library and its C header (--emit=obj|shared).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "compiler/AOT/ModelLibrary.h"
#include "compiler/JIT/JITModel.h"
#include "frontends/dsl/AST.h"

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

/// heed compile --emit=obj|shared: a model library and its C header.
int compileLibrary(Session &session) {
  const dsl::Model &model = session.model();
  auto dims = parseDims(model, /*defaultToOne=*/false);
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
        "shapes; bind every symbolic dimension with --dim (unbound: " +
        unbound + ")");
  aot::LibraryOptions options;
  options.kind =
      emit == "obj" ? aot::LibraryKind::Object : aot::LibraryKind::Shared;
  options.outputPath = outFile;
  options.headerPath = headerFile;
  options.origin = modelPath;
  auto header = aot::emitModelLibrary(session, *dims, options);
  if (!header)
    return failWith(header.takeError());
  llvm::outs() << "wrote " << outFile << " and " << *header << "\n";
  return 0;
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
    output->keep();
    return 0;
  }
  Stage stage;
  if (emit == "attn")
    stage = Stage::Attn;
  else if (emit == "linalg")
    stage = Stage::Linalg;
  else if (emit == "llvm-dialect" || emit == "llvm" || emit == "asm")
    stage = Stage::LLVMDialect;
  else
    return failWith(
        "--emit must be ast, attn, linalg, llvm-dialect, llvm, asm, obj "
        "or shared, not '" +
        emit + "'");
  auto dims = parseDims(model, /*defaultToOne=*/stage != Stage::Attn);
  if (!dims)
    return failWith(dims.takeError());
  auto module = (*session)->buildModule(*dims, stage);
  if (!module)
    return failWith(module.takeError());
  if (emit == "llvm") {
    if (auto err = emitHostLLVMIR(**module, os))
      return failWith(std::move(err));
  } else if (emit == "asm") {
    if (auto err = emitHostAssembly(**module, os))
      return failWith(std::move(err));
  } else {
    (*module)->print(os);
    os << "\n";
  }
  output->keep();
  return 0;
}

} // namespace heed::cli
