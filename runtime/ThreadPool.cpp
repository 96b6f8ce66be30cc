//===- ThreadPool.cpp - Heed's own worker threads -------------------------===//
//
// Part of Heed. See ThreadPool.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/ThreadPool.h"
#include "runtime/CgroupLimits.h"
#include "runtime/Environment.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

using namespace heed::rt;

namespace {
thread_local unsigned threadLoopThreads = 1;

/// The floating-point control word (FTZ/DAZ: the runs of compiled code set
/// them), carried from a parallel loop's caller to its helpers.
unsigned readControlWord() {
#if defined(__x86_64__)
  return _mm_getcsr();
#else
  return 0;
#endif
}
void writeControlWord(unsigned word) {
#if defined(__x86_64__)
  _mm_setcsr(word);
#else
  (void)word;
#endif
}
} // namespace

unsigned heed::rt::loopThreads() { return threadLoopThreads; }

ScopedLoopThreads::ScopedLoopThreads(unsigned threads)
    : saved(threadLoopThreads) {
  threadLoopThreads = std::max(1u, threads);
}

ScopedLoopThreads::~ScopedLoopThreads() { threadLoopThreads = saved; }

unsigned heed::rt::availableCores() {
  unsigned cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    cores = unsigned(std::max(0, CPU_COUNT(&set)));
  if (!cores)
    cores = std::thread::hardware_concurrency();
  if (auto quota = cgroupCpuLimit())
    cores = cores ? std::min(cores, *quota) : *quota;
  return cores ? cores : 1;
}

void heed::rt::useOneOpenMPThread() {
  // oneDNN's OpenMP runtime (Debian's is built with libgomp) is already
  // loaded with it; looked up rather than linked so that a build with
  // another compiler does not pull in a second OpenMP runtime. The setting
  // is per thread (the nthreads-var of the calling thread's task).
  using SetThreads = void (*)(int);
  static SetThreads setThreads =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (setThreads)
    setThreads(1);
}

unsigned heed::rt::threadsToUse(unsigned requested, unsigned cpus,
                                unsigned runnable) {
  unsigned others = runnable > 0 ? runnable - 1 : 0;
  unsigned free = cpus > others ? cpus - others : 1;
  return std::max(1u, std::min(requested, free));
}

namespace {
/// The machine's runnable threads (the 4th field of /proc/loadavg,
/// "running/total"), or 0 if unknown.
unsigned readRunnableThreads() {
  FILE *f = std::fopen("/proc/loadavg", "r");
  if (!f)
    return 0;
  double a, b, c;
  unsigned running = 0, total = 0;
  if (std::fscanf(f, "%lf %lf %lf %u/%u", &a, &b, &c, &running, &total) != 5)
    running = 0;
  std::fclose(f);
  return running;
}
} // namespace

unsigned heed::rt::threadsFreeNow(unsigned requested) {
  static const bool enabled = env::flag("HEED_LOAD_AWARE", true);
  static const unsigned cpus = [] {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? unsigned(n) : 1u;
  }();
  if (!enabled || requested <= 1)
    return requested;
  // Read at most every 2 ms: runs that split into blocks take longer
  // than that read (~5 us), and a busy neighbour stays busy for longer.
  static std::atomic<int64_t> lastRead{INT64_MIN / 2};
  static std::atomic<unsigned> lastRunnable{0};
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  if (now - lastRead.load(std::memory_order_relaxed) > 2000) {
    lastRunnable.store(readRunnableThreads(), std::memory_order_relaxed);
    lastRead.store(now, std::memory_order_relaxed);
  }
  unsigned runnable = lastRunnable.load(std::memory_order_relaxed);
  return runnable ? threadsToUse(requested, cpus, runnable) : requested;
}

/// One parallelFor call: items are claimed by counter, by the caller and by
/// any worker that picks the job up.
struct ThreadPool::Job {
  const std::function<void(unsigned)> *body;
  unsigned n;
  std::atomic<unsigned> next{0};
  std::atomic<unsigned> finished{0};
  std::mutex lock;
  std::condition_variable allDone;
};

