//===- LaunchGraphs.cpp - A thread's launches replayed as CUDA graphs -----===//
//
// Part of Heed. A decoder's step, or a recurrent layer's, launches the same
// few small kernels every time, and at batch 1 the driver's cost per launch
// (on the host, and between dependent kernels on the device) is most of the
// step. So a thread's launches on its stream are recorded rather than made,
// and issued in segments:
//
// - a segment ends before an operation on the stream that is not a launch
//   (a wait, a copy, a prefetch, a stop test's read: flushLaunches), and
//   where a kernel of it comes back (a loop's next step: what came before
//   that kernel's first launch is issued by itself, so that each step is a
//   segment of its own; a run of one kernel goes on, up to kMaxSegment);
// - a segment of a shape seen before (the same kernels with the same
//   grids, blocks and shared memory, in the same order) is one CUDA graph
//   launch. Its graph is built at the shape's second sighting, a second
//   one at the third (kVariants), then the one whose nodes' parameter
//   values differ least is updated where they differ
//   (cuGraphExecKernelNodeSetParams: later launches of the graph only)
//   and launched. A shape seen once, and a segment of one launch, are
//   launched kernel by kernel.
//
// The graph's nodes run one after the other on the thread's stream, as the
// launches would have: the same kernels with the same values, which the
// fake driver's trace checks (test/GPU/cuda-launch-graphs.test).
// HEED_CUDA_GRAPHS=0 launches every kernel at once; so do HEED_CUDA_PROFILE
// (it times each launch) and a driver without the graph entry points
// (before CUDA 12.4).
//
//===----------------------------------------------------------------------===//

#include "runtime/Environment.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/RuntimeState.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

namespace heed::rt::cuda::detail {
namespace {

/// Launches recorded before they are issued, at most: the device waits
/// for the host to record them (a fraction of a microsecond each).
constexpr size_t kMaxSegment = 64;
/// Shapes a thread remembers (seen once, or built): the least recently
/// used goes first.
constexpr size_t kMaxGraphs = 64;

bool graphsWanted() {
  static const bool wanted = env::flag("HEED_CUDA_GRAPHS", true);
  return wanted;
}

size_t alignedTo8(size_t n) { return (n + 7) / 8 * 8; }

/// A launch without its parameter values: grid x, y, z, block x, y, z and
/// dynamic shared bytes.
struct LaunchShape {
  CUfunction function;
  unsigned dims[7];
  bool operator==(const LaunchShape &other) const {
    return function == other.function && std::equal(dims, dims + 7, other.dims);
  }
};

/// Launches with their parameter values, each value at an 8-byte aligned
/// offset of `bytes` (the driver copies them when it launches or builds).
struct Segment {
  std::vector<LaunchShape> shapes;
  /// Per launch: where its values begin and end in `bytes`, and where its
  /// parameters' offsets begin in `offsets` (ending at the next's).
  std::vector<size_t> byteBegin, byteEnd, firstParam;
  std::vector<size_t> offsets;
  std::vector<char> bytes;

