//===- CAPI.cpp - The C API of Heed (heed.h) ------------------------------===//
//
// Part of Heed. Each entry point checks its arguments, calls the Session,
// and turns every error (and every exception) into HEED_ERROR with the
// message kept per thread for heed_last_error.
//
//===----------------------------------------------------------------------===//

#include "compiler/CAPI/heed.h"

#include "compiler/Driver/GpuTarget.h"
#include "compiler/Driver/Session.h"
#include "runtime/Limits.h"
#include "runtime/Numbers.h"
#include "runtime/TensorFile.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

using namespace heed;

struct heed_model {
  std::unique_ptr<Session> session;
  rt::WeightOptions weightOptions;
};

namespace {

thread_local std::string lastError;

int failWith(std::string message) {
  lastError = std::move(message);
  return HEED_ERROR;
}

/// Runs `body`, turning exceptions into errors.
template <typename F> int guarded(F body) {
  try {
    lastError.clear();
    return body();
  } catch (const std::bad_alloc &) {
    return failWith("out of memory");
  } catch (...) {
    return failWith("internal error (an exception inside Heed)");
  }
}

dsl::ParamOverrides paramMap(size_t n, const char *const *names,
                             const double *values, std::string &error) {
  dsl::ParamOverrides params;
  if (n && (!names || !values)) {
    error = "num_params is " + std::to_string(n) +
            " but the names or values are NULL";
    return params;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!names[i]) {
      error = "parameter name " + std::to_string(i) + " is NULL";
      return params;
    }
    // Text that reads back as the same double in any locale.
    params[names[i]] = rt::formatDouble(values[i]);
  }
  return params;
}

/// The compiler options of `text` (NULL: none) over the defaults; for the
/// cuda target, the device's architecture and multiprocessors where they
/// are not given.
llvm::Expected<PipelineOptions> pipelineOptions(const char *text) {
  PipelineOptions options;
  llvm::StringSet<> given;
  if (text)
    if (std::string problem = parsePipelineOptions(text, options, &given);
        !problem.empty())
      return llvm::createStringError("options '" + std::string(text) +
                                     "': " + problem);
  auto info = resolveGpuTarget(options, given.contains("gpu-chip"),
                               given.contains("gpu-multiprocessors"),
                               /*runs=*/true, "");
  if (!info)
    return llvm::createStringError("options '" + std::string(text ? text : "") +
                                   "': " + llvm::toString(info.takeError()));
  return options;
}

heed_model *loadWith(
    llvm::function_ref<llvm::Expected<std::unique_ptr<Session>>(
        const dsl::ParamOverrides &, const PipelineOptions &, std::string *)>
        load,
    size_t n, const char *const *names, const double *values,
    const char *optionText) {
  heed_model *result = nullptr;
  guarded([&] {
    std::string error;
    auto params = paramMap(n, names, values, error);
    if (!error.empty())
      return failWith(error);
    auto options = pipelineOptions(optionText);
    if (!options)
      return failWith(llvm::toString(options.takeError()));
    std::string diagnostics;
    auto session = load(params, *options, &diagnostics);
    if (!session)
      return failWith(diagnostics + llvm::toString(session.takeError()));
    auto model = std::make_unique<heed_model>();
    model->session = std::move(*session);
    // A model without layers takes no weights.
    if (model->session->expectedWeights().empty())
      if (auto err = model->session->setWeights({}, "(no weights)"))
        return failWith(llvm::toString(std::move(err)));
    result = model.release();
    return HEED_OK;
  });
  return result;
}

const dsl::Shape *inputShape(const heed_model *m, size_t i) {
  if (!m || i >= m->session->model().inputs.size())
    return nullptr;
  return &m->session->model().inputs[i].shape;
}

const dsl::Shape *outputShape(const heed_model *m, size_t i) {
  if (!m || i >= m->session->model().outputs.size())
    return nullptr;
  return &m->session->model().outputs[i].value->type;
}

