// autoneural C++ API: load a language model, tokenize, evaluate, sample, generate.
//
//   auto model = autoneural::Model::load("lfm2-1.2b-q4_0.gguf");      // or a Hugging Face directory
//   autoneural::Session session(model, {.n_ctx = 4096});
//   autoneural::GenerateOptions opts;  opts.max_tokens = 64;
//   session.generate(model->tokenize(prompt, true, true), opts,
//                    [](std::string_view text) { std::cout << text << std::flush; return true; });
//
// Errors in input (files, ids, lengths) throw autoneural::Error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autoneural/error.h"
#include "autoneural/vision.h"

namespace autoneural {

struct ModelOptions {
  int n_threads = 0;   // 0: one per available core
  std::string mmproj;  // vision file (our vision GGUF or llama.cpp's gemma3nv mmproj); empty: the model's own, if any
  // Execution (docs/quantization.md): "float" (default), "sim" (fake quantization) or "npu" (bit-true
  // integer). For sim/npu: the recipe (empty: the one a quantized file was written with, else
  // "autoneural"), a calibration file from `autoneural calibrate` (empty: the ranges stored in a quantized
  // file, else dynamic ranges), how its ranges are chosen (minmax | percentile | mse), and weight-scheme
  // overrides "PATTERN=SCHEME".
  std::string backend = "float";
  std::string recipe;
  std::string calibration;
  std::string act_range = "minmax";
  std::vector<std::string> overrides;
};

struct ModelInfo {
  std::string architecture;   // "lfm2"
  std::string name;           // general.name (or the directory name)
  bool random_weights = false;  // written by `autoneural make-model`: the text it produces is meaningless
  std::string path;
  std::string checkpoint;     // what the path holds: "LFM2 GGUF", "Hugging Face AutoNeural directory", ...
  std::string weight_type;    // most common matrix type, e.g. "q4_0"
  int64_t n_params = 0;
  size_t file_bytes = 0;
  int64_t n_vocab = 0, hidden = 0, n_layers = 0, n_attention_layers = 0, n_head = 0, n_head_kv = 0,
          head_dim = 0, ff = 0, conv_l_cache = 0, context_train = 0;
};

struct ChatMessage {
  std::string role;     // system, user, assistant, tool
  std::string content;
};

// The most threads a model takes: 4 per available core (at least 4). More only oversubscribe the CPU.
int max_threads();

class Model {
 public:
  static std::shared_ptr<Model> load(const std::string& path, const ModelOptions& options = {});
  ~Model();

  const ModelInfo& info() const;
  int n_threads() const;

  std::vector<int32_t> tokenize(std::string_view text, bool add_special, bool parse_special) const;
  // Raw bytes of one token (may be an incomplete UTF-8 sequence); control tokens render as their text
  // when render_special is true.
  std::string token_to_piece(int32_t id, bool render_special = true) const;
  std::string detokenize(const std::vector<int32_t>& ids, bool render_special = true) const;
  std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  int32_t bos() const;
  int32_t eos() const;
  // End of generation (as llama.cpp): EOS, the end-of-turn marker <|im_end|> or <|endoftext|>.
  bool is_end_of_generation(int32_t id) const;

  // ---- vision (include/autoneural/vision.h) -----------------------------------------------------------
  bool has_vision() const;
  // False for a vision-only file (our vision GGUF, an mmproj): such a model encodes images only.
  bool has_language_model() const;
  const VisionInfo& vision_info() const;  // Error if the model has no vision part
  // Resized and scaled pixels [3][size][size] as the encoder takes them.
  std::vector<float> preprocess_image(const Image& image, const ImageOptions& options = {}) const;
  // Encoder (+ connector) on preprocessed pixels [3][height][width] (multiples of 32). Stage Tower returns
  // the encoder's tokens, Connector the LM embedding rows.
  ImageEmbedding encode_pixels(std::span<const float> chw, int height, int width,
                               VisionStage stage = VisionStage::Connector) const;
  ImageEmbedding encode_image(const Image& image, const ImageOptions& options = {}) const;
  // Tokenizes text (special tokens parsed) and expands every <image> marker to <|image_start|>, one
  // placeholder per image token, <|image_end|>. n_images receives the number of markers.
  std::vector<int32_t> tokenize_with_images(std::string_view text, bool add_special, int* n_images = nullptr) const;

  struct Impl;