  size_t size() const { return shapes.size(); }
  void clear() {
    shapes.clear();
    byteBegin.clear();
    byteEnd.clear();
    firstParam.clear();
    offsets.clear();
    bytes.clear();
  }
  void add(CUfunction function, const unsigned dims[7], void **params,
           const std::vector<size_t> &sizes) {
    LaunchShape shape{function, {}};
    std::copy(dims, dims + 7, shape.dims);
    shapes.push_back(shape);
    firstParam.push_back(offsets.size());
    size_t end = alignedTo8(bytes.size());
    byteBegin.push_back(end);
    size_t first = offsets.size();
    for (size_t size : sizes) {
      offsets.push_back(alignedTo8(end));
      end = offsets.back() + size;
    }
    bytes.resize(end); // (one resize: the padding is zeros)
    for (size_t i = 0; i < sizes.size(); ++i)
      std::memcpy(bytes.data() + offsets[first + i], params[i], sizes[i]);
    byteEnd.push_back(end);
  }
  /// Launch i's parameter pointers, as the driver takes them.
  void **pointersOf(size_t i, std::vector<void *> &scratch) {
    size_t end = i + 1 < size() ? firstParam[i + 1] : offsets.size();
    scratch.clear();
    for (size_t p = firstParam[i]; p < end; ++p)
      scratch.push_back(bytes.data() + offsets[p]);
    return scratch.data();
  }
  /// Launch i of `from` added.
  void append(const Segment &from, size_t i) {
    shapes.push_back(from.shapes[i]);
    firstParam.push_back(offsets.size());
    bytes.resize(alignedTo8(bytes.size())); // (as `from` aligned them)
    byteBegin.push_back(bytes.size());
    size_t end =
        i + 1 < from.size() ? from.firstParam[i + 1] : from.offsets.size();
    size_t shift = from.byteBegin[i] - bytes.size();
    bytes.insert(bytes.end(), from.bytes.begin() + from.byteBegin[i],
                 from.bytes.begin() + from.byteEnd[i]);
    for (size_t p = from.firstParam[i]; p < end; ++p)
      offsets.push_back(from.offsets[p] - shift);
    byteEnd.push_back(bytes.size());
  }
  /// The first `count` launches moved to `front` (cleared first).
  void moveFront(size_t count, Segment &front) {
    front.clear();
    for (size_t i = 0; i < count; ++i)
      front.append(*this, i);
    // The rest moved down by whole 8-byte words (their alignment).
    size_t params = firstParam[count], dropped = byteBegin[count];
    shapes.erase(shapes.begin(), shapes.begin() + count);
    firstParam.erase(firstParam.begin(), firstParam.begin() + count);
    byteBegin.erase(byteBegin.begin(), byteBegin.begin() + count);
    byteEnd.erase(byteEnd.begin(), byteEnd.begin() + count);
    offsets.erase(offsets.begin(), offsets.begin() + params);
    bytes.erase(bytes.begin(), bytes.begin() + dropped);
    for (size_t &p : firstParam)
      p -= params;
    for (auto *list : {&byteBegin, &byteEnd, &offsets})
      for (size_t &at : *list)
        at -= dropped;
  }
  /// Whether launch i has the values of launch i of `other` (same shapes).
  bool sameValues(size_t i, const Segment &other) const {
    size_t n = byteEnd[i] - byteBegin[i];
    return n == other.byteEnd[i] - other.byteBegin[i] &&
           std::memcmp(bytes.data() + byteBegin[i],
                       other.bytes.data() + other.byteBegin[i], n) == 0;
  }
};

/// An instantiated graph of a shape, with the values its nodes have now.
struct Variant {
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  std::vector<CUgraphNode> nodes;
  Segment values;

  void destroy(const DriverApi *api) {
    if (exec)
      api->graphExecDestroy(exec);
    if (graph)
      api->graphDestroy(graph);
    exec = nullptr;
    graph = nullptr;
  }
};

/// Graphs a shape keeps. A loop's state alternates between two buffers
/// from step to step: with two graphs, a step's differs from the graph of
/// two steps before only where the step's own position does (the slice of
/// an output it writes).
constexpr size_t kVariants = 2;

/// A shape seen before, and its graphs once built.
struct Graph {
  std::vector<LaunchShape> shapes;
  std::vector<Variant> variants;
  /// The driver would not build or update one: launched kernel by kernel.
  bool unusable = false;
  uint64_t lastUse = 0;

  void destroy(const DriverApi *api) {
    for (Variant &variant : variants)
      variant.destroy(api);
    variants.clear();
  }
};

struct ThreadLaunches;
std::mutex registryLock;
/// Every thread's state, for dropLaunchGraphs (left to the process's end:
/// threads end after the statics' destructors may have run).
std::set<ThreadLaunches *> &registry() {
  static auto *threads = new std::set<ThreadLaunches *>();
  return *threads;
}

struct ThreadLaunches {
  /// Held by the thread, and by dropLaunchGraphs from another.
  std::mutex lock;
  Segment pending;
  /// Per kernel: its parameters' sizes (cuFuncGetParamInfo), empty where
  /// the driver could not say them all (launched at once).
  std::unordered_map<CUfunction, std::vector<size_t>> paramSizes;
  std::unordered_map<uint64_t, Graph> graphs; // by the hash of their shapes
  uint64_t uses = 0;
  std::vector<void *> scratch;

  ThreadLaunches() {
    std::lock_guard<std::mutex> guard(registryLock);
    registry().insert(this);
  }
  ~ThreadLaunches() {
    {
      std::lock_guard<std::mutex> guard(registryLock);
      registry().erase(this);
    }
    std::lock_guard<std::mutex> guard(lock);
    flushLocked(); // (a run waits before it returns: nothing pends)
    dropGraphs();
  }
  void dropGraphs() {
    if (const DriverApi *api = driver())
      for (auto &[hash, graph] : graphs)
        graph.destroy(api);
    graphs.clear();
    paramSizes.clear();
  }

