/* autoneural C API: load a model, tokenize, evaluate, sample, free.
 *
 * Conventions: functions that can fail take `char* err, size_t err_size` and, on failure, write a
 * NUL-terminated message there (if err is not NULL) and return NULL / a negative value. Nothing is
 * global: every handle is independent, and handles of different models may be used from different
 * threads. A session must not be used from two threads at once. */
#ifndef AUTONEURAL_H
#define AUTONEURAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct an_model an_model;
typedef struct an_session an_session;
typedef struct an_sampler an_sampler;

const char* an_version(void);

/* path: a GGUF file or a Hugging Face directory. n_threads <= 0: one per core. */
an_model* an_model_load(const char* path, int32_t n_threads, char* err, size_t err_size);
void an_model_free(an_model* model);
int32_t an_model_n_vocab(const an_model* model);
int32_t an_model_n_embd(const an_model* model);
int32_t an_token_bos(const an_model* model);
int32_t an_token_eos(const an_model* model);
/* true for EOS and the end-of-turn token */
bool an_token_is_eog(const an_model* model, int32_t token);

/* Writes up to `capacity` ids to `out`. Returns the number of tokens; if that exceeds capacity, the
 * negated number of tokens needed (nothing useful written). INT32_MIN on error. */
int32_t an_tokenize(const an_model* model, const char* text, size_t text_len, bool add_special,
                    bool parse_special, int32_t* out, int32_t capacity);
/* Bytes of one token into buf (not NUL-terminated). Returns the length, or the negated length needed
 * if size is too small, or INT32_MIN for an invalid id. */
int32_t an_token_to_piece(const an_model* model, int32_t token, bool render_special, char* buf, int32_t size);

/* ---- vision ---------------------------------------------------------------------------------------
 * A language model with a vision file (our vision GGUF or llama.cpp's gemma3nv mmproj); mmproj NULL or
 * "" loads the model's own vision part if it has one (AutoNeural directory, merged GGUF). */
an_model* an_model_load_vlm(const char* path, const char* mmproj, int32_t n_threads, char* err, size_t err_size);
bool an_model_has_vision(const an_model* model);
/* Rows per image (e.g. 256) and the id of the image placeholder token; -1 without vision. */
int32_t an_model_image_tokens(const an_model* model);
int32_t an_model_image_token(const an_model* model);
/* Encodes raw pixels (channels 1 = gray, 3 = RGB, 4 = RGBA with alpha ignored; stride in bytes, 0 =
 * width*channels) into LM embedding rows: writes an_model_image_tokens() x an_model_n_embd() floats to
 * out (capacity in floats). size 0: the model's input size. Returns the number of rows, or -1 on error. */
int32_t an_image_embed_rgb(const an_model* model, const uint8_t* pixels, int32_t width, int32_t height,
                           int32_t channels, size_t stride, int32_t size, float* out, size_t capacity, char* err,
                           size_t err_size);
/* The same for an image file (PNG, JPEG, BMP, PPM/PGM). */
int32_t an_image_embed_file(const an_model* model, const char* path, int32_t size, float* out, size_t capacity,
                            char* err, size_t err_size);
/* Tokenizes text whose "<image>" markers are expanded to <|image_start|>, one placeholder per image row and
 * <|image_end|> (see an_tokenize for the return value). Feed placeholder runs with an_session_eval_embd. */
int32_t an_tokenize_with_images(const an_model* model, const char* text, size_t text_len, bool add_special,
                                int32_t* out, int32_t capacity);

/* n_ctx <= 0: 4096. */
an_session* an_session_new(const an_model* model, int32_t n_ctx, char* err, size_t err_size);
void an_session_free(an_session* session);
/* Appends n tokens; writes the last position's logits (n_vocab floats) to logits_out if not NULL.
 * Returns 0, or -1 on error (the session is unchanged). */
int32_t an_session_eval(an_session* session, const int32_t* tokens, int32_t n, float* logits_out, char* err,
                        size_t err_size);
/* Same with embedding rows [n][n_embd] instead of token ids. */
int32_t an_session_eval_embd(an_session* session, const float* embd, int32_t n, float* logits_out, char* err,
                             size_t err_size);
int32_t an_session_n_past(const an_session* session);
int32_t an_session_n_ctx(const an_session* session);
void an_session_reset(an_session* session);

/* temperature <= 0: greedy. top_k <= 0, top_p >= 1, min_p <= 0, repeat_penalty == 1 disable those steps. */
an_sampler* an_sampler_new(float temperature, int32_t top_k, float top_p, float min_p, float repeat_penalty,
                           uint64_t seed);
void an_sampler_free(an_sampler* sampler);
/* Returns the sampled id, or -1 on invalid arguments. history may be NULL when n_history is 0. */
int32_t an_sampler_sample(an_sampler* sampler, const float* logits, int32_t n_vocab, const int32_t* history,
                          int32_t n_history);

#ifdef __cplusplus
}
#endif

#endif /* AUTONEURAL_H */
