//===- StopTests.cpp - A decoder's stop test without a wait per step ------===//
//
// Part of Heed. heed-lag-stop-tests turns the host's read of a stopping
// decoder's count of running rows into heed_gpu_stop_test_read (a state
// made before the loop, ended after it). Each read queues a copy of this
// step's count into a slot of pinned host memory on the thread's stream,
// records an event after it, and returns the newest count whose copy has
// finished: the host does not wait for the step. It waits only for the
// first step's count (none has finished yet), and when it is as many steps
// ahead as there are slots (HEED_STOP_TEST_LAG, default 3, at most 64),
// for the oldest. The decoder may run up to that many steps after its last
// row finished; those steps change nothing.
//
//===----------------------------------------------------------------------===//

#include "runtime/Environment.h"
#include "runtime/cuda/RuntimeState.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

namespace heed::rt::cuda::detail {
namespace {

constexpr int kMaxSlots = 64;

/// How many steps the host may run ahead of the device's counts.
int slotCount() {
  // The lag the CPU-run schedule takes, one slot at least.
  static const int slots = std::max<int>(
      1, int(env::integer("HEED_STOP_TEST_LAG", 0, kMaxSlots, 3)));
  return slots;
}

struct StopTest {
  float *slots = nullptr; // pinned host memory, one count per slot
  CUevent events[kMaxSlots] = {};
  int count = 0;
  // Reads queued since begin, and the newest whose copy has finished.
  int64_t issued = 0, newest = -1;
  float value = 0;

  bool make(const DriverApi *api) {
    count = slotCount();
    void *memory = nullptr;
    if (api->memAllocHost(&memory, count * sizeof(float)) != kCudaSuccess)
      return false;
    slots = static_cast<float *>(memory);
    for (int i = 0; i < count; ++i)
      if (api->eventCreate(&events[i], kEventDisableTiming) != kCudaSuccess) {
        events[i] = nullptr;
        return false;
      }
    return true;
  }
  void destroy(const DriverApi *api) {
    for (int i = 0; i < count; ++i)
      if (events[i])
        api->eventDestroy(events[i]);
    if (slots)
      api->memFreeHost(slots);
  }
  /// Slot `read`'s copy done: its count is the newest known if it is newer.
  void finished(int64_t read) {
    if (read > newest) {
      newest = read;
      value = slots[read % count];
    }
  }
};

/// A thread's states not in use (pinned memory and events are driver calls
/// to make): kept for its next decoder, destroyed when it ends.
struct SpareStates {
  std::vector<std::unique_ptr<StopTest>> states;
  ~SpareStates() {
    if (states.empty())
      return;
    hostSync(); // their copies are done once the stream is
    if (const DriverApi *api = driver())
      for (auto &state : states)
        state->destroy(api);
  }
};
thread_local SpareStates spare;

} // namespace

intptr_t stopTestBegin() {
  std::unique_ptr<StopTest> state;
  if (!spare.states.empty()) {
    state = std::move(spare.states.back());
    spare.states.pop_back();
  } else {
    state = std::make_unique<StopTest>();
    const DriverApi *api = ready("making a decoder's stop test");
    if (api && !state->make(api)) {
      state->destroy(api);
      state = std::make_unique<StopTest>(); // no slots: reads wait
    }
  }
  // (A previous loop's copies are queued before this loop's: a slot read
  // once its new event is done holds the new count.)
  state->issued = 0;
  state->newest = -1;
  return reinterpret_cast<intptr_t>(state.release());
}

float stopTestRead(intptr_t handle, intptr_t address) {
  auto *state = reinterpret_cast<StopTest *>(handle);
  auto *count = reinterpret_cast<const float *>(address);
  const DriverApi *api = failed() || !state->slots
                             ? nullptr
                             : ready("reading a decoder's stop test");
  // (The step's launches are issued before the copy of its count.)
  flushLaunches();
  CUstream stream = api ? threadStream() : nullptr;
  if (!api || !stream) {
    // After a failure (launches skipped) or without slots: this step's
    // count, after waiting.
    hostSync();
    return *count;
  }
  int64_t read = state->issued++;
  int slot = int(read % state->count);
  CUevent event = state->events[slot];
  // The host is `count` steps ahead: the oldest copy's slot is reused.
  if (read >= state->count) {
    if (CUresult r = api->eventSynchronize(event); r != kCudaSuccess)
      fail("waiting for a decoder's stop test: " + errorName(r));
    state->finished(read - state->count);
  }
  CUresult r = api->memcpyDtoHAsync(
      &state->slots[slot],
      static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(count)),
      sizeof(float), stream);
  if (r == kCudaSuccess)
    r = api->eventRecord(event, stream);
  if (r != kCudaSuccess) {
    fail("copying a decoder's stop test to the host: " + errorName(r));
    hostSync();
    return *count;
  }
  // The newest finished copy, newest first.
  for (int64_t k = read; k > state->newest && k > read - state->count; --k)
    if (api->eventQuery(state->events[k % state->count]) == kCudaSuccess) {
      state->finished(k);
      break;
    }
  if (state->newest < 0) {
    // None yet (the first step): wait for the first.
    if (CUresult w = api->eventSynchronize(state->events[0]); w != kCudaSuccess)
      fail("waiting for a decoder's stop test: " + errorName(w));
    state->finished(0);
  }
  return state->value;
}

void stopTestEnd(intptr_t handle) {
  spare.states.emplace_back(reinterpret_cast<StopTest *>(handle));
}

} // namespace heed::rt::cuda::detail
