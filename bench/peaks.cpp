//===- peaks.cpp - This core's fp32 FMA peak and memory read bandwidth ----===//
//
// Part of Heed's benchmarks. Every percentage of peak in docs/benchmarks.md
// is against these numbers, measured in the same run: the processor behind
// this kind of machine changes (Ice Lake, Zen 4, Zen 5 so far).
//
//   c++ -O2 -march=native bench/peaks.cpp -o peaks && ./peaks
//
// Prints `fma_peak_gflops N` (16, 24 and 32 independent zmm FMA chains, the
// best of them and of several tries) and `read_bandwidth_gbs N` (one thread
// summing a 512 MiB array with eight zmm accumulators, best of five).
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using Clock = std::chrono::steady_clock;

template <int Chains> static double fmaGflops() {
  __m512 acc[Chains];
  for (int i = 0; i < Chains; ++i)
    acc[i] = _mm512_set1_ps(1.0f + i * 1e-7f);
  const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
  const long iterations = 4000000;
  auto start = Clock::now();
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < Chains; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  float sink = 0;
  for (int i = 0; i < Chains; ++i)
    sink += _mm512_reduce_add_ps(acc[i]);
  if (sink == 42.0f)
    std::puts("");
  return double(iterations) * Chains * 16 * 2 / seconds / 1e9;
}

static double readGBs() {
  const size_t bytes = size_t(512) << 20, floats = bytes / sizeof(float);
  float *data = static_cast<float *>(std::aligned_alloc(64, bytes));
  for (size_t i = 0; i < floats; ++i)
    data[i] = float(i & 1023);
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    __m512 acc[8];
    for (auto &a : acc)
      a = _mm512_setzero_ps();
    auto start = Clock::now();
    for (size_t i = 0; i < floats; i += 8 * 16)
      for (int j = 0; j < 8; ++j)
        acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(data + i + j * 16));
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    float sink = 0;
    for (auto &a : acc)
      sink += _mm512_reduce_add_ps(a);
    if (sink == 42.0f)
      std::puts("");
    best = std::max(best, bytes / seconds / 1e9);
  }
  std::free(data);
  return best;
}

int main() {
  double peak = 0;
  for (int run = 0; run < 3; ++run)
    peak = std::max({peak, fmaGflops<16>(), fmaGflops<24>(), fmaGflops<32>()});
  std::printf("fma_peak_gflops %.1f\n", peak);
  std::printf("read_bandwidth_gbs %.1f\n", readGBs());
}
