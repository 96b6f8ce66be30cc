//===- DnnlEngine.h - The oneDNN CPU engine of the kernels ------*- C++ -*-===//
//
// Part of Heed. Internal to runtime/: one CPU engine for every kernel.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_DNNLENGINE_H
#define HEED_RUNTIME_DNNLENGINE_H

#include <oneapi/dnnl/dnnl.hpp>

namespace heed::rt {

inline dnnl::engine &cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

} // namespace heed::rt

#endif
