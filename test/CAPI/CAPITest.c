/*===- CAPITest.c - The C API, from C ------------------------------------===*\
|*                                                                            *|
|* Part of Heed. A model from source text, weights from memory, inputs and   *|
|* outputs in caller buffers; checked against the same dense + tanh + sum    *|
|* computed here in double precision (an independent implementation), at    *|
|* batch 5 and at batch 33 on 2 threads (three blocks of rows), then from 4  *|
|* threads at once on one model; then every kind of bad input, each of      *|
|* which must fail with a clear message; then compiler options: lowerings   *|
|* against the same reference, bad options, the cuda target with no driver. *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "compiler/CAPI/heed.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fprintf(stderr, " (heed: %s)\n", heed_last_error());                     \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static const char *kModel =
    "model tiny(UNITS = 2)\n"
    "input x: [B, 3]\n"
    "layer d = dense(UNITS, activation=tanh)\n"
    "h = d(x)\n"
    "output y = h\n"
    "output total = sum(h, axis=1)\n";

static float weight[2 * 3] = {0.5f, -1.0f, 0.25f, 2.0f, 0.1f, -0.3f};
static float bias[2] = {0.1f, -0.2f};

static void reference(const float *x, int64_t batch, double *y, double *total) {
  for (int64_t b = 0; b < batch; ++b) {
    total[b] = 0;
    for (int u = 0; u < 2; ++u) {
      double acc = bias[u];
      for (int k = 0; k < 3; ++k)
        acc += (double)weight[u * 3 + k] * x[b * 3 + k];
      y[b * 2 + u] = tanh(acc);
      total[b] += y[b * 2 + u];
    }
  }
}

static heed_model *loadTinyWith(const char *options) {
  heed_model *m = heed_load_source_with_options(kModel, "tiny.heed", 0, NULL,
                                                NULL, options);
  CHECK(m != NULL, "load with options '%s'", options ? options : "(NULL)");
  if (!m)
    return NULL;
  const char *names[] = {"d.weight", "d.bias"};
  const float *data[] = {weight, bias};
  size_t ranks[] = {2, 1};
  int64_t wshape[] = {2, 3}, bshape[] = {2};
  const int64_t *shapes[] = {wshape, bshape};
  CHECK(heed_bind_weights(m, 2, names, data, ranks, shapes) == HEED_OK, "bind");
  return m;
}

static heed_model *loadTiny(void) { return loadTinyWith(NULL); }

static int runAndCheckOnce(heed_model *m, int64_t batch, int seed);

static void runAndCheck(heed_model *m, int64_t batch, unsigned threads) {
  CHECK(heed_set_threads(m, threads) == HEED_OK, "threads");
  failures += runAndCheckOnce(m, batch, 0);
}

/* heed_run from several threads at once on one model (heed.h says it is
 * safe): each thread has its own inputs and checks its own outputs. */
typedef struct {
  heed_model *model;
  int64_t batch;
  int seed;
  int failures;
} Worker;

static void *work(void *arg) {
  Worker *w = arg;
  for (int r = 0; r < 20; ++r)
    w->failures += runAndCheckOnce(w->model, w->batch, w->seed + r);
  return NULL;
}

static void runFromThreads(heed_model *m) {
  enum { kThreads = 4 };
  pthread_t threads[kThreads];
  Worker workers[kThreads];
  CHECK(heed_set_threads(m, 2) == HEED_OK, "threads");
  for (int t = 0; t < kThreads; ++t) {
    Worker w = {m, t % 2 ? 33 : 3, 100 * t, 0};
    workers[t] = w;
    pthread_create(&threads[t], NULL, work, &workers[t]);
  }
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    CHECK(workers[t].failures == 0, "thread %d: %d wrong runs", t,
          workers[t].failures);
  }
}

/* One compile + run at `batch` on inputs made from `seed`; returns the
 * number of failed checks (callable from any thread). */
