/*===- heed.h - The C API of Heed (libheed) ------------------------*- C
-*-===*\
|*                                                                            *|
|* Part of Heed. Load a model (a file or source text), bind its weights,     *|
|* compile it for given input shapes (cached) and run it on caller buffers.  *|
|* Plain C: opaque handles, no C++ types, no exceptions cross this header.   *|
|* See docs/embedding.md for a complete example.                             *|
|*                                                                            *|
|* Errors: a function that can fail returns HEED_OK (0) or HEED_ERROR, or   *|
|* NULL for a handle; heed_last_error() then gives the message (for a model *|
|* with errors: every diagnostic, as name:line:col: error: ...).            *|
|*                                                                            *|
|* Threads: heed_run and the query functions may be called on one model from *|
|* several threads at once, and beside heed_bind_* and heed_set_threads: a  *|
|* bind waits for the runs in flight, and each run uses the weights and     *|
|* threads it started with. heed_set_weight_options may not overlap a bind. *|
|* Each call of heed_run uses up to heed_set_threads threads for the blocks *|
|* of a batch (docs/embedding.md).                                          *|
|* Tensors are row-major, float32 unless heed_*_dtype says otherwise;       *|
|* shapes are int64_t arrays of the rank heed_input_rank/_output_rank give. *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef HEED_H
#define HEED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HEED_OK 0
#define HEED_ERROR 1

/** Element types. Heed computes in float32; inputs declared i64, i32 or
 *  bool (token ids, lengths, masks) and integer outputs (argmax, token
 *  ids, lengths) have their own types, which heed_run_typed takes and
 *  gives; heed_run passes every tensor as float32. */
typedef enum heed_dtype {
  HEED_FLOAT32 = 0,
  HEED_INT64 = 1,
  HEED_INT32 = 2,
  HEED_BOOL = 3 /* one byte, 0 or 1 */
} heed_dtype;

/** A loaded model: its source, weights and compiled code (per shapes). */
typedef struct heed_model heed_model;

/** The message of this thread's last failed call ("" if none). Valid until
 *  the thread's next call into Heed. */
const char *heed_last_error(void);

/** The library's version, "MAJOR.MINOR.PATCH". */
const char *heed_version(void);

/** Loads and checks a model file. `params` replace the defaults of the
 *  model's header parameters: `num_params` names and values (may be 0 and
 *  NULL). Returns NULL on error. */
heed_model *heed_load(const char *path, size_t num_params,
                      const char *const *param_names,
                      const double *param_values);
/** The same for source text; `name` labels its diagnostics. */
heed_model *heed_load_source(const char *source, const char *name,
                             size_t num_params, const char *const *param_names,
                             const double *param_values);
/** As heed_load and heed_load_source, with compiler options for every
 *  compile of the model: space-separated name=value pairs, the names of
 *  heed-opt's --heed-pipeline options (NULL or "": the defaults). For
 *  example "fused=false" (decomposed attention), "cells=onednn dense=onednn",
 *  "target=cuda gpu-precision=bf16" (NVIDIA GPU kernels; the device's own
 *  architecture and multiprocessors unless gpu-chip and gpu-multiprocessors
 *  say otherwise; compiles and runs need a CUDA driver: without one they
 *  fail with "no CUDA driver: libcuda.so.1 not found"), or
 *  "target=gpu-schedule-on-cpu" (the GPU lowering run on the CPU).
 *  docs/embedding.md lists them. An unknown option or a bad value fails. */
heed_model *heed_load_with_options(const char *path, size_t num_params,
                                   const char *const *param_names,
                                   const double *param_values,
                                   const char *options);
heed_model *heed_load_source_with_options(const char *source, const char *name,
                                          size_t num_params,
                                          const char *const *param_names,
                                          const double *param_values,
                                          const char *options);
void heed_free(heed_model *model);

/** Binds every weight from a .safetensors, .npz or .npy file, a
 *  torch.save checkpoint (.pt, .pth, .bin, .ckpt), Keras' .h5 or .keras
 *  (Keras 3's save_weights .weights.h5 too, its layers matched by class
 *  and shape),
 *  or a TensorFlow checkpoint (its .index or prefix), by PyTorch
 *  state_dict names or, for a model that says `weights keras`, Keras
 *  names (docs/weights.md). A model without weights needs none. */
int heed_bind_weights_file(heed_model *model, const char *path);
/** Binds every weight from caller memory (copied): `count` tensors, each
 *  with its name, float32 data, rank and shape. */
int heed_bind_weights(heed_model *model, size_t count,
                      const char *const *names, const float *const *data,
                      const size_t *ranks, const int64_t *const *shapes);

/** How later heed_bind_* calls match names: strip `strip_prefix` (NULL or
 *  "": none) from names that start with it (checkpoints saved from a
 *  wrapper: "module."), and with `ignore_extra` non-zero ignore tensors the
 *  model has no weight for instead of failing. */
int heed_set_weight_options(heed_model *model, const char *strip_prefix,
                            int ignore_extra);

/** Threads a run may use; 0: the cores the process may use (the default). */
int heed_set_threads(heed_model *model, unsigned threads);

/** Inputs and outputs in declaration order. A dimension is its size, or -1
 *  for a symbolic one (bound by the inputs), whose name heed_*_dim_name
 *  gives (NULL for a fixed size). Names are valid while the model is. */
size_t heed_num_inputs(const heed_model *model);
size_t heed_num_outputs(const heed_model *model);
const char *heed_input_name(const heed_model *model, size_t index);
const char *heed_output_name(const heed_model *model, size_t index);
heed_dtype heed_input_dtype(const heed_model *model, size_t index);
heed_dtype heed_output_dtype(const heed_model *model, size_t index);
size_t heed_input_rank(const heed_model *model, size_t index);
size_t heed_output_rank(const heed_model *model, size_t index);
int64_t heed_input_dim(const heed_model *model, size_t index, size_t axis);
int64_t heed_output_dim(const heed_model *model, size_t index, size_t axis);
const char *heed_input_dim_name(const heed_model *model, size_t index,
                                size_t axis);
const char *heed_output_dim_name(const heed_model *model, size_t index,
                                 size_t axis);

/** Compiles for these input shapes (one per input, in declaration order)
 *  unless already compiled, and writes each output's shape into
 *  output_shapes[i] (heed_output_rank(i) values each). */
int heed_compile(heed_model *model, const int64_t *const *input_shapes,
                 int64_t *const *output_shapes);

/** Runs on caller buffers, with no copies: inputs[i] holds input i (shape
 *  input_shapes[i]); outputs[i] receives output i and must hold as many
 *  floats as heed_compile's shape says. Every buffer is float32, whatever
 *  the dtypes: an input declared i64/i32/bool must hold integers (0 or 1
 *  for bool), exact in float32 (|v| <= 2^24). */
int heed_run(heed_model *model, const float *const *inputs,
             const int64_t *const *input_shapes, float *const *outputs);
/** As heed_run, with each buffer in its input's or output's dtype
 *  (heed_input_dtype, heed_output_dtype): float32, int64_t, int32_t or
 *  bool as one byte. Integer buffers are converted to and from float32 (a
 *  copy each way; an integer float32 cannot hold exactly is an error
 *  naming the input and the element); float32 buffers are not copied. */
int heed_run_typed(heed_model *model, const void *const *inputs,
                   const int64_t *const *input_shapes, void *const *outputs);

#ifdef __cplusplus
}
#endif

#endif /* HEED_H */
