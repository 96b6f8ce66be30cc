//===- DnnlEngine.h - The oneDNN CPU engine of the kernels ------*- C++ -*-===//
//
// Part of Heed. Internal to runtime/: one CPU engine for every kernel.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_DNNLENGINE_H
#define HEED_RUNTIME_DNNLENGINE_H

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <memory>
#include <unordered_map>

namespace heed::rt {

inline dnnl::engine &cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// Primitive attributes of every kernel: a caller-owned scratchpad. With
/// oneDNN's default (library-owned) scratchpad a primitive may only run on
/// the thread that created it, and two threads would share its scratch
/// memory; a plan is created once and run from any thread.
inline dnnl::primitive_attr kernelAttributes() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

/// Runs `primitive` on the calling thread's stream with a scratchpad of the
/// calling thread (`args` are this call's own memory objects), and waits.
inline void executeOnThisThread(const dnnl::primitive &primitive,
                                const dnnl::memory::desc &scratchpad,
                                std::unordered_map<int, dnnl::memory> &args) {
  struct Scratch {
    dnnl::stream stream{cpuEngine()};
    std::unique_ptr<char, decltype(&std::free)> bytes{nullptr, &std::free};
    size_t capacity = 0;
  };
  thread_local Scratch scratch;
  size_t need = scratchpad.get_size();
  if (need > scratch.capacity) {
    size_t rounded = (need + 63) / 64 * 64;
    scratch.bytes.reset(static_cast<char *>(std::aligned_alloc(64, rounded)));
    if (!scratch.bytes)
      throw std::bad_alloc();
    scratch.capacity = rounded;
  }
  if (need)
    args[DNNL_ARG_SCRATCHPAD] =
        dnnl::memory(scratchpad, cpuEngine(), scratch.bytes.get());
  primitive.execute(scratch.stream, args);
  scratch.stream.wait();
}

} // namespace heed::rt

#endif