void ThreadPool::runItems(Job &job) {
  unsigned ran = 0;
  for (unsigned i; (i = job.next.fetch_add(1)) < job.n; ++ran)
    (*job.body)(i);
  if (ran && job.finished.fetch_add(ran) + ran == job.n) {
    std::lock_guard<std::mutex> guard(job.lock);
    job.allDone.notify_all();
  }
}

ThreadPool &ThreadPool::shared() {
  static ThreadPool pool;
  static const bool forkHandlers = [] {
    pthread_atfork(beforeFork, afterForkInParent, afterForkInChild);
    return true;
  }();
  (void)forkHandlers;
  return pool;
}

// A fork copies the pool but none of its workers (a child process has the
// forking thread alone). Held across the fork, the pool's lock cannot be
// copied while another thread holds it; the child then forgets the
// parent's workers, so that it starts its own when it needs them and its
// exit does not wait for threads it never had (it hung there: a server
// that forks its workers after loading a model, Python's os.fork).
void ThreadPool::beforeFork() { shared().lock.lock(); }

void ThreadPool::afterForkInParent() { shared().lock.unlock(); }

void ThreadPool::afterForkInChild() {
  ThreadPool &pool = shared();
  // Joining or detaching a thread of another process is undefined: their
  // handles are left, never destroyed.
  new std::vector<std::thread>(std::move(pool.workers));
  pool.workers.clear();
  pool.queue.clear(); // the parent's callers' jobs
  // The parent's workers may have been waiting on it.
  new (&pool.wake) std::condition_variable();
  pool.lock.unlock();
}

void ThreadPool::ensureWorkers(unsigned count) {
  // Called with `lock` held.
  while (workers.size() < count)
    workers.emplace_back([this] { workerLoop(); });
}

void ThreadPool::workerLoop() {
  useOneOpenMPThread();
  std::unique_lock<std::mutex> guard(lock);
  while (true) {
    wake.wait(guard, [this] { return stopping || !queue.empty(); });
    if (stopping)
      return;
    std::shared_ptr<Job> job = queue.front();
    if (job->next.load() >= job->n) { // every item claimed: retire the job
      queue.pop_front();
      continue;
    }
    guard.unlock();
    runItems(*job);
    guard.lock();
  }
}

void ThreadPool::parallelFor(unsigned n, unsigned threads,
                             const std::function<void(unsigned)> &body) {
  useOneOpenMPThread();
  if (n > 1 && threads > 1)
    threads = threadsFreeNow(threads);
  if (n <= 1 || threads <= 1) {
    for (unsigned i = 0; i < n; ++i)
      body(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->n = n;
  unsigned helpers = std::min(threads, n) - 1;
  {
    std::lock_guard<std::mutex> guard(lock);
    ensureWorkers(helpers);
    queue.push_back(job);
  }
  for (unsigned i = 0; i < helpers; ++i)
    wake.notify_one();
  runItems(*job);
  std::unique_lock<std::mutex> guard(job->lock);
  job->allDone.wait(guard, [&] { return job->finished.load() == job->n; });
  // A worker may still hold `job` (it found nothing left to claim); the
  // shared_ptr keeps it alive, and `body` is no longer called.
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> guard(lock);
    stopping = true;
  }
  wake.notify_all();
  for (auto &w : workers)
    w.join();
}

namespace {
/// What one iteration of a parallel loop takes, by the loop's entry
/// function: the first iteration of its first run, timed on the caller,
/// then every run's (half the last estimate, half the new time). A slot
/// holds the entry's hash in its high half and the seconds (a float) in
/// its low half; a collision or a stale entry (code freed and its address
/// reused) only misjudges whether to wake helpers for a run or two.
std::atomic<uint64_t> iterationSeconds[512];

uint32_t hashOf(const void *entry) {
  uint64_t v = reinterpret_cast<uintptr_t>(entry);
  v ^= v >> 29;
  v *= 0xbf58476d1ce4e5b9ull;
  v ^= v >> 32;
  return uint32_t(v) | 1; // never 0: an empty slot
}

/// The estimate for `hash`, or a negative number if there is none.
float estimateOf(uint32_t hash) {
  uint64_t slot = iterationSeconds[hash % 512].load(std::memory_order_relaxed);
  if (uint32_t(slot >> 32) != hash)
    return -1;
  uint32_t bits = uint32_t(slot);
  float seconds;
  std::memcpy(&seconds, &bits, sizeof seconds);
  return seconds;
}

void recordEstimate(uint32_t hash, float seconds) {
  uint32_t bits;
  std::memcpy(&bits, &seconds, sizeof bits);
  iterationSeconds[hash % 512].store(uint64_t(hash) << 32 | bits,
                                     std::memory_order_relaxed);
}

/// body(0) ... body(n - 1) on `threads` threads of the pool, each with the
/// caller's floating-point control word and loopThreads() `nested`.
void runOnLoopThreads(unsigned n, unsigned threads, unsigned nested,
                      const std::function<void(unsigned)> &body) {
  unsigned word = readControlWord();
  ThreadPool::shared().parallelFor(n, threads, [&](unsigned i) {
    unsigned saved = readControlWord();
    writeControlWord(word);
    {
      ScopedLoopThreads scope(nested);
      body(i);
    }
    writeControlWord(saved);
  });
}

float secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<float>(std::chrono::steady_clock::now() - start)
      .count();
}
} // namespace

