//===- DnnlVersion.cpp - The oneDNN library in use ------------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include <oneapi/dnnl/dnnl.h>

std::string heed::rt::oneDNNVersion() {
  const dnnl_version_t *v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}
