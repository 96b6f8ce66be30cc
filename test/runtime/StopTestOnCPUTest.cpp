//===- StopTestOnCPUTest.cpp - The CPU-run schedule's lagged stop tests ---===//
//
// Part of Heed's tests. heed_cpu_stop_test_read returns the count of
// HEED_STOP_TEST_LAG steps before (3 unless set; the first step's count
// until then), so that the CPU-run GPU schedule runs a decoder's extra
// steps in every test.
//
//===----------------------------------------------------------------------===//

#include "runtime/StopTestOnCPU.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace {

TEST(StopTestOnCPU, ReadsTheCountOfThreeStepsBefore) {
  if (std::getenv("HEED_STOP_TEST_LAG"))
    GTEST_SKIP() << "HEED_STOP_TEST_LAG is set";
  for (int loop = 0; loop < 2; ++loop) { // states are independent
    intptr_t state = heed_cpu_stop_test_begin();
    std::vector<float> seen;
    for (float count : {5.0f, 4.0f, 3.0f, 2.0f, 1.0f, 0.0f, 0.0f})
      seen.push_back(
          heed_cpu_stop_test_read(state, reinterpret_cast<intptr_t>(&count)));
    heed_cpu_stop_test_end(state);
    EXPECT_EQ(seen, (std::vector<float>{5, 5, 5, 5, 4, 3, 2}));
  }
}

} // namespace
