//===- ExampleLoader.h - Examples for the driver tests ----------*- C++ -*-===//
//
// Part of Heed. Loads an example model with its weights and inputs, and
// compares outputs bit for bit; shared by the GoogleTests in test/Driver.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_TEST_DRIVER_EXAMPLELOADER_H
#define HEED_TEST_DRIVER_EXAMPLELOADER_H

#include "compiler/Driver/Session.h"
#include "runtime/TensorFile.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstring>

namespace heed::test {

inline std::string examplePath(const std::string &name, const std::string &file) {
  return std::string(HEED_SOURCE_DIR) + "/examples/" + name + "/" + file;
}

/// The example's model with its weights, and its inputs (NAME.npy, or in
/// lower case, next to the model for every declared input).
struct LoadedExample {
  std::unique_ptr<Session> session;
  rt::NamedTensors inputs;
};

inline LoadedExample load(const std::string &name, PipelineOptions options,
                          const std::string &file = "model.heed") {
  LoadedExample e;
  auto session = Session::load(examplePath(name, file), options);
  if (!session) {
    ADD_FAILURE() << llvm::toString(session.takeError());
    return e;
  }
  e.session = std::move(*session);
  std::string weights = examplePath(name, "weights.safetensors");
  rt::NamedTensors tensors;
  if (llvm::sys::fs::exists(weights)) {
    auto loaded = rt::loadTensorFile(weights);
    if (!loaded) {
      ADD_FAILURE() << llvm::toString(loaded.takeError());
      return e;
    }
    tensors = std::move(*loaded);
  }
  if (auto err = e.session->setWeights(std::move(tensors), weights)) {
    ADD_FAILURE() << llvm::toString(std::move(err));
    return e;
  }
  for (auto &in : e.session->model().inputs) {
    std::string file = examplePath(name, in.name + ".npy");
    if (!llvm::sys::fs::exists(file))
      file = examplePath(name, llvm::StringRef(in.name).lower() + ".npy");
    auto t = rt::loadTensorFile(file);
    if (!t) {
      ADD_FAILURE() << llvm::toString(t.takeError());
      return e;
    }
    e.inputs.emplace_back(in.name, std::move((*t)[0].second));
  }
  return e;
}

inline bool identical(const rt::NamedTensors &a, const rt::NamedTensors &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].second.shape() != b[i].second.shape() ||
        std::memcmp(a[i].second.data(), b[i].second.data(),
                    a[i].second.numElements() * sizeof(float)) != 0)
      return false;
  return true;
}

} // namespace heed::test

#endif // HEED_TEST_DRIVER_EXAMPLELOADER_H
