//===- Report.h - Human-readable tensor output ------------------*- C++ -*-===//
//
// Part of Heed. What `heed run` prints: a summary per output, predictions
// next to reference values (--expect), and terminal bar charts.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_TOOLS_HEED_REPORT_H
#define HEED_TOOLS_HEED_REPORT_H

#include "runtime/Tensor.h"
#include "runtime/TensorFile.h"

#include "llvm/Support/Error.h"

#include "llvm/Support/raw_ostream.h"

namespace heed {

/// "name [2, 30]: 0.1 0.2 ... (min, max, mean)".
void printTensorSummary(llvm::raw_ostream &os, const std::string &name,
                        const rt::Tensor &t);
/// The first rows of `got` next to `expected` and the errors; returns how
/// many elements are outside |got - expected| <= atol + rtol * |expected|
/// (NaN matches only NaN), after saying so.
int64_t printComparison(llvm::raw_ostream &os, const std::string &name,
                        const rt::Tensor &got, const rt::Tensor &expected,
                        double atol, double rtol);
/// --expect SPEC: `OUTPUT=FILE` compares OUTPUT with FILE's one tensor or
/// its tensor named OUTPUT, `FILE` alone every output FILE has a tensor of
/// the same name for (printComparison each); the elements outside the
/// tolerance, or an error (no such output or tensor, another shape).
llvm::Expected<int64_t> expectOutputs(llvm::raw_ostream &os,
                                      llvm::StringRef spec,
                                      const rt::NamedTensors &outputs,
                                      double atol, double rtol);
/// Mean over every axis but the last, one labelled bar per last-axis index.
void printMeanBars(llvm::raw_ostream &os, const std::string &name,
                   const rt::Tensor &t);

} // namespace heed

#endif
