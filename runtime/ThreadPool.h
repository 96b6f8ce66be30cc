//===- ThreadPool.h - Heed's own worker threads -----------------*- C++ -*-===//
//
// Part of Heed. Compiled models run their batch rows in parallel on these
// workers (the driver splits a batch into one block of rows per thread).
// Heed owns its threads instead of leaving them to OpenMP: idle workers
// block on a condition variable and never spin, so a busy machine costs a
// parallel run no more than the work it displaces; and every thread that
// runs a model holds oneDNN to one OpenMP thread (libgomp's spin-waiting
// teams are what made models 100-800x slower beside other busy processes,
// and its wait policy can only be set before the library loads).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_THREADPOOL_H
#define HEED_RUNTIME_THREADPOOL_H

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace heed::rt {

/// The cores this process may run on: its CPU affinity mask, at most the
/// CPUs its cgroup's quota grants (a container's CPU limit), at least 1.
unsigned availableCores();

/// Holds oneDNN (OpenMP) to one thread on the calling thread. Called by
/// every thread before it runs a model; cheap.
void useOneOpenMPThread();

/// How many of `requested` threads a run should use, when `runnable`
/// threads are runnable on a machine of `cpus` CPUs (the caller among
/// them): no more than the CPUs the other runnable threads leave free, and
/// at least the caller. A helper on a CPU that a busy process holds only
/// shares it: its block of rows finishes last, and the run is slower than
/// on the caller alone.
unsigned threadsToUse(unsigned requested, unsigned cpus, unsigned runnable);
/// threadsToUse for the machine now: the runnable threads from
/// /proc/loadavg (read at most every 2 ms), the online CPUs. HEED_LOAD_AWARE=0
/// in the environment turns this off (every requested thread is used).
unsigned threadsFreeNow(unsigned requested);

/// The threads the parallel loops of compiled code (heads, query tiles of
/// an attention: heed_parallel_for) may use on the calling thread. A run
/// gives each block of rows its share of the run's threads: all of them
/// when the batch is one block, one when the blocks already use every
/// thread. 1 outside a run, and inside a parallel loop (no nesting).
unsigned loopThreads();
/// Sets loopThreads() on this thread for its lifetime.
class ScopedLoopThreads {
public:
  explicit ScopedLoopThreads(unsigned threads);
  ~ScopedLoopThreads();
  ScopedLoopThreads(const ScopedLoopThreads &) = delete;
  ScopedLoopThreads &operator=(const ScopedLoopThreads &) = delete;

private:
  unsigned saved;
};

/// Runs body(0) ... body(n - 1), independent parts of one piece of work
/// worth a helper each (a dense kernel's blocks), on the calling thread's
/// loopThreads(), each with the caller's floating-point control word and
/// loopThreads() 1 (in order on the caller when it has one thread). Which
/// thread runs a part never changes what it computes.
void runParts(unsigned n, const std::function<void(unsigned)> &body);

class ThreadPool {
public:
  /// The process-wide pool; workers start on first use, as many as the
  /// largest parallelFor asked for, and live until exit.
  static ThreadPool &shared();

  /// Runs body(0) ... body(n - 1) on up to `threads` threads, the calling
  /// thread included (fewer while other processes keep the CPUs busy:
  /// threadsFreeNow), and returns when all have finished. Safe to call
  /// from several threads at once: a caller whose helpers are busy runs
  /// the remaining items itself, so a call never waits for another's work.
  /// `body` must not throw.
  void parallelFor(unsigned n, unsigned threads,
                   const std::function<void(unsigned)> &body);

  ~ThreadPool();

private:
  struct Job;
  void ensureWorkers(unsigned count);
  static void beforeFork();
  static void afterForkInParent();
  static void afterForkInChild();
  void workerLoop();
  static void runItems(Job &job);

  std::mutex lock;
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  std::vector<std::thread> workers;
  bool stopping = false;
};

} // namespace heed::rt

extern "C" {
/// Runs body(context, begin, end) over [0, count) of a parallel loop of
/// compiled code (heed-outline-parallel-loops): on the calling thread
/// alone when loopThreads() is 1 or the loop is too small to pay for
/// waking a helper (the first iteration, timed, times the rest under
/// ~50 us), else in ranges on the pool. Each iteration runs the same code
/// wherever it runs (with the caller's floating-point control word), so
/// the results do not depend on the thread count.
void heed_parallel_for(int64_t count,
                       void (*body)(void *context, int64_t begin, int64_t end),
                       void *context);
}

#endif // HEED_RUNTIME_THREADPOOL_H
