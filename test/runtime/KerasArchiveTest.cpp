//===- KerasArchiveTest.cpp - Keras 3 archive naming ----------------------===//
//
// Part of Heed. The group names of a .keras archive's layers follow Keras'
// naming.to_snake_case; the expected names are what Python's `re` makes of
// the same class names with that function's three substitutions.
//
//===----------------------------------------------------------------------===//

#include "runtime/KerasArchive.h"

#include <gtest/gtest.h>

using namespace heed::rt;

TEST(KerasArchive, SnakeCaseAsKerasNamesLayerGroups) {
  const std::pair<const char *, const char *> cases[] = {
      {"BatchNormalization", "batch_normalization"},
      {"LSTM", "lstm"},
      {"GRUCell", "gru_cell"},
      {"LSTMCell", "lstm_cell"},
      {"Conv1D", "conv1d"},
      {"MultiHeadAttention", "multi_head_attention"},
      {"TimeDistributed", "time_distributed"},
      {"InputLayer", "input_layer"},
      {"EinsumDense", "einsum_dense"},
      {"Conv1DTranspose", "conv1d_transpose"},
      {"PReLU", "p_re_lu"},
      {"ReLU", "re_lu"},
      {"GlobalAveragePooling1D", "global_average_pooling1d"},
      {"aBC", "a_bc"},
      {"ABCDef", "abc_def"},
      {"My_Layer2D", "my__layer2d"},
      {"My-Layer", "my_layer"},
      {"aAbB", "a_ab_b"},
      {"X", "x"},
      {"", ""},
  };
  for (const auto &[className, expected] : cases)
    EXPECT_EQ(kerasSnakeCase(className), expected) << className;
}