/// The inputs as tensors over the caller's memory (no copies), checked
/// against the declared ranks.
/// `inputs` NULL: shapes only (heed_compile), over no data.
int borrowInputs(heed_model *m, const float *const *inputs,
                 const int64_t *const *shapes, rt::NamedTensors &out) {
  const auto &decls = m->session->model().inputs;
  if (!decls.empty() && !shapes)
    return failWith("input_shapes is NULL");
  for (size_t i = 0; i < decls.size(); ++i) {
    if (!shapes[i])
      return failWith("input '" + decls[i].name + "': its shape is NULL");
    std::vector<int64_t> shape(shapes[i], shapes[i] + decls[i].shape.size());
    for (int64_t d : shape)
      if (d < 0 || d > limits::kMaxDimension)
        return failWith("input '" + decls[i].name + "': shape " +
                        rt::shapeToString(shape) + " has a bad dimension");
    if (auto err = limits::checkTensorSize(shape, sizeof(float),
                                           "input '" + decls[i].name + "'"))
      return failWith(llvm::toString(std::move(err)));
    float *data = inputs ? const_cast<float *>(inputs[i]) : nullptr;
    if (inputs && !data && rt::checkedNumElements(shape) > 0)
      return failWith("input '" + decls[i].name + "': its buffer is NULL");
    out.emplace_back(decls[i].name, rt::Tensor::borrow(data, shape));
  }
  return HEED_OK;
}

/// The arguments of a run checked and its inputs borrowed (as float32;
/// heed_run_typed replaces the integer ones).
int runInputs(heed_model *model, const void *const *inputs,
              const int64_t *const *shapes, rt::NamedTensors &in) {
  if (!model)
    return failWith("the model is NULL");
  if (!inputs && heed_num_inputs(model))
    return failWith("inputs is NULL");
  return borrowInputs(model, reinterpret_cast<const float *const *>(inputs),
                      shapes, in);
}

/// Runs `model` on checked inputs into the caller's outputs (`output(i)`:
/// float32, or int64 for an integer output when `typed`).
int runOn(heed_model *model, rt::NamedTensors &in,
          llvm::function_ref<void *(size_t)> output, bool haveOutputs,
          bool typed);

} // namespace

