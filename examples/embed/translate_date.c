/*===- translate_date.c - Seed 000's date translator through the C API ---===*\
|*                                                                            *|
|* Part of Heed. Loads examples/date_translation (model, weights, and the    *|
|* vocabularies of its text.json), encodes each date given on the command   *|
|* line as one-hot characters, runs the model on all of them as one batch    *|
|* and prints the decoded YYYY-MM-DD. Build it against the installed         *|
|* package (examples/embed/CMakeLists.txt, or pkg-config --cflags --libs     *|
|* heed).                                                                    *|
|*                                                                            *|
|*   translate_date MODEL_DIR "3 May 1979" "Tuesday, 21 November 2026" ...    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "date_text.h"

#include <heed.h>

#define FAIL(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), exit(1))

int main(int argc, char **argv) {
  if (argc < 3)
    FAIL("usage: %s MODEL_DIR DATE...", argv[0]);
  Vocabulary in, out;
  if (!readVocabularies(argv[1], &in, &out))
    FAIL("%s/text.json: cannot read the vocabularies", argv[1]);

  char path[4096];
  snprintf(path, sizeof path, "%s/model.heed", argv[1]);
  heed_model *model = heed_load(path, 0, NULL, NULL);
  if (!model)
    FAIL("%s", heed_last_error());
  snprintf(path, sizeof path, "%s/weights.safetensors", argv[1]);
  if (heed_bind_weights_file(model, path) != HEED_OK)
    FAIL("%s", heed_last_error());

  /* Inputs X [B, Tx, V] (one-hot), s0 and c0 [B, n_s] (zeros), in the
   * model's declaration order; sizes from the model itself. */
  int64_t batch = argc - 2;
  int64_t tx = heed_input_dim(model, 0, 1), vocab = heed_input_dim(model, 0, 2);
  int64_t ns = heed_input_dim(model, 1, 1);
  if (heed_num_inputs(model) != 3 || vocab != in.count)
    FAIL("unexpected model interface");
  float *x = calloc((size_t)(batch * tx * vocab), sizeof(float));
  float *s0 = calloc((size_t)(batch * ns), sizeof(float));
  float *c0 = calloc((size_t)(batch * ns), sizeof(float));
  for (int64_t b = 0; b < batch; ++b)
    encodeDate(&in, argv[2 + b], x, b, tx);
  int64_t xShape[] = {batch, tx, vocab}, sShape[] = {batch, ns};
  const int64_t *inShapes[] = {xShape, sShape, sShape};
  const float *inputs[] = {x, s0, c0};

  /* Outputs: shapes from heed_compile, buffers from the caller. */
  size_t numOutputs = heed_num_outputs(model);
  int64_t shapes[8][4];
  int64_t *outShapes[8];
  float *outputs[8];
  if (numOutputs > 8)
    FAIL("too many outputs");
  for (size_t i = 0; i < numOutputs; ++i)
    outShapes[i] = shapes[i];
  if (heed_compile(model, inShapes, outShapes) != HEED_OK)
    FAIL("%s", heed_last_error());
  size_t yIndex = numOutputs;
  for (size_t i = 0; i < numOutputs; ++i) {
    int64_t n = 1;
    for (size_t a = 0; a < heed_output_rank(model, i); ++a)
      n *= shapes[i][a];
    outputs[i] = calloc((size_t)n, sizeof(float));
    if (strcmp(heed_output_name(model, i), "y") == 0)
      yIndex = i;
  }
  if (yIndex == numOutputs)
    FAIL("the model has no output 'y'");
  if (heed_run(model, inputs, inShapes, outputs) != HEED_OK)
    FAIL("%s", heed_last_error());

  /* y [B, Ty, out.count]: argmax per step. */
  int64_t ty = shapes[yIndex][1];
  for (int64_t b = 0; b < batch; ++b) {
    printf("%s -> ", argv[2 + b]);
    printDate(&out, outputs[yIndex], b, ty);
    putchar('\n');
  }
  for (size_t i = 0; i < numOutputs; ++i)
    free(outputs[i]);
  free(x), free(s0), free(c0);
  heed_free(model);
  return 0;
}
