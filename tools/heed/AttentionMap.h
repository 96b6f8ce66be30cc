//===- AttentionMap.h - Attention alignments as heatmaps --------*- C++ -*-===//
//
// Part of Heed. Draws one alignment (output steps × input steps) as the
// seeds plot attention: a labelled heatmap in the terminal, and as an SVG
// image file.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_TOOLS_HEED_ATTENTIONMAP_H
#define HEED_TOOLS_HEED_ATTENTIONMAP_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace heed {

struct AttentionMap {
  std::vector<std::string> rows;    // output symbols (y axis)
  std::vector<std::string> columns; // input symbols (x axis)
  std::vector<float> weights;       // rows × columns, row-major
  std::vector<float> elsewhere;     // per row: weight on steps not shown
                                    // (padding), or empty
  float at(size_t r, size_t c) const { return weights[r * columns.size() + c]; }
};

/// One character cell per weight, shaded by the weight (square-root scale,
/// so 0.06 is already visible and 1 is a full block).
void printAttentionMap(llvm::raw_ostream &os, const AttentionMap &map);
/// Writes an SVG heatmap with labelled axes and a colour scale.
llvm::Error writeAttentionSvg(const std::string &path, const AttentionMap &map,
                              const std::string &title);

} // namespace heed

#endif
