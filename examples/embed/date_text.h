/*===- date_text.h - Text in and out of seed 000's date translator -*- C -*-===*\
|*                                                                            *|
|* Part of Heed. What both embedding examples need besides Heed: the         *|
|* vocabularies of the model's text.json, one-hot encoding of a date and    *|
|* decoding of the model's output y [B, Ty, V] by argmax. Plain C.          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef HEED_EXAMPLES_EMBED_DATE_TEXT_H
#define HEED_EXAMPLES_EMBED_DATE_TEXT_H

#include <ctype.h>
#include <stdint.h>
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

/* Reads MODEL_DIR/text.json's input and output vocabularies. */
static int readVocabularies(const char *modelDir, Vocabulary *in,
                            Vocabulary *out) {
  char path[4096];
  snprintf(path, sizeof path, "%s/text.json", modelDir);
  char *json = readFile(path);
  int ok = json && readVocabulary(json, "input_vocabulary", in) &&
           readVocabulary(json, "output_vocabulary", out);
  free(json);
  return ok;
}

/* Row b of X [B, tx, in->count]: `text` as one-hot characters, lowercased,
 * commas dropped (text.json: "drop": ","), then <pad>. */
static void encodeDate(const Vocabulary *in, const char *text, float *x,
                       int64_t b, int64_t tx) {
  int64_t vocab = in->count, t = 0;
  int unk = indexOf(in, "<unk>"), pad = indexOf(in, "<pad>");
  for (const char *c = text; *c && t < tx; ++c) {
    if (*c == ',')
      continue;
    char symbol[2] = {(char)tolower((unsigned char)*c), 0};
    int i = indexOf(in, symbol);
    x[(b * tx + t++) * vocab + (i < 0 ? unk : i)] = 1;
  }
  for (; t < tx; ++t)
    x[(b * tx + t) * vocab + pad] = 1;
}

/* Prints row b of y [B, ty, out->count] as symbols, argmax per step. */
static void printDate(const Vocabulary *out, const float *y, int64_t b,
                      int64_t ty) {
  for (int64_t t = 0; t < ty; ++t) {
    const float *p = y + (b * ty + t) * out->count;
    int best = 0;
    for (int k = 1; k < out->count; ++k)
      if (p[k] > p[best])
        best = k;
    fputs(out->symbols[best], stdout);
  }
}

#endif
