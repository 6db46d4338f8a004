#include <algorithm>
#include <chrono>

#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "runtime/pipeline.h"
#include "runtime/stop_strings.h"

namespace autoneural {

struct Session::Impl {
  // One session's input to a (batched) run and the logits it gets back.
  struct Feed {
    Impl* s = nullptr;
    const int32_t* tokens = nullptr;  // or
    const float* rows = nullptr;      // [n][hidden]
    int64_t n = 0;
    bool all_logits = false, no_logits = false;
    int64_t done = 0;  // rows evaluated so far
    std::vector<float> logits;
  };

  std::shared_ptr<const Model> model;
  SessionOptions options;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<backend::SequenceState> state;
  model::Lfm2Workspace ws;
  std::vector<int32_t> history;  // ids in the state; `placeholder` for rows given as embeddings
  int32_t placeholder = -1;      // the image token while decoding an image's rows
  std::vector<float> embedded;   // token rows for quantized execution

  // Throws Error unless the feed fits this session. The model checks these too, but per chunk: checking
  // the whole input first keeps a failing call from leaving half of it in the state.
  void check(const Feed& f, const std::string& which = "") const {
    const int64_t vocab = runtime::impl_of(*model).lm->config().n_vocab;
    if (f.n <= 0) throw Error((which.empty() ? "decode: " : which) + "nothing to evaluate");
    if (state->n_past() + f.n > options.n_ctx)
      throw Error(which + "input of " + std::to_string(f.n) + " tokens at position " + std::to_string(state->n_past()) +
                  " does not fit the context length " + std::to_string(options.n_ctx) +
                  " (raise it with -c / n_ctx)");
    if (f.tokens)
      for (int64_t i = 0; i < f.n; ++i)
        if (f.tokens[i] < 0 || f.tokens[i] >= vocab)
          throw Error(which + "token id " + std::to_string(f.tokens[i]) + " is outside the vocabulary (size " +
                      std::to_string(vocab) + ")");
  }

  // Runs rows through the model in chunks of n_batch; returns the last row's or every row's logits.
  std::vector<float> run(const int32_t* tokens, const float* rows, int64_t n, bool all_logits, bool no_logits = false) {
    Feed f{this, tokens, rows, n, all_logits, no_logits, 0, {}};
    check(f);
    run_feeds(std::span<Feed>(&f, 1));
    return std::move(f.logits);
  }

