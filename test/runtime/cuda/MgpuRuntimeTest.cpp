//===- MgpuRuntimeTest.cpp - The mgpu* calls over a fake CUDA driver ------===//
//
// Part of Heed's tests. Runs with LD_LIBRARY_PATH at the fake libcuda.so.1
// (FakeCudaDriver.cpp; test/GPU/cuda-runtime-fake-driver.test): the mgpu*
// entry points exactly as the JIT calls them, through the table it gets,
// and their errors. Kernels do not run here: what runs is Heed's side of
// each call.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/MgpuRuntime.h"
#include "runtime/cuda/CudaDriver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace heed::rt::cuda;

namespace {

using LoadJIT = void *(*)(void *, int);
using GetFunction = void *(*)(void *, const char *);
using Unload = void (*)(void *);
using Launch = void (*)(void *, intptr_t, intptr_t, intptr_t, intptr_t,
                        intptr_t, intptr_t, int32_t, void *, void **, void **,
                        size_t);
using StreamCreate = void *(*)();
using StreamOp = void (*)(void *);
using MemAlloc = void *(*)(uint64_t, void *, bool);
using MemFree = void (*)(void *, void *);
using Memcpy = void (*)(void *, void *, size_t, void *);

const char *kPtx = R"(//
.version 8.0
.target sm_90
.address_size 64
.visible .entry dense_attention_kernel(.param .u64 p0) { ret; }
.visible .entry dense_attention_kernel_0(.param .u64 p0) { ret; }
.visible .entry scale_kernel(.param .u64 .ptr .align 1 p0, .param .u64 p1) { ret; }
)";

class MgpuRuntime : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(driverStatus(), "")
        << "run with LD_LIBRARY_PATH at the fake libcuda.so.1";
    for (auto &[name, address] : mgpuEntryPoints())
      table[name] = address;
    fake = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(fake, nullptr);
    unsetenv("FAKE_CUDA_TOTAL_MB");
    takeFirstError();
  }
  void TearDown() override {
    releaseCachedBlocks();
    unsetenv("FAKE_CUDA_TOTAL_MB");
  }
  template <typename F> F fn(const char *name) {
    EXPECT_TRUE(table.count(name)) << name;
    return reinterpret_cast<F>(table[name]);
  }
  long launches() {
    return reinterpret_cast<long (*)()>(dlsym(fake, "fakeCudaLaunches"))();
  }
  long liveAllocations() {
    return reinterpret_cast<long (*)()>(
        dlsym(fake, "fakeCudaLiveAllocations"))();
  }
  long waits() {
    return reinterpret_cast<long (*)()>(dlsym(fake, "fakeCudaWaits"))();
  }
  long counter(const char *name) {
    return reinterpret_cast<long (*)()>(dlsym(fake, name))();
  }
  /// kPtx's module and the two kernels launchSteps launches.
  std::tuple<void *, void *, void *> loadStepKernels() {
    void *module =
        fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
    auto get = fn<GetFunction>("mgpuModuleGetFunction");
    return {module, get(module, "scale_kernel"),
            get(module, "dense_attention_kernel")};
  }
  /// A loop of `steps` steps of two launches on the thread's stream:
  /// scale_kernel with `pointer` and its step's count, then
  /// dense_attention_kernel with the count. With `alternate`, the odd steps
  /// give it to scale_kernel instead, and the count is 0.
  void launchSteps(void *scale, void *other, float *pointer, int steps,
                   int hostPointerAt = -1, float *alternate = nullptr) {
    void *stream = fn<StreamCreate>("mgpuStreamCreate")();
    float host[4];
    for (int step = 0; step < steps; ++step) {
      void *at = step == hostPointerAt ? static_cast<void *>(host) : pointer;
      if (alternate && step % 2)
        at = alternate;
      int64_t count = alternate ? 0 : step;
      void *scaleParams[] = {&at, &count};
      fn<Launch>("mgpuLaunchKernel")(scale, 2, 1, 1, 64, 1, 1, 0, stream,
                                     scaleParams, nullptr, 2);
      void *otherParams[] = {&count};
      fn<Launch>("mgpuLaunchKernel")(other, 1, 1, 1, 32, 1, 1, 0, stream,
                                     otherParams, nullptr, 1);
    }
  }
  std::map<std::string, void *> table;
  void *fake = nullptr;
};

