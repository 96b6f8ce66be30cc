"""Heed from Python: load a model, bind its weights, run it on NumPy arrays.

    import heed
    m = heed.load("examples/dense_attention/model.heed",
                  weights="examples/dense_attention/weights.safetensors")
    outs = m(x=np.random.rand(4, 10).astype(np.float32))
    outs["y"]                       # a float32 ndarray [4, 1]

A thin layer over Heed's C API (libheed, compiler/CAPI/heed.h); see
docs/embedding.md. Every failure raises `heed.Error` carrying Heed's own
message (for a model with errors: name:line:col: error: ...).

Arrays: inputs that are C-contiguous float32 are read in place; any other
layout (a slice, a transpose, Fortran order) is copied into a contiguous
float32 array first. float16 is widened; integer and bool arrays (token
ids, lengths, masks) are converted to float32, which Heed computes in, and
rejected when a value does not fit exactly (|v| > 2**24). float64 is
rejected: Heed computes in float32, convert with `.astype(np.float32)`.
Inputs the model declares i64, i32 or bool take integer or bool arrays only.
Outputs are new float32 arrays that Heed writes in place; integer outputs
(argmax, token ids, lengths) come back as int64. PyTorch tensors are
accepted wherever arrays are (through `.detach().cpu().numpy()`).
"""

import os
from collections import OrderedDict, namedtuple

import numpy as np

from ._heed import Error, Model as _Model, version as _version

__all__ = ["Error", "Model", "TensorSpec", "load", "load_source"]
__version__ = _version()

TensorSpec = namedtuple("TensorSpec", ["name", "dtype", "shape"])
TensorSpec.__doc__ = """An input or output: its name, dtype ("float32", or
"int64", "int32", "bool" for declared integer inputs and integer outputs) and
shape, a tuple of sizes (int) and symbolic dimensions (str, e.g. "B")."""

# Model._weights of a model bound from a mapping of arrays.
_FROM_MAPPING = object()

# Integers that float32 holds exactly.
_EXACT_INT = 2 ** 24


def _to_numpy(value, what):
    """`value` as an ndarray; PyTorch tensors go through NumPy."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # torch.Tensor
        value = value.detach()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
        value = value.cpu().numpy()
    if not isinstance(value, np.ndarray):
        if isinstance(value, (list, tuple, int, float, np.generic)):
            # Python's floats are doubles by nature, not by the caller's
            # choice: nested lists of numbers become float32 (or int64).
            value = np.asarray(value)
            if value.dtype == np.float64:
                value = value.astype(np.float32)
        else:
            raise Error("%s: expected a NumPy array or a PyTorch tensor, got %s"
                        % (what, type(value).__name__))
    return value


def _contiguous(a, dtype):
    """`a` as a C-contiguous array of `dtype`, keeping its rank
    (np.ascontiguousarray makes a 0-d array 1-d)."""
    return np.ascontiguousarray(a, dtype=dtype).reshape(a.shape)


def _input_array(value, what, declared="float32"):
    """A C-contiguous float32 array for an input; the same object when it
    already is one (no copy). Inputs declared int64, int32 or bool take
    integer or bool arrays only."""
    a = _to_numpy(value, what)
    if declared != "float32" and not (a.dtype == np.bool_ or
                                      np.issubdtype(a.dtype, np.integer)):
        raise Error("%s is declared %s, but the array given is %s (ids, lengths "
                    "and masks come as integers: .astype(np.int64))"
                    % (what, declared, a.dtype))
    if a.dtype == np.float32:
        return _contiguous(a, np.float32)
    if a.dtype == np.float16:
        return _contiguous(a, np.float32)
    if a.dtype == np.bool_:
        return _contiguous(a, np.float32)
    if np.issubdtype(a.dtype, np.integer):
        if a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < -_EXACT_INT or hi > _EXACT_INT:
                bad = lo if lo < -_EXACT_INT else hi
                index = int(np.flatnonzero(a.reshape(-1) == bad)[0])
                raise Error("%s: element %d is %d, which float32 (what Heed "
                            "computes in) cannot hold exactly; integers must "
                            "lie in [-2**24, 2**24]" % (what, index, bad))
        return _contiguous(a, np.float32)
    raise Error("%s is %s; Heed computes in float32: pass float32, or integer "
                "or bool ids and masks (convert with .astype(np.float32), or "
                ".float() for a PyTorch tensor)" % (what, a.dtype))


def _weight_array(value, name):
    """A C-contiguous float32 copy of a weight: floating point converted,
    integers and bools as for inputs (exact in float32, else an error)."""
    what = "weight '%s'" % name
    a = _to_numpy(value, what)
    if np.issubdtype(a.dtype, np.floating):
        if a.dtype.itemsize > 4 and a.size:
            # float64 rounds to float32, as in the weight files; a finite
            # value past float32's range is an error, not an infinity.
            big = np.isfinite(a) & (np.abs(a) > np.finfo(np.float32).max)
            if big.any():
                index = int(np.flatnonzero(big.reshape(-1))[0])
                raise Error("%s: element %d is %g, beyond float32's range "
                            "(Heed computes in float32)"
                            % (what, index, a.reshape(-1)[index]))
        return _contiguous(a, np.float32)
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        return _input_array(a, what)
    raise Error("%s is %s; weights must be numbers (floating point, integer "
                "or bool, converted to float32)" % (what, a.dtype))


def _split_params(params):
    names, values = [], []
    for name, value in (params or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Error("parameter '%s': expected a number, got %r" % (name, value))
        names.append(str(name))
        values.append(float(value))
    return names, values


def _option_text(options):
    """`options` (None, "name=value ...", or a mapping of names to values)
    as heed_load_with_options' text."""
    if options is None:
        return ""
    if isinstance(options, str):
        return options
    try:
        items = options.items()
    except AttributeError:
        raise Error("options: expected a string such as \"target=cuda\" or a "
                    "mapping of option names to values, got %r" % (options,))
    words = []
    for name, value in items:
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = "%s=%s" % (name, value)
        if any(c.isspace() for c in text):
            raise Error("option %r: names and values have no spaces" % (text,))
        words.append(text)
    return " ".join(words)