  // Runs checked feeds of distinct sessions of one model together: each pass takes the next chunk (up to
  // its session's n_batch rows) of every feed that has rows left, on the first session's backend.
  static void run_feeds(std::span<Feed> feeds) {
    Impl& lead = *feeds.front().s;
    const auto& lm = *runtime::impl_of(*lead.model).lm;
    const auto& plan = runtime::impl_of(*lead.model).plan;
    const int64_t vocab = lm.config().n_vocab, d = lm.config().hidden;
    for (Feed& f : feeds) f.logits.assign(f.no_logits ? 0 : static_cast<size_t>((f.all_logits ? f.n : 1) * vocab), 0.0f);
    std::vector<model::SequenceChunk> chunks;
    std::vector<Feed*> in_pass;
    for (;;) {
      chunks.clear();
      in_pass.clear();
      for (Feed& f : feeds) {
        if (f.done == f.n) continue;
        Impl& s = *f.s;
        const int64_t b = f.done, len = std::min(s.options.n_batch, f.n - b);
        const bool last_chunk = b + len == f.n;
        model::SequenceChunk c;
        c.state = s.state.get();
        c.n = len;
        c.rows = f.no_logits    ? model::LogitsRows::None
                 : f.all_logits ? model::LogitsRows::All
                                : (last_chunk ? model::LogitsRows::Last : model::LogitsRows::None);
        c.logits = f.logits.empty() ? nullptr : f.all_logits ? f.logits.data() + b * vocab : f.logits.data();
        if (f.tokens && plan) {
          // Quantized execution looks tokens up in the quantized embedding table.
          s.embedded.resize(static_cast<size_t>(len * d));
          plan->embed_tokens(f.tokens + b, len, d, s.embedded.data());
          c.embeddings = s.embedded.data();
        } else if (f.tokens) {
          c.tokens = f.tokens + b;
        } else {
          c.embeddings = f.rows + b * d;
        }
        chunks.push_back(c);
        in_pass.push_back(&f);
      }
      if (chunks.empty()) break;
      lm.forward_batch(*lead.backend, chunks, lead.ws);
      for (Feed* f : in_pass) {
        const int64_t len = std::min(f->s->options.n_batch, f->n - f->done);
        auto& h = f->s->history;
        if (f->tokens) h.insert(h.end(), f->tokens + f->done, f->tokens + f->done + len);
        else h.insert(h.end(), static_cast<size_t>(len), f->s->placeholder);
        f->done += len;
      }
    }
  }
};

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!model) throw Error("session: no model");
  if (!runtime::impl_of(*model).lm) throw Error(model->info().path + " has no language model (it is a vision encoder only)");
  if (options.n_ctx <= 0) throw Error("context length must be positive");
  const int64_t trained = model->info().context_train;
  if (trained > 0 && options.n_ctx > trained && !options.allow_longer_context)
    throw Error("context length " + std::to_string(options.n_ctx) + " is more than the " + std::to_string(trained) +
                " positions the model was trained on (allow it with --ctx-force / allow_longer_context)");
  if (options.n_batch <= 0) throw Error("batch size must be positive");
  impl_->model = std::move(model);
  impl_->options = options;
  impl_->backend = runtime::impl_of(*impl_->model).make_backend();
  // The quantized backends keep 16-bit codes in the cache, which only an f32 cache holds exactly.
  const bool quantized = runtime::impl_of(*impl_->model).backend_kind != backend::BackendKind::Float;
  const auto cache = options.cache_type == CacheType::F32 || quantized ? backend::CacheType::F32 : backend::CacheType::F16;
  impl_->state = std::make_unique<backend::SequenceState>(runtime::impl_of(*impl_->model).lm->state_shape(options.n_ctx, cache));
}

Session::~Session() = default;

ImageEmbedding Session::encode_image(const Image& image, const ImageOptions& options) {
  return runtime::encode_image(*impl_->model, *impl_->backend, image, options);
}
Session::Session(Session&&) noexcept = default;

std::vector<float> Session::decode(std::span<const int32_t> tokens, bool all_logits) {
  return impl_->run(tokens.data(), nullptr, static_cast<int64_t>(tokens.size()), all_logits);
}

std::vector<float> Session::decode_embeddings(std::span<const float> rows, bool all_logits) {
  const int64_t d = impl_->model->info().hidden;
  if (rows.size() % static_cast<size_t>(d) != 0)
    throw Error("embedding input of " + std::to_string(rows.size()) + " values is not a multiple of the hidden size " +
                std::to_string(d));
  return impl_->run(nullptr, rows.data(), static_cast<int64_t>(rows.size()) / d, all_logits);
}