TEST_F(MgpuRuntime, LoadsPtxLooksUpKernelsAndLaunches) {
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  ASSERT_NE(module, nullptr) << takeFirstError();
  void *kernel = fn<GetFunction>("mgpuModuleGetFunction")(
      module, "dense_attention_kernel_0");
  ASSERT_NE(kernel, nullptr) << takeFirstError();
  void *stream = fn<StreamCreate>("mgpuStreamCreate")();
  float *buffer = nullptr;
  void *params[] = {&buffer};
  long before = launches();
  fn<Launch>("mgpuLaunchKernel")(kernel, 12, 1, 1, 256, 1, 1, 0, stream, params,
                                 nullptr, 1);
  fn<StreamOp>("mgpuStreamSynchronize")(stream);
  fn<StreamOp>("mgpuStreamDestroy")(stream);
  // Issued by the wait before the host reads (LaunchGraphs.cpp).
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(launches(), before + 1);
  EXPECT_EQ(takeFirstError(), "");
  // The host code looks a kernel up before each launch: the driver is asked
  // once.
  long lookups = reinterpret_cast<long (*)()>(dlsym(fake, "fakeCudaLookups"))();
  EXPECT_EQ(fn<GetFunction>("mgpuModuleGetFunction")(
                module, "dense_attention_kernel_0"),
            kernel);
  EXPECT_EQ(reinterpret_cast<long (*)()>(dlsym(fake, "fakeCudaLookups"))(),
            lookups);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, OneStreamPerThreadForItsLaunches) {
  // The host code creates and destroys a stream around every launch: the
  // thread's stream is made once and kept.
  auto streams = reinterpret_cast<long (*)()>(dlsym(fake, "fakeCudaStreams"));
  void *first = fn<StreamCreate>("mgpuStreamCreate")();
  fn<StreamOp>("mgpuStreamDestroy")(first);
  long made = streams();
  void *second = fn<StreamCreate>("mgpuStreamCreate")();
  fn<StreamOp>("mgpuStreamDestroy")(second);
  EXPECT_EQ(second, first);
  EXPECT_EQ(streams(), made);
  std::thread other([&] {
    fn<StreamOp>("mgpuStreamDestroy")(fn<StreamCreate>("mgpuStreamCreate")());
  });
  other.join();
  EXPECT_EQ(streams(), made + 1);
  EXPECT_EQ(takeFirstError(), "");
}

TEST_F(MgpuRuntime, NamesAKernelTheModuleLacks) {
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(fn<GetFunction>("mgpuModuleGetFunction")(module, "softmax_kernel"),
            nullptr);
  EXPECT_EQ(takeFirstError(),
            "kernel softmax_kernel is not in the model's module "
            "(cuModuleGetFunction: CUDA_ERROR_NOT_FOUND)");
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, ErrorsStayWithTheirThread) {
  // Concurrent runs: one run's failure is not another's.
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  std::string seen;
  std::thread other([&] {
    fn<GetFunction>("mgpuModuleGetFunction")(module, "missing_kernel");
    seen = takeFirstError();
  });
  other.join();
  EXPECT_EQ(seen, "kernel missing_kernel is not in the model's module "
                  "(cuModuleGetFunction: CUDA_ERROR_NOT_FOUND)");
  EXPECT_EQ(takeFirstError(), "");
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, BadPtxGivesTheJitLog) {
  char text[] = "not ptx at all";
  EXPECT_EQ(fn<LoadJIT>("mgpuModuleLoadJIT")(text, 3), nullptr);
  EXPECT_EQ(takeFirstError(),
            "the CUDA driver could not load the model's PTX "
            "(cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX): ptxas fatal: not "
            "PTX (no .version directive)");
  // A failed load leaves nothing to look up or launch; looking a kernel up
  // says why again, since the model may run on another thread than the
  // constructor that loaded it (a model library's, at dlopen).
  EXPECT_EQ(fn<GetFunction>("mgpuModuleGetFunction")(nullptr, "k"), nullptr);
  long before = launches();
  fn<Launch>("mgpuLaunchKernel")(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr,
                                 nullptr, 0);
  EXPECT_EQ(launches(), before);
  EXPECT_EQ(takeFirstError(),
            "the CUDA driver could not load the model's PTX "
            "(cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX): ptxas fatal: not "
            "PTX (no .version directive)");
  std::thread other([&] {
    EXPECT_EQ(fn<GetFunction>("mgpuModuleGetFunction")(nullptr, "k"), nullptr);
    EXPECT_NE(takeFirstError().find("ptxas fatal: not PTX"), std::string::npos);
  });
  other.join();
}