 private:
  friend struct ModelAccess;  // the library's own code reaches the internals through it
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class CacheType { F32, F16 };

struct SessionOptions {
  int64_t n_ctx = 4096;       // positions the session can hold
  // Prefill chunk: 128 tokens keep the activations in cache and measured as fast as 512 while using
  // 45 MB less memory for LFM2-1.2B (docs/performance.md).
  int64_t n_batch = 128;
  CacheType cache_type = CacheType::F16;
  // n_ctx above the model's trained context length (ModelInfo::context_train) is refused unless this is
  // set: the model was never trained on such positions, and the cache would be sized for them.
  bool allow_longer_context = false;
};

struct SamplingOptions {
  float temperature = 0.8f;   // <= 0: greedy
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int repeat_last_n = 64;
  uint64_t seed = 0xA17015EEDull;
};

struct GenerateOptions {
  int max_tokens = 128;
  SamplingOptions sampling;
  std::vector<std::string> stop;  // stop strings (not included in the output)
  bool render_special = false;    // print control tokens
  // Chat::send: control-token text inside messages ("<|im_end|>" typed by a user) becomes control tokens.
  // Off by default: only the chat template's own markers and <image> are control tokens.
  bool parse_special = false;
};

struct GenerateResult {
  std::vector<int32_t> tokens;
  std::string text;
  std::string stop_reason;  // "eos", "stop_string", "length", "context", "callback"
  int64_t prompt_tokens = 0;
  double prompt_ms = 0, generate_ms = 0;
  double image_ms = 0;  // encoding the turn's images (Chat::send)
};

struct StateMemory {
  size_t conv_bytes = 0;          // constant, independent of the context
  size_t kv_bytes_allocated = 0;  // attention caches as allocated for n_ctx
  size_t kv_bytes_per_token = 0;  // growth of the attention caches per position
  CacheType cache_type = CacheType::F16;  // what the KV cache holds (F32 for the quantized backends)
};

class Session;

// A session's state at one point — conv windows, the KV rows it holds, its position — and the tokens that
// led there. For the hybrid model this is the prefix cache: the conv windows summarise the whole prefix,
// so a KV prefix alone cannot resume it. Immutable; copies share one state. Restorable into any session
// of the same Model (the same object) with the same KV cache type whose context holds n_past().
class SessionSnapshot {
 public:
  int64_t n_past() const;
  const std::vector<int32_t>& history() const;  // Session::history() when it was taken
  size_t bytes() const;  // memory held: conv windows, the KV rows [0, n_past), the history

  struct Impl;

 private:
  friend class Session;
  explicit SessionSnapshot(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Evaluates one step of several sessions in one pass over the weights — what a server does to decode many
// conversations at once. tokens[i] is appended to sessions[i] (any lengths ≥ 1: one session may prefill a
// prompt while the others decode a token each); each session advances as decode() would, in chunks of its
// n_batch rows, and result[i] holds what sessions[i].decode(tokens[i], all_logits) returns (equal within
// float rounding: a batch's rows go through the matrix kernels together). All sessions must share one Model
// and be distinct. Everything is checked first — models, token ids, context lengths — and a failing call
// throws Error and leaves every session unchanged. The first session's threads do the work. With the
// quantized backends (sim, npu) the sessions run one after another in the call, since their dynamic
// activation ranges would otherwise depend on the other sequences.
std::vector<std::vector<float>> decode_batch(std::span<Session* const> sessions,
                                             std::span<const std::span<const int32_t>> tokens,
                                             bool all_logits = false);

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;

  // Appends tokens (or embedding rows [n][hidden]) to the sequence. With all_logits the logits of every
  // position are returned ([n][n_vocab]); otherwise only the last row. Exceeding n_ctx throws Error and
  // leaves the session unchanged.
  std::vector<float> decode(std::span<const int32_t> tokens, bool all_logits = false);
  std::vector<float> decode_embeddings(std::span<const float> rows, bool all_logits = false);
  // Tokens in which each run of image placeholders (from Model::tokenize_with_images) takes the rows of the
  // next image, in order; run lengths must equal the images' token counts.
  std::vector<float> decode_with_images(std::span<const int32_t> tokens, std::span<const ImageEmbedding> images,
                                        bool all_logits = false);

  // Prompt + sampled continuation. on_text receives each newly completed piece of UTF-8 text; returning
  // false stops generation.
  GenerateResult generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                          const std::function<bool(std::string_view)>& on_text = {});
  // The same with images for the prompt's placeholder runs (see decode_with_images).
  GenerateResult generate(std::span<const int32_t> prompt, std::span<const ImageEmbedding> images,
                          const GenerateOptions& options, const std::function<bool(std::string_view)>& on_text = {});

  // Encodes an image (as Model::encode_image) with this session's backend and threads.
  ImageEmbedding encode_image(const Image& image, const ImageOptions& options = {});

  int64_t n_past() const;
  int64_t n_ctx() const;
  // Token ids in the state so far (image rows as their placeholder id).
  const std::vector<int32_t>& history() const;
  void reset();
  StateMemory memory() const;
  const Model& model() const;

  // The state and history as they are now (see SessionSnapshot); the session goes on unchanged.
  SessionSnapshot snapshot() const;
  // Puts the session back into the snapshot's state and history, as if it had decoded that history.
  // Error, leaving the session unchanged, if the snapshot comes from another Model, holds another KV cache
  // type, or does not fit n_ctx.
  void restore(const SessionSnapshot& snapshot);

  struct Impl;

 private:
  friend std::vector<std::vector<float>> decode_batch(std::span<Session* const>,
                                                      std::span<const std::span<const int32_t>>, bool);
  std::unique_ptr<Impl> impl_;
};

// A multi-turn chat over one Session: each turn renders the conversation with the chat template and
// evaluates only what the state does not hold yet, so earlier turns (and their images) are not recomputed.
class Chat {
 public:
  Chat(std::shared_ptr<const Model> model, const SessionOptions& options = {}, std::string system_prompt = "");
  ~Chat();
  Chat(Chat&&) noexcept;
  Chat& operator=(Chat&&) noexcept;
  // Adds a user turn and generates the reply (appended to the conversation). The content holds one
  // <image> marker per image, in order; images without markers are placed before the text.
  GenerateResult send(const std::string& content, const std::vector<Image>& images, const GenerateOptions& options,
                      const std::function<bool(std::string_view)>& on_text = {}, const ImageOptions& image_options = {});
  // Prompt tokens of the last send() that were already in the state (reused, not recomputed).
  int64_t reused_tokens() const;
  const std::vector<ChatMessage>& messages() const;
  Session& session();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Picks the next token from a row of logits. Keeps its own random state (seeded by options.seed).
class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  ~Sampler();
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace autoneural
