/*===- translate_date_aot.c - The date translator as a model library -----===*\
|*                                                                            *|
|* Part of Heed. The same job as translate_date.c, through a model library   *|
|* compiled ahead of time instead of the C API: no model source, no LLVM,    *|
|* no MLIR and no JIT at run time, only libheed_runtime. Make the library    *|
|* and its header (date_translation.h) for batches of 3, then build this:   *|
|*                                                                            *|
|*   heed compile examples/date_translation/model.heed --emit=shared \       *|
|*       --dim B=3 -o aot/libdate_translation.so                             *|
|*   cc translate_date_aot.c -Iaot -IPREFIX/include -Laot -ldate_translation *|
|*       -Wl,-rpath,$PWD/aot -o translate_date_aot                           *|
|*   translate_date_aot examples/date_translation "3 May 1979" "12.06.85"   *|
|*                                                                            *|
|* Dates go through in batches of the library's batch size.                 *|
\*===----------------------------------------------------------------------===*/

#include "date_text.h"

#include "date_translation.h"

#define FAIL(...) (fprintf(stderr, __VA_ARGS__), fputc('\n', stderr), exit(1))

int main(int argc, char **argv) {
  if (argc < 3)
    FAIL("usage: %s MODEL_DIR DATE...", argv[0]);
  Vocabulary in, out;
  if (!readVocabularies(argv[1], &in, &out))
    FAIL("%s/text.json: cannot read the vocabularies", argv[1]);
  /* The shapes the library was compiled for, from its header. */
  const int64_t batch = date_translation_X_shape[0];
  const int64_t tx = date_translation_X_shape[1];
  const int64_t ty = date_translation_y_shape[1];
  if (date_translation_X_shape[2] != in.count ||
      date_translation_y_shape[2] != out.count)
    FAIL("the library's vocabularies differ from %s/text.json", argv[1]);

  char path[4096];
  snprintf(path, sizeof path, "%s/weights.safetensors", argv[1]);
  if (date_translation_prepare(path))
    FAIL("%s", date_translation_last_error());

  float *x = malloc(sizeof(float) * date_translation_X_elements);
  float *s0 = calloc(date_translation_s0_elements, sizeof(float));
  float *c0 = calloc(date_translation_c0_elements, sizeof(float));
  float *y = malloc(sizeof(float) * date_translation_y_elements);
  float *attention = malloc(sizeof(float) * date_translation_attention_elements);
  for (int first = 2; first < argc; first += (int)batch) {
    memset(x, 0, sizeof(float) * date_translation_X_elements);
    for (int64_t b = 0; b < batch; ++b) /* unused rows: empty dates */
      encodeDate(&in, first + b < argc ? argv[first + b] : "", x, b, tx);
    if (date_translation_run(x, s0, c0, y, attention))
      FAIL("%s", date_translation_last_error());
    for (int64_t b = 0; b < batch && first + b < argc; ++b) {
      printf("%s -> ", argv[first + b]);
      printDate(&out, y, b, ty);
      putchar('\n');
    }
  }
  free(x), free(s0), free(c0), free(y), free(attention);
  date_translation_release();
  return 0;
}
