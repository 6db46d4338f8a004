/* include/autoneural.h is C: this file is compiled as C99 without extensions (-pedantic-errors) and linked
 * against the static library. It takes the address of every function (so each prototype is checked) and
 * runs the calls that need no model. Exit status 0 on success. */
#include "autoneural.h"

#include <stdio.h>
#include <string.h>

typedef void (*any_fn)(void);

int main(void) {
  const any_fn functions[] = {
      (any_fn)an_version,           (any_fn)an_model_load,          (any_fn)an_model_free,
      (any_fn)an_model_n_vocab,     (any_fn)an_model_n_embd,        (any_fn)an_token_bos,
      (any_fn)an_token_eos,         (any_fn)an_token_is_eog,        (any_fn)an_tokenize,
      (any_fn)an_token_to_piece,    (any_fn)an_model_load_vlm,      (any_fn)an_model_has_vision,
      (any_fn)an_model_image_tokens, (any_fn)an_model_image_token,  (any_fn)an_image_embed_rgb,
      (any_fn)an_image_embed_file,  (any_fn)an_tokenize_with_images, (any_fn)an_session_new,
      (any_fn)an_session_free,      (any_fn)an_session_eval,        (any_fn)an_session_eval_embd,
      (any_fn)an_session_n_past,    (any_fn)an_session_n_ctx,       (any_fn)an_session_reset,
      (any_fn)an_sampler_new,       (any_fn)an_sampler_free,        (any_fn)an_sampler_sample};
  size_t i;
  for (i = 0; i < sizeof functions / sizeof functions[0]; ++i) {
    if (!functions[i]) return 1;
  }

  const char* version = an_version();
  if (!version || !*version) {
    fprintf(stderr, "an_version: empty\n");
    return 1;
  }

  /* A missing file fails with a message, not an exception through C. */
  char err[256] = "";
  an_model* model = an_model_load("/nonexistent/autoneural-c-header-check.gguf", 1, err, sizeof err);
  if (model || strlen(err) == 0) {
    fprintf(stderr, "an_model_load of a missing file: expected NULL and a message\n");
    an_model_free(model);
    return 1;
  }

  /* Greedy sampling needs no model. */
  const float logits[4] = {0.5f, 2.0f, -1.0f, 1.5f};
  an_sampler* greedy = an_sampler_new(0.0f, 0, 1.0f, 0.0f, 1.0f, 1);
  const bool ok = greedy && an_sampler_sample(greedy, logits, 4, NULL, 0) == 1;
  an_sampler_free(greedy);
  if (!ok) {
    fprintf(stderr, "greedy sampler: expected token 1\n");
    return 1;
  }
  printf("autoneural %s: C header and library OK (%s)\n", version, err);
  return 0;
}
