//===- GlueSource.h - A model library's C entry points ----------*- C++ -*-===//
//
// Part of Heed. An ahead-of-time model library is the model's compiled code
// (an object file whose entry points take MLIR memref descriptors) plus C
// glue that gives it a typed C interface: MODEL_prepare (bind weights, run
// the weight preparation once), MODEL_run (one float pointer per input and
// output), MODEL_release, MODEL_last_error and MODEL_info. This file writes
// that glue and the header applications include; it knows nothing of MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_AOT_GLUESOURCE_H
#define HEED_COMPILER_AOT_GLUESOURCE_H

#include <cstdint>
#include <string>
#include <vector>

namespace heed::aot {

struct LibraryTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::string declared; // the shape as the model declares it: "[B, 30]"
  /// float32, or int64/int32/bool for declared integer inputs and integer
  /// outputs (int64), which the glue converts to and from float32.
  std::string dtype = "float32";
};

/// An input whose values the model constrains (token ids, lengths).
struct LibraryRange {
  size_t input;
  std::string role;
  int64_t min, max;
};

/// The model compiled for one block size: a batch runs as blocks of rows
/// (Session::blockRows), each through the variant compiled for its size.
struct LibraryVariant {
  int64_t rows = 0;         // the batch rows of one block
  std::string runEntry;     // symbol of the model's C interface
  std::string prepareEntry; // symbol of the preparation's; empty: none
  std::string contextSymbol;
  std::vector<LibraryTensor> prepared;
};

/// Everything the glue and the header need to know about one model
/// compiled for fixed dims.
struct LibraryInterface {
  std::string model;  // the model's name: the prefix of every symbol
  std::string origin; // "examples/x/model.heed (B=4)", for comments
  std::vector<LibraryTensor> inputs, weights, outputs;
  std::vector<LibraryRange> ranges;
  /// One or two block sizes, and the variant of each block in batch order;
  /// with more than one block every input and output has the batch rows
  /// as its first axis.
  std::vector<LibraryVariant> variants;
  std::vector<size_t> blocks;
  /// Compiled for --target=cuda: the kernels reach only managed memory, so
  /// every input and output goes through a buffer of the runtime's
  /// (heed_rt_alloc, managed in libheed_cuda_runtime), copied once per run.
  bool device = false;
};

/// The header applications include (MODEL.h).
std::string generateHeader(const LibraryInterface &library);
/// The C glue, compiled into the library; includes `headerName`.
std::string generateGlue(const LibraryInterface &library,
                         const std::string &headerName);

} // namespace heed::aot

#endif