static int runAndCheckOnce(heed_model *m, int64_t batch, int seed) {
  int failures = 0;
  float *x = malloc(sizeof(float) * batch * 3);
  float *y = malloc(sizeof(float) * batch * 2);
  float *total = malloc(sizeof(float) * batch);
  double *ry = malloc(sizeof(double) * batch * 2);
  double *rtotal = malloc(sizeof(double) * batch);
  for (int64_t i = 0; i < batch * 3; ++i)
    x[i] = (float)sin(0.7 * (double)(i + seed)) * 2.0f;
  int64_t xshape[] = {batch, 3};
  const int64_t *inShapes[] = {xshape};
  int64_t yshape[2] = {0, 0}, tshape[1] = {0};
  int64_t *outShapes[] = {yshape, tshape};
  CHECK(heed_compile(m, inShapes, outShapes) == HEED_OK, "compile");
  CHECK(yshape[0] == batch && yshape[1] == 2 && tshape[0] == batch,
        "output shapes [%lld, %lld] [%lld]", (long long)yshape[0],
        (long long)yshape[1], (long long)tshape[0]);
  const float *inputs[] = {x};
  float *outputs[] = {y, total};
  CHECK(heed_run(m, inputs, inShapes, outputs) == HEED_OK, "run");
  reference(x, batch, ry, rtotal);
  for (int64_t i = 0; i < batch * 2; ++i)
    CHECK(fabs(y[i] - ry[i]) <= 1e-5 + 1e-5 * fabs(ry[i]),
          "batch %lld, y[%lld] = %g, expected %g", (long long)batch,
          (long long)i, y[i], ry[i]);
  for (int64_t b = 0; b < batch; ++b)
    CHECK(fabs(total[b] - rtotal[b]) <= 1e-5 + 1e-5 * fabs(rtotal[b]),
          "batch %lld, total[%lld] = %g, expected %g", (long long)batch,
          (long long)b, total[b], rtotal[b]);
  free(x), free(y), free(total), free(ry), free(rtotal);
  return failures;
}

static void checkInterface(heed_model *m) {
  CHECK(heed_num_inputs(m) == 1 && heed_num_outputs(m) == 2, "counts");
  CHECK(strcmp(heed_input_name(m, 0), "x") == 0, "input name");
  CHECK(strcmp(heed_output_name(m, 1), "total") == 0, "output name");
  CHECK(heed_input_rank(m, 0) == 2 && heed_output_rank(m, 1) == 1, "ranks");
  CHECK(heed_input_dim(m, 0, 0) == -1 &&
            strcmp(heed_input_dim_name(m, 0, 0), "B") == 0,
        "symbolic batch");
  CHECK(heed_input_dim(m, 0, 1) == 3 && heed_input_dim_name(m, 0, 1) == NULL,
        "fixed dim");
  CHECK(heed_input_dtype(m, 0) == HEED_FLOAT32, "dtype");
  CHECK(heed_input_name(m, 5) == NULL, "out of range index");
}

static void expectError(int rc, const char *needle, const char *what) {
  CHECK(rc == HEED_ERROR, "%s: expected an error", what);
  CHECK(strstr(heed_last_error(), needle) != NULL, "%s: message lacks '%s'",
        what, needle);
}