extern "C" {

const char *heed_last_error(void) { return lastError.c_str(); }

const char *heed_version(void) { return HEED_VERSION_STRING; }

heed_model *heed_load(const char *path, size_t num_params,
                      const char *const *param_names,
                      const double *param_values) {
  return heed_load_with_options(path, num_params, param_names, param_values,
                                nullptr);
}

heed_model *heed_load_source(const char *source, const char *name,
                             size_t num_params, const char *const *param_names,
                             const double *param_values) {
  return heed_load_source_with_options(source, name, num_params, param_names,
                                       param_values, nullptr);
}

heed_model *heed_load_with_options(const char *path, size_t num_params,
                                   const char *const *param_names,
                                   const double *param_values,
                                   const char *options) {
  if (!path) {
    failWith("path is NULL");
    return nullptr;
  }
  return loadWith(
      [&](const dsl::ParamOverrides &params, const PipelineOptions &pipeline,
          std::string *diagnostics) {
        return Session::load(path, pipeline, params, diagnostics);
      },
      num_params, param_names, param_values, options);
}

heed_model *heed_load_source_with_options(const char *source, const char *name,
                                          size_t num_params,
                                          const char *const *param_names,
                                          const double *param_values,
                                          const char *options) {
  if (!source) {
    failWith("source is NULL");
    return nullptr;
  }
  return loadWith(
      [&](const dsl::ParamOverrides &params, const PipelineOptions &pipeline,
          std::string *diagnostics) {
        return Session::loadSource(source, name ? name : "<source>", pipeline,
                                   params, diagnostics);
      },
      num_params, param_names, param_values, options);
}

void heed_free(heed_model *model) { delete model; }

int heed_bind_weights_file(heed_model *model, const char *path) {
  return guarded([&] {
    if (!model || !path)
      return failWith("the model or the path is NULL");
    auto tensors = rt::loadTensorFile(path, rt::ValueErrors::WhenUsed);
    if (!tensors)
      return failWith(llvm::toString(tensors.takeError()));
    if (auto err = model->session->setWeights(std::move(*tensors), path,
                                              model->weightOptions))
      return failWith(llvm::toString(std::move(err)));
    return HEED_OK;
  });
}

int heed_bind_weights(heed_model *model, size_t count, const char *const *names,
                      const float *const *data, const size_t *ranks,
                      const int64_t *const *shapes) {
  return guarded([&] {
    if (!model)
      return failWith("the model is NULL");
    if (count && (!names || !data || !ranks || !shapes))
      return failWith("count is " + std::to_string(count) +
                      " but names, data, ranks or shapes is NULL");
    rt::NamedTensors tensors;
    for (size_t i = 0; i < count; ++i) {
      if (!names[i] || (!shapes[i] && ranks[i]))
        return failWith("weight " + std::to_string(i) + ": NULL name or shape");
      if (ranks[i] > limits::kMaxRank)
        return failWith(std::string("weight '") + names[i] + "': rank " +
                        std::to_string(ranks[i]) + " is above the limit");
      std::vector<int64_t> shape(shapes[i], shapes[i] + ranks[i]);
      if (auto err = limits::checkTensorSize(
              shape, sizeof(float), std::string("weight '") + names[i] + "'"))
        return failWith(llvm::toString(std::move(err)));
      rt::Tensor t(shape);
      if (t.numElements() && !data[i])
        return failWith(std::string("weight '") + names[i] + "': data is NULL");
      if (t.numElements())
        std::memcpy(t.data(), data[i], t.numElements() * sizeof(float));
      tensors.emplace_back(names[i], std::move(t));
    }
    if (auto err = model->session->setWeights(
            std::move(tensors), "(caller memory)", model->weightOptions))
      return failWith(llvm::toString(std::move(err)));
    return HEED_OK;
  });
}

int heed_set_weight_options(heed_model *model, const char *strip_prefix,
                            int ignore_extra) {
  return guarded([&] {
    if (!model)
      return failWith("the model is NULL");
    model->weightOptions.stripPrefix = strip_prefix ? strip_prefix : "";
    model->weightOptions.ignoreExtra = ignore_extra != 0;
    return HEED_OK;
  });
}

int heed_set_threads(heed_model *model, unsigned threads) {
  if (!model)
    return failWith("the model is NULL");
  model->session->setThreads(threads);
  return HEED_OK;
}

size_t heed_num_inputs(const heed_model *m) {
  return m ? m->session->model().inputs.size() : 0;
}
size_t heed_num_outputs(const heed_model *m) {
  return m ? m->session->model().outputs.size() : 0;
}
const char *heed_input_name(const heed_model *m, size_t i) {
  return inputShape(m, i) ? m->session->model().inputs[i].name.c_str()
                          : nullptr;
}
const char *heed_output_name(const heed_model *m, size_t i) {
  return outputShape(m, i) ? m->session->model().outputs[i].name.c_str()
                           : nullptr;
}
heed_dtype heed_input_dtype(const heed_model *m, size_t i) {
  if (!inputShape(m, i))
    return HEED_FLOAT32;
  const std::string &type = m->session->model().inputs[i].elementType;
  return type == "i64"    ? HEED_INT64
         : type == "i32"  ? HEED_INT32
         : type == "bool" ? HEED_BOOL
                          : HEED_FLOAT32;
}
heed_dtype heed_output_dtype(const heed_model *m, size_t i) {
  return outputShape(m, i) && m->session->model().outputs[i].integer
             ? HEED_INT64
             : HEED_FLOAT32;
}
size_t heed_input_rank(const heed_model *m, size_t i) {
  auto *s = inputShape(m, i);
  return s ? s->size() : 0;
}
size_t heed_output_rank(const heed_model *m, size_t i) {
  auto *s = outputShape(m, i);
  return s ? s->size() : 0;
}
static int64_t dimOf(const dsl::Shape *s, size_t axis) {
  if (!s || axis >= s->size())
    return -1;
  return (*s)[axis].isKnown() ? (*s)[axis].size : -1;
}
static const char *dimName(const dsl::Shape *s, size_t axis) {
  if (!s || axis >= s->size() || (*s)[axis].isKnown())
    return nullptr;
  return (*s)[axis].symbol.c_str();
}
int64_t heed_input_dim(const heed_model *m, size_t i, size_t axis) {
  return dimOf(inputShape(m, i), axis);
}
int64_t heed_output_dim(const heed_model *m, size_t i, size_t axis) {
  return dimOf(outputShape(m, i), axis);
}
const char *heed_input_dim_name(const heed_model *m, size_t i, size_t axis) {
  return dimName(inputShape(m, i), axis);
}
const char *heed_output_dim_name(const heed_model *m, size_t i, size_t axis) {
  return dimName(outputShape(m, i), axis);
}

int heed_compile(heed_model *model, const int64_t *const *input_shapes,
                 int64_t *const *output_shapes) {
  return guarded([&] {
    if (!model)
      return failWith("the model is NULL");
    rt::NamedTensors inputs;
    if (int rc = borrowInputs(model, nullptr, input_shapes, inputs))
      return rc;
    auto shapes = model->session->outputShapes(inputs);
    if (!shapes)
      return failWith(llvm::toString(shapes.takeError()));
    if (auto err = model->session->compileFor(inputs))
      return failWith(llvm::toString(std::move(err)));
    if (output_shapes)
      for (size_t i = 0; i < shapes->size(); ++i) {
        if (!output_shapes[i])
          return failWith("output_shapes[" + std::to_string(i) + "] is NULL");
        std::copy((*shapes)[i].begin(), (*shapes)[i].end(), output_shapes[i]);
      }
    return HEED_OK;
  });
}

int heed_run(heed_model *model, const float *const *inputs,
             const int64_t *const *input_shapes, float *const *outputs) {
  return guarded([&] {
    rt::NamedTensors in;
    if (int rc = runInputs(model, reinterpret_cast<const void *const *>(inputs),
                           input_shapes, in))
      return rc;
    // Float buffers for inputs declared i64/i32/bool: integers, exactly.
    const auto &decls = model->session->model().inputs;
    for (size_t i = 0; i < decls.size(); ++i) {
      if (!decls[i].isInteger())
        continue;
      const rt::Tensor &t = in[i].second;
      for (int64_t e = 0; e < t.numElements(); ++e)
        if (t[e] != std::floor(t[e]) || std::fabs(t[e]) > rt::kMaxExactInteger)
          return failWith("input '" + decls[i].name + "' is declared " +
                          decls[i].elementType + ", but element " +
                          std::to_string(e) + " is " + std::to_string(t[e]) +
                          ", not an integer float32 holds exactly");
      in[i].second.setElementType(rt::ElementType::I64);
    }
    return runOn(
        model, in, [&](size_t i) -> void * { return outputs[i]; },
        outputs != nullptr, /*typed=*/false);
  });
}

int heed_run_typed(heed_model *model, const void *const *inputs,
                   const int64_t *const *input_shapes, void *const *outputs) {
  return guarded([&] {
    rt::NamedTensors in;
    if (int rc = runInputs(model, inputs, input_shapes, in))
      return rc;
    // Integer inputs: converted into float32 copies, checked on the way.
    for (size_t i = 0; i < in.size(); ++i) {
      heed_dtype type = heed_input_dtype(model, i);
      if (type == HEED_FLOAT32)
        continue;
      rt::ElementType element = type == HEED_INT64   ? rt::ElementType::I64
                                : type == HEED_INT32 ? rt::ElementType::I32
                                                     : rt::ElementType::Bool;
      rt::Tensor t(in[i].second.shape());
      const char *src = reinterpret_cast<const char *>(inputs[i]);
      if (auto err = rt::decodeElements(element, src, t.numElements(), t.data(),
                                        "input '" + in[i].first + "'", 0))
        return failWith(llvm::toString(std::move(err)));
      t.setElementType(element);
      in[i].second = std::move(t);
    }
    return runOn(
        model, in, [&](size_t i) -> void * { return outputs[i]; },
        outputs != nullptr, /*typed=*/true);
  });
}

} // extern "C"