class Model:
    """A loaded model: its source, its weights and its compiled code (one
    compilation per set of input shapes, cached). Calls may come from
    several threads at once (the GIL is released while a model runs),
    also while another thread binds weights or sets `threads`: a bind
    waits for the runs in flight, and each run uses the weights it started
    with."""

    def __init__(self, handle, recipe=None):
        self._m = handle
        self._inputs = [TensorSpec(n, d, tuple(s)) for n, d, s in handle.inputs()]
        self._outputs = [TensorSpec(n, d, tuple(s)) for n, d, s in handle.outputs()]
        self._threads = 0
        # How the model was made (load/load_source's arguments) and its
        # weights as last bound (an absolute path, or the mapping given),
        # for pickling.
        self._recipe = recipe
        self._weights = None

    def __reduce__(self):
        """Pickles the model as what it was made from: its model file's
        path (or its source text), parameters, weight options, the weight
        file last bound (by its absolute path, which the unpickling process
        must be able to read) and `threads`. Unpickling loads and binds it
        again, in that process (multiprocessing's workers, joblib);
        compiled code is not carried (the compile cache serves a process on
        the same machine). A model whose weights were bound from a mapping
        does not pickle: Heed keeps no Python copy of them."""
        if self._recipe is None:
            raise TypeError("this heed.Model was not made by heed.load or "
                            "heed.load_source, so it cannot be pickled")
        if self._weights is _FROM_MAPPING:
            raise TypeError("this heed.Model's weights were bound from a "
                            "mapping, of which Heed keeps no Python copy, so "
                            "it cannot be pickled; bind them from a file "
                            "(heed.load(..., weights=PATH)), or pickle the "
                            "mapping and bind it after unpickling")
        return (_unpickle, (self._recipe, self._weights, self._threads))

    @property
    def options(self):
        """The compiler options the model was loaded with, as text ("" for
        the defaults)."""
        return (self._recipe or {}).get("options", "")

    @property
    def inputs(self):
        """The inputs, in declaration order, as TensorSpecs."""
        return list(self._inputs)

    @property
    def outputs(self):
        """The outputs, in declaration order, as TensorSpecs."""
        return list(self._outputs)

    @property
    def threads(self):
        """Threads a run may use; 0 (the default): the cores the process may use."""
        return self._threads

    @threads.setter
    def threads(self, count):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise Error("threads: expected a count >= 0, got %r" % (count,))
        self._m.set_threads(count)
        self._threads = count

    def bind_weights(self, weights):
        """Binds every weight: a path (.safetensors, .npz, .npy, a torch.save
        checkpoint, Keras' .h5 or .keras, a TensorFlow checkpoint's .index
        or prefix; docs/weights.md), or a mapping
        from PyTorch state_dict names to arrays or tensors (copied), such as
        `module.state_dict()` itself."""
        if isinstance(weights, (str, os.PathLike)):
            self._m.bind_weights_file(os.fspath(weights))
            self._weights = os.path.abspath(os.fspath(weights))
            return
        if not hasattr(weights, "items"):
            raise Error("weights: expected a path or a mapping of names to "
                        "arrays, got %s" % type(weights).__name__)
        # BatchNorm's step counter, which inference never reads (and which
        # may pass 2**24), is left out as the file loaders leave it out.
        self._m.bind_weights([(str(k), _weight_array(v, k))
                              for k, v in weights.items()
                              if not str(k).endswith(".num_batches_tracked")])
        # Not kept (Heed has its own copy): such a model does not pickle.
        self._weights = _FROM_MAPPING

    def _input_shapes(self, dims):
        shapes = []
        for spec in self._inputs:
            shape = []
            for d in spec.shape:
                if isinstance(d, str):
                    if d not in dims:
                        raise Error("compile: dimension %s of input '%s' %s is "
                                    "not given" % (d, spec.name, _shape_str(spec.shape)))
                    shape.append(int(dims[d]))
                else:
                    shape.append(d)
            shapes.append(shape)
        return shapes

    def compile(self, dims=None, **kw):
        """Compiles for the symbolic dimensions in `dims` (a mapping, or
        keywords: `m.compile(B=4, T=30)`), unless already compiled; returns
        each output's shape by name."""
        dims = dict(dims or {}, **kw)
        symbols = {d for s in self._inputs for d in s.shape if isinstance(d, str)}
        unknown = sorted(set(dims) - symbols)
        if unknown:
            raise Error("compile: the inputs have no dimension %s (they have: %s)"
                        % (", ".join(unknown), ", ".join(sorted(symbols)) or "none"))
        shapes = self._m.compile(self._input_shapes(dims))
        return OrderedDict((o.name, tuple(s)) for o, s in zip(self._outputs, shapes))

    def __call__(self, *args, **kwargs):
        """Runs the model. Inputs by position (declaration order) or by
        name; returns an OrderedDict of the outputs by name."""
        if len(args) > len(self._inputs):
            raise Error("%d inputs given, the model takes %d (%s)"
                        % (len(args), len(self._inputs), self._input_names()))
        given = dict(zip((s.name for s in self._inputs), args))
        for name, value in kwargs.items():
            if name in given:
                raise Error("input '%s' given twice" % name)
            given[name] = value
        names = {s.name for s in self._inputs}
        unknown = sorted(set(given) - names)
        if unknown:
            raise Error("unknown input '%s' (the model takes: %s)"
                        % (unknown[0], self._input_names()))
        missing = [s for s in self._inputs if s.name not in given]
        if missing:
            raise Error("missing input '%s' %s" % (missing[0].name,
                                                   _shape_str(missing[0].shape)))
        arrays = [_input_array(given[s.name], "input '%s'" % s.name, s.dtype)
                  for s in self._inputs]
        for spec, a in zip(self._inputs, arrays):
            if a.ndim != len(spec.shape):
                raise Error("input '%s' has shape %s, the model declares %s (rank %d)"
                            % (spec.name, _shape_str(a.shape), _shape_str(spec.shape),
                               len(spec.shape)))
        outs = self._m.run(arrays)
        # Integer outputs (argmax, token ids, lengths) as int64, exactly.
        return OrderedDict((o.name, np.rint(a).astype(np.int64) if o.dtype == "int64" else a)
                           for o, a in zip(self._outputs, outs))

    def run(self, *args, **kwargs):
        """The same as calling the model."""
        return self(*args, **kwargs)

    def _input_names(self):
        return ", ".join(s.name for s in self._inputs) or "no inputs"

    def __repr__(self):
        return "heed.Model(inputs=%s, outputs=%s)" % (
            ", ".join(s.name + _shape_str(s.shape) for s in self._inputs),
            ", ".join(s.name + _shape_str(s.shape) for s in self._outputs))


