//===- GlueSource.cpp - C source of a model library's entry points --------===//
//
// Part of Heed. Every shape is fixed when a library is made, so the glue
// spells each memref descriptor out as a constant initializer: no shape
// arithmetic happens at run time.
//
//===----------------------------------------------------------------------===//

#include "compiler/AOT/GlueSource.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace heed;
using namespace heed::aot;

namespace {

/// `s` as a C string literal.
std::string quoted(const std::string &s) {
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

/// A model name used as a C identifier (names are [A-Za-z_][A-Za-z0-9_]*
/// in the language; a C keyword gets a trailing underscore).
std::string identifier(const std::string &name) {
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

/// The C parameter name of input or output `t` of MODEL_run: its
/// identifier, with `_out` appended to an output that shares an input's
/// name (`lengths` in, `lengths` out).
std::string parameterName(const LibraryInterface &lib, const LibraryTensor &t) {
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

int64_t elements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string list(const std::vector<int64_t> &values) {
  std::string out;
  for (int64_t v : values)
    out += (out.empty() ? "" : ", ") + std::to_string(v) + "LL";
  return out;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string out;
  for (int64_t v : shape)
    out += (out.empty() ? "" : ", ") + std::to_string(v);
  return "[" + out + "]";
}

/// A descriptor of the memref type for `shape` over `pointer`.
std::string descriptor(const std::string &var, const std::string &pointer,
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

/// The C element type of a tensor's buffers.
std::string cType(const LibraryTensor &t) {
  return t.dtype == "int64"   ? "int64_t"
         : t.dtype == "int32" ? "int32_t"
         : t.dtype == "bool"  ? "uint8_t"
                              : "float";
}

std::string dtypeConstant(const LibraryTensor &t) {
  return t.dtype == "int64"   ? "HEED_RT_INT64"
         : t.dtype == "int32" ? "HEED_RT_INT32"
         : t.dtype == "bool"  ? "HEED_RT_BOOL"
                              : "HEED_RT_FLOAT32";
}

/// The parameters of MODEL_run: a typed pointer per input and output.
std::string runParameters(const LibraryInterface &lib) {
  std::string out;
  for (auto &t : lib.inputs)
    out += (out.empty() ? "" : ", ") + std::string("const ") + cType(t) + " *" +
           parameterName(lib, t);
  for (auto &t : lib.outputs)
    out += (out.empty() ? "" : ", ") + cType(t) + " *" + parameterName(lib, t);
  return out.empty() ? "void" : out;
}

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

std::string infoArray(const std::string &name, const std::string &shapePrefix,
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

/// How a run splits its batch, for the header.
std::string blocksText(const LibraryInterface &lib) {
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

} // namespace

std::string aot::generateHeader(const LibraryInterface &lib) {
  const std::string &m = lib.model;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* " << m << ".h: the C interface of model '" << m << "', compiled\n"
     << " * ahead of time by `heed compile` from " << lib.origin << ".\n"
     << " * Generated; do not edit. Link the library with libheed_runtime.\n"
     << " *\n"
     << " * Tensors are dense row-major float32 with the shapes below.\n"
     << " *   " << m
     << "_prepare(\"weights.safetensors\");  once: binds and "
        "prepares the weights\n"
     << " *   " << m
     << "_run(inputs..., outputs...);      then any number "
        "of times, from\n"
     << " *                                    several threads at once\n"
     << " *   " << m << "_release();\n"
     << " * prepare, prepare_from and release wait for the runs in flight; "
        "runs\n"
     << " * that start meanwhile wait for them. A prepare that fails keeps "
        "the\n * weights bound before it (both sets are in memory while it "
        "reads; release\n * first where that is too much).\n"
     << " * Each function but release returns 0, or 1 with " << m
     << "_last_error()\n * saying why (per thread). */\n"
     << "#ifndef HEED_MODEL_" << m << "_H\n#define HEED_MODEL_" << m
     << "_H\n\n#include \"heed_runtime.h\"\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  auto shapes = [&](const char *kind, const std::vector<LibraryTensor> &ts) {
    for (auto &t : ts) {
      os << "/* " << kind << " '" << t.name << "': " << t.dtype << " "
         << t.declared << " = " << shapeText(t.shape) << ", "
         << elements(t.shape) << " elements. */\n";
      std::string name = m + "_" + parameterName(lib, t);
      os << "static const int64_t " << name << "_shape["
         << std::max<size_t>(1, t.shape.size()) << "] = {"
         << (t.shape.empty() ? "0" : list(t.shape)) << "};\n";
      os << "#define " << name << "_elements ((int64_t)" << elements(t.shape)
         << ")\n";
    }
  };
  shapes("Input", lib.inputs);
  shapes("Output", lib.outputs);
  os << "\n/* The weights, with their PyTorch state_dict names, in the order "
     << m << "_prepare_from\n * takes them. */\n"
     << "#define " << m << "_num_weights " << lib.weights.size() << "\n"
     << "extern const heed_rt_tensor_info " << m << "_weights[];\n\n"
     << "/* Reads the weights from a .safetensors, .npz or .npy file or a "
        "torch.save\n   checkpoint (.pt, .pth, .bin, .ckpt). */\n"
     << "int " << m << "_prepare(const char *weights_path);\n"
     << "/* Copies the weights from caller memory, one buffer per weight. */\n"
     << "int " << m << "_prepare_from(const float *const *weights);\n"
     << "/* Threads a run may use: 0 (the default) is the cores the process "
        "may use.\n * "
     << blocksText(lib) << "\n * Must not run while a run does. */\n"
     << "int " << m << "_set_threads(int threads);\n"
     << "/* Reads each float32 input in place and writes each float32 output\n"
     << " * in place; integer inputs and outputs go through float32 copies. "
        "*/\n"
     << "int " << m << "_run(" << runParameters(lib) << ");\n"
     << "void " << m << "_release(void);\n"
     << "const char *" << m << "_last_error(void);\n"
     << "/* Names, shapes and entry points taking arrays, for generic "
        "callers. */\n"
     << "const heed_rt_model_info *" << m << "_info(void);\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return s;
}

std::string aot::generateGlue(const LibraryInterface &lib,
                              const std::string &headerName) {
  const std::string &m = lib.model;
  std::string s;
  llvm::raw_string_ostream os(s);
  bool split = lib.blocks.size() > 1;
  auto weightPointer = [](size_t i) {
    return "heed_weights[" + std::to_string(i) + "]";
  };
  auto preparedOf = [](size_t v) {
    return "heed_prepared_" + std::to_string(v);
  };
  /// Prepared weight i of variant v.
  auto preparedPointer = [&](size_t v) {
    return [&, v](size_t i) {
      return preparedOf(v) + "[" + std::to_string(i) + "]";
    };
  };
  auto contextOf = [&](size_t v) { return lib.variants[v].contextSymbol; };
  os << "/* The C glue of model '" << m << "' (" << lib.origin
     << "). Generated by heed compile. */\n"
     << "#include <stdint.h>\n#include <string.h>\n\n#include \"" << headerName
     << "\"\n\n";
  // One descriptor type per rank in use.
  std::set<size_t> ranks;
  for (auto *group : {&lib.inputs, &lib.weights, &lib.outputs})
    for (auto &t : *group)
      ranks.insert(t.shape.size());
  for (auto &v : lib.variants)
    for (auto &t : v.prepared)
      ranks.insert(t.shape.size());
  for (size_t r : ranks) {
    os << "struct heed_memref_" << r << " { float *allocated, *aligned; "
       << "int64_t offset;";
    if (r)
      os << " int64_t sizes[" << r << "], strides[" << r << "];";
    os << " };\n";
  }
  auto parameters =
      [&](std::initializer_list<const std::vector<LibraryTensor> *> groups) {
        std::string out;
        for (auto *g : groups)
          for (auto &t : *g)
            out += (out.empty() ? "" : ", ") +
                   std::string("struct heed_memref_") +
                   std::to_string(t.shape.size()) + " *";
        return out.empty() ? std::string("void") : out;
      };
  os << "\n";
  for (size_t v = 0; v < lib.variants.size(); ++v) {
    const LibraryVariant &variant = lib.variants[v];
    os << "/* Blocks of " << variant.rows << " rows. */\n"
       << "extern void " << variant.runEntry << "("
       << parameters(
              {&lib.inputs, &lib.weights, &variant.prepared, &lib.outputs})
       << ");\n";
    if (!variant.prepareEntry.empty())
      os << "extern void " << variant.prepareEntry << "("
         << parameters({&lib.weights, &variant.prepared}) << ");\n";
    os << "extern int64_t " << contextOf(v) << "[1];\n"
       << "static float *" << preparedOf(v) << "["
       << std::max<size_t>(1, variant.prepared.size()) << "];\n";
  }
  os << "\n"
     << infoArray("inputs_info", "input_shape_", lib.inputs, true)
     << infoArray("outputs_info", "output_shape_", lib.outputs, true)
     << infoArray(m + "_weights", "weight_shape_", lib.weights, false)
     << "\nstatic float *heed_weights["
     << std::max<size_t>(1, lib.weights.size()) << "];\n"
     << "static int heed_ready;\n"
     << "static unsigned heed_threads; /* 0: the cores the process may use */"
        "\n"
     << "static void *heed_lock; /* runs share it; (re)binding takes it "
        "alone */\n\n";

  os << "const char *" << m
     << "_last_error(void) { return heed_rt_last_error(); }\n\n"
     << "static void release_unlocked(void) {\n  size_t i;\n";
  for (size_t v = 0; v < lib.variants.size(); ++v)
    os << "  if (" << contextOf(v) << "[0])\n"
       << "    heed_rt_context_free((void *)(intptr_t)" << contextOf(v)
       << "[0]);\n  " << contextOf(v) << "[0] = 0;\n"
       << "  for (i = 0; i < " << lib.variants[v].prepared.size()
       << "; ++i) {\n    heed_rt_free(" << preparedOf(v) << "[i]);\n    "
       << preparedOf(v) << "[i] = NULL;\n  }\n";
  os << "  for (i = 0; i < " << lib.weights.size()
     << "; ++i) {\n    heed_rt_free(heed_weights[i]);\n    heed_weights[i] = "
        "NULL;\n  }\n"
     << "  heed_ready = 0;\n}\n\n";

  // The weight preparation of every variant, once per bound weights (what
  // it allocated before a failure, rebind frees).
  os << "static int finish_prepare(void) {\n  void *context;\n";
  for (size_t v = 0; v < lib.variants.size(); ++v) {
    const LibraryVariant &variant = lib.variants[v];
    for (size_t i = 0; i < variant.prepared.size(); ++i)
      os << "  if (!(" << preparedOf(v) << "[" << i << "] = heed_rt_alloc("
         << elements(variant.prepared[i].shape) << "LL)))\n    return 1;\n";
    os << "  if (!(context = heed_rt_context_new()))\n    return 1;\n  "
       << contextOf(v) << "[0] = (int64_t)(intptr_t)context;\n";
    if (variant.prepareEntry.empty())
      continue;
    os << "  {\n    unsigned heed_saved;\n";
    CallArguments call(os);
    call.add("w", lib.weights, weightPointer);
    call.add("p", variant.prepared, preparedPointer(v));
    os << "    heed_saved = heed_rt_enter();\n    " << variant.prepareEntry
       << "(" << call.arguments() << ");\n    heed_rt_leave(heed_saved);\n  }\n"
       << "  if (heed_rt_context_check(context, " << quoted(m) << "))\n"
       << "    return 1;\n";
  }
  os << "  heed_ready = 1;\n  return heed_rt_ok();\n}\n\n";

  // What prepare binds, moved aside while it binds new weights: a failed
  // prepare puts it back (the weights bound before stay bound), a
  // successful one frees it.
  os << "struct heed_bound {\n  float *weights["
     << std::max<size_t>(1, lib.weights.size()) << "];\n";
  for (size_t v = 0; v < lib.variants.size(); ++v)
    os << "  float *prepared_" << v << "["
       << std::max<size_t>(1, lib.variants[v].prepared.size())
       << "];\n  int64_t context_" << v << ";\n";
  os << "  int ready;\n};\n\n"
     << "/* Swaps what is bound with *b. */\n"
     << "static void swap_bound(struct heed_bound *b) {\n"
     << "  struct heed_bound t = *b;\n"
     << "  memcpy(b->weights, heed_weights, sizeof heed_weights);\n"
     << "  memcpy(heed_weights, t.weights, sizeof heed_weights);\n";
  for (size_t v = 0; v < lib.variants.size(); ++v)
    os << "  memcpy(b->prepared_" << v << ", " << preparedOf(v) << ", sizeof "
       << preparedOf(v) << ");\n  memcpy(" << preparedOf(v) << ", t.prepared_"
       << v << ", sizeof " << preparedOf(v) << ");\n  b->context_" << v << " = "
       << contextOf(v) << "[0];\n  " << contextOf(v) << "[0] = t.context_" << v
       << ";\n";
  os << "  b->ready = heed_ready;\n  heed_ready = t.ready;\n}\n\n"
     << "/* Binds new weights by bind(arg) with the old ones moved aside; "
        "when it\n * fails, frees what it bound and puts the old ones back. "
        "*/\n"
     << "static int rebind(int (*bind)(const void *), const void *arg) {\n"
     << "  struct heed_bound old;\n  memset(&old, 0, sizeof old);\n"
     << "  swap_bound(&old);\n  if (bind(arg)) {\n    release_unlocked();\n"
     << "    swap_bound(&old);\n"
     << "    return 1;\n  }\n  swap_bound(&old);\n  release_unlocked();\n"
     << "  swap_bound(&old);\n  return heed_rt_ok();\n}\n\n";

  // The public functions that change the weights hold the lock alone; their
  // bodies run unlocked.
  os << "static int prepare_unlocked(const void *arg) {\n"
     << "  const char *weights_path = (const char *)arg;\n"
     << "  if (!weights_path)\n    return heed_rt_fail("
     << quoted(m + "_prepare: weights_path is NULL") << ");\n"
     << "  if (heed_rt_load_weights(weights_path, " << lib.weights.size()
     << ", " << m
     << "_weights, heed_weights))\n    return 1;\n  return "
        "finish_prepare();\n}\n\n";

  os << "static int prepare_from_unlocked(const void *arg) {\n"
     << "  const float *const *w = (const float *const *)arg;\n";
  if (!lib.weights.empty()) {
    os << "  if (!w)\n    return heed_rt_fail("
       << quoted(m + "_prepare_from: weights is NULL") << ");\n";
    for (size_t i = 0; i < lib.weights.size(); ++i)
      os << "  if (!w[" << i << "])\n    return heed_rt_fail("
         << quoted(m + "_prepare_from: weight '" + lib.weights[i].name +
                   "' is NULL")
         << ");\n  if (!(heed_weights[" << i << "] = heed_rt_alloc("
         << elements(lib.weights[i].shape) << "LL)))\n    return 1;\n"
         << "  memcpy(heed_weights[" << i << "], w[" << i << "], "
         << elements(lib.weights[i].shape) << "ULL * sizeof(float));\n";
    if (lib.device)
      for (size_t i = 0; i < lib.weights.size(); ++i)
        os << "  heed_rt_prefetch(heed_weights[" << i << "], "
           << elements(lib.weights[i].shape) << "LL, 1);\n";
  }
  os << "  return finish_prepare();\n}\n\n";

  os << "int " << m << "_prepare(const char *weights_path) {\n"
     << "  int heed_status;\n  heed_rt_lock(&heed_lock, 1);\n"
     << "  heed_status = rebind(prepare_unlocked, weights_path);\n"
     << "  heed_rt_unlock(&heed_lock, 1);\n  return heed_status;\n}\n\n"
     << "int " << m << "_prepare_from(const float *const *w) {\n"
     << "  int heed_status;\n  heed_rt_lock(&heed_lock, 1);\n"
     << "  heed_status = rebind(prepare_from_unlocked, w);\n"
     << "  heed_rt_unlock(&heed_lock, 1);\n  return heed_status;\n}\n\n"
     << "void " << m << "_release(void) {\n  heed_rt_lock(&heed_lock, 1);\n"
     << "  release_unlocked();\n  heed_rt_unlock(&heed_lock, 1);\n}\n\n";

  os << "int " << m << "_set_threads(int threads) {\n"
     << "  if (threads < 0)\n    return heed_rt_fail("
     << quoted(m + "_set_threads: threads must be 0 (the cores the process "
                   "may use) or more")
     << ");\n  __atomic_store_n(&heed_threads, (unsigned)threads, "
        "__ATOMIC_RELAXED);\n  return heed_rt_ok();\n}\n\n";

  // One block: rows [row, row + rows) of every input and output, through
  // the variant compiled for its size; a kernel failure is kept for the
  // caller's thread.
  os << "struct heed_job {\n  float *in["
     << std::max<size_t>(1, lib.inputs.size()) << "], *out["
     << std::max<size_t>(1, lib.outputs.size()) << "];\n  char error["
     << lib.blocks.size() << "][512];\n};\n\n";
  auto blockShape = [&](const LibraryTensor &t, int64_t rows) {
    std::vector<int64_t> shape = t.shape;
    if (split)
      shape[0] = rows;
    return shape;
  };
  auto rowElements = [&](const LibraryTensor &t) {
    return split ? elements(t.shape) / t.shape[0] : int64_t(0);
  };
  for (size_t v = 0; v < lib.variants.size(); ++v) {
    const LibraryVariant &variant = lib.variants[v];
    os << "static void heed_run_" << v
       << "(struct heed_job *job, int64_t row) {\n  unsigned heed_saved;\n  "
          "{\n";
    auto blockTensors = [&](const std::vector<LibraryTensor> &group) {
      std::vector<LibraryTensor> out = group;
      for (auto &t : out)
        t.shape = blockShape(t, variant.rows);
      return out;
    };
    auto inputs = blockTensors(lib.inputs), outputs = blockTensors(lib.outputs);
    CallArguments call(os);
    call.add("i", inputs, [&](size_t i) {
      return "(job->in[" + std::to_string(i) + "] + row * " +
             std::to_string(rowElements(lib.inputs[i])) + "LL)";
    });
    call.add("w", lib.weights, weightPointer);
    call.add("p", variant.prepared, preparedPointer(v));
    call.add("o", outputs, [&](size_t i) {
      return "(job->out[" + std::to_string(i) + "] + row * " +
             std::to_string(rowElements(lib.outputs[i])) + "LL)";
    });
    os << "    heed_saved = heed_rt_enter();\n    " << variant.runEntry << "("
       << call.arguments() << ");\n    heed_rt_leave(heed_saved);\n  }\n}\n\n";
  }
  std::string variantOf, rowOf;
  int64_t row = 0;
  for (size_t b = 0; b < lib.blocks.size(); ++b) {
    variantOf += (b ? ", " : "") + std::to_string(lib.blocks[b]);
    rowOf += (b ? ", " : "") + std::to_string(row) + "LL";
    row += lib.variants[lib.blocks[b]].rows;
  }
  os << "static void heed_block(void *context, unsigned b) {\n"
     << "  static const unsigned char variant[" << lib.blocks.size() << "] = {"
     << variantOf << "};\n"
     << "  static const int64_t row[" << lib.blocks.size() << "] = {" << rowOf
     << "};\n"
     << "  struct heed_job *job = (struct heed_job *)context;\n"
     << "  int64_t *slot = NULL;\n  switch (variant[b]) {\n";
  for (size_t v = 0; v < lib.variants.size(); ++v)
    os << "  case " << v << ":\n    heed_run_" << v << "(job, row[b]);\n"
       << "    slot = " << contextOf(v) << ";\n    break;\n";
  os << "  }\n  if (slot && heed_rt_context_check((void *)(intptr_t)slot[0], "
     << quoted(m) << ")) {\n"
     << "    strncpy(job->error[b], heed_rt_last_error(), "
        "sizeof job->error[b] - 1);\n"
     << "    job->error[b][sizeof job->error[b] - 1] = 0;\n  }\n}\n\n";

  // The typed run: integer inputs converted into float32 copies (checked),
  // integer outputs computed into float32 copies and converted back; for a
  // device, float32 ones copied into and out of the runtime's buffers.
  os << "static int run_unlocked(" << runParameters(lib) << ") {\n"
     << "  int heed_status = 1;\n";
  auto staged = [&](const LibraryTensor &t) {
    return lib.device || t.dtype != "float32";
  };
  auto floatOf = [&](size_t i, bool input) {
    const LibraryTensor &t = input ? lib.inputs[i] : lib.outputs[i];
    if (!staged(t))
      return parameterName(lib, t);
    return std::string(input ? "heed_f" : "heed_g") + std::to_string(i);
  };
  auto bytesOf = [&](const LibraryTensor &t) {
    return std::to_string(elements(t.shape)) + "LL * sizeof(float)";
  };
  for (size_t i = 0; i < lib.inputs.size(); ++i)
    if (staged(lib.inputs[i]))
      os << "  float *heed_f" << i << " = NULL;\n";
  for (size_t i = 0; i < lib.outputs.size(); ++i)
    if (staged(lib.outputs[i]))
      os << "  float *heed_g" << i << " = NULL;\n";
  os << "  if (!heed_ready)\n    return heed_rt_fail("
     << quoted(m + "_run: no weights bound (call " + m + "_prepare first)")
     << ");\n";
  for (auto *group : {&lib.inputs, &lib.outputs})
    for (auto &t : *group)
      os << "  if (!" << parameterName(lib, t) << ")\n    return heed_rt_fail("
         << quoted(m +
                   "_run: " + (group == &lib.inputs ? "input '" : "output '") +
                   t.name + "' is NULL")
         << ");\n";
  // On the device: this run's buffers at the last run's addresses, where
  // they can be (its loop steps' CUDA graphs replayed unchanged).
  if (lib.device)
    os << "  heed_rt_run_begin();\n";
  for (size_t i = 0; i < lib.inputs.size(); ++i) {
    const LibraryTensor &t = lib.inputs[i];
    if (t.dtype != "float32")
      os << "  if (heed_rt_to_float(" << parameterName(lib, t)
         << ", &inputs_info[" << i << "], &heed_f" << i
         << "))\n    goto heed_done;\n";
    else if (staged(t))
      os << "  if (!(heed_f" << i << " = heed_rt_alloc(" << elements(t.shape)
         << "LL)))\n    goto heed_done;\n  memcpy(heed_f" << i << ", "
         << parameterName(lib, t) << ", " << bytesOf(t) << ");\n";
  }
  for (size_t i = 0; i < lib.outputs.size(); ++i)
    if (staged(lib.outputs[i]))
      os << "  if (!(heed_g" << i << " = heed_rt_alloc("
         << elements(lib.outputs[i].shape) << "LL)))\n    goto heed_done;\n";
  // On the device: the staged buffers there in bulk before the run, the
  // outputs back after it.
  auto prefetchStaged = [&](bool inputs, bool toDevice) {
    const auto &tensors = inputs ? lib.inputs : lib.outputs;
    for (size_t i = 0; i < tensors.size(); ++i)
      os << "  heed_rt_prefetch(" << floatOf(i, inputs) << ", "
         << elements(tensors[i].shape) << "LL, " << (toDevice ? 1 : 0)
         << ");\n";
  };
  if (lib.device) {
    prefetchStaged(/*inputs=*/true, /*toDevice=*/true);
    prefetchStaged(/*inputs=*/false, /*toDevice=*/true);
  }
  for (auto &r : lib.ranges)
    os << "  if (heed_rt_check_range(" << floatOf(r.input, true)
       << ", &inputs_info[" << r.input << "], " << quoted(r.role) << ", "
       << r.min << "LL, " << r.max << "LL))\n    goto heed_done;\n";
  os << "  {\n    struct heed_job job;\n    unsigned b;\n";
  for (size_t i = 0; i < lib.inputs.size(); ++i)
    os << "    job.in[" << i << "] = (float *)" << floatOf(i, true) << ";\n";
  for (size_t i = 0; i < lib.outputs.size(); ++i)
    os << "    job.out[" << i << "] = " << floatOf(i, false) << ";\n";
  os << "    for (b = 0; b < " << lib.blocks.size()
     << "; ++b)\n      job.error[b][0] = 0;\n"
     << "    heed_rt_parallel_for(" << lib.blocks.size()
     << ", __atomic_load_n(&heed_threads, __ATOMIC_RELAXED), heed_block, "
        "&job);\n"
     << "    for (b = 0; b < " << lib.blocks.size() << "; ++b)\n"
     << "      if (job.error[b][0]) {\n        heed_rt_fail(job.error[b]);\n"
     << "        goto heed_done;\n      }\n  }\n";
  if (lib.device) {
    prefetchStaged(/*inputs=*/false, /*toDevice=*/false);
    os << "  heed_rt_wait();\n";
  }
  for (size_t i = 0; i < lib.outputs.size(); ++i) {
    const LibraryTensor &t = lib.outputs[i];
    if (t.dtype != "float32")
      os << "  heed_rt_to_int64(heed_g" << i << ", " << elements(t.shape)
         << "LL, " << parameterName(lib, t) << ");\n";
    else if (staged(t))
      os << "  memcpy(" << parameterName(lib, t) << ", heed_g" << i << ", "
         << bytesOf(t) << ");\n";
  }
  os << "  heed_status = heed_rt_ok();\nheed_done:\n";
  for (size_t i = 0; i < lib.inputs.size(); ++i)
    if (staged(lib.inputs[i]))
      os << "  heed_rt_free(heed_f" << i << ");\n";
  for (size_t i = 0; i < lib.outputs.size(); ++i)
    if (staged(lib.outputs[i]))
      os << "  heed_rt_free(heed_g" << i << ");\n";
  os << "  return heed_status;\n}\n\n";
  // Runs share the lock: weights change only between them.
  os << "int " << m << "_run(" << runParameters(lib) << ") {\n"
     << "  int heed_status;\n  heed_rt_lock(&heed_lock, 0);\n"
     << "  heed_status = run_unlocked(";
  bool firstArgument = true;
  for (const auto *group : {&lib.inputs, &lib.outputs})
    for (const LibraryTensor &t : *group)
      os << (firstArgument ? "" : ", ") << parameterName(lib, t),
          firstArgument = false;
  os << ");\n  heed_rt_unlock(&heed_lock, 0);\n  return heed_status;\n}\n\n";

  // The same over arrays, and the description of the library.
  os << "static int run_arrays(const void *const *in, void *const *out) {\n";
  if (!lib.inputs.empty())
    os << "  if (!in)\n    return heed_rt_fail("
       << quoted(m + ": inputs is NULL") << ");\n";
  if (!lib.outputs.empty())
    os << "  if (!out)\n    return heed_rt_fail("
       << quoted(m + ": outputs is NULL") << ");\n";
  os << "  return " << m << "_run(";
  bool first = true;
  for (size_t i = 0; i < lib.inputs.size(); ++i)
    os << (first ? "" : ", ") << "(const " << cType(lib.inputs[i]) << " *)in["
       << i << "]",
        first = false;
  for (size_t i = 0; i < lib.outputs.size(); ++i)
    os << (first ? "" : ", ") << "(" << cType(lib.outputs[i]) << " *)out[" << i
       << "]",
        first = false;
  os << ");\n}\n\n"
     << "const heed_rt_model_info *" << m << "_info(void) {\n"
     << "  static const heed_rt_model_info info = {" << quoted(m) << ", "
     << lib.inputs.size() << ", " << lib.outputs.size() << ", "
     << lib.weights.size() << ", inputs_info, outputs_info, " << m
     << "_weights, " << m << "_prepare, " << m << "_prepare_from, run_arrays, "
     << m << "_release, " << m << "_set_threads};\n  return &info;\n}\n";
  return s;
}
