/*===- aot-run.c - Run any model library on tensor files ----------*- C -*-===*\
|*                                                                            *|
|* Part of Heed. A plain C program that loads a model library made by        *|
|* `heed compile --emit=shared` with dlopen, finds MODEL_info(), binds the   *|
|* weights, reads each input from a file, runs once and writes the outputs  *|
|* as an .npz for heed-allclose. It links only libheed_runtime (for tensor  *|
|* files): no LLVM, no MLIR.                                                 *|
|*                                                                            *|
|*   heed-aot-run LIB.so MODEL WEIGHTS|- OUT.npz NAME=FILE ... [--threads=N] *|
|*                [--repeat=N]                                                *|
|*                                                                            *|
|* FILE is a .npy, or an .npz or .safetensors holding NAME; --threads sets   *|
|* MODEL_set_threads (default: the library's, the cores it may use);        *|
|* --repeat=N runs N more times after the first and prints the median, the  *|
|* least and the most wall time of one run. --rebind=WEIGHTS2 runs from 4   *|
|* threads while the main thread prepares WEIGHTS and WEIGHTS2 by turns:    *|
|* every run must give the outputs of one of them, bit for bit.             *|
|* --bad-weights=FILE prepares FILE before the run, which must fail (its    *|
|* error is printed) and leave WEIGHTS bound.                               *|
\*===----------------------------------------------------------------------===*/

#include "heed_runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int die(const char *what, const char *why) {
  fprintf(stderr, "heed-aot-run: %s: %s\n", what, why);
  return 1;
}

/* --rebind: what the runner threads share. */
enum { kRunners = 4, kRunsEach = 25 };
struct rebind {
  const heed_rt_model_info *info;
  const void **inputs;
  void **expected[2]; /* the outputs with each set of weights */
  size_t *bytes;      /* of each output */
  int running, failed, mismatched, matched[2];
  pthread_mutex_t lock;
};

