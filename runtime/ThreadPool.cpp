//===- ThreadPool.cpp - Heed's own worker threads -------------------------===//
//
// Part of Heed. See ThreadPool.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/ThreadPool.h"

#include <dlfcn.h>
#include <sched.h>

#include <atomic>

using namespace heed::rt;

unsigned heed::rt::availableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0)
      return unsigned(count);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

void heed::rt::useOneOpenMPThread() {
  // oneDNN's OpenMP runtime (Debian's is built with libgomp) is already
  // loaded with it; looked up rather than linked so that a build with
  // another compiler does not pull in a second OpenMP runtime. The setting
  // is per thread (the nthreads-var of the calling thread's task).
  using SetThreads = void (*)(int);
  static SetThreads setThreads = reinterpret_cast<SetThreads>(
      dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (setThreads)
    setThreads(1);
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
  return pool;
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
