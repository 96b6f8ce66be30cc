//===- FuzzKeras3.cpp - libFuzzer harness for Keras 3 weights-only files --===//
//
// Part of Heed. An HDF5 file read as Keras 3's save_weights writes one and
// bound to a `weights keras` model with a layer of each class such a file's
// groups are matched by (compiler/Driver/Keras3Positions.h), the Keras
// layouts then converted (KerasWeights.h). Errors are fine; crashes, leaks
// and hangs are not.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"
#include "runtime/Hdf5Weights.h"

#include <cstdint>
#include <cstdlib>

using namespace heed;

namespace {
/// test/Integration/Inputs/keras3_weights_only.heed and the date
/// translator's layers (a Bidirectional, an LSTM cell, Dense layers of one
/// shape twice, a LayerNormalization), whatever the model computes.
const char *const kModel = R"(model fuzz_keras3(VOCAB = 12, T = 11)
weights keras
input ids: i64[B, T]
input s: [B, 64]
input c: [B, 64]
layer emb = embedding(VOCAB, 5)
layer conv = conv1d(8, 3)
layer bn_conv = batch_norm()
layer rnn = gru(6, return_sequences=1)
layer bn_rnn = batch_norm()
layer head = dense(2)
layer pre = bidirectional(lstm(32, return_sequences=1), merge=concat)
layer cell = lstm_cell(64)
layer same1 = dense(4)
layer same2 = dense(4)
layer ln = layer_norm(eps=1e-3)
h = head(bn_rnn(rnn(bn_conv(conv(emb(ids))))))
a = pre(emb(ids))
s2, c2 = cell(sum(a, axis=1), s, c)
output y = h
output z = ln(same2(same1(s2)))
)";

Session &session() {
  static std::unique_ptr<Session> made = [] {
    auto loaded = Session::loadSource(kModel, "fuzz-keras3.heed", {});
    if (!loaded) {
      llvm::errs() << llvm::toString(loaded.takeError()) << "\n";
      std::abort();
    }
    return std::move(*loaded);
  }();
  return *made;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto tensors = rt::parseHdf5Weights(bytes, "fuzz.weights.h5");
  if (!tensors) {
    llvm::consumeError(tensors.takeError());
    return 0;
  }
  if (auto err = session().setWeights(std::move(*tensors), "fuzz.weights.h5"))
    llvm::consumeError(std::move(err));
  return 0;
}
