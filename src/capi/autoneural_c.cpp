// The C API is a thin shell over the C++ API: it converts exceptions into error messages at the boundary.
#include "autoneural.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

#include "autoneural/llm.h"
#include "autoneural/system.h"

struct an_model {
  std::shared_ptr<autoneural::Model> model;
};
struct an_session {
  autoneural::Session session;
};
struct an_sampler {
  autoneural::Sampler sampler;
};

namespace {

void set_error(char* err, size_t size, const char* message) {
  if (!err || size == 0) return;
  std::strncpy(err, message, size - 1);
  err[size - 1] = '\0';
}

template <typename F>
auto guarded(char* err, size_t size, F&& f, decltype(f()) on_error) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    set_error(err, size, "out of memory");
  } catch (const std::exception& e) {
    set_error(err, size, e.what());
  }
  return on_error;
}

}  // namespace

extern "C" {

const char* an_version(void) { return autoneural::version(); }

an_model* an_model_load(const char* path, int32_t n_threads, char* err, size_t err_size) {
  if (!path) {
    set_error(err, err_size, "path is NULL");
    return nullptr;
  }
  return guarded(err, err_size, [&] { return new an_model{autoneural::Model::load(path, {n_threads})}; },
                 static_cast<an_model*>(nullptr));
}

an_model* an_model_load_vlm(const char* path, const char* mmproj, int32_t n_threads, char* err, size_t err_size) {
  if (!path) {
    set_error(err, err_size, "path is NULL");
    return nullptr;
  }
  return guarded(
      err, err_size, [&] { return new an_model{autoneural::Model::load(path, {n_threads, mmproj ? mmproj : ""})}; },
      static_cast<an_model*>(nullptr));
}

bool an_model_has_vision(const an_model* m) { return m && m->model->has_vision(); }
int32_t an_model_image_tokens(const an_model* m) {
  return m && m->model->has_vision() ? static_cast<int32_t>(m->model->vision_info().tokens_per_image) : -1;
}
int32_t an_model_image_token(const an_model* m) {
  return m && m->model->has_vision() && m->model->has_language_model() ? m->model->vision_info().image_token : -1;
}

namespace {
int32_t copy_embedding(const autoneural::ImageEmbedding& e, float* out, size_t capacity) {
  if (e.rows.size() > capacity)
    throw autoneural::Error("output holds " + std::to_string(capacity) + " floats, the image needs " +
                            std::to_string(e.rows.size()));
  std::copy(e.rows.begin(), e.rows.end(), out);
  return static_cast<int32_t>(e.n_tokens);
}
}  // namespace

int32_t an_image_embed_rgb(const an_model* m, const uint8_t* pixels, int32_t width, int32_t height, int32_t channels,
                           size_t stride, int32_t size, float* out, size_t capacity, char* err, size_t err_size) {
  if (!m || !pixels || !out) {
    set_error(err, err_size, "model, pixels or out is NULL");
    return -1;
  }
  return guarded(
      err, err_size,
      [&] {
        const auto image = autoneural::Image::from_pixels(pixels, width, height, channels, stride);
        return copy_embedding(m->model->encode_image(image, {size, false}), out, capacity);
      },
      int32_t{-1});
}

int32_t an_image_embed_file(const an_model* m, const char* path, int32_t size, float* out, size_t capacity, char* err,
                            size_t err_size) {
  if (!m || !path || !out) {
    set_error(err, err_size, "model, path or out is NULL");
    return -1;
  }
  return guarded(
      err, err_size,
      [&] { return copy_embedding(m->model->encode_image(autoneural::Image::load(path), {size, false}), out, capacity); },
      int32_t{-1});
}

int32_t an_tokenize_with_images(const an_model* m, const char* text, size_t text_len, bool add_special, int32_t* out,
                                int32_t capacity) {
  if (!m || (!text && text_len) || capacity < 0 || (!out && capacity > 0)) return INT32_MIN;
  try {
    const auto ids = m->model->tokenize_with_images(std::string_view(text ? text : "", text_len), add_special);
    if (ids.size() > static_cast<size_t>(INT32_MAX)) return INT32_MIN;
    const auto n = static_cast<int32_t>(ids.size());
    if (n > capacity) return -n;
    std::copy(ids.begin(), ids.end(), out);
    return n;
  } catch (const std::exception&) {
    return INT32_MIN;
  }
}

void an_model_free(an_model* model) { delete model; }
int32_t an_model_n_vocab(const an_model* m) { return m ? static_cast<int32_t>(m->model->info().n_vocab) : -1; }
int32_t an_model_n_embd(const an_model* m) { return m ? static_cast<int32_t>(m->model->info().hidden) : -1; }
int32_t an_token_bos(const an_model* m) { return m ? m->model->bos() : -1; }
int32_t an_token_eos(const an_model* m) { return m ? m->model->eos() : -1; }
bool an_token_is_eog(const an_model* m, int32_t t) { return m && m->model->is_end_of_generation(t); }

int32_t an_tokenize(const an_model* m, const char* text, size_t len, bool add_special, bool parse_special,
                    int32_t* out, int32_t capacity) {
  if (!m || (!text && len > 0) || capacity < 0 || (!out && capacity > 0)) return INT32_MIN;
  return guarded(nullptr, 0, [&]() -> int32_t {
    const auto ids = m->model->tokenize(std::string_view(text ? text : "", len), add_special, parse_special);
    const auto n = static_cast<int32_t>(ids.size());
    if (n > capacity) return -n;
    std::copy(ids.begin(), ids.end(), out);
    return n;
  }, INT32_MIN);
}

int32_t an_token_to_piece(const an_model* m, int32_t token, bool render_special, char* buf, int32_t size) {
  if (!m || token < 0 || token >= m->model->info().n_vocab || size < 0 || (!buf && size > 0)) return INT32_MIN;
  return guarded(nullptr, 0, [&]() -> int32_t {
    const auto piece = m->model->token_to_piece(token, render_special);
    const auto n = static_cast<int32_t>(piece.size());
    if (n > size) return -n;
    std::memcpy(buf, piece.data(), piece.size());
    return n;
  }, INT32_MIN);
}

an_session* an_session_new(const an_model* m, int32_t n_ctx, char* err, size_t err_size) {
  if (!m) {
    set_error(err, err_size, "model is NULL");
    return nullptr;
  }
  return guarded(err, err_size, [&] {
    autoneural::SessionOptions o;
    if (n_ctx > 0) o.n_ctx = n_ctx;
    return new an_session{autoneural::Session(m->model, o)};
  }, static_cast<an_session*>(nullptr));
}

void an_session_free(an_session* s) { delete s; }

int32_t an_session_eval(an_session* s, const int32_t* tokens, int32_t n, float* logits_out, char* err,
                        size_t err_size) {
  if (!s || !tokens || n <= 0) {
    set_error(err, err_size, "invalid arguments: session, tokens and a positive count are required");
    return -1;
  }
  return guarded(err, err_size, [&]() -> int32_t {
    const auto logits = s->session.decode(std::span<const int32_t>(tokens, static_cast<size_t>(n)));
    if (logits_out) std::copy(logits.begin(), logits.end(), logits_out);
    return 0;
  }, -1);
}

int32_t an_session_eval_embd(an_session* s, const float* embd, int32_t n, float* logits_out, char* err,
                             size_t err_size) {
  if (!s || !embd || n <= 0) {
    set_error(err, err_size, "invalid arguments: session, embeddings and a positive count are required");
    return -1;
  }
  return guarded(err, err_size, [&]() -> int32_t {
    const size_t count = static_cast<size_t>(n) * static_cast<size_t>(s->session.model().info().hidden);
    const auto logits = s->session.decode_embeddings(std::span<const float>(embd, count));
    if (logits_out) std::copy(logits.begin(), logits.end(), logits_out);
    return 0;
  }, -1);
}

int32_t an_session_n_past(const an_session* s) { return s ? static_cast<int32_t>(s->session.n_past()) : -1; }
int32_t an_session_n_ctx(const an_session* s) { return s ? static_cast<int32_t>(s->session.n_ctx()) : -1; }
void an_session_reset(an_session* s) {
  if (s) s->session.reset();
}

an_sampler* an_sampler_new(float temperature, int32_t top_k, float top_p, float min_p, float repeat_penalty,
                           uint64_t seed) {
  autoneural::SamplingOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.min_p = min_p;
  o.repeat_penalty = repeat_penalty;
  o.seed = seed;
  return guarded(nullptr, 0, [&] { return new an_sampler{autoneural::Sampler(o)}; }, static_cast<an_sampler*>(nullptr));
}

void an_sampler_free(an_sampler* s) { delete s; }

int32_t an_sampler_sample(an_sampler* s, const float* logits, int32_t n_vocab, const int32_t* history,
                          int32_t n_history) {
  if (!s || !logits || n_vocab <= 0 || n_history < 0 || (!history && n_history > 0)) return -1;
  return guarded(nullptr, 0, [&] {
    return s->sampler.sample(std::span<const float>(logits, static_cast<size_t>(n_vocab)),
                             std::span<const int32_t>(history, static_cast<size_t>(n_history)));
  }, -1);
}

}  // extern "C"