TEST_F(MgpuRuntime, GridBeyondTheLimitsNamesTheKernel) {
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel = fn<GetFunction>("mgpuModuleGetFunction")(
      module, "dense_attention_kernel");
  void *params[] = {nullptr};
  fn<Launch>("mgpuLaunchKernel")(kernel, 4, 70000, 1, 256, 1, 1, 0, nullptr,
                                 params, nullptr, 1);
  EXPECT_EQ(takeFirstError(),
            "kernel dense_attention_kernel: a grid of 4 x 70000 x 1 blocks "
            "of 256 x 1 x 1 threads is beyond the device's limits");
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, KernelsGetTheSharedMemoryTheyAskFor) {
  // Beyond 48 KB a block's dynamic shared memory needs the kernel's limit
  // raised (the fake refuses the launch otherwise); beyond the device's
  // opt-in limit (227 KB on the fake, an H200's) it is named.
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel = fn<GetFunction>("mgpuModuleGetFunction")(
      module, "dense_attention_kernel");
  float *buffer = nullptr;
  void *params[] = {&buffer};
  long before = launches();
  for (int32_t bytes : {48 * 1024, 96 * 1024, 64 * 1024, 227 * 1024})
    fn<Launch>("mgpuLaunchKernel")(kernel, 4, 1, 1, 256, 1, 1, bytes, nullptr,
                                   params, nullptr, 1);
  EXPECT_EQ(takeFirstError(), "");
  EXPECT_EQ(launches(), before + 4);
  fn<Launch>("mgpuLaunchKernel")(kernel, 4, 1, 1, 256, 1, 1, 228 * 1024,
                                 nullptr, params, nullptr, 1);
  EXPECT_EQ(takeFirstError(),
            "kernel dense_attention_kernel: 233472 bytes of shared memory a "
            "block, more than the device's 232448");
  EXPECT_EQ(launches(), before + 4);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, ManagedMemoryRoundTrip) {
  long live = liveAllocations();
  auto alloc = fn<MemAlloc>("mgpuMemAlloc");
  auto release = fn<MemFree>("mgpuMemFree");
  auto *a = static_cast<float *>(alloc(64 * sizeof(float), nullptr, true));
  auto *b = static_cast<float *>(alloc(64 * sizeof(float), nullptr, false));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(liveAllocations(), live + 2);
  for (int i = 0; i < 64; ++i)
    a[i] = static_cast<float>(i) * 0.5f;
  fn<Memcpy>("mgpuMemcpy")(b, a, 64 * sizeof(float), nullptr);
  EXPECT_EQ(b[63], 31.5f);
  release(a, nullptr);
  release(b, nullptr);
  // Kept for the thread's next allocations until released.
  EXPECT_EQ(liveAllocations(), live + 2);
  releaseCachedBlocks();
  EXPECT_EQ(liveAllocations(), live);
  EXPECT_EQ(takeFirstError(), "");
}