std::vector<float> Session::decode_with_images(std::span<const int32_t> tokens, std::span<const ImageEmbedding> images,
                                              bool all_logits) {
  const Model& m = *impl_->model;
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (images.empty()) return decode(tokens, all_logits);
  const int32_t image_token = m.vision_info().image_token;
  const int64_t d = m.info().hidden, vocab = m.info().n_vocab;
  // Split into runs first and check everything, so that a bad call leaves the state untouched.
  struct Run {
    int64_t begin, end;
    int image;  // -1: tokens
  };
  std::vector<Run> runs;
  size_t next_image = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    const bool is_image = tokens[i] == image_token;
    while (j < n && (tokens[j] == image_token) == is_image) ++j;
    if (is_image) {
      // Adjacent images are separated by <|image_end|><|image_start|>, so a run is one image.
      if (next_image >= images.size())
        throw Error("the prompt has more image placeholders than the " + std::to_string(images.size()) +
                    " image(s) given");
      const ImageEmbedding& e = images[next_image];
      if (e.dim != d || e.n_tokens != j - i || static_cast<int64_t>(e.rows.size()) != e.n_tokens * e.dim)
        throw Error("image " + std::to_string(next_image + 1) + " has " + std::to_string(e.n_tokens) + " rows of " +
                    std::to_string(e.dim) + " but its placeholder run has " + std::to_string(j - i) +
                    " positions of width " + std::to_string(d));
      runs.push_back({i, j, static_cast<int>(next_image++)});
    } else {
      runs.push_back({i, j, -1});
    }
    i = j;
  }
  if (next_image != images.size())
    throw Error(std::to_string(images.size()) + " image(s) given but the prompt has placeholders for " +
                std::to_string(next_image));
  if (n_past() + n > n_ctx())
    throw Error("the prompt with its images needs " + std::to_string(n) + " positions at position " +
                std::to_string(n_past()) + ", more than the context length " + std::to_string(n_ctx()) +
                " holds (raise it with -c / n_ctx, or use fewer images)");
  std::vector<float> logits;
  if (all_logits) logits.reserve(static_cast<size_t>(n * vocab));
  for (const Run& r : runs) {
    const bool last = &r == &runs.back();
    // Only the last run's last row matters unless every row's logits are wanted.
    const bool skip = !all_logits && !last;
    std::vector<float> out;
    if (r.image < 0) {
      out = impl_->run(tokens.data() + r.begin, nullptr, r.end - r.begin, all_logits, skip);
    } else {
      impl_->placeholder = image_token;
      try {
        out = impl_->run(nullptr, images[r.image].rows.data(), r.end - r.begin, all_logits, skip);
      } catch (...) {
        impl_->placeholder = -1;
        throw;
      }
      impl_->placeholder = -1;
    }
    if (all_logits) logits.insert(logits.end(), out.begin(), out.end());
    else if (last) logits = std::move(out);
  }
  return logits;
}

GenerateResult Session::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                 const std::function<bool(std::string_view)>& on_text) {
  return generate(prompt, {}, options, on_text);
}

GenerateResult Session::generate(std::span<const int32_t> prompt, std::span<const ImageEmbedding> images,
                                 const GenerateOptions& options, const std::function<bool(std::string_view)>& on_text) {
  using clock = std::chrono::steady_clock;
  const Model& m = *impl_->model;
  GenerateResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) throw Error("generate: the prompt is empty");
  if (n_past() + static_cast<int64_t>(prompt.size()) >= n_ctx())
    throw Error("the prompt has " + std::to_string(prompt.size()) + " tokens, which leaves no room in the context of " +
                std::to_string(n_ctx()) + " (raise it with -c)");
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  const auto t0 = clock::now();
  std::vector<float> logits = decode_with_images(prompt, images);
  const auto t1 = clock::now();
  result.prompt_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();

  Sampler sampler(options.sampling);
  tokenizer::StreamDecoder utf8(*runtime::impl_of(m).tok, options.render_special);
  runtime::StopStringFilter stops(options.stop);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    result.text += text;
    return on_text ? on_text(text) : true;
  };
  result.stop_reason = "length";
  for (int i = 0; i < options.max_tokens; ++i) {
    const int32_t id = sampler.sample(logits, history);
    if (m.is_end_of_generation(id)) {
      result.stop_reason = "eos";
      break;
    }
    result.tokens.push_back(id);
    history.push_back(id);
    const auto filtered = stops.push(utf8.push(id));
    if (!emit(filtered.text)) {
      result.stop_reason = "callback";
      break;
    }
    if (filtered.stopped) {
      result.stop_reason = "stop_string";
      break;
    }
    if (i + 1 == options.max_tokens) break;
    if (n_past() + 1 > n_ctx()) {
      result.stop_reason = "context";
      break;
    }
    logits = decode(std::span<const int32_t>(&id, 1));
  }
  if (result.stop_reason != "stop_string" && result.stop_reason != "callback") {
    const auto rest = stops.push(utf8.flush());
    emit(rest.text + (rest.stopped ? "" : stops.flush()));
  }
  result.generate_ms = std::chrono::duration<double, std::milli>(clock::now() - t1).count();
  return result;
}