static void checkBadInput(heed_model *m) {
  float x[6] = {0}, y[4], total[2];
  int64_t xshape[] = {2, 3}, wrong[] = {2, 4};
  const int64_t *shapes[] = {xshape}, *wrongShapes[] = {wrong};
  const float *inputs[] = {x}, *nullInputs[] = {NULL};
  float *outputs[] = {y, total}, *nullOutputs[] = {y, NULL};
  expectError(heed_run(m, nullInputs, shapes, outputs), "buffer is NULL",
              "null input buffer");
  expectError(heed_run(m, inputs, shapes, nullOutputs), "buffer is NULL",
              "null output buffer");
  expectError(heed_run(m, inputs, wrongShapes, outputs), "x",
              "wrong input shape");
  expectError(heed_run(m, inputs, NULL, outputs), "NULL", "null shapes");
  expectError(heed_run(NULL, inputs, shapes, outputs), "NULL", "null model");

  heed_model *bad = heed_load_source("model m()\ninput x: [B, 3]\noutput y = nope(x)\n",
                                     "bad.heed", 0, NULL, NULL);
  CHECK(bad == NULL, "a model with errors loads");
  CHECK(strstr(heed_last_error(), "bad.heed:3:") != NULL,
        "no file:line:col in the diagnostic");
  CHECK(heed_load("/nonexistent/model.heed", 0, NULL, NULL) == NULL &&
            strstr(heed_last_error(), "cannot read") != NULL,
        "missing file");

  heed_model *w = heed_load_source(kModel, "tiny.heed", 0, NULL, NULL);
  const char *names[] = {"d.weight", "d.bias"};
  float wrongWeight[8] = {0};
  const float *data[] = {wrongWeight, bias};
  size_t ranks[] = {2, 1};
  int64_t wshape[] = {2, 4}, bshape[] = {2};
  const int64_t *wshapes[] = {wshape, bshape};
  expectError(heed_bind_weights(w, 2, names, data, ranks, wshapes), "d.weight",
              "weights of the wrong shape");
  expectError(heed_run(w, inputs, shapes, outputs), "no weights",
              "run without weights");
  /* Compiling prepares the weights: without any it is an error (it used
     to call the preparation on no buffers and crash). */
  expectError(heed_compile(w, shapes, NULL), "no weights",
              "compile without weights");
  heed_free(w);

  /* A wrapper's prefix stripped, extra tensors ignored on request. */
  heed_model *wrapped = heed_load_source(kModel, "tiny.heed", 0, NULL, NULL);
  const char *wrappedNames[] = {"module.d.weight", "module.d.bias", "optimizer.step"};
  const float *wrappedData[] = {weight, bias, bias};
  size_t wrappedRanks[] = {2, 1, 1};
  int64_t goodShape[] = {2, 3}, stepShape[] = {1};
  const int64_t *wrappedShapes[] = {goodShape, bshape, stepShape};
  expectError(heed_bind_weights(wrapped, 3, wrappedNames, wrappedData, wrappedRanks,
                                wrappedShapes),
              "missing d.weight", "a wrapper's prefix");
  CHECK(heed_set_weight_options(wrapped, "module.", 0) == HEED_OK, "options");
  expectError(heed_bind_weights(wrapped, 3, wrappedNames, wrappedData, wrappedRanks,
                                wrappedShapes),
              "unexpected optimizer.step", "an extra tensor");
  CHECK(heed_set_weight_options(wrapped, "module.", 1) == HEED_OK, "options");
  CHECK(heed_bind_weights(wrapped, 3, wrappedNames, wrappedData, wrappedRanks,
                          wrappedShapes) == HEED_OK,
        "prefix stripped, extra ignored");
  heed_free(wrapped);

  const char *pnames[] = {"UNITS"};
  double pvalues[] = {4};
  heed_model *p = heed_load_source(kModel, "tiny.heed", 1, pnames, pvalues);
  CHECK(p != NULL, "parameters");
  heed_free(p);
  const char *unknown[] = {"NOPE"};
  CHECK(heed_load_source(kModel, "tiny.heed", 1, unknown, pvalues) == NULL &&
            strstr(heed_last_error(), "NOPE") != NULL,
        "unknown parameter");
}

/* Compiler options (heed_load_with_options): each lowering against the
 * reference, then bad options, then the cuda target without a driver. */