// A run's inputs and outputs staged by the host (the default) or, with
// HEED_CUDA_STAGING=copy, by the driver (cuda-runtime-fake-driver.test
// runs this test both ways): the values arrive either way.
TEST_F(MgpuRuntime, StagesARunsInputsAndOutputs) {
  long copies = counter("fakeCudaCopies");
  std::vector<float> in(1000), out(1000, 0.0f);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<float>(i) * 0.25f;
  size_t bytes = in.size() * sizeof(float);
  std::string error;
  void *managed = allocateManaged(bytes, error);
  ASSERT_NE(managed, nullptr) << error;
  stageIn(managed, in.data(), bytes);
  prefetchToDevice(managed, bytes);
  prefetchToHost(managed, bytes);
  waitForDevice();
  stageOut(out.data(), managed, bytes);
  EXPECT_EQ(out, in);
  const char *staging = std::getenv("HEED_CUDA_STAGING");
  bool byDriver = staging && std::string(staging) == "copy";
  EXPECT_EQ(counter("fakeCudaCopies"), copies + (byDriver ? 2 : 0));
  freeManaged(managed);
  EXPECT_EQ(takeFirstError(), "");
}

TEST_F(MgpuRuntime, FreedBlocksServeTheThreadsNextAllocations) {
  // A decoder step frees and allocates the same buffers: after a launch
  // that uses a block, freeing it neither waits nor calls the driver, and
  // the next allocation of its size (rounded) gets it back.
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel =
      fn<GetFunction>("mgpuModuleGetFunction")(module, "scale_kernel");
  auto malloc = fn<void *(*)(size_t)>("malloc");
  auto free = fn<void (*)(void *)>("free");
  long live = liveAllocations();
  void *block = malloc(1000);
  int64_t count = 16;
  void *params[] = {&block, &count};
  void *stream = fn<StreamCreate>("mgpuStreamCreate")();
  fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 32, 1, 1, 0, stream, params,
                                 nullptr, 2);
  long waited = waits();
  free(block);
  EXPECT_EQ(waits(), waited);
  EXPECT_EQ(liveAllocations(), live + 1);
  EXPECT_EQ(malloc(1010), block); // the same size once rounded
  void *other = malloc(5000);
  EXPECT_NE(other, block);
  free(block);
  // Another thread does not get this thread's blocks (its launches are on
  // another stream).
  void *elsewhere = nullptr;
  std::thread([&] {
    elsewhere = malloc(1000);
    free(elsewhere);
    releaseCachedBlocks();
  }).join();
  EXPECT_NE(elsewhere, block);
  // A calloc'ed block that a launch may still write is zeroed after a wait.
  fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 32, 1, 1, 0, stream, params,
                                 nullptr, 2);
  auto calloc = fn<void *(*)(size_t, size_t)>("calloc");
  auto *zeroed = static_cast<char *>(calloc(10, 100));
  EXPECT_EQ(zeroed, block);
  EXPECT_EQ(zeroed[999], 0);
  free(zeroed);
  free(other);
  EXPECT_EQ(takeFirstError(), "");
  releaseCachedBlocks();
  EXPECT_EQ(liveAllocations(), live);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, StopTestReadsWithoutWaitingForTheStream) {
  // heed-lag-stop-tests's calls: a step's count is copied to the host in
  // stream order, so reading it after a launch that writes it neither
  // waits for the stream nor touches the guarded memory (the fake ends
  // the process if the host does); the fake's copies finish at once, so
  // each read sees its own step's count.
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel =
      fn<GetFunction>("mgpuModuleGetFunction")(module, "scale_kernel");
  auto begin = fn<intptr_t (*)()>("heed_gpu_stop_test_begin");
  auto read = fn<float (*)(intptr_t, intptr_t)>("heed_gpu_stop_test_read");
  auto end = fn<void (*)(intptr_t)>("heed_gpu_stop_test_end");
  auto *count = static_cast<float *>(fn<void *(*)(size_t)>("malloc")(4));
  void *stream = fn<StreamCreate>("mgpuStreamCreate")();
  int64_t n = 1;
  void *params[] = {&count, &n};
  for (int reuse = 0; reuse < 2; ++reuse) {
    intptr_t state = begin();
    for (int step = 0; step < 8; ++step) {
      fn<void (*)()>("heed_gpu_sync")(); // before the host writes
      *count = float(8 - step);
      fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 32, 1, 1, 0, stream,
                                     params, nullptr, 2);
      long waited = waits();
      EXPECT_EQ(read(state, reinterpret_cast<intptr_t>(count)),
                float(8 - step));
      EXPECT_EQ(waits(), waited) << "step " << step;
    }
    end(state);
  }
  EXPECT_EQ(takeFirstError(), "");
  fn<void (*)()>("heed_gpu_sync")();
  fn<void (*)(void *)>("free")(count);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, OutOfMemorySaysWhatWasAskedAndWhatIsFree) {
  setenv("FAKE_CUDA_TOTAL_MB", "64", 1);
  auto alloc = fn<MemAlloc>("mgpuMemAlloc");
  void *small = alloc(16 << 20, nullptr, true);
  void *big = alloc(100 << 20, nullptr, true);
  EXPECT_EQ(takeFirstError(),
            "a buffer of the running model: out of device memory: asked "
            "for 100.0 MB (104857600 bytes), 48.0 MB (50331648 bytes) free "
            "of 64.0 MB");
  // The run goes on in host memory, its launches skipped, and says nothing
  // more; the next run starts clean.
  ASSERT_NE(big, nullptr);
  std::memset(big, 0, 100 << 20);
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel = fn<GetFunction>("mgpuModuleGetFunction")(
      module, "dense_attention_kernel");
  void *huge = alloc(200 << 20, nullptr, false);
  EXPECT_NE(takeFirstError(), ""); // the second failure, in a new run
  fn<MemFree>("mgpuMemFree")(huge, nullptr);
  fn<MemFree>("mgpuMemFree")(big, nullptr);
  fn<MemFree>("mgpuMemFree")(small, nullptr);
  void *params[] = {nullptr};
  long before = launches();
  fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 32, 1, 1, 0, nullptr, params,
                                 nullptr, 1);
  EXPECT_EQ(launches(), before + 1);
  EXPECT_EQ(takeFirstError(), "");
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, ManagedBuffersNameWhatDidNotFit) {
  setenv("FAKE_CUDA_TOTAL_MB", "8", 1);
  std::string error;
  ManagedBuffer fits =
      ManagedBuffer::allocate({1024, 1024}, "weight 'w'", error);
  EXPECT_EQ(error, "");
  ASSERT_NE(fits.data(), nullptr);
  fits.data()[1024 * 1024 - 1] = 1.0f;
  ManagedBuffer big =
      ManagedBuffer::allocate({2048, 1024}, "weight 'embedding.weight'", error);
  EXPECT_EQ(big.data(), nullptr);
  EXPECT_EQ(error,
            "weight 'embedding.weight': out of device memory: asked for "
            "8.0 MB (8388608 bytes), 4.0 MB (4194304 bytes) free of 8.0 MB");
  // Not a run's error: nothing is left for the next run to report.
  EXPECT_EQ(takeFirstError(), "");
}

