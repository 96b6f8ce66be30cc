/*===- heed_runtime.h - The runtime of ahead-of-time model libraries -*- C -*-===*\
|*                                                                            *|
|* Part of Heed. `heed compile --emit=obj|shared` makes a model library: the  *|
|* model's compiled code, generated C glue and a generated header with one   *|
|* typed entry point per step (MODEL_prepare, MODEL_run, ...). The library   *|
|* needs only libheed_runtime (tensor files, the oneDNN kernels, threads):   *|
|* no LLVM, no MLIR, no JIT, no model source.                                *|
|*                                                                            *|
|* Applications call the generated functions; the glue calls these. The     *|
|* one thing an application may want from here is heed_rt_model_info, which *|
|* every library also describes itself with (MODEL_info()), for programs    *|
|* that load model libraries they were not compiled against.               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef HEED_RUNTIME_H
#define HEED_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Element types of a library's inputs and outputs: float32, or inputs
 *  declared i64/i32/bool and integer outputs (argmax, token ids, lengths).
 *  Heed computes in float32; the glue converts integer buffers. */
typedef enum heed_rt_dtype {
  HEED_RT_FLOAT32 = 0,
  HEED_RT_INT64 = 1,
  HEED_RT_INT32 = 2,
  HEED_RT_BOOL = 3 /* one byte, 0 or 1 */
} heed_rt_dtype;

/** A tensor a model takes, gives or binds: dense row-major, of `dtype`
 *  (weights are always float32). */
typedef struct heed_rt_tensor_info {
  const char *name;
  size_t rank;
  const int64_t *shape;
  heed_rt_dtype dtype;
} heed_rt_tensor_info;

/** What a model library holds, and its entry points taking arrays. */
typedef struct heed_rt_model_info {
  const char *name;
  size_t num_inputs, num_outputs, num_weights;
  const heed_rt_tensor_info *inputs, *outputs, *weights;
  /** MODEL_prepare, MODEL_prepare_from, MODEL_release, and MODEL_run with
   *  inputs and outputs as arrays in declaration order. */
  int (*prepare)(const char *weights_path);
  int (*prepare_from)(const float *const *weights);
  int (*run)(const void *const *inputs, void *const *outputs);
  void (*release)(void);
  /** MODEL_set_threads. */
  int (*set_threads)(int threads);
} heed_rt_model_info;

/** The calling thread's last error ("" if none). */
const char *heed_rt_last_error(void);
/** Sets the calling thread's error; returns 1 (a failed call's status). */
int heed_rt_fail(const char *message);
/** Clears the calling thread's error; returns 0. */
int heed_rt_ok(void);

/** A 64-byte aligned buffer of `count` floats (NULL and an error if it
 *  cannot be had), and its release. */
float *heed_rt_alloc(int64_t count);
void heed_rt_free(float *buffer);
/** With the CUDA runtime: moves `count` floats of a heed_rt_alloc buffer
 *  to the device (`to_device`), before kernels read what the host wrote,
 *  or to the host, before the host reads what kernels wrote (after
 *  heed_rt_wait); in bulk rather than a page fault at a time. A hint:
 *  nothing otherwise. heed_rt_wait waits for the calling thread's device
 *  work (nothing without the CUDA runtime). */
void heed_rt_prefetch(const float *buffer, int64_t count, int to_device);
void heed_rt_wait(void);
/** `count` floats of a run's input from the caller's `from` into its
 *  heed_rt_alloc buffer `to`, and (after heed_rt_wait) of an output from
 *  its buffer `from` to the caller's `to`. A copy by the host; with the
 *  CUDA runtime and HEED_CUDA_STAGING=copy, by the driver from and to
 *  where the buffer's pages are (runtime/cuda/MgpuRuntime.h). */
void heed_rt_stage_in(float *to, const float *from, int64_t count);
void heed_rt_stage_out(float *to, const float *from, int64_t count);
/** With the CUDA runtime: a run begins on the calling thread, and its
 *  device buffers get, where they can, the addresses the same buffers of
 *  the thread's last run had (so that its loop steps' CUDA graphs are
 *  replayed unchanged). Nothing otherwise. */
void heed_rt_run_begin(void);

/** Reads a .safetensors, .npz or .npy file and binds its tensors to the
 *  `count` weights `expected` names (PyTorch state_dict names): missing,
 *  unexpected and mis-shaped tensors are reported together. On success
 *  out[i] is a new buffer (heed_rt_free) holding weight i. */
int heed_rt_load_weights(const char *path, size_t count,
                         const heed_rt_tensor_info *expected, float **out);

/** Reads tensor `name` (for a .npy: any name) of a .npy, .npz or
 *  .safetensors file, which must have `info`'s shape, into a new buffer of
 *  `info`'s dtype (heed_rt_free). For programs that feed a model library
 *  from files. */
int heed_rt_read_tensor(const char *path, const heed_rt_tensor_info *info,
                        void **out);
/** Writes `count` tensors, each in its info's dtype, into an .npz file. */
int heed_rt_write_npz(const char *path, size_t count,
                      const heed_rt_tensor_info *infos,
                      const void *const *data);

/** Bytes per element of `dtype`. */
size_t heed_rt_dtype_size(heed_rt_dtype dtype);
/** `info`'s elements at `data` (of its dtype) as a new float32 buffer
 *  (heed_rt_free); an integer float32 cannot hold exactly (|v| > 2^24), or
 *  a bool that is not 0 or 1, is an error naming the input and element. */
int heed_rt_to_float(const void *data, const heed_rt_tensor_info *info,
                     float **out);
/** Integer values computed in float32 as int64. */
void heed_rt_to_int64(const float *data, int64_t count, int64_t *out);

/** The library state of one model's oneDNN calls (a KernelContext). */
void *heed_rt_context_new(void);
void heed_rt_context_free(void *context);
/** After a run: 1 and the error set if a kernel failed on this thread. */
int heed_rt_context_check(void *context, const char *model);

/** Around a run on the calling thread: flush and read denormals as zero,
 *  and hold oneDNN to one OpenMP thread. heed_rt_enter returns what
 *  heed_rt_leave restores. */
unsigned heed_rt_enter(void);
void heed_rt_leave(unsigned saved);

/** A model library's lock; `*slot` (the library's own static pointer,
 *  NULL at first) is set on first use. Runs hold it shared, prepare and
 *  release alone (`exclusive`), so weights change only between runs; runs
 *  that start while a prepare waits wait behind it. */
void heed_rt_lock(void **slot, int exclusive);
void heed_rt_unlock(void **slot, int exclusive);

/** Runs fn(context, 0) ... fn(context, n - 1) on up to `threads` threads
 *  of Heed's pool, the calling thread included (0: the cores the process
 *  may use; fewer while other processes keep the CPUs busy), and returns
 *  when all have run. Safe from several threads at once. */
void heed_rt_parallel_for(unsigned n, unsigned threads,
                          void (*fn)(void *context, unsigned index),
                          void *context);

/** Checks that each of the `count` values of input `input` (shape `info`)
 *  is an integer in [min, max], the range the model declares for its
 *  `role` (e.g. "token ids of embedding 'emb'"). */
int heed_rt_check_range(const float *data, const heed_rt_tensor_info *info,
                        const char *role, int64_t min, int64_t max);

#ifdef __cplusplus
}
#endif

#endif /* HEED_RUNTIME_H */
