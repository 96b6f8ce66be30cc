//===- HeedModule.cpp - The `heed._heed` Python extension
//------------------===//
//
// Part of Heed. A thin pybind11 layer over the C API (heed.h): one `Model`
// class holding a heed_model handle, every failure raised as `heed.Error`
// with Heed's own message. Argument handling that is easier in Python
// (keyword inputs, dtype conversion, PyTorch tensors) lives in
// heed/__init__.py; this file only sees C-contiguous float32 arrays.
//
//===----------------------------------------------------------------------===//

#include "heed.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

/// Raised (as heed.Error) with the calling thread's last Heed error.
struct HeedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(int status) {
  if (status != HEED_OK)
    throw HeedError(heed_last_error());
}

using FloatArray = py::array_t<float, py::array::c_style>;

/// A model's input or output: name, dtype name and dims (an int, or the
/// symbol's name for a symbolic dimension).
py::tuple spec(const heed_model *m, size_t i, bool input) {
  size_t rank = input ? heed_input_rank(m, i) : heed_output_rank(m, i);
  py::list dims;
  for (size_t axis = 0; axis < rank; ++axis) {
    int64_t d =
        input ? heed_input_dim(m, i, axis) : heed_output_dim(m, i, axis);
    if (d >= 0)
      dims.append(py::int_(d));
    else
      dims.append(py::str(input ? heed_input_dim_name(m, i, axis)
                                : heed_output_dim_name(m, i, axis)));
  }
  const char *name = input ? heed_input_name(m, i) : heed_output_name(m, i);
  heed_dtype type = input ? heed_input_dtype(m, i) : heed_output_dtype(m, i);
  const char *dtype = type == HEED_INT64   ? "int64"
                      : type == HEED_INT32 ? "int32"
                      : type == HEED_BOOL  ? "bool"
                                           : "float32";
  return py::make_tuple(py::str(name), py::str(dtype), py::tuple(dims));
}

