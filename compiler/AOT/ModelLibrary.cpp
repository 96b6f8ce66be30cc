//===- ModelLibrary.cpp - Ahead-of-time model libraries -------------------===//
//
// Part of Heed. The model goes through the same pipeline as for the JIT, is
// compiled for the host CPU into a position-independent object, and is
// joined with its generated C glue by the system C compiler:
//
//   Session::blockRows                 ─ the blocks of a batch: one or two
//                                        block sizes, a variant each
//   Session::buildModule(dims, Linalg) ─ per variant: entry points,
//                                        prepared shapes
//   Session::lowerToLLVM               ─ LLVM dialect, C interfaces
//   emitHostObject                     ─ model_N.o; every symbol internal
//                                        but the two entry points and the
//                                        kernel-context slot (renamed per
//                                        model and variant, defined here)
//   generateGlue / generateHeader      ─ glue.c, MODEL.h
//   cc                                 ─ MODEL.o (ld -r) or libMODEL.so
//
//===----------------------------------------------------------------------===//

#include "compiler/AOT/ModelLibrary.h"

#include "compiler/AOT/GlueSource.h"
#include "compiler/JIT/JITModel.h"
#include "runtime/Environment.h"
#include "runtime/FileOutput.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace heed;
using namespace heed::aot;
using llvm::Twine;

namespace {

llvm::Error fail(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error writeFile(const std::string &path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail(path + ": cannot write: " + ec.message());
  os << text;
  return rt::finishWrite(os, path);
}

/// Where heed_runtime.h and libheed_runtime.so are: beside an installed
/// heed (PREFIX/bin/heed), else in the build and source trees it was built in.
struct RuntimeLocation {
  std::string includeDir, libraryDir;
};

RuntimeLocation runtimeLocation() {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  llvm::SmallString<256> prefix(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::SmallString<256> include(prefix), lib(prefix);
  llvm::sys::path::append(include, HEED_INSTALL_INCLUDEDIR);
  llvm::sys::path::append(lib, HEED_INSTALL_LIBDIR);
  llvm::SmallString<256> header(include);
  llvm::sys::path::append(header, "heed_runtime.h");
  if (llvm::sys::fs::exists(header))
    return {include.str().str(), lib.str().str()};
  llvm::SmallString<256> buildLib(prefix);
  llvm::sys::path::append(buildLib, "lib");
  return {HEED_RUNTIME_SOURCE_DIR, buildLib.str().str()};
}

/// Runs the C compiler with `args`; its messages go into the error.
llvm::Error runCompiler(const std::vector<std::string> &args,
                        const std::string &scratch) {
  std::string name = rt::env::text("HEED_CC").value_or("cc");
  auto program = llvm::sys::findProgramByName(name);
  if (!program)
    return fail("no C compiler '" + name +
                "' on PATH (set HEED_CC): --emit=obj "
                "and --emit=shared compile the model's C glue with it");
  std::vector<llvm::StringRef> argv = {*program};
  for (auto &a : args)
    argv.push_back(a);
  std::string log = scratch + "/cc.log";
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*program, argv, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc == 0)
    return llvm::Error::success();
  std::string command;
  for (auto a : argv)
    command += (command.empty() ? "" : " ") + a.str();
  auto output = llvm::MemoryBuffer::getFile(log);
  return fail("the C compiler failed (" + Twine(rc) + ")" +
              (message.empty() ? "" : ": " + message) + "\n  " + command +
              "\n" + (output ? (*output)->getBuffer() : ""));
}

/// Keeps the two entry points of a variant's code and its kernel-context
/// slot visible to the glue, under per-model, per-variant names; every
/// other symbol becomes internal, so several libraries live in one program.
/// For --target=cuda, the host code's malloc, calloc and free become the
/// runtime's managed ones (the kernels read and write those buffers; the
/// JIT maps the names the same way).
void internalize(llvm::Module &m, const Session::EntryPoints &points,
                 const LibraryVariant &variant, bool device) {
  if (device)
    for (const char *name : {"malloc", "calloc", "free"})
      if (llvm::Function *f = m.getFunction(name))
        f->setName(std::string("heed_rt_device_") + name);
  std::string runCiface = "_mlir_ciface_" + points.model;
  std::string prepareCiface = "_mlir_ciface_" + points.prepare;
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    if (f.getName() == runCiface ||
        (!points.prepare.empty() && f.getName() == prepareCiface)) {
      f.setName(f.getName() == runCiface ? variant.runEntry
                                         : variant.prepareEntry);
      f.setVisibility(llvm::GlobalValue::HiddenVisibility);
    } else {
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
    }
  }
  // (llvm.global_ctors keeps its meaning: a --target=cuda variant's
  // constructor loads its kernels.)
  for (llvm::GlobalVariable &g : m.globals())
    if (!g.isDeclaration() && !g.getName().starts_with("llvm."))
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
  // The slot exists only where the model calls kernels; the glue sets it
  // either way.
  llvm::GlobalVariable *slot = m.getGlobalVariable("heed_kernel_context");
  if (!slot)
    slot = new llvm::GlobalVariable(
        m, llvm::ArrayType::get(llvm::Type::getInt64Ty(m.getContext()), 1),
        /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage, nullptr,
        "heed_kernel_context");
  slot->setName(variant.contextSymbol);
  slot->setInitializer(llvm::Constant::getNullValue(slot->getValueType()));
  slot->setLinkage(llvm::GlobalValue::ExternalLinkage);
  slot->setVisibility(llvm::GlobalValue::HiddenVisibility);
}

/// The model compiled for blocks of `rows` batch rows as variant `index`:
/// its interface and the object file written into `dir`.
llvm::Expected<std::pair<LibraryVariant, std::string>>
compileVariant(Session &session, const llvm::StringMap<int64_t> &dims,
               int64_t rows, size_t index, const std::string &dir,
               bool device) {
  const std::string &name = session.model().name;
  llvm::StringMap<int64_t> variantDims = dims;
  if (const std::optional<std::string> &batch = session.batchDim())
    variantDims[*batch] = rows;
  auto module = session.buildModule(variantDims, Stage::Linalg);
  if (!module)
    return module.takeError();
  Session::EntryPoints points = session.entryPoints(**module);
  LibraryVariant variant;
  variant.rows = rows;
  for (size_t i = 0; i < points.preparedShapes.size(); ++i)
    variant.prepared.push_back(
        {"prepared" + std::to_string(i), points.preparedShapes[i], ""});
  if (auto err = session.lowerToLLVM(**module))
    return std::move(err);
  std::string suffix = "_" + std::to_string(index);
  variant.runEntry = name + "__heed_model" + suffix;
  variant.prepareEntry =
      points.prepare.empty() ? "" : name + "__heed_prepare" + suffix;
  variant.contextSymbol = name + "__heed_kernel_context" + suffix;
  std::string objectText;
  llvm::raw_string_ostream objectStream(objectText);
  if (auto err = emitHostObject(**module, objectStream, [&](llvm::Module &m) {
        internalize(m, points, variant, device);
      }))
    return std::move(err);
  std::string path = dir + "/model" + suffix + ".o";
  if (auto err = writeFile(path, objectText))
    return std::move(err);
  return std::make_pair(std::move(variant), path);
}

} // namespace

