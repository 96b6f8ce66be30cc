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

#include <heed.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SYMBOLS = 64, MAX_SYMBOL = 16 };

typedef struct {
  char symbols[MAX_SYMBOLS][MAX_SYMBOL];
  int count;
} Vocabulary;

/* The strings of the JSON array after "key": in `json` (the vocabularies
 * of text.json hold plain strings without escapes). */
static int readVocabulary(const char *json, const char *key, Vocabulary *v) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *p = strstr(json, quoted);
  if (!p || !(p = strchr(p, '[')))
    return 0;
  v->count = 0;
  for (++p; *p && *p != ']'; ++p) {
    if (*p != '"')
      continue;
    const char *end = strchr(p + 1, '"');
    if (!end || end - p - 1 >= MAX_SYMBOL || v->count == MAX_SYMBOLS)
      return 0;
    memcpy(v->symbols[v->count], p + 1, (size_t)(end - p - 1));
    v->symbols[v->count++][end - p - 1] = 0;
    p = end;
  }
  return v->count > 0;
}

static int indexOf(const Vocabulary *v, const char *symbol) {
  for (int i = 0; i < v->count; ++i)
    if (strcmp(v->symbols[i], symbol) == 0)
      return i;
  return -1;
}

static char *readFile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
    free(text);
    text = NULL;
  }
  if (text)
    text[size] = 0;
  fclose(f);
  return text;
}

#define FAIL(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), exit(1))

int main(int argc, char **argv) {
  if (argc < 3)
    FAIL("usage: %s MODEL_DIR DATE...", argv[0]);
  char path[4096];
  snprintf(path, sizeof path, "%s/text.json", argv[1]);
  char *json = readFile(path);
  Vocabulary in, out;
  if (!json || !readVocabulary(json, "input_vocabulary", &in) ||
      !readVocabulary(json, "output_vocabulary", &out))
    FAIL("%s: cannot read the vocabularies", path);
  free(json);

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
  int unk = indexOf(&in, "<unk>"), pad = indexOf(&in, "<pad>");
  for (int64_t b = 0; b < batch; ++b) {
    const char *text = argv[2 + b];
    int64_t t = 0;
    for (const char *c = text; *c && t < tx; ++c) {
      if (*c == ',')
        continue; /* text.json: "drop": "," */
      char symbol[2] = {(char)tolower((unsigned char)*c), 0};
      int i = indexOf(&in, symbol);
      x[(b * tx + t++) * vocab + (i < 0 ? unk : i)] = 1;
    }
    for (; t < tx; ++t)
      x[(b * tx + t) * vocab + pad] = 1;
  }
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
    for (int64_t t = 0; t < ty; ++t) {
      const float *p = outputs[yIndex] + (b * ty + t) * out.count;
      int best = 0;
      for (int k = 1; k < out.count; ++k)
        if (p[k] > p[best])
          best = k;
      fputs(out.symbols[best], stdout);
    }
    putchar('\n');
  }
  for (size_t i = 0; i < numOutputs; ++i)
    free(outputs[i]);
  free(x), free(s0), free(c0);
  heed_free(model);
  return 0;
}