TEST_F(MgpuRuntime, DeviceTimerMeasuresBetweenItsEvents) {
  std::string error;
  auto timer = DeviceTimer::create(error);
  ASSERT_NE(timer, nullptr) << error;
  timer->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  double seconds = timer->stop(error);
  EXPECT_EQ(error, "");
  // The fake's events are host times.
  EXPECT_GE(seconds, 0.003);
  EXPECT_LT(seconds, 1.0);
}

TEST_F(MgpuRuntime, HostPointersGivenToKernelsAreCaught) {
  // The fake checks every `.ptr` parameter against its managed memory, as a
  // GPU without HMM faults on host memory.
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *kernel =
      fn<GetFunction>("mgpuModuleGetFunction")(module, "scale_kernel");
  ASSERT_NE(kernel, nullptr) << takeFirstError();
  auto *managed =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  int64_t count = 64;
  void *pointer = managed + 16; // inside: fine
  void *params[] = {&pointer, &count};
  fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 64, 1, 1, 0, nullptr, params,
                                 nullptr, 2);
  EXPECT_EQ(takeFirstError(), "");
  float host[64];
  pointer = host;
  fn<Launch>("mgpuLaunchKernel")(kernel, 1, 1, 1, 64, 1, 1, 0, nullptr, params,
                                 nullptr, 2);
  EXPECT_EQ(takeFirstError(),
            "launching kernel scale_kernel failed: CUDA_ERROR_ILLEGAL_ADDRESS");
  fn<MemFree>("mgpuMemFree")(managed, nullptr);
  // Freeing what the driver did not allocate is reported too.
  fn<MemFree>("mgpuMemFree")(host, nullptr);
  EXPECT_EQ(takeFirstError(),
            "freeing device memory failed: CUDA_ERROR_INVALID_VALUE");
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, RepeatedStepsReplayAsOneGraph) {
  auto [module, scale, other] = loadStepKernels();
  auto *managed =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  long before = launches(), built = counter("fakeCudaGraphsBuilt"),
       replays = counter("fakeCudaGraphLaunches"),
       updates = counter("fakeCudaNodeUpdates");
  launchSteps(scale, other, managed, 6);
  // A step ends where its first kernel comes back: steps 0-4 are issued,
  // the last waits for the host's wait.
  EXPECT_EQ(launches(), before + 10);
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(launches(), before + 12);
  // Step 0 launched kernel by kernel, steps 1 and 2 built a graph each
  // (the shape's two), every step after them replays one with both
  // kernels' counts updated.
  EXPECT_EQ(counter("fakeCudaGraphsBuilt"), built + 2);
  EXPECT_EQ(counter("fakeCudaGraphLaunches"), replays + 5);
  EXPECT_EQ(counter("fakeCudaNodeUpdates"), updates + 6);
  EXPECT_EQ(takeFirstError(), "");

  // Unloading the module drops the graphs (the next module's kernels may
  // have the old handles): the same steps build a new one.
  fn<Unload>("mgpuModuleUnload")(module);
  std::tie(module, scale, other) = loadStepKernels();
  launchSteps(scale, other, managed, 3);
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(counter("fakeCudaGraphsBuilt"), built + 4);
  EXPECT_EQ(takeFirstError(), "");
  fn<MemFree>("mgpuMemFree")(managed, nullptr);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, EachThreadBuildsAndReplaysItsOwnGraphs) {
  // Concurrent runs: each thread records on its own stream and keeps its
  // own graphs; unloading the module drops all of them.
  void *module, *scale, *other; // (captured below: no structured binding)
  std::tie(module, scale, other) = loadStepKernels();
  long built = counter("fakeCudaGraphsBuilt"),
       replays = counter("fakeCudaGraphLaunches");
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto *buffer = static_cast<float *>(
          fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
      launchSteps(scale, other, buffer, 6);
      fn<void (*)()>("heed_gpu_sync")();
      fn<MemFree>("mgpuMemFree")(buffer, nullptr);
      errors[t] = takeFirstError();
    });
  for (std::thread &thread : threads)
    thread.join();
  for (const std::string &error : errors)
    EXPECT_EQ(error, "");
  EXPECT_EQ(counter("fakeCudaGraphsBuilt"), built + 8);
  EXPECT_EQ(counter("fakeCudaGraphLaunches"), replays + 20);
  fn<Unload>("mgpuModuleUnload")(module);
  EXPECT_EQ(takeFirstError(), "");
}