static void *runner(void *arg) {
  struct rebind *r = arg;
  void **out = calloc(r->info->num_outputs + 1, sizeof *out);
  for (size_t i = 0; i < r->info->num_outputs; ++i)
    out[i] = malloc(r->bytes[i]);
  for (int k = 0; k < kRunsEach; ++k) {
    int failed = r->info->run(r->inputs, out) != 0, which = -1;
    for (int w = 0; w < 2 && !failed && which < 0; ++w) {
      which = w;
      for (size_t i = 0; i < r->info->num_outputs; ++i)
        if (memcmp(out[i], r->expected[w][i], r->bytes[i]))
          which = -1;
    }
    pthread_mutex_lock(&r->lock);
    r->failed += failed;
    r->mismatched += !failed && which < 0;
    if (which >= 0)
      ++r->matched[which];
    pthread_mutex_unlock(&r->lock);
  }
  for (size_t i = 0; i < r->info->num_outputs; ++i)
    free(out[i]);
  free(out);
  pthread_mutex_lock(&r->lock);
  --r->running;
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* Runs from kRunners threads while this one prepares `weights[0]` and
 * `weights[1]` by turns; 0 when every run matched one set's outputs. */
static int rebind_while_running(const heed_rt_model_info *info,
                                const void **inputs, void **outputs,
                                size_t *bytes, const char *weights[2]) {
  struct rebind r = {info, inputs, {NULL, NULL}, bytes, kRunners, 0, 0, {0, 0}};
  pthread_mutex_init(&r.lock, NULL);
  for (int w = 0; w < 2; ++w) {
    if (info->prepare(weights[w]) || info->run(inputs, outputs))
      return die(weights[w], heed_rt_last_error());
    r.expected[w] = calloc(info->num_outputs + 1, sizeof(void *));
    for (size_t i = 0; i < info->num_outputs; ++i) {
      r.expected[w][i] = malloc(bytes[i]);
      memcpy(r.expected[w][i], outputs[i], bytes[i]);
    }
  }
  pthread_t threads[kRunners];
  for (int t = 0; t < kRunners; ++t)
    pthread_create(&threads[t], NULL, runner, &r);
  int binds = 0, failedBinds = 0, running = kRunners;
  while (running > 0 || binds < 6) {
    failedBinds += info->prepare(weights[binds % 2]) != 0;
    ++binds;
    pthread_mutex_lock(&r.lock);
    running = r.running;
    pthread_mutex_unlock(&r.lock);
  }
  for (int t = 0; t < kRunners; ++t)
    pthread_join(threads[t], NULL);
  printf("rebind: %d runs from %d threads beside %d prepares: %d and %d "
         "matched each set of weights, %d matched neither, %d failed\n",
         kRunners * kRunsEach, kRunners, binds, r.matched[0], r.matched[1],
         r.mismatched, r.failed + failedBinds);
  for (int w = 0; w < 2; ++w) {
    for (size_t i = 0; i < info->num_outputs; ++i)
      free(r.expected[w][i]);
    free(r.expected[w]);
  }
  /* Back to the first set, for the outputs written after. */
  if (info->prepare(weights[0]))
    return die(weights[0], heed_rt_last_error());
  return r.mismatched || r.failed || failedBinds;
}

int main(int argc, char **argv) {
  if (argc < 5)
    return die("usage", "heed-aot-run LIB.so MODEL WEIGHTS|- OUT.npz NAME=FILE ...");
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return die(argv[1], dlerror());
  char symbol[256];
  snprintf(symbol, sizeof symbol, "%s_info", argv[2]);
  const heed_rt_model_info *(*info_of)(void) =
      (const heed_rt_model_info *(*)(void))dlsym(lib, symbol);
  if (!info_of)
    return die(symbol, dlerror());
  const heed_rt_model_info *info = info_of();

  int status = strcmp(argv[3], "-") ? info->prepare(argv[3])
                                    : info->prepare_from(NULL);
  if (status)
    return die("prepare", heed_rt_last_error());
  for (int a = 5; a < argc; ++a)
    if (!strncmp(argv[a], "--threads=", 10) &&
        info->set_threads(atoi(argv[a] + 10)))
      return die("set_threads", heed_rt_last_error());

  const void **inputs = calloc(info->num_inputs + 1, sizeof *inputs);
  void **outputs = calloc(info->num_outputs + 1, sizeof *outputs);
  for (size_t i = 0; i < info->num_inputs; ++i) {
    const char *file = NULL;
    size_t len = strlen(info->inputs[i].name);
    for (int a = 5; a < argc; ++a)
      if (!strncmp(argv[a], info->inputs[i].name, len) && argv[a][len] == '=')
        file = argv[a] + len + 1;
    if (!file)
      return die(info->inputs[i].name, "no NAME=FILE for this input");
    void *data; /* in the input's dtype */
    if (heed_rt_read_tensor(file, &info->inputs[i], &data))
      return die(info->inputs[i].name, heed_rt_last_error());
    inputs[i] = data;
  }
  size_t *bytes = calloc(info->num_outputs + 1, sizeof *bytes);
  for (size_t i = 0; i < info->num_outputs; ++i) {
    int64_t n = 1;
    for (size_t d = 0; d < info->outputs[i].rank; ++d)
      n *= info->outputs[i].shape[d];
    bytes[i] = (size_t)n * heed_rt_dtype_size(info->outputs[i].dtype);
    /* heed_rt_alloc counts floats; an int64 output needs two each. */
    n = (n * (int64_t)heed_rt_dtype_size(info->outputs[i].dtype) + 3) / 4;
    if (!(outputs[i] = heed_rt_alloc(n)))
      return die("outputs", heed_rt_last_error());
  }
  for (int a = 5; a < argc; ++a)
    if (!strncmp(argv[a], "--rebind=", 9)) {
      const char *weights[2] = {argv[3], argv[a] + 9};
      if (rebind_while_running(info, inputs, outputs, bytes, weights))
        return 1;
    }
  for (int a = 5; a < argc; ++a)
    if (!strncmp(argv[a], "--bad-weights=", 14)) {
      if (!info->prepare(argv[a] + 14))
        return die(argv[a] + 14, "prepared, but it should have failed");
      printf("prepare failed: %s\n", heed_rt_last_error());
    }
  if (info->run(inputs, outputs))
    return die("run", heed_rt_last_error());
  int repeat = 0;
  for (int a = 5; a < argc; ++a)
    if (!strncmp(argv[a], "--repeat=", 9) && (repeat = atoi(argv[a] + 9)) < 1)
      return die(argv[a], "the number of runs must be at least 1");
  if (repeat) {
    double *ms = calloc((size_t)repeat, sizeof *ms);
    for (int r = 0; r < repeat; ++r) {
      double start = now_ms();
      if (info->run(inputs, outputs))
        return die("run", heed_rt_last_error());
      ms[r] = now_ms() - start;
    }
    qsort(ms, (size_t)repeat, sizeof *ms, by_value);
    printf("%s: median %.4f ms, min %.4f ms, max %.4f ms over %d runs\n",
           info->name, ms[repeat / 2], ms[0], ms[repeat - 1], repeat);
    free(ms);
  }
  if (heed_rt_write_npz(argv[4], info->num_outputs, info->outputs,
                        (const void *const *)outputs))
    return die(argv[4], heed_rt_last_error());
  printf("ran %s: %zu inputs, %zu outputs -> %s\n", info->name,
         info->num_inputs, info->num_outputs, argv[4]);
  for (size_t i = 0; i < info->num_inputs; ++i)
    heed_rt_free((float *)inputs[i]);
  for (size_t i = 0; i < info->num_outputs; ++i)
    heed_rt_free(outputs[i]);
  free(inputs);
  free(outputs);
  free(bytes);
  info->release();
  return 0;
}
