// Multi-turn chat with prefix reuse.
//
// LFM2's state (conv windows + KV) cannot be rewound, so reuse means: the tokens already in the session
// must be an exact prefix of the new turn's tokens. The chat template renders the conversation by
// concatenating messages, so the new prompt text extends the text the state was built from (previous
// prompt + the reply as generated); only that extension is tokenized and evaluated. It always starts with
// a special token (<|im_end|>), so tokenizing it separately cannot change how the earlier text tokenizes.
#include <algorithm>

#include "runtime/model_impl.h"
#include "runtime/pipeline.h"
#include "tokenizer/chat_template.h"

namespace autoneural {

namespace {

// The conversation rendered with the LFM2 template, and where each message's content lies in it.
struct Rendered {
  std::string text;
  std::vector<std::pair<size_t, size_t>> content;
};

Rendered render(const Model& m, const std::vector<ChatMessage>& messages) {
  std::vector<tokenizer::ChatMessage> t;
  for (const auto& msg : messages) t.push_back({msg.role, msg.content});
  Rendered r;
  r.text = tokenizer::render_lfm2_chat(t, true, runtime::impl_of(m).tokenizer(), &r.content);
  return r;
}

// Tokens of rendered.text[from:]: the template's markers and <image> are control tokens; control-token text
// inside message contents stays text unless parse_special. Image markers are expanded.
std::vector<int32_t> tokenize_turns(const Model& m, const Rendered& rendered, size_t from, bool parse_special) {
  const std::string_view text = std::string_view(rendered.text).substr(from);
  const auto& tok = runtime::impl_of(m).tokenizer();
  std::vector<int32_t> ids;
  if (parse_special) {
    ids = tok.encode(text, false, true);
  } else {
    std::vector<tokenizer::Tokenizer::TextRange> plain;
    for (const auto& [b, e] : rendered.content)
      if (e > from) plain.push_back({b > from ? b - from : 0, e - from});
    std::vector<int32_t> keep;
    if (m.has_vision()) keep.push_back(m.vision_info().image_token);
    ids = tok.encode_chat(text, plain, keep);
  }
  return runtime::expand_image_markers(m, ids);
}

}  // namespace

struct Chat::Impl {
  std::shared_ptr<const Model> model;
  Session session;
  std::vector<ChatMessage> messages;
  std::string state_text;            // rendered text the session state corresponds to ("" = nothing reusable)
  std::vector<int32_t> pending;      // sampled tokens of the last reply the state has not evaluated yet
  std::vector<ImageEmbedding> state_images;  // images evaluated so far (kept for recomputation)
  int64_t reused = 0;

  Impl(std::shared_ptr<const Model> m, const SessionOptions& o) : model(m), session(std::move(m), o) {}
};

Chat::Chat(std::shared_ptr<const Model> model, const SessionOptions& options, std::string system_prompt)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {
  if (!system_prompt.empty()) impl_->messages.push_back({"system", std::move(system_prompt)});
}

Chat::~Chat() = default;
Chat::Chat(Chat&&) noexcept = default;
Chat& Chat::operator=(Chat&&) noexcept = default;

GenerateResult Chat::send(const std::string& content, const std::vector<Image>& images, const GenerateOptions& options,
                          const std::function<bool(std::string_view)>& on_text, const ImageOptions& image_options) {
  Impl& s = *impl_;
  const Model& m = *s.model;
  std::string text = content;
  // Count the markers the way the tokenizer sees them (as the special token).
  int markers = 0;
  for (size_t p = text.find("<image>"); p != std::string::npos; p = text.find("<image>", p + 7)) ++markers;
  if (markers == 0 && !images.empty()) {
    std::string prefix;
    for (size_t i = 0; i < images.size(); ++i) prefix += "<image>";
    text = prefix + "\n" + text;
    markers = static_cast<int>(images.size());
  }
  if (markers != static_cast<int>(images.size()))
    throw Error("the message has " + std::to_string(markers) + " <image> marker(s) but " +
                std::to_string(images.size()) + " image(s) are attached");
  if (!images.empty() && !m.has_vision()) (void)m.vision_info();  // throws the "no vision encoder" error

  std::vector<ImageEmbedding> new_images;
  double image_ms = 0;
  for (const Image& im : images) {
    new_images.push_back(impl_->session.encode_image(im, image_options));
    image_ms += new_images.back().encode_ms;
  }

  auto messages = s.messages;
  messages.push_back({"user", text});
  const Rendered rendered = render(m, messages);
  const std::string& full = rendered.text;

  std::vector<int32_t> prompt;
  std::vector<ImageEmbedding> prompt_images;
  const bool reusable = !s.state_text.empty() && full.rfind(s.state_text, 0) == 0 &&
                        static_cast<int64_t>(s.session.history().size()) == s.session.n_past();
  if (reusable) {
    prompt = s.pending;
    const auto delta = tokenize_turns(m, rendered, s.state_text.size(), options.parse_special);
    prompt.insert(prompt.end(), delta.begin(), delta.end());
    prompt_images = std::move(new_images);
    s.reused = s.session.n_past();
  } else {
    s.session.reset();
    prompt = tokenize_turns(m, rendered, 0, options.parse_special);
    prompt_images = s.state_images;
    prompt_images.insert(prompt_images.end(), new_images.begin(), new_images.end());
    s.reused = 0;
  }
  GenerateResult r = s.session.generate(prompt, prompt_images, options, on_text);
  r.image_ms = image_ms;

  // Only now, after the turn succeeded, does the conversation change.
  s.messages = std::move(messages);
  s.messages.push_back({"assistant", r.text});
  if (reusable) s.state_images.insert(s.state_images.end(), prompt_images.begin(), prompt_images.end());
  else s.state_images = std::move(prompt_images);
  // The state now holds the prompt and the reply's tokens, except the last sampled one when generation
  // stopped at the length limit. It is reused only if those tokens are exactly the text the conversation
  // keeps: not after a stop string or the callback (the state holds the filtered tail), nor when the reply
  // holds control tokens (the text has none) or bytes that are not UTF-8 (the text has U+FFFD instead).
  // Otherwise the next turn recomputes the conversation from scratch.
  const std::string raw = m.detokenize(r.tokens, false);
  const bool clean = (r.stop_reason == "eos" || r.stop_reason == "length") && raw == r.text &&
                     m.detokenize(r.tokens, true) == raw;
  const int64_t decoded = s.session.n_past() - static_cast<int64_t>(s.reused + prompt.size());
  s.pending.clear();
  if (clean && decoded >= 0 && decoded <= static_cast<int64_t>(r.tokens.size())) {
    s.pending.assign(r.tokens.begin() + decoded, r.tokens.end());
    s.state_text = full + r.text;
  } else {
    s.state_text.clear();
  }
  return r;
}

int64_t Chat::reused_tokens() const { return impl_->reused; }
const std::vector<ChatMessage>& Chat::messages() const { return impl_->messages; }
Session& Chat::session() { return impl_->session; }

}  // namespace autoneural
