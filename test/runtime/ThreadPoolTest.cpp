//===- ThreadPoolTest.cpp - Heed's worker threads and their count ---------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

using namespace heed::rt;

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

TEST(ThreadPool, RunsEveryItemOnceAtAnyThreadCount) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    std::vector<std::atomic<int>> seen(37);
    ThreadPool::shared().parallelFor(37, threads,
                                     [&](unsigned i) { seen[i].fetch_add(1); });
    for (auto &s : seen)
      EXPECT_EQ(s.load(), 1) << threads << " threads";
  }
}