void heed_parallel_for(int64_t count,
                       void (*body)(void *context, int64_t begin, int64_t end),
                       void *context) {
  if (count <= 0)
    return;
  unsigned threads = threadLoopThreads;
  if (threads <= 1 || count == 1) {
    body(context, 0, count);
    return;
  }
  // Waking a helper costs ~5-50 us here: a loop whose work is below
  // ~50 us runs on the caller alone (HEED_PARALLEL_LOOP_MIN_US sets the
  // bound: the tests run every loop in parallel with 0).
  static const float kMinParallelSeconds =
      float(env::number("HEED_PARALLEL_LOOP_MIN_US", 0, 1e9, 50) * 1e-6);
  uint32_t hash = hashOf(reinterpret_cast<const void *>(body));
  float estimate = estimateOf(hash);
  int64_t first = 0; // iterations done on the caller
  auto start = std::chrono::steady_clock::now();
  if (estimate < 0) {
    ScopedLoopThreads nested(1);
    body(context, 0, 1);
    estimate = secondsSince(start);
    recordEstimate(hash, estimate);
    first = 1;
  }
  int64_t rest = count - first;
  if (estimate * float(rest) < kMinParallelSeconds) {
    ScopedLoopThreads nested(1);
    body(context, first, count);
    recordEstimate(hash,
                   0.5f * (estimate + secondsSince(start) / float(count)));
    return;
  }
  // A few ranges per thread, so that uneven iterations (causal attention)
  // still balance; a loop of fewer iterations than threads lets the loops
  // inside each iteration use the rest.
  unsigned ranges = unsigned(std::min<int64_t>(rest, int64_t(threads) * 4));
  unsigned inner = std::max<unsigned>(
      1, threads / unsigned(std::min<int64_t>(rest, threads)));
  std::atomic<float> busy{0};
  runOnLoopThreads(ranges, threads, inner, [&](unsigned r) {
    auto began = std::chrono::steady_clock::now();
    body(context, first + rest * r / ranges, first + rest * (r + 1) / ranges);
    float took = secondsSince(began);
    for (float b = busy.load(); !busy.compare_exchange_weak(b, b + took);)
      ;
  });
  recordEstimate(hash, 0.5f * (estimate + busy.load() / float(rest)));
}

void heed::rt::runParts(unsigned n, const std::function<void(unsigned)> &body) {
  unsigned threads = threadLoopThreads;
  if (threads <= 1 || n <= 1) {
    for (unsigned i = 0; i < n; ++i)
      body(i);
    return;
  }
  runOnLoopThreads(n, threads, 1, body);
}