static void checkOptions(void) {
  const char *lowerings[] = {"dense=generated", "dense=onednn",
                             "target=gpu-schedule-on-cpu",
                             " target=gpu-schedule-on-cpu\tfused=false "};
  for (size_t i = 0; i < sizeof lowerings / sizeof *lowerings; ++i) {
    heed_model *m = loadTinyWith(lowerings[i]);
    if (!m)
      continue;
    for (int64_t batch = 1; batch <= 33; batch += 16)
      failures += runAndCheckOnce(m, batch, (int)batch);
    heed_free(m);
  }
  struct {
    const char *options, *message;
  } bad[] = {
      {"nope=1", "options 'nope=1': unknown option 'nope' (options: cells,"},
      {"fused=maybe", "option 'fused': 'maybe' is not true or false"},
      {"target=tpu", "'tpu' is not 'cpu', 'cuda' or 'gpu-schedule-on-cpu'"},
      {"dense=blas", "option 'dense' must be 'auto', 'generated' or 'onednn'"},
      {"gpu-step-product-terms=-1", "gpu-step-product-terms must be 0 or more"},
      {"gpu-precision=f16", "gpu-precision applies to target=cuda"},
      {"target=cuda gpu-chip=sm_9", "gpu-chip"},
      {"target", "option 'target' needs a value"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
    CHECK(heed_load_source_with_options(kModel, "tiny.heed", 0, NULL, NULL,
                                        bad[i].options) == NULL,
          "options '%s' load", bad[i].options);
    CHECK(strstr(heed_last_error(), bad[i].message) != NULL,
          "options '%s': message lacks '%s'", bad[i].options, bad[i].message);
  }
  CHECK(heed_load_with_options("/nonexistent/model.heed", 0, NULL, NULL,
                               "fused=false") == NULL &&
            strstr(heed_last_error(), "cannot read") != NULL,
        "missing file with options");
  /* The cuda target loads; compiling needs a driver (heed.h). */
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (driver) {
    dlclose(driver);
    return;
  }
  heed_model *cuda = loadTinyWith("target=cuda");
  if (!cuda)
    return;
  float x[3] = {0}, y[2], total[1];
  int64_t xshape[] = {1, 3};
  const int64_t *shapes[] = {xshape};
  const float *inputs[] = {x};
  float *outputs[] = {y, total};
  expectError(heed_compile(cuda, shapes, NULL),
              "no CUDA driver: libcuda.so.1 not found", "cuda compile");
  expectError(heed_run(cuda, inputs, shapes, outputs),
              "no CUDA driver: libcuda.so.1 not found", "cuda run");
  heed_free(cuda);
}

/* Integer and boolean inputs, integer outputs: dtypes, heed_run_typed in
 * int64/bool and back, heed_run with float buffers, and bad integers. */
static void checkIntegerTensors(void) {
  heed_model *m = heed_load_source("model ints\n"
                                   "input ids: i64[B, 3]\n"
                                   "input flags: bool[B, 3]\n"
                                   "output total = sum(ids, axis=1)\n"
                                   "output best = argmax(ids * flags)\n"
                                   "output half = ids * 0.5\n",
                                   "ints.heed", 0, NULL, NULL);
  CHECK(m != NULL, "load ints");
  if (!m)
    return;
  CHECK(heed_input_dtype(m, 0) == HEED_INT64 && heed_input_dtype(m, 1) == HEED_BOOL,
        "input dtypes");
  CHECK(heed_output_dtype(m, 0) == HEED_INT64 && heed_output_dtype(m, 1) == HEED_INT64 &&
            heed_output_dtype(m, 2) == HEED_FLOAT32,
        "output dtypes");
  int64_t ids[6] = {1, 2, 3, 4, 5, 6};
  unsigned char flags[6] = {1, 0, 1, 0, 1, 1};
  int64_t shape[2] = {2, 3};
  const int64_t *shapes[] = {shape, shape};
  int64_t total[2] = {0}, best[2] = {0};
  float half[6] = {0};
  const void *inputs[] = {ids, flags};
  void *outputs[] = {total, best, half};
  CHECK(heed_run_typed(m, inputs, shapes, outputs) == HEED_OK, "typed run");
  CHECK(total[0] == 6 && total[1] == 15, "total %lld %lld", (long long)total[0],
        (long long)total[1]);
  CHECK(best[0] == 2 && best[1] == 2, "best %lld %lld", (long long)best[0],
        (long long)best[1]);
  CHECK(half[0] == 0.5f && half[5] == 3.0f, "half");

  /* heed_run: the same in float32 buffers. */
  float fids[6] = {1, 2, 3, 4, 5, 6}, fflags[6] = {1, 0, 1, 0, 1, 1};
  float ftotal[2], fbest[2], fhalf[6];
  const float *finputs[] = {fids, fflags};
  float *foutputs[] = {ftotal, fbest, fhalf};
  CHECK(heed_run(m, finputs, shapes, foutputs) == HEED_OK, "float run");
  CHECK(ftotal[1] == 15.0f && fbest[0] == 2.0f, "float results");

  ids[4] = (int64_t)1 << 40;
  expectError(heed_run_typed(m, inputs, shapes, outputs), "input 'ids': element 4",
              "an int64 float32 cannot hold");
  fids[2] = 2.5f;
  expectError(heed_run(m, finputs, shapes, foutputs), "input 'ids' is declared i64",
              "a fraction where i64 is declared");
  fids[2] = 3;
  fflags[1] = 2;
  expectError(heed_run(m, finputs, shapes, foutputs), "input 'flags' is declared bool",
              "a bool input holding 2");
  heed_free(m);
}

int main(void) {
  // "MAJOR.MINOR.PATCH"
  unsigned major, minor, patch;
  CHECK(sscanf(heed_version(), "%u.%u.%u", &major, &minor, &patch) == 3,
        "heed_version() is '%s'", heed_version());
  checkIntegerTensors();
  heed_model *m = loadTiny();
  if (!m)
    return 1;
  checkInterface(m);
  runAndCheck(m, 5, 1);
  runAndCheck(m, 33, 2);
  runFromThreads(m);
  checkBadInput(m);
  heed_free(m);
  checkOptions();
  if (failures)
    fprintf(stderr, "%d checks failed\n", failures);
  else
    printf("heed C API: all checks passed\n");
  return failures ? 1 : 0;
}
