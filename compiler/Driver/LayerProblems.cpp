//===- LayerProblems.cpp - A checkpoint's layers against the model file ---===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/LayerProblems.h"

#include <algorithm>

using namespace heed;

LayerProblems::LayerProblems(const dsl::Model &model,
                             const llvm::SourceMgr &sourceMgr)
    : sourceMgr(sourceMgr) {
  for (const auto &layer : model.layers)
    layers[layer->name] = layer.get();
}

void LayerProblems::add(const dsl::Layer &layer, llvm::StringRef kind,
                        const std::string &msg) {
  std::string where;
  if (unsigned buffer = sourceMgr.FindBufferContainingLoc(layer.loc)) {
    auto [line, col] = sourceMgr.getLineAndColumn(layer.loc, buffer);
    where = sourceMgr.getMemoryBuffer(buffer)->getBufferIdentifier().str() +
            ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  }
  problems.push_back(
      {layer.loc.getPointer(),
       where + "layer '" + layer.name + "' (" + kind.str() + "): " + msg});
}

llvm::Error LayerProblems::take(const std::string &source,
                                llvm::StringRef headline) {
  if (problems.empty())
    return llvm::Error::success();
  // Declarations come in the file's order, so their addresses do too;
  // a layer's own problems stay in the order found.
  std::vector<size_t> order(problems.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(problems[a].first, a) <
           std::make_pair(problems[b].first, b);
  });
  std::string msg = source + ": " + headline.str() + ":";
  for (size_t i : order)
    msg += "\n  " + problems[i].second;
  problems.clear();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}
