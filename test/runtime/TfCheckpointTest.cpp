//===- TfCheckpointTest.cpp - TensorFlow checkpoint names and checksums ---===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/TfCheckpoint.h"

#include <gtest/gtest.h>

using namespace heed::rt;

TEST(TfCheckpoint, Crc32cCheckValue) {
  // The CRC-32C check value (RFC 3720, B.4): "123456789".
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  // Continuing a checksum is the checksum of the whole.
  EXPECT_EQ(crc32c("6789", crc32c("12345")), crc32c("123456789"));
}

TEST(TfCheckpoint, WeightNamesFromObjectPaths) {
  auto name = [](const char *key) {
    return tfWeightName(key).value_or("<none>");
  };
  const char *v = "/.ATTRIBUTES/VARIABLE_VALUE";
  EXPECT_EQ(name((std::string("encoder/embedding/embeddings") + v).c_str()),
            "encoder.embedding.embeddings");
  // An RNN's cell and a TimeDistributed's layer hold the variables.
  EXPECT_EQ(name((std::string("encoder/gru/cell/kernel") + v).c_str()),
            "encoder.gru.kernel");
  EXPECT_EQ(name((std::string("head/layer/bias") + v).c_str()), "head.bias");
  EXPECT_EQ(
      name((std::string("bi/forward_layer/cell/recurrent_kernel") + v).c_str()),
      "bi.forward.recurrent_kernel");
  EXPECT_EQ(name((std::string("bi/backward_layer/cell/bias") + v).c_str()),
            "bi.backward.bias");
  // Keras 3's layers hold kernels and embeddings behind properties.
  EXPECT_EQ(name((std::string("decoder/fc/_kernel") + v).c_str()),
            "decoder.fc.kernel");
  EXPECT_EQ(name((std::string("encoder/embedding/_embeddings") + v).c_str()),
            "encoder.embedding.embeddings");
  EXPECT_EQ(name((std::string("decoder/fc/_kernel/proj") + v).c_str()),
            "decoder.fc._kernel.proj");
  // A scope named `cell` or `layer` elsewhere stays.
  EXPECT_EQ(name((std::string("cell/proj/kernel") + v).c_str()),
            "cell.proj.kernel");
  // Not a model's variable.
  EXPECT_EQ(name((std::string("optimizer/iter") + v).c_str()), "<none>");
  EXPECT_EQ(name((std::string("save_counter") + v).c_str()), "<none>");
  EXPECT_EQ(name((std::string("dense/kernel/.OPTIMIZER_SLOT/optimizer/m") + v)
                     .c_str()),
            "<none>");
  EXPECT_EQ(name("_CHECKPOINTABLE_OBJECT_GRAPH"), "<none>");
  EXPECT_EQ(name("dense/.ATTRIBUTES/OBJECT_CONFIG_JSON"), "<none>");
  EXPECT_EQ(name(""), "<none>");
}
