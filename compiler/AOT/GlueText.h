//===- GlueText.h - C text of a model library's glue ------------*- C++ -*-===//
//
// Part of Heed. The pieces of C text that the glue and the header of a
// model library (GlueSource.h) are made of: literals, identifiers, memref
// descriptors, tensor tables.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_AOT_GLUETEXT_H
#define HEED_COMPILER_AOT_GLUETEXT_H

#include "compiler/AOT/GlueSource.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace heed::aot::glue {

/// `s` as a C string literal.
std::string quoted(const std::string &s);
/// A model name used as a C identifier (names are [A-Za-z_][A-Za-z0-9_]*
/// in the language; a C keyword gets a trailing underscore).
std::string identifier(const std::string &name);
/// The C parameter name of input or output `t` of MODEL_run: its
/// identifier, with `_out` appended to an output that shares an input's
/// name (`lengths` in, `lengths` out).
std::string parameterName(const LibraryInterface &lib, const LibraryTensor &t);

/// The number of elements of `shape`.
int64_t elements(const std::vector<int64_t> &shape);
/// `values` as C long long literals: "2LL, 3LL".
std::string list(const std::vector<int64_t> &values);
/// `shape` for comments: "[2, 3]".
std::string shapeText(const std::vector<int64_t> &shape);
/// A descriptor of the memref type for `shape` over `pointer`.
std::string descriptor(const std::string &var, const std::string &pointer,
                       const std::vector<int64_t> &shape);

/// The C element type of a tensor's buffers.
std::string cType(const LibraryTensor &t);
/// The heed_rt_dtype constant of a tensor.
std::string dtypeConstant(const LibraryTensor &t);
/// The parameters of MODEL_run: a typed pointer per input and output.
std::string runParameters(const LibraryInterface &lib);
/// A heed_rt_tensor_info array `name` describing `tensors`, with their
/// shape arrays named `shapePrefix<i>`.
std::string infoArray(const std::string &name, const std::string &shapePrefix,
                      const std::vector<LibraryTensor> &tensors, bool isStatic);
/// How a run splits its batch, for the header.
std::string blocksText(const LibraryInterface &lib);

/// The memref descriptors of one call of compiled code, as local
/// variables `heed_<prefix><i>`, and the argument list that passes them.
class CallArguments {
public:
  explicit CallArguments(llvm::raw_ostream &os) : os(os) {}
  /// One descriptor per tensor of `group`, over `pointer(i)`.
  void add(const char *prefix, const std::vector<LibraryTensor> &group,
           llvm::function_ref<std::string(size_t)> pointer) {
    for (size_t i = 0; i < group.size(); ++i) {
      std::string var = "heed_" + std::string(prefix) + std::to_string(i);
      os << "    " << descriptor(var, pointer(i), group[i].shape);
      list += (list.empty() ? "&" : ", &") + var;
    }
  }
  const std::string &arguments() const { return list; }

private:
  llvm::raw_ostream &os;
  std::string list;
};

} // namespace heed::aot::glue

#endif