class Model {
public:
  explicit Model(heed_model *handle) : handle(handle) {}
  ~Model() { heed_free(handle); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  static std::unique_ptr<Model> load(const std::string &path,
                                     const std::vector<std::string> &names,
                                     const std::vector<double> &values,
                                     const std::string &options) {
    auto cnames = cStrings(names);
    heed_model *m =
        heed_load_with_options(path.c_str(), names.size(), cnames.data(),
                               values.data(), options.c_str());
    if (!m)
      throw HeedError(heed_last_error());
    return std::make_unique<Model>(m);
  }

  static std::unique_ptr<Model>
  loadSource(const std::string &source, const std::string &name,
             const std::vector<std::string> &names,
             const std::vector<double> &values, const std::string &options) {
    auto cnames = cStrings(names);
    heed_model *m = heed_load_source_with_options(
        source.c_str(), name.c_str(), names.size(), cnames.data(),
        values.data(), options.c_str());
    if (!m)
      throw HeedError(heed_last_error());
    return std::make_unique<Model>(m);
  }

  void bindWeightsFile(const std::string &path) {
    int status;
    {
      py::gil_scoped_release release; // a bind waits for runs in flight
      status = heed_bind_weights_file(handle, path.c_str());
    }
    check(status);
  }

  /// `tensors`: (name, C-contiguous float32 array) pairs; Heed copies them.
  void
  bindWeights(const std::vector<std::pair<std::string, FloatArray>> &tensors) {
    std::vector<const char *> names;
    std::vector<const float *> data;
    std::vector<size_t> ranks;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<const int64_t *> shapePtrs;
    for (auto &[name, array] : tensors) {
      names.push_back(name.c_str());
      data.push_back(array.data());
      ranks.push_back(size_t(array.ndim()));
      shapes.emplace_back(array.shape(), array.shape() + array.ndim());
    }
    for (auto &s : shapes)
      shapePtrs.push_back(s.data());
    int status;
    {
      py::gil_scoped_release release; // `tensors` keeps the arrays alive
      status = heed_bind_weights(handle, tensors.size(), names.data(),
                                 data.data(), ranks.data(), shapePtrs.data());
    }
    check(status);
  }

  void setThreads(unsigned threads) {
    check(heed_set_threads(handle, threads));
  }
  void setWeightOptions(const std::string &prefix, bool ignoreExtra) {
    check(heed_set_weight_options(handle, prefix.c_str(), ignoreExtra));
  }

  py::list inputs() const {
    py::list out;
    for (size_t i = 0; i < heed_num_inputs(handle); ++i)
      out.append(spec(handle, i, /*input=*/true));
    return out;
  }
  py::list outputs() const {
    py::list out;
    for (size_t i = 0; i < heed_num_outputs(handle); ++i)
      out.append(spec(handle, i, /*input=*/false));
    return out;
  }

  /// Compiles for these input shapes (cached); the outputs' shapes.
  std::vector<std::vector<int64_t>>
  compile(const std::vector<std::vector<int64_t>> &inputShapes) {
    checkInputCount(inputShapes.size());
    std::vector<const int64_t *> in;
    for (size_t i = 0; i < inputShapes.size(); ++i) {
      if (inputShapes[i].size() != heed_input_rank(handle, i))
        throw HeedError("input '" + std::string(heed_input_name(handle, i)) +
                        "': a shape of rank " +
                        std::to_string(inputShapes[i].size()) +
                        ", the model declares rank " +
                        std::to_string(heed_input_rank(handle, i)));
      in.push_back(inputShapes[i].data());
    }
    std::vector<std::vector<int64_t>> outShapes(heed_num_outputs(handle));
    std::vector<int64_t *> out;
    for (size_t i = 0; i < outShapes.size(); ++i) {
      outShapes[i].resize(heed_output_rank(handle, i));
      out.push_back(outShapes[i].data());
    }
    int status;
    {
      py::gil_scoped_release release;
      status = heed_compile(handle, in.data(), out.data());
    }
    check(status);
    return outShapes;
  }

  /// Runs on the caller's arrays (read in place) into new arrays (written
  /// in place). The GIL is released while the model runs.
  std::vector<FloatArray> run(const std::vector<FloatArray> &inputs) {
    std::vector<std::vector<int64_t>> shapes;
    for (auto &a : inputs)
      shapes.emplace_back(a.shape(), a.shape() + a.ndim());
    auto outShapes = compile(shapes);
    std::vector<FloatArray> outputs;
    for (auto &s : outShapes)
      outputs.emplace_back(s);
    std::vector<const float *> in;
    std::vector<const int64_t *> inShapes;
    for (size_t i = 0; i < inputs.size(); ++i) {
      in.push_back(inputs[i].data());
      inShapes.push_back(shapes[i].data());
    }
    std::vector<float *> out;
    for (auto &o : outputs)
      out.push_back(o.mutable_data());
    int status;
    {
      py::gil_scoped_release release;
      status = heed_run(handle, in.data(), inShapes.data(), out.data());
    }
    check(status);
    return outputs;
  }

private:
  heed_model *handle;

  static std::vector<const char *> cStrings(const std::vector<std::string> &s) {
    std::vector<const char *> out;
    for (auto &x : s)
      out.push_back(x.c_str());
    return out;
  }
  void checkInputCount(size_t given) const {
    size_t want = heed_num_inputs(handle);
    if (given != want)
      throw HeedError(std::to_string(given) +
                      " inputs given, the model takes " + std::to_string(want));
  }
};

} // namespace

PYBIND11_MODULE(_heed, m) {
  m.doc() = "Heed's C API (heed.h) for Python; use the `heed` package.";
  py::register_exception<HeedError>(m, "Error", PyExc_RuntimeError);
  m.def(
      "version", [] { return std::string(heed_version()); },
      "The version of the Heed library in use.");
  py::class_<Model>(m, "Model")
      .def_static("load", &Model::load, py::arg("path"), py::arg("param_names"),
                  py::arg("param_values"), py::arg("options"))
      .def_static("load_source", &Model::loadSource, py::arg("source"),
                  py::arg("name"), py::arg("param_names"),
                  py::arg("param_values"), py::arg("options"))
      .def("bind_weights_file", &Model::bindWeightsFile, py::arg("path"))
      .def("bind_weights", &Model::bindWeights, py::arg("tensors"))
      .def("set_threads", &Model::setThreads, py::arg("threads"))
      .def("set_weight_options", &Model::setWeightOptions, py::arg("prefix"),
           py::arg("ignore_extra"))
      .def("inputs", &Model::inputs)
      .def("outputs", &Model::outputs)
      .def("compile", &Model::compile, py::arg("input_shapes"))
      .def("run", &Model::run, py::arg("inputs"));
}
