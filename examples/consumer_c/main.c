/* A C program built against the installed autoneural package with pkg-config (scripts/test-install.sh):
 *
 *   cc -std=c99 main.c $(pkg-config --cflags --static --libs autoneural)
 *   ./a.out FIXTURES/text/lfm2-tiny
 *
 * On the lfm2-tiny fixture it tokenizes the "plain" prompt, checks the ids against llama.cpp's
 * (ref/plain.tokens.npy) and the pieces against the text, evaluates it and generates greedily, checking
 * the tokens against ref/plain.greedy.npy. Exit status 0 when everything matches. */
#include <autoneural.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixture's "plain" prompt (ref/prompts.json): add_special true, parse_special false. */
static const char kPrompt[] =
    "The quick brown fox jumps over the lazy dog, and the license grants you a perpetual, worldwide right "
    "to use it.";
#define MAX_GREEDY 64

/* A 1-D little-endian int32 .npy file; returns the element count or -1. */
static int read_npy_i32(const char* path, int32_t* out, int capacity) {
  FILE* f = fopen(path, "rb");
  if (!f) return -1;
  unsigned char head[10];
  int n = -1;
  if (fread(head, 1, 10, f) == 10 && memcmp(head, "\x93NUMPY", 6) == 0 && head[6] == 1) {
    const unsigned header_len = head[8] | (unsigned)head[9] << 8;
    char header[1024];
    if (header_len < sizeof header && fread(header, 1, header_len, f) == header_len) {
      header[header_len] = '\0';
      if (strstr(header, "'<i4'")) {
        n = 0;
        unsigned char v[4];
        while (n < capacity && fread(v, 1, 4, f) == 4) {
          out[n++] = (int32_t)((uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24);
        }
      }
    }
  }
  fclose(f);
  return n;
}

static int fail(const char* what, const char* detail) {
  fprintf(stderr, "consumer_c: FAIL: %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s LFM2_TINY_FIXTURE_DIR\n", argv[0]);
    return 2;
  }
  char path[4096];
  int32_t want_tokens[512], want_greedy[MAX_GREEDY];
  snprintf(path, sizeof path, "%s/ref/plain.tokens.npy", argv[1]);
  const int n_want = read_npy_i32(path, want_tokens, 512);
  snprintf(path, sizeof path, "%s/ref/plain.greedy.npy", argv[1]);
  const int n_greedy = read_npy_i32(path, want_greedy, MAX_GREEDY);
  if (n_want <= 0 || n_greedy <= 0) return fail("reading the references", path);

  char err[512] = "";
  snprintf(path, sizeof path, "%s/model-f32.gguf", argv[1]);
  an_model* model = an_model_load(path, 2, err, sizeof err);
  if (!model) return fail("an_model_load", err);
  printf("autoneural %s, %s: n_vocab %d, n_embd %d\n", an_version(), path, an_model_n_vocab(model),
         an_model_n_embd(model));
  const int32_t n_vocab = an_model_n_vocab(model);

  /* Tokenize: ask for the size, then fill. */
  const int32_t needed = an_tokenize(model, kPrompt, strlen(kPrompt), true, false, NULL, 0);
  if (needed >= 0) return fail("an_tokenize", "expected a negative size query");
  const int32_t n_tokens = -needed;
  int32_t* tokens = malloc(sizeof(int32_t) * (size_t)n_tokens);
  if (!tokens || an_tokenize(model, kPrompt, strlen(kPrompt), true, false, tokens, n_tokens) != n_tokens)
    return fail("an_tokenize", "count");
  if (n_tokens != n_want || memcmp(tokens, want_tokens, sizeof(int32_t) * (size_t)n_tokens) != 0)
    return fail("tokens", "differ from ref/plain.tokens.npy");
  if (tokens[0] != an_token_bos(model)) return fail("tokens", "no BOS");

  /* The pieces after BOS spell the prompt again. */
  char text[1024] = "";
  size_t len = 0;
  int32_t i;
  for (i = 1; i < n_tokens; ++i) {
    const int32_t n = an_token_to_piece(model, tokens[i], true, text + len, (int32_t)(sizeof text - 1 - len));
    if (n < 0) return fail("an_token_to_piece", "buffer");
    len += (size_t)n;
  }
  text[len] = '\0';
  if (strcmp(text, kPrompt) != 0) return fail("detokenized pieces differ from the prompt", text);
  printf("prompt: %d tokens, ids equal llama.cpp's, pieces round-trip\n", n_tokens);

  /* Evaluate, then greedy decoding one token at a time (the C API's session keeps an F16 KV cache; the
   * reference used F32, and the greedy tokens are still the same). */
  an_session* session = an_session_new(model, 256, err, sizeof err);
  if (!session) return fail("an_session_new", err);
  an_sampler* greedy = an_sampler_new(0.0f, 0, 1.0f, 0.0f, 1.0f, 0);
  float* logits = malloc(sizeof(float) * (size_t)n_vocab);
  if (!greedy || !logits) return fail("allocation", NULL);
  if (an_session_eval(session, tokens, n_tokens, logits, err, sizeof err) != 0) return fail("an_session_eval", err);
  int32_t got[MAX_GREEDY];
  printf("greedy:");
  for (i = 0; i < n_greedy; ++i) {
    int32_t v;
    for (v = 0; v < n_vocab; ++v) {
      if (!isfinite(logits[v])) return fail("logits", "not finite");
    }
    got[i] = an_sampler_sample(greedy, logits, n_vocab, NULL, 0);
    char piece[64];
    const int32_t n = an_token_to_piece(model, got[i], true, piece, (int32_t)sizeof piece);
    int32_t k;
    printf(" %d(", got[i]);
    for (k = 0; k < n; ++k) {
      const unsigned char c = (unsigned char)piece[k];
      if (c >= 0x20 && c < 0x7f) putchar(c); else printf("\\x%02x", c);
    }
    printf(")");
    if (an_session_eval(session, &got[i], 1, logits, err, sizeof err) != 0) return fail("an_session_eval", err);
  }
  printf("\n");
  if (an_session_n_past(session) != n_tokens + n_greedy) return fail("an_session_n_past", NULL);
  for (i = 0; i < n_greedy; ++i) {
    if (got[i] != want_greedy[i]) {
      fprintf(stderr, "consumer_c: greedy token %d is %d, reference %d\n", i, got[i], want_greedy[i]);
      return fail("greedy tokens differ from ref/plain.greedy.npy", NULL);
    }
  }
  printf("consumer_c: OK (%d greedy tokens equal llama.cpp's)\n", n_greedy);

  free(logits);
  an_sampler_free(greedy);
  an_session_free(session);
  free(tokens);
  an_model_free(model);
  return 0;
}
