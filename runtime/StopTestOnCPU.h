//===- StopTestOnCPU.h - The CPU-run schedule's stop tests ------*- C++ -*-===//
//
// Part of Heed. See StopTestOnCPU.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_STOPTESTONCPU_H
#define HEED_RUNTIME_STOPTESTONCPU_H

#include <cstdint>

extern "C" {
/// A decoder loop's state, made before it.
intptr_t heed_cpu_stop_test_begin();
/// The count of running rows HEED_STOP_TEST_LAG steps ago (the first
/// step's before then); `address` is this step's count.
float heed_cpu_stop_test_read(intptr_t state, intptr_t address);
/// Frees the state, after the loop.
void heed_cpu_stop_test_end(intptr_t state);
}

#endif // HEED_RUNTIME_STOPTESTONCPU_H