llvm::Expected<std::string>
aot::emitModelLibrary(Session &session, const llvm::StringMap<int64_t> &dims,
                      const LibraryOptions &options) {
  const dsl::Model &model = session.model();
  if (model.weightLayout != "pytorch")
    return fail("--emit=obj|shared: model '" + model.name + "' reads '" +
                model.weightLayout +
                "' weights; model libraries bind PyTorch "
                "names and layouts only (docs/weights.md)");
  if (options.outputPath.empty() || options.outputPath == "-")
    return fail("--emit=obj|shared needs an output file (-o)");
  // The library's symbols are the model's name and a suffix; the glue's
  // own (heed_weights) and the runtime's (heed_rt_last_error) would clash.
  if (model.name == "heed" ||
      llvm::StringRef(model.name).starts_with("heed_rt"))
    return fail("--emit=obj|shared: a model library's symbols start with the "
                "model's name, and 'heed' and names starting with 'heed_rt' "
                "are Heed's own: rename model '" +
                model.name + "'");

  // What the library's glue needs to know, in the model function's
  // argument order: inputs, weights, prepared weights, outputs.
  LibraryInterface lib;
  lib.model = model.name;
  lib.device = session.pipelineOptions().target == Target::CUDA;
  lib.origin = options.origin;
  std::string dimsText;
  for (auto &sym : model.symbols)
    dimsText += (dimsText.empty() ? "" : ", ") + sym + "=" +
                std::to_string(dims.lookup(sym));
  if (!dimsText.empty())
    lib.origin += " with " + dimsText;
  for (auto &in : model.inputs)
    lib.inputs.push_back({in.name, session.concreteShape(in.shape, dims),
                          dsl::shapeStr(in.shape),
                          in.elementType == "i64"    ? "int64"
                          : in.elementType == "i32"  ? "int32"
                          : in.elementType == "bool" ? "bool"
                                                     : "float32"});
  for (auto &out : model.outputs)
    lib.outputs.push_back(
        {out.name, session.concreteShape(out.value->type, dims),
         dsl::shapeStr(out.value->type), out.integer ? "int64" : "float32"});
  for (auto &w : session.expectedWeights())
    lib.weights.push_back({w.name, w.shape, ""});
  for (auto &range : model.inputRanges) {
    size_t index = 0;
    while (model.inputs[index].name != range.input)
      ++index;
    int64_t max = range.upper(dims);
    lib.ranges.push_back({index, range.role, range.min, max});
  }

  llvm::SmallString<128> scratch;
  if (auto ec = llvm::sys::fs::createUniqueDirectory("heed-aot", scratch)) {
    llvm::SmallString<128> tmp;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    return fail("cannot make a temporary directory in " + tmp +
                " (TMPDIR): " + ec.message());
  }
  std::string dir = scratch.str().str();
  llvm::scope_exit cleanup([&] { llvm::sys::fs::remove_directories(dir); });

  // The blocks a run splits its batch into, as the JIT's runs do
  // (Session::blockRows): one variant compiled per block size.
  const std::optional<std::string> &batch = session.batchDim();
  std::vector<int64_t> blockRows =
      session.blockRows(batch ? dims.lookup(*batch) : 1);
  std::vector<std::string> objects;
  for (int64_t rows : blockRows) {
    size_t index = 0;
    while (index < lib.variants.size() && lib.variants[index].rows != rows)
      ++index;
    lib.blocks.push_back(index);
    if (index < lib.variants.size())
      continue;
    auto variant = compileVariant(session, dims, rows, index, dir, lib.device);
    if (!variant)
      return variant.takeError();
    objects.push_back(variant->second);
    lib.variants.push_back(std::move(variant->first));
  }

  std::string headerPath = options.headerPath;
  if (headerPath.empty()) {
    llvm::SmallString<256> p(llvm::sys::path::parent_path(options.outputPath));
    llvm::sys::path::append(p, model.name + ".h");
    headerPath = p.str().str();
  }
  std::string headerName = llvm::sys::path::filename(headerPath).str();
  std::string headerDir = llvm::sys::path::parent_path(headerPath).str();
  if (headerDir.empty())
    headerDir = ".";
  if (auto err = writeFile(headerPath, generateHeader(lib)))
    return std::move(err);
  if (auto err = writeFile(dir + "/glue.c", generateGlue(lib, headerName)))
    return std::move(err);

  RuntimeLocation runtime = runtimeLocation();
  std::vector<std::string> compile = {
      "-std=c99",       "-O2",
      "-fPIC",          "-Wall",
      "-I" + headerDir, "-I" + runtime.includeDir};
  if (options.kind == LibraryKind::Shared) {
    std::vector<std::string> args = compile;
    args.insert(args.end(),
                {"-shared", "-o", options.outputPath, dir + "/glue.c"});
    args.insert(args.end(), objects.begin(), objects.end());
    args.insert(args.end(),
                {"-L" + runtime.libraryDir, "-Wl,-rpath," + runtime.libraryDir,
                 lib.device ? "-lheed_cuda_runtime" : "-lheed_runtime", "-lm"});
    if (auto err = runCompiler(args, dir))
      return std::move(err);
  } else {
    std::vector<std::string> args = compile;
    args.insert(args.end(), {"-c", "-o", dir + "/glue.o", dir + "/glue.c"});
    if (auto err = runCompiler(args, dir))
      return std::move(err);
    std::vector<std::string> link = {"-r", "-nostdlib", "-o",
                                     options.outputPath, dir + "/glue.o"};
    link.insert(link.end(), objects.begin(), objects.end());
    if (auto err = runCompiler(link, dir))
      return std::move(err);
  }
  return headerPath;
}