TEST_F(MgpuRuntime, ARunsBuffersGetTheLastRunsAddresses) {
  // A run allocates a, b and c of one size and frees them in another order:
  // kept, the oldest freed would come first. After beginRun the same
  // allocations get the same blocks as in the run before.
  auto malloc = fn<void *(*)(size_t)>("malloc");
  auto free = fn<void (*)(void *)>("free");
  void *blocks[3][3];
  for (int run = 0; run < 3; ++run) {
    beginRun();
    for (void *&block : blocks[run])
      block = malloc(1000);
    free(blocks[run][1]);
    free(blocks[run][2]);
    free(blocks[run][0]);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(blocks[2][i], blocks[1][i]) << i;
    EXPECT_EQ(blocks[1][i], blocks[0][i]) << i;
  }
  // Without a run begun, the oldest freed block comes first.
  void *next = malloc(1000);
  EXPECT_EQ(next, blocks[2][1]);
  free(next);
  EXPECT_EQ(takeFirstError(), "");
}

TEST_F(MgpuRuntime, StepsAlternatingBetweenBuffersNeedNoUpdates) {
  // A loop's state in two buffers, taken in turn: each has its graph.
  auto [module, scale, other] = loadStepKernels();
  auto *a =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  auto *b =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  long built = counter("fakeCudaGraphsBuilt"),
       replays = counter("fakeCudaGraphLaunches"),
       updates = counter("fakeCudaNodeUpdates");
  launchSteps(scale, other, a, 9, /*hostPointerAt=*/-1, /*alternate=*/b);
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(counter("fakeCudaGraphsBuilt"), built + 2);
  EXPECT_EQ(counter("fakeCudaGraphLaunches"), replays + 8);
  EXPECT_EQ(counter("fakeCudaNodeUpdates"), updates);
  EXPECT_EQ(takeFirstError(), "");
  fn<MemFree>("mgpuMemFree")(a, nullptr);
  fn<MemFree>("mgpuMemFree")(b, nullptr);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, AReplayedGraphsFailureNamesItsFirstKernel) {
  auto [module, scale, other] = loadStepKernels();
  auto *managed =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  long before = launches();
  // Step 3 gives scale_kernel a host pointer: its graph's launch fails, and
  // nothing is launched after it.
  launchSteps(scale, other, managed, 5, /*hostPointerAt=*/3);
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(takeFirstError(),
            "launching 2 kernels as one CUDA graph failed: "
            "CUDA_ERROR_ILLEGAL_ADDRESS (the first: scale_kernel)");
  EXPECT_EQ(launches(), before + 6);
  fn<MemFree>("mgpuMemFree")(managed, nullptr);
  fn<Unload>("mgpuModuleUnload")(module);
}