  void launchEach(const DriverApi *api, CUstream stream, Segment &launches) {
    for (size_t i = 0; i < launches.size() && !failed(); ++i) {
      const LaunchShape &shape = launches.shapes[i];
      launchNow(api, shape.function, shape.dims, stream,
                launches.pointersOf(i, scratch));
    }
  }
  KernelNodeParams nodeParams(Segment &launches, size_t i) {
    const LaunchShape &s = launches.shapes[i];
    return {s.function, s.dims[0], s.dims[1],
            s.dims[2],  s.dims[3], s.dims[4],
            s.dims[5],  s.dims[6], launches.pointersOf(i, scratch),
            nullptr,    nullptr,   nullptr};
  }
  /// `graph` built from `launches`; false if the driver would not.
  bool build(const DriverApi *api, Variant &graph, Segment &launches) {
    if (api->graphCreate(&graph.graph, 0) != kCudaSuccess)
      return false;
    CUgraphNode previous = nullptr;
    for (size_t i = 0; i < launches.size(); ++i) {
      KernelNodeParams params = nodeParams(launches, i);
      CUgraphNode node = nullptr;
      if (api->graphAddKernelNode(&node, graph.graph,
                                  previous ? &previous : nullptr,
                                  previous ? 1 : 0, &params) != kCudaSuccess)
        return false;
      graph.nodes.push_back(node);
      previous = node;
    }
    return api->graphInstantiate(&graph.exec, graph.graph, 0) == kCudaSuccess;
  }
  /// The nodes of `graph` whose values differ from `launches`' updated;
  /// false if the driver would not.
  bool update(const DriverApi *api, Variant &graph, Segment &launches) {
    for (size_t i = 0; i < launches.size(); ++i) {
      if (launches.sameValues(i, graph.values))
        continue;
      KernelNodeParams params = nodeParams(launches, i);
      if (api->graphExecKernelNodeSetParams(graph.exec, graph.nodes[i],
                                            &params) != kCudaSuccess)
        return false;
    }
    return true;
  }
  void launchGraph(const DriverApi *api, CUstream stream, Variant &graph,
                   Segment &launches) {
    if (CUresult r = api->graphLaunch(graph.exec, stream); r != kCudaSuccess) {
      fail("launching " + std::to_string(launches.size()) +
           " kernels as one CUDA graph failed: " + errorName(r) +
           " (the first: " + kernelName(launches.shapes.front().function) +
           ")");
      return;
    }
    launched(launches.shapes.back().function);
    // The graph's nodes have these values now (the graph's old buffers go
    // to `launches`, cleared by the caller, for reuse).
    std::swap(graph.values, launches);
  }

  Graph &graphFor(uint64_t hash) {
    if (!graphs.count(hash) && graphs.size() >= kMaxGraphs) {
      auto oldest = std::min_element(
          graphs.begin(), graphs.end(), [](const auto &a, const auto &b) {
            return a.second.lastUse < b.second.lastUse;
          });
      oldest->second.destroy(driver());
      graphs.erase(oldest);
    }
    Graph &graph = graphs[hash];
    graph.lastUse = ++uses;
    return graph;
  }

  /// The graph of `graph`'s that launches `launches`: the one with the
  /// fewest values to update, or a new one while there are fewer than
  /// kVariants and none has them all. Null if the driver would not.
  Variant *replayable(const DriverApi *api, Graph &graph, Segment &launches) {
    Variant *best = nullptr;
    size_t fewest = SIZE_MAX;
    for (Variant &variant : graph.variants) {
      size_t differing = 0;
      for (size_t i = 0; i < launches.size(); ++i)
        differing += !launches.sameValues(i, variant.values);
      if (differing < fewest) {
        best = &variant;
        fewest = differing;
      }
    }
    if (!best || (fewest && graph.variants.size() < kVariants)) {
      graph.variants.emplace_back();
      return build(api, graph.variants.back(), launches)
                 ? &graph.variants.back()
                 : nullptr;
    }
    return update(api, *best, launches) ? best : nullptr;
  }

