//===- FakeCudaDriver.cpp - A libcuda.so.1 for tests without a GPU --------===//
//
// Part of Heed's tests. The driver API entry points Heed's CUDA runtime
// loads, implemented on the host: one device, managed memory from malloc
// (within FAKE_CUDA_TOTAL_MB, default 1024), modules from PTX text (the
// kernels are the `.entry` names; text without `.version` is invalid PTX
// and its error goes into the JIT log, as does any with
// FAKE_CUDA_REJECT_PTX set, or with a `.target` later than the device:
// an H100, sm_90 with 132 multiprocessors, or FAKE_CUDA_COMPUTE_CAPABILITY
// and FAKE_CUDA_MULTIPROCESSORS), launches checked against the
// device's limits, every pointer parameter (`.ptr` in the PTX) checked to
// lie in managed memory (CUDA_ERROR_ILLEGAL_ADDRESS otherwise, as a GPU
// without HMM faults), and counted but not run. It tests Heed's runtime, never
// kernels' results. fakeCudaLaunches(), fakeCudaWaits() (waits that found
// launched work: where a host would stall on a GPU) and
// fakeCudaLiveAllocations() let a test see what happened; FAKE_CUDA_SUMMARY
// prints it at exit. Copies to pinned host memory in stream order
// (cuMemcpyDtoHAsync) happen at once, and events are always complete.
// CUDA graphs of kernel nodes run their nodes in order, each as a launch
// (checked and counted alike); FAKE_CUDA_TRACE=FILE writes one line per
// kernel run, launched or a node, with its grid and its parameters'
// values (a pointer as its allocation's number and offset), so that two
// runs' kernels can be compared.
//
// Launches are asynchronous on a GPU: the host may touch what a kernel
// uses only after waiting for it (a stream's, a context's or an event's
// synchronization; a copy or a free waits too). Managed memory here is
// whole pages; a launch takes the pages of every allocation its pointer
// parameters point into away from the host (mprotect) until the next wait,
// and a host access before it ends the process with a message: the race a
// GPU would turn into wrong values, caught.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <signal.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

// The handle types cuda.h declares opaque, made real here. The entry
// points' types must match Heed's function pointers exactly (UBSan's
// -fsanitize=function checks calls into this instrumented library).
struct CUctx_st {};
struct CUfunc_st {
  std::string name;
  std::vector<bool> pointerParams; // `.param .u64 .ptr` in the PTX
  std::vector<size_t> paramSizes;  // in bytes, from the PTX's types
  int dynamicSharedLimit = 48 * 1024; // cuFuncSetAttribute raises it
};
/// An H200's opt-in limit of a block's shared memory.
constexpr int kSharedOptin = 227 * 1024;
struct CUmod_st {
  std::map<std::string, CUfunc_st> kernels;   // by name
  std::map<std::string, CUfunc_st> functions; // handles live with the module
};
/// A kernel node: its launch, with its parameters' values copied.
struct CUgraphNode_st {
  CUfunc_st *function;
  unsigned dims[7];
  std::vector<std::vector<char>> values;
};
struct CUgraph_st {
  std::vector<CUgraphNode_st *> nodes; // each depending on the one before
  ~CUgraph_st() {
    for (CUgraphNode_st *node : nodes)
      delete node;
  }
};
struct CUgraphExec_st {
  std::vector<const CUgraphNode_st *> from; // the graph's nodes
  std::vector<CUgraphNode_st> nodes;        // their copies, as launched
};
struct CUkern_st;
/// CUDA_KERNEL_NODE_PARAMS_v2 (the name Heed's runtime declares it by).
struct CUDA_KERNEL_NODE_PARAMS_v2_st {
  CUfunc_st *function;
  unsigned dims[7];
  void **kernelParams, **extra;
  CUkern_st *kernel;
  CUctx_st *context;
};
using KernelNodeParams = CUDA_KERNEL_NODE_PARAMS_v2_st;
struct CUstream_st {};
struct CUmemLocation_st {
  int type, id;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point at;
};

