//===- WeightsCommand.cpp - heed weights: what a file holds, what a model reads
//
// Part of Heed. Naming a model's weights as its checkpoint does is most of
// the work of running one's own model; this shows both sides:
//   heed weights FILE          the file's tensors as Heed names them (a
//                              Keras .h5's LAYER.VARIABLE names, a
//                              checkpoint's paths; --weights-prefix
//                              stripped), with shapes and types
//   heed weights MODEL.heed    the weights the model reads, by name and
//                              shape (Keras names for `weights keras`)
//   heed weights MODEL.heed --weights FILE
//                              whether FILE binds, and every problem if not
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "compiler/Driver/KerasWeights.h"
#include "runtime/TensorFile.h"
#include "runtime/Weights.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace heed;

/// Rows of (name, shape, note) in aligned columns.
static void
printTable(const std::vector<std::tuple<std::string, std::string, std::string>>
               &rows) {
  size_t nameWidth = 0, shapeWidth = 0;
  for (auto &[name, shape, note] : rows) {
    nameWidth = std::max(nameWidth, name.size());
    shapeWidth = std::max(shapeWidth, shape.size());
  }
  for (auto &[name, shape, note] : rows) {
    llvm::outs() << "  " << name
                 << std::string(nameWidth - name.size() + 2, ' ') << shape;
    if (!note.empty())
      llvm::outs() << std::string(shapeWidth - shape.size() + 2, ' ') << note;
    llvm::outs() << "\n";
  }
}

int heed::cli::weightsCommand() {
  if (modelPath.empty())
    return failWith("heed weights FILE lists a weight file's tensors; heed "
                    "weights MODEL.heed [--weights FILE], a model's weights");
  bool isModel =
      modelPath == "-" || llvm::StringRef(modelPath).ends_with(".heed");
  if (!isModel) {
    auto tensors = rt::loadTensorFile(modelPath, rt::ValueErrors::WhenUsed);
    if (!tensors)
      return failWith(tensors.takeError());
    // The names as a model would see them: --weights-prefix applies.
    rt::stripNamePrefix(*tensors, weightsPrefix);
    std::vector<std::tuple<std::string, std::string, std::string>> rows;
    for (auto &[name, t] : *tensors)
      rows.emplace_back(
          name, rt::shapeToString(t.shape()),
          std::string(rt::elementTypeName(t.elementType())) +
              (t.valueError().empty() ? "" : " (" + t.valueError() + ")"));
    llvm::outs() << modelPath << ": " << tensors->size() << " tensor"
                 << (tensors->size() == 1 ? "" : "s") << "\n";
    printTable(rows);
    return 0;
  }
  bool bind = !weightsPath.empty();
  auto session = openSession(/*needWeights=*/bind);
  if (!session)
    return failWith(session.takeError());
  const dsl::Model &model = (*session)->model();
  bool keras = model.weightLayout == "keras";
  std::vector<rt::ExpectedWeight> expected =
      keras ? kerasWeightSpecs(model) : (*session)->expectedWeights();
  if (bind) {
    llvm::outs() << "model '" << model.name << "': its " << expected.size()
                 << " weight" << (expected.size() == 1 ? "" : "s")
                 << " bind from " << weightsPath << "\n";
    return 0;
  }
  llvm::outs() << "model '" << model.name << "' reads " << expected.size()
               << " weight" << (expected.size() == 1 ? "" : "s")
               << (keras ? " (Keras names and layouts: `weights keras`)"
                         : " (PyTorch state_dict names and layouts)")
               << "\n";
  std::vector<std::tuple<std::string, std::string, std::string>> rows;
  for (const rt::ExpectedWeight &w : expected)
    rows.emplace_back(w.name, rt::shapeToString(w.shape), "");
  printTable(rows);
  return 0;
}
