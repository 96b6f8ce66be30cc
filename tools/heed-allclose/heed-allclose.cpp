//===- heed-allclose.cpp - Compare tensor files for tests -----------------===//
//
// Part of Heed. `heed-allclose ACTUAL EXPECTED [--atol A] [--rtol R]`
// checks that every tensor of EXPECTED is in ACTUAL with the same shape and
// |a - e| <= atol + rtol * |e| elementwise (NumPy's allclose; --equal-nan
// lets NaN match NaN). Exits 1 and
// names the first mismatching tensor, index and values otherwise.
//
//===----------------------------------------------------------------------===//

#include "runtime/TensorFile.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

namespace cl = llvm::cl;

static cl::opt<std::string> actualPath(cl::Positional, cl::Required,
                                       cl::desc("ACTUAL"));
static cl::opt<std::string> expectedPath(cl::Positional, cl::Required,
                                         cl::desc("EXPECTED"));
static cl::opt<double> absTol("atol", cl::init(1e-5), cl::desc("absolute tolerance"));
static cl::opt<double> relTol("rtol", cl::init(1e-4), cl::desc("relative tolerance"));
static cl::opt<bool> equalNan("equal-nan",
                              cl::desc("NaN matches NaN (NumPy's equal_nan)"));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "compare tensor files\n");
  auto actual = heed::rt::loadTensorFile(actualPath);
  auto expected = heed::rt::loadTensorFile(expectedPath);
  if (!actual || !expected) {
    llvm::errs() << "heed-allclose: "
                 << llvm::toString(actual ? expected.takeError() : actual.takeError())
                 << "\n";
    return 2;
  }
  for (auto &[name, want] : *expected) {
    const heed::rt::Tensor *got = nullptr;
    for (auto &[n, t] : *actual)
      if (n == name)
        got = &t;
    if (!got) {
      llvm::errs() << "heed-allclose: " << actualPath << " has no tensor '"
                   << name << "'\n";
      return 1;
    }
    if (got->shape() != want.shape()) {
      llvm::errs() << "heed-allclose: '" << name << "' has shape "
                   << heed::rt::shapeToString(got->shape()) << ", expected "
                   << heed::rt::shapeToString(want.shape()) << "\n";
      return 1;
    }
    double worst = 0;
    for (int64_t i = 0; i < want.numElements(); ++i) {
      double a = (*got)[i], e = want[i];
      // Equal values match, the same infinity included (as in NumPy).
      if (a == e || (equalNan && std::isnan(a) && std::isnan(e)))
        continue;
      double diff = std::fabs(a - e);
      worst = std::max(worst, diff);
      if (!(diff <= absTol + relTol * std::fabs(e))) {
        llvm::errs() << "heed-allclose: '" << name << "' differs at flat index "
                     << i << ": " << a << " vs " << e << "\n";
        return 1;
      }
    }
    llvm::outs() << name << ": " << want.numElements()
                 << " values match (max |diff| " << worst << ")\n";
  }
  return 0;
}
