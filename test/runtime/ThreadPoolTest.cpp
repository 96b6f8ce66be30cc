//===- ThreadPoolTest.cpp - Heed's worker threads and their count ---------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/ThreadPool.h"
#include "runtime/CgroupLimits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <xmmintrin.h>

using namespace heed::rt;

namespace {
/// Every parallel loop below goes to the pool when it has threads, however
/// little its work (heed_parallel_for's bound, read once per process).
const bool kEveryParallelLoopOnThePool =
    setenv("HEED_PARALLEL_LOOP_MIN_US", "0", /*overwrite=*/1) == 0;

/// What the iterations of one heed_parallel_for saw.
struct Seen {
  std::vector<std::atomic<int>> runs;
  std::mutex lock;
  std::vector<unsigned> controlWords, nestedThreads;
  bool badRange = false;
  explicit Seen(int64_t count) : runs(count) {}
};

void recordRange(void *context, int64_t begin, int64_t end) {
  auto &seen = *static_cast<Seen *>(context);
  std::lock_guard<std::mutex> guard(seen.lock);
  if (begin < 0 || end > int64_t(seen.runs.size()) || begin >= end)
    seen.badRange = true;
  for (int64_t k = begin; k < end && k < int64_t(seen.runs.size()); ++k)
    seen.runs[k].fetch_add(1);
  seen.controlWords.push_back(_mm_getcsr());
  seen.nestedThreads.push_back(loopThreads());
}
} // namespace

TEST(ThreadPool, ThreadsLeftFreeByOtherProcesses) {
  // Idle 2-CPU machine: the caller is the only runnable thread.
  EXPECT_EQ(threadsToUse(2, 2, 1), 2u);
  // One busy process beside the caller: a helper would share its CPU.
  EXPECT_EQ(threadsToUse(2, 2, 2), 1u);
  // Busier than the machine: still the caller itself.
  EXPECT_EQ(threadsToUse(2, 2, 9), 1u);
  // Never more than asked, whatever is free.
  EXPECT_EQ(threadsToUse(3, 16, 1), 3u);
  EXPECT_EQ(threadsToUse(8, 16, 11), 6u);
  // Unknown or odd counts keep the caller.
  EXPECT_EQ(threadsToUse(4, 4, 0), 4u);
  EXPECT_EQ(threadsToUse(0, 4, 1), 1u);
}

// A container's CPU and memory limits, as cgroup v2 and v1 write them:
// CPUs rounded up, none when unlimited or malformed.
TEST(CgroupLimits, FromCgroupFiles) {
  EXPECT_EQ(cpusFromCpuMax("200000 100000\n"), 2u);
  EXPECT_EQ(cpusFromCpuMax("150000 100000"), 2u);
  EXPECT_EQ(cpusFromCpuMax("50000 100000"), 1u);
  EXPECT_EQ(cpusFromCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpusFromCpuMax(""), std::nullopt);
  EXPECT_EQ(cpusFromCpuMax("100000"), std::nullopt);
  EXPECT_EQ(cpusFromQuota("400000\n", "100000\n"), 4u);
  EXPECT_EQ(cpusFromQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(cpusFromQuota("100000", "0"), std::nullopt);
  EXPECT_EQ(cpusFromQuota("x", "100000"), std::nullopt);
  EXPECT_EQ(bytesFromMemoryLimit("4294967296\n"), uint64_t(4) << 30);
  EXPECT_EQ(bytesFromMemoryLimit("max\n"), std::nullopt);
  EXPECT_EQ(bytesFromMemoryLimit("9223372036854771712\n"), std::nullopt);
  EXPECT_EQ(bytesFromMemoryLimit("0"), std::nullopt);
  EXPECT_EQ(bytesFromMemoryLimit("lots"), std::nullopt);
  // The cores Heed takes by default never exceed this machine's limit.
  if (auto limit = cgroupCpuLimit())
    EXPECT_LE(availableCores(), *limit);
  EXPECT_GE(availableCores(), 1u);
}

TEST(ThreadPool, RunsEveryItemOnceAtAnyThreadCount) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    std::vector<std::atomic<int>> seen(37);
    ThreadPool::shared().parallelFor(37, threads,
                                     [&](unsigned i) { seen[i].fetch_add(1); });
    for (auto &s : seen)
      EXPECT_EQ(s.load(), 1) << threads << " threads";
  }
}

TEST(ParallelLoops, RunEveryIterationOnceAtAnyThreadCount) {
  ASSERT_TRUE(kEveryParallelLoopOnThePool);
  EXPECT_EQ(loopThreads(), 1u); // outside a run
  for (unsigned threads : {1u, 2u, 3u, 8u})
    for (int64_t count : {0, 1, 2, 5, 37}) {
      ScopedLoopThreads scope(threads);
      EXPECT_EQ(loopThreads(), threads);
      // Twice: the first run times its first iteration, the second uses
      // the estimate.
      for (int round = 0; round < 2; ++round) {
        Seen seen(count);
        heed_parallel_for(count, recordRange, &seen);
        EXPECT_FALSE(seen.badRange);
        for (auto &r : seen.runs)
          EXPECT_EQ(r.load(), 1) << threads << " threads, " << count;
      }
    }
  EXPECT_EQ(loopThreads(), 1u);
}

TEST(ParallelLoops, HelpersRunWithTheCallersControlWordAndNoNesting) {
  unsigned saved = _mm_getcsr();
  // Flush-to-zero and denormals-are-zero, as the runs of compiled code set
  // them: iterations on helpers must round as on the caller.
  _mm_setcsr(saved | 0x8040);
  unsigned word = _mm_getcsr();
  {
    ScopedLoopThreads scope(2);
    Seen seen(16);
    heed_parallel_for(16, recordRange, &seen);
    for (unsigned w : seen.controlWords)
      EXPECT_EQ(w, word);
    // 15 iterations after the timed first on 2 threads: the loops inside
    // each run on its thread alone.
    for (unsigned t : seen.nestedThreads)
      EXPECT_EQ(t, 1u);
  }
  {
    // Fewer iterations than threads: the loops inside share the rest.
    ScopedLoopThreads scope(8);
    Seen seen(3);
    heed_parallel_for(3, recordRange, &seen); // times the first
    Seen again(3);
    heed_parallel_for(3, recordRange, &again);
    for (unsigned t : again.nestedThreads)
      EXPECT_EQ(t, 2u); // 8 threads over 3 iterations
  }
  _mm_setcsr(saved);
}
