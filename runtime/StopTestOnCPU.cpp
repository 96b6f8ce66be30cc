//===- StopTestOnCPU.cpp - The CPU-run schedule's lagged stop tests -------===//
//
// Part of Heed. On --target=gpu-schedule-on-cpu, heed-lag-stop-tests turns
// a stopping decoder's read of its count of running rows into these calls,
// as on the cuda target. There the count the host sees is a few steps old
// (StopTests.cpp); here it is exactly HEED_STOP_TEST_LAG steps old (default
// 3; the first step's count until then), the most the CUDA runtime allows,
// so that every test of the schedule runs the decoder's extra steps after
// its last row finished and checks that they change nothing.
//
//===----------------------------------------------------------------------===//

#include "runtime/StopTestOnCPU.h"
#include "runtime/Environment.h"

#include <cstdlib>
#include <vector>

namespace {

size_t lagSteps() {
  static const size_t lag =
      size_t(heed::rt::env::integer("HEED_STOP_TEST_LAG", 0, 64, 3));
  return lag;
}

/// The counts read so far in one decoder loop.
struct StopTestOnCPU {
  std::vector<float> counts;
};

} // namespace

extern "C" {

intptr_t heed_cpu_stop_test_begin() {
  return reinterpret_cast<intptr_t>(new StopTestOnCPU());
}

float heed_cpu_stop_test_read(intptr_t state, intptr_t address) {
  auto &counts = reinterpret_cast<StopTestOnCPU *>(state)->counts;
  counts.push_back(*reinterpret_cast<const float *>(address));
  size_t step = counts.size() - 1, lag = lagSteps();
  return counts[step >= lag ? step - lag : 0];
}

void heed_cpu_stop_test_end(intptr_t state) {
  delete reinterpret_cast<StopTestOnCPU *>(state);
}
}