namespace {
using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2,
                   kInvalidPtx = 218, kNotFound = 500, kIllegalAddress = 700;

CUctx_st theContext;
CUstream_st theStream;
std::mutex lock;
std::map<void *, size_t> allocations;
std::map<void *, long> allocationNumbers; // in the order they were made
long allocationsMade = 0;
size_t allocated = 0;
long launches = 0, modules = 0, unloads = 0, lookups = 0, streams = 0;
// Waits for a stream, a free or a copy that found launched work (the host
// would stall on a GPU), waits for an event, and frees.
long waits = 0, eventWaits = 0, frees = 0, prefetches = 0;
long graphsBuilt = 0, graphLaunches = 0, nodeUpdates = 0;
long copies = 0; // cuMemcpy calls

/// With FAKE_CUDA_SUMMARY set, one line on stderr when the process ends:
/// what the driver was asked to do, and the managed memory still held.
struct Summary {
  ~Summary() {
    if (std::getenv("FAKE_CUDA_SUMMARY"))
      std::fprintf(stderr,
                   "fake-cuda: %ld modules loaded, %ld kernels looked up, %ld "
                   "launches, %ld waits, %ld event waits, %ld frees, %ld "
                   "streams created, %zu allocations live, %ld modules "
                   "unloaded, %ld prefetches, %ld graphs built, %ld graph "
                   "launches, %ld graph node updates, %ld copies\n",
                   modules, lookups, launches, waits, eventWaits, frees,
                   streams, allocations.size(), unloads, prefetches,
                   graphsBuilt, graphLaunches, nodeUpdates, copies);
  }
} summary;

size_t pageBytes(size_t bytes) {
  static const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}
/// Allocations a launched kernel uses, until the next wait (under lock).
std::set<void *> guarded;
void waitForKernels(long &counter = waits) {
  counter += !guarded.empty();
  for (void *p : guarded)
    mprotect(p, pageBytes(allocations[p]), PROT_READ | PROT_WRITE);
  guarded.clear();
}
/// A host access to a guarded allocation: the message, and the end. (The
/// faulting thread is the host code's, which holds no lock of the fake's.)
void onFault(int, siginfo_t *info, void *) {
  auto *at = static_cast<char *>(info->si_addr);
  for (void *p : guarded)
    if (at >= static_cast<char *>(p) &&
        at < static_cast<char *>(p) + pageBytes(allocations.find(p)->second)) {
      const char message[] =
          "fake-cuda: the host touched managed memory that a launched kernel "
          "uses before waiting for it\n";
      ssize_t ignored = write(2, message, sizeof message - 1);
      (void)ignored;
      _exit(3);
    }
  signal(SIGSEGV, SIG_DFL); // another fault: the default, at its retry
}
struct FaultHandler {
  FaultHandler() {
    struct sigaction action = {};
    action.sa_sigaction = onFault;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, nullptr);
  }
} faultHandler;

size_t totalBytes() {
  const char *mb = std::getenv("FAKE_CUDA_TOTAL_MB");
  return (mb ? std::strtoull(mb, nullptr, 10) : 1024) << 20;
}
/// A PTX parameter's bytes: `.param .u64 .ptr .align 1 p0`, `.param .f32
/// x`, `.param .align 8 .b8 s[16]`.
size_t paramBytes(const std::string &param) {
  if (size_t open = param.find('['); open != std::string::npos)
    return std::strtoull(param.c_str() + open + 1, nullptr, 10);
  for (auto [type, bytes] : {std::pair<const char *, size_t>{"64", 8},
                             {"32", 4},
                             {"16", 2},
                             {"8 ", 1}})
    if (param.find(std::string(".") + "u" + type) != std::string::npos ||
        param.find(std::string(".") + "s" + type) != std::string::npos ||
        param.find(std::string(".") + "b" + type) != std::string::npos ||
        param.find(std::string(".") + "f" + type) != std::string::npos)
      return bytes;
  return 8;
}

/// FAKE_CUDA_TRACE's file, opened at the first kernel run (under lock).
FILE *traceFile() {
  static FILE *file = [] {
    const char *path = std::getenv("FAKE_CUDA_TRACE");
    return path ? std::fopen(path, "w") : nullptr;
  }();
  return file;
}
/// One line: the kernel, its grid, its parameters' values (under lock).
template <typename Value>
void trace(CUfunc_st *function, const unsigned dims[7], Value value) {
  FILE *file = traceFile();
  if (!file)
    return;
  std::fprintf(file, "%s grid %u %u %u block %u %u %u shared %u:",
               function->name.c_str(), dims[0], dims[1], dims[2], dims[3],
               dims[4], dims[5], dims[6]);
  for (size_t i = 0; i < function->paramSizes.size(); ++i) {
    const auto *bytes = static_cast<const unsigned char *>(value(i));
    if (function->pointerParams[i]) {
      char *p = nullptr;
      std::memcpy(&p, bytes, sizeof p);
      auto it = allocations.upper_bound(p);
      if (p && it != allocations.begin() &&
          p <= static_cast<char *>((--it)->first) + it->second)
        std::fprintf(file, " a%ld+%td", allocationNumbers[it->first],
                     p - static_cast<char *>(it->first));
      else
        std::fprintf(file, " %s", p ? "host" : "null");
      continue;
    }
    std::fprintf(file, " ");
    for (size_t b = 0; b < function->paramSizes[i]; ++b)
      std::fprintf(file, "%02x", bytes[b]);
  }
  std::fprintf(file, "\n");
}