namespace {
int runOn(heed_model *model, rt::NamedTensors &in,
          llvm::function_ref<void *(size_t)> output, bool haveOutputs,
          bool typed) {
  auto shapes = model->session->outputShapes(in);
  if (!shapes)
    return failWith(llvm::toString(shapes.takeError()));
  if (!haveOutputs && !shapes->empty())
    return failWith("outputs is NULL");
  rt::NamedTensors out;
  for (size_t i = 0; i < shapes->size(); ++i) {
    const std::string &name = model->session->model().outputs[i].name;
    if (!output(i) && rt::checkedNumElements((*shapes)[i]) > 0)
      return failWith("output '" + name + "': its buffer is NULL");
    // Integer outputs of a typed run go through a float32 copy.
    if (typed && heed_output_dtype(model, i) == HEED_INT64)
      out.emplace_back(name, rt::Tensor((*shapes)[i]));
    else
      out.emplace_back(name, rt::Tensor::borrow(static_cast<float *>(output(i)),
                                                (*shapes)[i]));
  }
  if (auto err = model->session->runInto(in, out))
    return failWith(llvm::toString(std::move(err)));
  for (size_t i = 0; i < out.size(); ++i)
    if (typed && heed_output_dtype(model, i) == HEED_INT64) {
      auto *dst = static_cast<int64_t *>(output(i));
      for (int64_t e = 0; e < out[i].second.numElements(); ++e)
        dst[e] = rt::floatToInt64(out[i].second[e]);
    }
  return HEED_OK;
}
} // namespace