  /// Issues `launches` (and clears it): as a graph where its shape was
  /// seen before.
  void issue(Segment &launches) {
    const DriverApi *api = driver();
    if (launches.size() == 0 || !api || failed()) {
      launches.clear(); // (after a failure the results are not used)
      return;
    }
    CUstream stream = threadStream();
    if (launches.size() == 1) {
      launchEach(api, stream, launches);
      launches.clear();
      return;
    }
    uint64_t hash = 1469598103934665603ull; // FNV-1a
    auto mix = [&](uint64_t value) {
      hash = (hash ^ value) * 1099511628211ull;
    };
    for (const LaunchShape &shape : launches.shapes) {
      mix(reinterpret_cast<uintptr_t>(shape.function));
      for (unsigned d : shape.dims)
        mix(d);
    }
    Graph &graph = graphFor(hash);
    if (graph.shapes != launches.shapes) {
      // Seen first (or a shape of the same hash): remembered, launched.
      graph.destroy(api);
      graph = Graph{launches.shapes};
      graph.lastUse = uses;
      launchEach(api, stream, launches);
    } else if (graph.unusable) {
      launchEach(api, stream, launches);
    } else if (Variant *variant = replayable(api, graph, launches)) {
      launchGraph(api, stream, *variant, launches);
    } else {
      graph.destroy(api);
      graph.unusable = true;
      launchEach(api, stream, launches);
    }
    launches.clear();
  }
  void flushLocked() { issue(pending); }

  /// Before `function` is recorded: a loop's step ends where a kernel of
  /// it comes back, so that each step is one segment (a graph from the
  /// second step on). What came before the kernel's launch is issued; so
  /// is the rest, where it is more than that kernel. A run of one kernel
  /// is kept, up to kMaxSegment: its steps share a graph.
  void endStepBefore(CUfunction function) {
    auto &shapes = pending.shapes;
    auto again = std::find_if(shapes.begin(), shapes.end(),
                              [&](auto &s) { return s.function == function; });
    if (again == shapes.end())
      return;
    if (again != shapes.begin()) {
      pending.moveFront(size_t(again - shapes.begin()), front);
      issue(front);
    }
    bool oneKernel = std::all_of(shapes.begin(), shapes.end(), [&](auto &s) {
      return s.function == function;
    });
    if (!oneKernel)
      issue(pending);
  }
  Segment front; // endStepBefore's scratch
};

/// The thread's state, made at its first recorded launch. A plain pointer,
/// so that the waits of other thread-local destructors (the block cache's)
/// find it null, not destroyed, once the owner below has gone.
thread_local ThreadLaunches *threadLaunches = nullptr;
struct ThreadLaunchesOwner {
  ~ThreadLaunchesOwner() {
    delete threadLaunches;
    threadLaunches = nullptr;
  }
};
thread_local ThreadLaunchesOwner threadLaunchesOwner;

} // namespace

bool deferLaunch(const DriverApi *api, CUfunction function,
                 const unsigned dims[7], void **params, size_t paramCount) {
  if (!graphsWanted() || !api->hasGraphs())
    return false;
  if (!threadLaunches) {
    (void)&threadLaunchesOwner; // (made with it, to delete it)
    threadLaunches = new ThreadLaunches();
  }
  ThreadLaunches &t = *threadLaunches;
  std::lock_guard<std::mutex> guard(t.lock);
  auto known = t.paramSizes.find(function);
  if (known == t.paramSizes.end()) {
    std::vector<size_t> sizes;
    size_t offset = 0, size = 0;
    while (api->funcGetParamInfo(function, sizes.size(), &offset, &size) ==
           kCudaSuccess)
      sizes.push_back(size);
    if (sizes.size() != paramCount)
      sizes.clear();
    known = t.paramSizes.emplace(function, std::move(sizes)).first;
  }
  if (known->second.empty() && paramCount != 0) {
    // Its values cannot be recorded: launched now, after those before it.
    t.flushLocked();
    return false;
  }
  t.endStepBefore(function);
  t.pending.add(function, dims, params, known->second);
  if (t.pending.size() >= kMaxSegment)
    t.flushLocked();
  return true;
}

void flushLaunches() {
  if (!threadLaunches)
    return;
  std::lock_guard<std::mutex> guard(threadLaunches->lock);
  threadLaunches->flushLocked();
}

void dropLaunchGraphs() {
  flushLaunches();
  std::lock_guard<std::mutex> guard(registryLock);
  for (ThreadLaunches *t : registry()) {
    std::lock_guard<std::mutex> inner(t->lock);
    t->dropGraphs();
  }
}

} // namespace heed::rt::cuda::detail