/// A kernel run, launched or a graph's node: checked against the device's
/// limits, its pointers against managed memory; its allocations taken
/// from the host until the next wait (under lock). `value(i)` points at
/// parameter i's value.
template <typename Value>
CUresult run(CUfunc_st *function, const unsigned dims[7], Value value) {
  // A block's dynamic shared memory beyond 48 KB needs the kernel's limit
  // raised first.
  if (!dims[0] || !dims[1] || !dims[2] || dims[1] > 65535 || dims[2] > 65535 ||
      dims[3] * dims[4] * dims[5] > 1024 ||
      dims[6] > unsigned(function->dynamicSharedLimit))
    return kInvalidValue;
  // Every pointer a kernel gets must be in device-reachable memory: a host
  // pointer (the program's data, libc's heap) faults on a GPU without HMM.
  for (size_t i = 0; i < function->pointerParams.size(); ++i) {
    if (!function->pointerParams[i])
      continue;
    auto *p = *static_cast<char *const *>(value(i));
    auto it = allocations.upper_bound(p);
    bool reachable = !p;
    if (it != allocations.begin()) {
      --it;
      auto *start = static_cast<char *>(it->first);
      reachable = reachable || p <= start + it->second;
    }
    if (!reachable) {
      std::fprintf(stderr,
                   "fake-cuda: kernel %s, parameter %zu: %p is not "
                   "device memory\n",
                   function->name.c_str(), i, static_cast<void *>(p));
      return kIllegalAddress;
    }
  }
  trace(function, dims, value);
  // The kernel's memory is the device's until the host waits.
  for (size_t i = 0; i < function->pointerParams.size(); ++i) {
    if (!function->pointerParams[i])
      continue;
    auto *p = *static_cast<char *const *>(value(i));
    auto it = allocations.upper_bound(p);
    if (!p || it == allocations.begin())
      continue;
    --it;
    if (guarded.insert(it->first).second)
      mprotect(it->first, pageBytes(it->second), PROT_NONE);
  }
  ++launches;
  return kSuccess;
}

/// The device's compute capability in tens (90: 9.0): an H100's, or
/// FAKE_CUDA_COMPUTE_CAPABILITY's (8.6).
int computeCapability() {
  int major = 9, minor = 0;
  if (const char *given = std::getenv("FAKE_CUDA_COMPUTE_CAPABILITY"))
    std::sscanf(given, "%d.%d", &major, &minor);
  return major * 10 + minor;
}

/// What a test reads of the fake's counters, under its lock.
template <typename Read> long counted(Read read) {
  std::lock_guard<std::mutex> guard(lock);
  return read();
}
} // namespace