def _shape_str(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _finish(handle, weights, threads, weights_prefix, ignore_extra_weights,
            recipe):
    model = Model(handle, recipe)
    if weights_prefix or ignore_extra_weights:
        handle.set_weight_options(weights_prefix or "", bool(ignore_extra_weights))
    if weights is not None:
        model.bind_weights(weights)
    if threads is not None:
        model.threads = threads
    return model


def load(path, weights=None, params=None, threads=None, weights_prefix=None,
         ignore_extra_weights=False, options=None):
    """Loads and checks a model file. `weights`: a file path or a mapping of
    names to arrays (see Model.bind_weights); `params`: numbers replacing
    the defaults of the model's header parameters; `threads`: see
    Model.threads; `weights_prefix`: stripped from weight names that start
    with it (a wrapper's "module."); `ignore_extra_weights`: ignore tensors
    the model has no weight for (optimizer state) instead of failing;
    `options`: compiler options, "name=value ..." or a mapping
    ({"target": "cuda", "gpu-precision": "bf16"}, {"fused": False}), as the
    C API's heed_load_with_options takes them (docs/embedding.md)."""
    names, values = _split_params(params)
    text = _option_text(options)
    recipe = dict(path=os.path.abspath(os.fspath(path)), params=params,
                  weights_prefix=weights_prefix,
                  ignore_extra_weights=ignore_extra_weights, options=text)
    return _finish(_Model.load(os.fspath(path), names, values, text), weights,
                   threads, weights_prefix, ignore_extra_weights, recipe)


def load_source(source, name="<source>", weights=None, params=None, threads=None,
                weights_prefix=None, ignore_extra_weights=False, options=None):
    """As `load`, for model source text; `name` labels its diagnostics."""
    names, values = _split_params(params)
    text = _option_text(options)
    recipe = dict(source=source, name=name, params=params,
                  weights_prefix=weights_prefix,
                  ignore_extra_weights=ignore_extra_weights, options=text)
    return _finish(_Model.load_source(source, name, names, values, text),
                   weights, threads, weights_prefix, ignore_extra_weights,
                   recipe)


def _unpickle(recipe, weights, threads):
    """Model.__reduce__'s inverse: load and bind again."""
    recipe = dict(recipe)
    if "path" in recipe:
        model = load(recipe.pop("path"), weights=weights, **recipe)
    else:
        model = load_source(recipe.pop("source"), weights=weights, **recipe)
    model.threads = threads
    return model