int64_t Session::n_past() const { return impl_->state->n_past(); }
int64_t Session::n_ctx() const { return impl_->options.n_ctx; }
const std::vector<int32_t>& Session::history() const { return impl_->history; }
void Session::reset() {
  impl_->state->reset();
  impl_->history.clear();
}
const Model& Session::model() const { return *impl_->model; }

struct SessionSnapshot::Impl {
  std::shared_ptr<const Model> model;  // held, so that identity cannot be confused with a later model
  backend::StateSnapshot state;
  std::vector<int32_t> history;
};

SessionSnapshot::SessionSnapshot(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
int64_t SessionSnapshot::n_past() const { return impl_->state.n_past; }
const std::vector<int32_t>& SessionSnapshot::history() const { return impl_->history; }
size_t SessionSnapshot::bytes() const { return impl_->state.bytes() + impl_->history.size() * sizeof(int32_t); }

SessionSnapshot Session::snapshot() const {
  auto s = std::make_shared<SessionSnapshot::Impl>();
  s->model = impl_->model;
  s->state = impl_->state->snapshot();
  s->history = impl_->history;
  return SessionSnapshot(std::move(s));
}

void Session::restore(const SessionSnapshot& snapshot) {
  const SessionSnapshot::Impl& s = *snapshot.impl_;
  if (s.model != impl_->model) throw Error("restore: the snapshot was taken from a session of another model");
  if (const std::string why = impl_->state->restore_problem(s.state); !why.empty())
    throw Error("restore: " + why + (s.state.n_past > n_ctx() ? " (raise it with -c / n_ctx)" : ""));
  impl_->state->restore(s.state);
  impl_->history = s.history;
}

std::vector<std::vector<float>> decode_batch(std::span<Session* const> sessions,
                                             std::span<const std::span<const int32_t>> tokens, bool all_logits) {
  if (sessions.size() != tokens.size())
    throw Error("decode_batch: " + std::to_string(sessions.size()) + " sessions but " + std::to_string(tokens.size()) +
                " token lists");
  if (sessions.empty()) return {};
  using Impl = Session::Impl;
  std::vector<Impl::Feed> feeds(sessions.size());
  for (size_t i = 0; i < sessions.size(); ++i) {
    const std::string which = "decode_batch: session " + std::to_string(i) + ": ";
    if (!sessions[i]) throw Error(which + "null");
    Impl* s = sessions[i]->impl_.get();
    if (s->model != sessions[0]->impl_->model) throw Error(which + "uses another model than session 0");
    for (size_t j = 0; j < i; ++j)
      if (sessions[j] == sessions[i]) throw Error(which + "appears twice in the batch");
    feeds[i] = {s, tokens[i].data(), nullptr, static_cast<int64_t>(tokens[i].size()), all_logits, false, 0, {}};
    s->check(feeds[i], which);
  }
  Impl::run_feeds(feeds);
  std::vector<std::vector<float>> logits(feeds.size());
  for (size_t i = 0; i < feeds.size(); ++i) logits[i] = std::move(feeds[i].logits);
  return logits;
}

StateMemory Session::memory() const {
  StateMemory m;
  m.conv_bytes = impl_->state->conv_bytes();
  m.kv_bytes_allocated = impl_->state->kv_bytes_allocated();
  m.kv_bytes_per_token = impl_->state->kv_bytes_per_token();
  m.cache_type = impl_->state->shape().cache_type == backend::CacheType::F32 ? CacheType::F32 : CacheType::F16;
  return m;
}

}  // namespace autoneural