extern "C" {
CUresult cuInit(unsigned) { return kSuccess; }
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  if (device)
    return kInvalidValue;
  const char *multiprocessors = std::getenv("FAKE_CUDA_MULTIPROCESSORS");
  int major = computeCapability() / 10, minor = computeCapability() % 10;
  switch (attribute) {
  case 97: // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    *value = kSharedOptin;
    return kSuccess;
  case 16: // MULTIPROCESSOR_COUNT
    *value = multiprocessors ? std::atoi(multiprocessors) : 132;
    return kSuccess;
  case 75: // COMPUTE_CAPABILITY_MAJOR
    *value = major;
    return kSuccess;
  case 76: // COMPUTE_CAPABILITY_MINOR
    *value = minor;
    return kSuccess;
  default:
    return kInvalidValue;
  }
}
CUresult cuDeviceGetName(char *name, int length, int device) {
  if (device || length < 1)
    return kInvalidValue;
  std::snprintf(name, size_t(length), "%s", "Fake CUDA device");
  return kSuccess;
}
CUresult cuFuncSetAttribute(CUfunc_st *function, int attribute, int value) {
  if (attribute != 8 || value < 0 || value > kSharedOptin) // MAX_DYNAMIC_SHARED
    return kInvalidValue;
  std::lock_guard<std::mutex> guard(lock);
  function->dynamicSharedLimit = value;
  return kSuccess;
}
CUresult cuGetErrorName(CUresult r, const char **name) {
  static const std::map<CUresult, const char *> names = {
      {kSuccess, "CUDA_SUCCESS"},
      {kInvalidValue, "CUDA_ERROR_INVALID_VALUE"},
      {kOutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY"},
      {kInvalidPtx, "CUDA_ERROR_INVALID_PTX"},
      {kNotFound, "CUDA_ERROR_NOT_FOUND"},
      {kIllegalAddress, "CUDA_ERROR_ILLEGAL_ADDRESS"}};
  auto it = names.find(r);
  if (it == names.end())
    return kInvalidValue;
  *name = it->second;
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(CUctx_st **context, int) {
  *context = &theContext;
  return kSuccess;
}
CUresult cuCtxSetCurrent(CUctx_st *context) {
  return context == &theContext ? kSuccess : kInvalidValue;
}
CUresult cuModuleLoadDataEx(CUmod_st **module, const void *image,
                            unsigned count, int *options, void **values) {
  std::string text = static_cast<const char *>(image);
  // FAKE_CUDA_REJECT_PTX: a driver too old for the PTX it is given.
  bool reject = std::getenv("FAKE_CUDA_REJECT_PTX") != nullptr;
  // PTX for a later architecture than the device's, as a driver's JIT.
  size_t target = text.find("\n.target sm_");
  bool later = target != std::string::npos &&
               std::atoi(text.c_str() + target + 13) > computeCapability();
  if (reject || later || text.find(".version") == std::string::npos) {
    for (unsigned i = 0; i < count; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::strcpy(static_cast<char *>(values[i]),
                    reject  ? "ptxas fatal: Unsupported .version (fake)"
                    : later ? "ptxas fatal: SM version specified by .target "
                              "is higher than default SM version assumed"
                            : "ptxas fatal: not PTX (no .version directive)");
    return kInvalidPtx;
  }
  auto *m = new CUmod_st;
  ++modules;
  for (size_t at = text.find(".entry "); at != std::string::npos;
       at = text.find(".entry ", at + 1)) {
    size_t begin = at + 7, end = text.find_first_of("( \n", begin);
    CUfunc_st &kernel = m->kernels[text.substr(begin, end - begin)];
    kernel.name = text.substr(begin, end - begin);
    size_t open = text.find('(', end), close = text.find(')', open);
    std::string params = text.substr(open + 1, close - open - 1);
    for (size_t from = 0; from < params.size();) {
      size_t comma = params.find(',', from);
      std::string param = params.substr(from, comma - from);
      if (param.find(".param") != std::string::npos) {
        kernel.pointerParams.push_back(param.find(".ptr") != std::string::npos);
        kernel.paramSizes.push_back(paramBytes(param));
      }
      from = comma == std::string::npos ? params.size() : comma + 1;
    }
  }
  *module = m;
  return kSuccess;
}
CUresult cuModuleUnload(CUmod_st *module) {
  ++unloads;
  delete module;
  return kSuccess;
}
CUresult cuModuleGetFunction(CUfunc_st **function, CUmod_st *module,
                             const char *name) {
  auto kernel = module->kernels.find(name);
  if (kernel == module->kernels.end())
    return kNotFound;
  *function =
      &module->functions.try_emplace(name, kernel->second).first->second;
  ++lookups;
  return kSuccess;
}
CUresult cuLaunchKernel(CUfunc_st *function, unsigned gx, unsigned gy,
                        unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned sharedBytes, CUstream_st *, void **params,
                        void **) {
  if (!params)
    return kInvalidValue;
  std::lock_guard<std::mutex> guard(lock);
  unsigned dims[7] = {gx, gy, gz, bx, by, bz, sharedBytes};
  return run(function, dims,
             [&](size_t i) -> const void * { return params[i]; });
}
CUresult cuFuncGetParamInfo(CUfunc_st *function, size_t index, size_t *offset,
                            size_t *size) {
  if (index >= function->paramSizes.size())
    return kInvalidValue;
  size_t at = 0;
  for (size_t i = 0; i <= index; ++i) {
    size_t bytes = function->paramSizes[i], align = bytes < 8 ? bytes : 8;
    at = (at + align - 1) / align * align;
    if (i < index)
      at += bytes;
  }
  *offset = at;
  *size = function->paramSizes[index];
  return kSuccess;
}
CUresult cuGraphCreate(CUgraph_st **graph, unsigned flags) {
  if (flags)
    return kInvalidValue;
  *graph = new CUgraph_st;
  return kSuccess;
}
/// The node a kernel node's parameters make (the values copied, as the
/// driver copies them).
CUresult makeNode(const KernelNodeParams *p, CUgraphNode_st &node) {
  if (!p->function || p->extra || !p->kernelParams)
    return kInvalidValue;
  node.function = p->function;
  std::copy(p->dims, p->dims + 7, node.dims);
  node.values.clear();
  for (size_t i = 0; i < p->function->paramSizes.size(); ++i) {
    auto *from = static_cast<const char *>(p->kernelParams[i]);
    node.values.emplace_back(from, from + p->function->paramSizes[i]);
  }
  return kSuccess;
}
CUresult cuGraphAddKernelNode_v2(CUgraphNode_st **node, CUgraph_st *graph,
                                 CUgraphNode_st *const *dependencies,
                                 size_t count, const KernelNodeParams *p) {
  // Heed's graphs are chains: each node after the one added before it.
  if (count != (graph->nodes.empty() ? 0 : 1) ||
      (count && dependencies[0] != graph->nodes.back()))
    return kInvalidValue;
  auto made = std::make_unique<CUgraphNode_st>();
  if (CUresult r = makeNode(p, *made); r != kSuccess)
    return r;
  graph->nodes.push_back(made.release());
  *node = graph->nodes.back();
  return kSuccess;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec_st **exec, CUgraph_st *graph,
                                     unsigned long long flags) {
  if (flags)
    return kInvalidValue;
  auto *made = new CUgraphExec_st;
  for (CUgraphNode_st *node : graph->nodes) {
    made->from.push_back(node);
    made->nodes.push_back(*node);
  }
  *exec = made;
  std::lock_guard<std::mutex> guard(lock);
  ++graphsBuilt;
  return kSuccess;
}
CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec_st *exec,
                                           CUgraphNode_st *node,
                                           const KernelNodeParams *p) {
  auto at = std::find(exec->from.begin(), exec->from.end(), node);
  // (The driver allows no other kernel in an instantiated node.)
  if (at == exec->from.end() || p->function != node->function)
    return kInvalidValue;
  std::lock_guard<std::mutex> guard(lock);
  ++nodeUpdates;
  return makeNode(p, exec->nodes[size_t(at - exec->from.begin())]);
}
CUresult cuGraphLaunch(CUgraphExec_st *exec, CUstream_st *) {
  std::lock_guard<std::mutex> guard(lock);
  ++graphLaunches;
  for (CUgraphNode_st &node : exec->nodes)
    if (CUresult r = run(
            node.function, node.dims,
            [&](size_t i) -> const void * { return node.values[i].data(); });
        r != kSuccess)
      return r;
  return kSuccess;
}
CUresult cuGraphExecDestroy(CUgraphExec_st *exec) {
  delete exec;
  return kSuccess;
}
CUresult cuGraphDestroy(CUgraph_st *graph) {
  delete graph;
  return kSuccess;
}
CUresult cuStreamCreate(CUstream_st **stream, unsigned) {
  std::lock_guard<std::mutex> guard(lock);
  ++streams;
  *stream = &theStream;
  return kSuccess;
}
CUresult cuStreamSynchronize(CUstream_st *) {
  std::lock_guard<std::mutex> guard(lock);
  waitForKernels();
  return kSuccess;
}
CUresult cuStreamDestroy_v2(CUstream_st *) { return kSuccess; }
CUresult cuMemAllocManaged(unsigned long long *address, size_t bytes,
                           unsigned flags) {
  std::lock_guard<std::mutex> guard(lock);
  if (flags != 1 || !bytes)
    return kInvalidValue;
  if (allocated + bytes > totalBytes())
    return kOutOfMemory;
  void *p = mmap(nullptr, pageBytes(bytes), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return kOutOfMemory;
  allocations[p] = bytes;
  allocationNumbers[p] = allocationsMade++;
  allocated += bytes;
  *address = reinterpret_cast<uintptr_t>(p);
  return kSuccess;
}
CUresult cuMemFree_v2(unsigned long long address) {
  std::lock_guard<std::mutex> guard(lock);
  void *p = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  auto it = allocations.find(p);
  if (it == allocations.end())
    return kInvalidValue;
  // (Freeing waits for the kernels that use it.)
  waitForKernels();
  ++frees;
  allocated -= it->second;
  munmap(p, pageBytes(it->second));
  allocations.erase(it);
  allocationNumbers.erase(p);
  return kSuccess;
}
CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
  std::lock_guard<std::mutex> guard(lock);
  *total = totalBytes();
  *free = *total - allocated;
  return kSuccess;
}
CUresult cuMemcpy(unsigned long long dst, unsigned long long src,
                  size_t bytes) {
  {
    std::lock_guard<std::mutex> guard(lock);
    waitForKernels(); // a copy waits for the work before it
    ++copies;
  }
  std::memcpy(reinterpret_cast<void *>(static_cast<uintptr_t>(dst)),
              reinterpret_cast<void *>(static_cast<uintptr_t>(src)), bytes);
  return kSuccess;
}
// A copy to the host in stream order: the fake's kernels never run, so
// the work before it is done; it reads the source even while a launch
// guards it.
CUresult cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t bytes,
                              CUstream_st *) {
  std::lock_guard<std::mutex> guard(lock);
  auto *from = reinterpret_cast<char *>(static_cast<uintptr_t>(src));
  auto it = allocations.upper_bound(from);
  if (it == allocations.begin() ||
      from + bytes > static_cast<char *>((--it)->first) + it->second)
    return kInvalidValue;
  bool wasGuarded = guarded.count(it->first);
  if (wasGuarded)
    mprotect(it->first, pageBytes(it->second), PROT_READ);
  std::memcpy(dst, from, bytes);
  if (wasGuarded)
    mprotect(it->first, pageBytes(it->second), PROT_NONE);
  return kSuccess;
}
// A hint in stream order: the range must be in one allocation and the
// location a device or the host; nothing moves (all memory is the host's).
CUresult cuMemPrefetchAsync_v2(unsigned long long pointer, size_t bytes,
                               CUmemLocation_st where, unsigned flags,
                               CUstream_st *) {
  std::lock_guard<std::mutex> guard(lock);
  auto *from = reinterpret_cast<char *>(static_cast<uintptr_t>(pointer));
  auto it = allocations.upper_bound(from);
  if (it == allocations.begin() ||
      from + bytes > static_cast<char *>((--it)->first) + it->second ||
      (where.type != 1 && where.type != 2) || flags)
    return kInvalidValue;
  ++prefetches;
  return kSuccess;
}
CUresult cuMemAllocHost_v2(void **pointer, size_t bytes) {
  *pointer = std::malloc(bytes ? bytes : 1);
  return *pointer ? kSuccess : kOutOfMemory;
}
CUresult cuMemFreeHost(void *pointer) {
  std::free(pointer);
  return kSuccess;
}
// An event is the host time it was recorded at: the fake's work is the
// host's.
CUresult cuEventCreate(CUevent_st **event, unsigned) {
  *event = new CUevent_st;
  return kSuccess;
}
CUresult cuEventRecord(CUevent_st *event, CUstream_st *) {
  event->at = std::chrono::steady_clock::now();
  return kSuccess;
}
CUresult cuEventSynchronize(CUevent_st *) {
  std::lock_guard<std::mutex> guard(lock);
  waitForKernels(eventWaits);
  return kSuccess;
}
// Done at once (the fake's work is): querying is not waiting.
CUresult cuEventQuery(CUevent_st *) { return kSuccess; }
CUresult cuEventElapsedTime(float *ms, CUevent_st *begin, CUevent_st *end) {
  *ms = std::chrono::duration<float, std::milli>(end->at - begin->at).count();
  return kSuccess;
}
CUresult cuEventDestroy_v2(CUevent_st *event) {
  delete event;
  return kSuccess;
}

// What a test reads (dlsym), each under the fake's lock.
#define FAKE_CUDA_COUNTER(name, value)                                         \
  long name() {                                                                \
    return counted([] { return long(value); });                                \
  }
FAKE_CUDA_COUNTER(fakeCudaLaunches, launches)
FAKE_CUDA_COUNTER(fakeCudaStreams, streams)
FAKE_CUDA_COUNTER(fakeCudaLookups, lookups)
FAKE_CUDA_COUNTER(fakeCudaWaits, waits)
FAKE_CUDA_COUNTER(fakeCudaLiveAllocations, allocations.size())
FAKE_CUDA_COUNTER(fakeCudaGraphsBuilt, graphsBuilt)
FAKE_CUDA_COUNTER(fakeCudaGraphLaunches, graphLaunches)
FAKE_CUDA_COUNTER(fakeCudaNodeUpdates, nodeUpdates)
FAKE_CUDA_COUNTER(fakeCudaCopies, copies)
#undef FAKE_CUDA_COUNTER
}
