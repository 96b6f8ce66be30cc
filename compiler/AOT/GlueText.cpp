//===- GlueText.cpp - C text of a model library's glue --------------------===//
//
// Part of Heed. See GlueText.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/AOT/GlueText.h"

#include "llvm/ADT/StringExtras.h"

#include <set>

using namespace heed::aot;

std::string glue::quoted(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += char(c);
    else if (c >= 0x20 && c < 0x7f)
      out += char(c);
    else
      out += "\\" + llvm::utostr((c >> 6) & 7) + llvm::utostr((c >> 3) & 7) +
             llvm::utostr(c & 7);
  }
  return out + "\"";
}

std::string glue::identifier(const std::string &name) {
  static const std::set<std::string> keywords = {
      "auto",     "break",    "case",     "char",   "const",   "continue",
      "default",  "do",       "double",   "else",   "enum",    "extern",
      "float",    "for",      "goto",     "if",     "inline",  "int",
      "long",     "register", "restrict", "return", "short",   "signed",
      "sizeof",   "static",   "struct",   "switch", "typedef", "union",
      "unsigned", "void",     "volatile", "while",  "bool",    "true",
      "false"};
  return keywords.count(name) ? name + "_" : name;
}

std::string glue::parameterName(const LibraryInterface &lib,
                                const LibraryTensor &t) {
  std::string id = identifier(t.name);
  bool isInput =
      &t >= lib.inputs.data() && &t < lib.inputs.data() + lib.inputs.size();
  auto used = [&](const std::string &name, bool outputsToo) {
    for (auto &in : lib.inputs)
      if (identifier(in.name) == name)
        return true;
    if (outputsToo)
      for (auto &out : lib.outputs)
        if (&out != &t && identifier(out.name) == name)
          return true;
    return false;
  };
  if (isInput || !used(id, /*outputsToo=*/false))
    return id;
  do
    id += "_out";
  while (used(id, /*outputsToo=*/true));
  return id;
}

int64_t glue::elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string glue::list(const std::vector<int64_t> &values) {
  std::string out;
  for (int64_t v : values)
    out += (out.empty() ? "" : ", ") + std::to_string(v) + "LL";
  return out;
}

std::string glue::shapeText(const std::vector<int64_t> &shape) {
  std::string out;
  for (int64_t v : shape)
    out += (out.empty() ? "" : ", ") + std::to_string(v);
  return "[" + out + "]";
}

std::string glue::descriptor(const std::string &var, const std::string &pointer,
                             const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = int(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  std::string out = "struct heed_memref_" + std::to_string(shape.size()) + " " +
                    var + " = {(float *)" + pointer + ", (float *)" + pointer +
                    ", 0";
  if (!shape.empty())
    out += ", {" + list(shape) + "}, {" + list(strides) + "}";
  return out + "};\n";
}

std::string glue::cType(const LibraryTensor &t) {
  return t.dtype == "int64"   ? "int64_t"
         : t.dtype == "int32" ? "int32_t"
         : t.dtype == "bool"  ? "uint8_t"
                              : "float";
}

std::string glue::dtypeConstant(const LibraryTensor &t) {
  return t.dtype == "int64"   ? "HEED_RT_INT64"
         : t.dtype == "int32" ? "HEED_RT_INT32"
         : t.dtype == "bool"  ? "HEED_RT_BOOL"
                              : "HEED_RT_FLOAT32";
}

std::string glue::runParameters(const LibraryInterface &lib) {
  std::string out;
  for (auto &t : lib.inputs)
    out += (out.empty() ? "" : ", ") + std::string("const ") + cType(t) + " *" +
           parameterName(lib, t);
  for (auto &t : lib.outputs)
    out += (out.empty() ? "" : ", ") + cType(t) + " *" + parameterName(lib, t);
  return out.empty() ? "void" : out;
}

std::string glue::infoArray(const std::string &name,
                            const std::string &shapePrefix,
                            const std::vector<LibraryTensor> &tensors,
                            bool isStatic) {
  std::string out;
  for (size_t i = 0; i < tensors.size(); ++i)
    out += "static const int64_t " + shapePrefix + std::to_string(i) + "[" +
           std::to_string(std::max<size_t>(1, tensors[i].shape.size())) +
           "] = {" + (tensors[i].shape.empty() ? "0" : list(tensors[i].shape)) +
           "};\n";
  out += std::string(isStatic ? "static " : "") + "const heed_rt_tensor_info " +
         name + "[" + std::to_string(std::max<size_t>(1, tensors.size())) +
         "] = {";
  if (tensors.empty())
    out += "{0, 0, 0, HEED_RT_FLOAT32}";
  for (size_t i = 0; i < tensors.size(); ++i)
    out += std::string(i ? ",\n    " : "\n    ") + "{" +
           quoted(tensors[i].name) + ", " +
           std::to_string(tensors[i].shape.size()) + ", " + shapePrefix +
           std::to_string(i) + ", " + dtypeConstant(tensors[i]) + "}";
  return out + "};\n";
}

std::string glue::blocksText(const LibraryInterface &lib) {
  if (lib.blocks.size() <= 1)
    return "The batch runs as one block, on the calling thread.";
  std::string sizes;
  int64_t rows = 0;
  for (size_t b : lib.blocks) {
    sizes +=
        (sizes.empty() ? "" : " + ") + std::to_string(lib.variants[b].rows);
    rows += lib.variants[b].rows;
  }
  return "A batch of " + std::to_string(rows) + " rows runs as " +
         std::to_string(lib.blocks.size()) + " blocks (" + sizes +
         ") on up to\n * that many threads; results do not depend on the "
         "thread count.";
}
