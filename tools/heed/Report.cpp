//===- Report.cpp - Human-readable tensor output --------------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "Report.h"
#include "runtime/TensorFile.h"

#include "llvm/ADT/STLExtras.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace heed;

void heed::printTensorSummary(llvm::raw_ostream &os, const std::string &name,
                              const rt::Tensor &t) {
  int64_t n = t.numElements();
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, double(t[i]));
    hi = std::max(hi, double(t[i]));
    sum += t[i];
  }
  os << name << " " << rt::shapeToString(t.shape()) << ":";
  for (int64_t i = 0; i < std::min<int64_t>(n, 6); ++i)
    os << " " << llvm::format("%.5g", t[i]);
  if (n > 6)
    os << " ...";
  if (n)
    os << "  (min " << llvm::format("%.4g", lo) << ", max "
       << llvm::format("%.4g", hi) << ", mean " << llvm::format("%.4g", sum / n)
       << ")";
  os << "\n";
}

int64_t heed::printComparison(llvm::raw_ostream &os, const std::string &name,
                              const rt::Tensor &got, const rt::Tensor &expected,
                              double atol, double rtol) {
  int64_t n = got.numElements();
  int64_t cols = got.shape().empty() ? 1 : got.shape().back();
  int64_t rows = cols ? n / cols : 0;
  os << "\n" << name << ": prediction vs true value\n";
  double maxDiff = 0, mae = 0;
  int64_t outside = 0, first = -1;
  for (int64_t i = 0; i < n; ++i) {
    double g = got[i], e = expected[i];
    // NaN matches only NaN, an infinity only the same infinity.
    bool close = (std::isnan(g) && std::isnan(e)) || g == e ||
                 std::fabs(g - e) <= atol + rtol * std::fabs(e);
    if (!close && first < 0)
      first = i;
    outside += !close;
    double diff = std::isnan(g) != std::isnan(e) ? INFINITY
                  : std::isnan(g) || g == e      ? 0.0
                                                 : std::fabs(g - e);
    maxDiff = std::max(maxDiff, diff);
    mae += diff;
  }
  for (int64_t r = 0; r < std::min<int64_t>(rows, 10); ++r) {
    os << "  ";
    for (int64_t c = 0; c < std::min<int64_t>(cols, 4); ++c)
      os << llvm::format("%9.4f", got[r * cols + c]) << "  vs "
         << llvm::format("%9.4f", expected[r * cols + c]);
    os << "\n";
  }
  if (rows > 10)
    os << "  ... (" << rows << " rows)\n";
  os << "  mean |error| " << llvm::format("%.4g", n ? mae / n : 0.0)
     << ", max |error| " << llvm::format("%.4g", maxDiff) << "\n";
  if (outside)
    os << "  " << outside << " of " << n << " elements differ by more than "
       << llvm::format("%g", atol) << " + " << llvm::format("%g", rtol)
       << " * |expected| (first: element " << first << ", "
       << llvm::format("%g", got[first]) << " vs "
       << llvm::format("%g", expected[first]) << ")\n";
  return outside;
}

void heed::printMeanBars(llvm::raw_ostream &os, const std::string &name,
                         const rt::Tensor &t) {
  int64_t cols = t.shape().empty() ? 1 : t.shape().back();
  int64_t rows = cols ? t.numElements() / cols : 0;
  std::vector<double> mean(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      mean[c] += t[r * cols + c];
  double hi = 0;
  for (double &m : mean) {
    m /= std::max<int64_t>(rows, 1);
    hi = std::max(hi, std::fabs(m));
  }
  os << "\nmean " << name << " per index (over " << rows << " rows)\n";
  const int width = 50;
  for (int64_t c = 0; c < cols; ++c) {
    int len = hi > 0 ? int(std::lround(std::fabs(mean[c]) / hi * width)) : 0;
    os << llvm::format("  %3lld ", (long long)c) << llvm::format("%8.4f ", mean[c])
       << std::string(len, '#') << "\n";
  }
}

llvm::Expected<int64_t> heed::expectOutputs(llvm::raw_ostream &os,
                                            llvm::StringRef spec,
                                            const rt::NamedTensors &outputs,
                                            double atol, double rtol) {
  auto fail = [](const llvm::Twine &msg) -> llvm::Error {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  int64_t outside = 0;
  // OUTPUT=FILE: FILE's one tensor, or its tensor named OUTPUT; FILE
  // alone: every output FILE has a tensor for, by name.
  // Not a structured binding: the lambda below captures `name` (C++20).
  llvm::StringRef name, file;
  std::tie(name, file) = spec.split('=');
  bool everyOutput = file.empty();
  if (everyOutput)
    std::swap(name, file);
  if (!everyOutput &&
      !llvm::any_of(outputs, [&](auto &o) { return o.first == name; }))
    return fail("--expect names no output called '" + name + "'");
  auto ref = rt::loadTensorFile(file.str());
  if (!ref)
    return ref.takeError();
  auto find = [&](llvm::StringRef n) -> const rt::Tensor * {
    for (auto &[refName, t] : *ref)
      if (refName == n)
        return &t;
    return nullptr;
  };
  std::string held;
  for (auto &[refName, t] : *ref)
    held += (held.empty() ? "" : ", ") + refName;
  int compared = 0;
  for (auto &[outName, got] : outputs) {
    if (!everyOutput && outName != name)
      continue;
    const rt::Tensor *want = find(outName);
    if (!want && !everyOutput && ref->size() == 1)
      want = &ref->front().second;
    if (!want) {
      if (everyOutput)
        continue;
      return fail(file + " has no tensor '" + outName + "' (it holds " + held +
                  ")");
    }
    if (want->shape() != got.shape())
      return fail(file + ": the reference for output '" + outName +
                  "' has shape " + rt::shapeToString(want->shape()) +
                  ", the output " + rt::shapeToString(got.shape()));
    outside += printComparison(os, outName, got, *want, atol, rtol);
    ++compared;
  }
  if (!compared)
    return fail(file + " has no tensor named after an output (it holds " +
                held + ")");
  return outside;
}
