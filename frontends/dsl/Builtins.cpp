//===- Builtins.cpp - Built-in functions and layer kinds ------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"

#include "llvm/ADT/StringSwitch.h"

using namespace heed::dsl;

Builtin heed::dsl::lookupFunction(llvm::StringRef name) {
  return llvm::StringSwitch<Builtin>(name)
      .Case("softmax", Builtin::Softmax)
      .Case("tanh", Builtin::Tanh)
      .Case("sigmoid", Builtin::Sigmoid)
      .Case("relu", Builtin::Relu)
      .Case("gelu", Builtin::Gelu)
      .Case("exp", Builtin::Exp)
      .Case("repeat", Builtin::Repeat)
      .Case("concat", Builtin::Concat)
      .Case("permute", Builtin::Permute)
      .Case("sum", Builtin::Sum)
      .Case("mean", Builtin::Mean)
      .Case("max", Builtin::Max)
      .Case("squeeze", Builtin::Squeeze)
      .Case("dropout", Builtin::Dropout)
      .Case("argmax", Builtin::Argmax)
      .Case("dot", Builtin::Dot)
      .Case("attention", Builtin::Attention)
      .Case("zeros", Builtin::Zeros)
      .Case("positional_encoding", Builtin::PositionalEncoding)
      .Case("where", Builtin::Where)
      .Case("sqrt", Builtin::Sqrt)
      .Case("rsqrt", Builtin::Rsqrt)
      .Case("log", Builtin::Log)
      .Case("abs", Builtin::Abs)
      .Case("pow", Builtin::Pow)
      .Case("minimum", Builtin::Minimum)
      .Case("maximum", Builtin::Maximum)
      .Case("clip", Builtin::Clip)
      .Case("reshape", Builtin::Reshape)
      .Case("stack", Builtin::Stack)
      .Case("arange", Builtin::Arange)
      .Case("sequence_mask", Builtin::SequenceMask)
      .Case("take", Builtin::Take)
      .Case("topk", Builtin::TopK)
      .Case("cumsum", Builtin::Cumsum)
      .Case("max_pool1d", Builtin::MaxPool1D)
      .Case("avg_pool1d", Builtin::AvgPool1D)
      .Case("log_softmax", Builtin::LogSoftmax)
      .Case("choose", Builtin::Choose)
      .Default(Builtin::None);
}

Builtin heed::dsl::lookupLayerKind(llvm::StringRef name) {
  return llvm::StringSwitch<Builtin>(name)
      .Case("dense", Builtin::Dense)
      .Case("lstm", Builtin::Lstm)
      .Case("gru", Builtin::Gru)
      .Case("bidirectional", Builtin::Bidirectional)
      .Case("lstm_cell", Builtin::LstmCell)
      .Case("gru_cell", Builtin::GruCell)
      .Case("conv1d", Builtin::Conv1D)
      .Case("batch_norm", Builtin::BatchNorm)
      .Case("embedding", Builtin::Embedding)
      .Case("multi_head_attention", Builtin::MultiHeadAttention)
      .Case("glu", Builtin::Glu)
      .Case("layer_norm", Builtin::LayerNorm)
      .Case("transformer_encoder_layer", Builtin::TransformerEncoderLayer)
      .Default(Builtin::None);
}

bool heed::dsl::isActivationName(llvm::StringRef name) {
  return llvm::StringSwitch<bool>(name)
      .Cases({"none", "linear", "tanh", "sigmoid", "relu", "exp", "softmax",
              "gelu"},
             true)
      .Default(false);
}