TEST_F(MgpuRuntime, StreamWorkAndCopiesComeAfterRecordedLaunches) {
  void *module = fn<LoadJIT>("mgpuModuleLoadJIT")(const_cast<char *>(kPtx), 3);
  void *scale =
      fn<GetFunction>("mgpuModuleGetFunction")(module, "scale_kernel");
  auto *a =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  auto *b =
      static_cast<float *>(fn<MemAlloc>("mgpuMemAlloc")(256, nullptr, true));
  void *stream = fn<StreamCreate>("mgpuStreamCreate")();
  int64_t count = 1;
  void *params[] = {&a, &count};
  long before = launches();
  fn<Launch>("mgpuLaunchKernel")(scale, 1, 1, 1, 64, 1, 1, 0, stream, params,
                                 nullptr, 2);
  EXPECT_EQ(launches(), before); // recorded
  fn<Memcpy>("mgpuMemcpy")(b, a, 256, stream);
  EXPECT_EQ(launches(), before + 1); // issued before the copy
  fn<Launch>("mgpuLaunchKernel")(scale, 1, 1, 1, 64, 1, 1, 0, stream, params,
                                 nullptr, 2);
  prefetchToDevice(a, 256);
  EXPECT_EQ(launches(), before + 2); // and before a prefetch
  fn<void (*)()>("heed_gpu_sync")();
  EXPECT_EQ(takeFirstError(), "");
  fn<MemFree>("mgpuMemFree")(a, nullptr);
  fn<MemFree>("mgpuMemFree")(b, nullptr);
  fn<Unload>("mgpuModuleUnload")(module);
}

} // namespace
