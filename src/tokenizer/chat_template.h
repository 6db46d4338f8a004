// LFM2 chat formatting (architecture-reference §4.1), rendered in code rather than by a Jinja engine.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace autoneural::tokenizer {

class Tokenizer;

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
};

// Renders the LFM2 ChatML layout:
//   BOS text, then (if the first message is a non-empty system message) "<|im_start|>system\n...<|im_end|>\n",
//   then every other message as "<|im_start|>" + role + "\n" + content + "<|im_end|>\n",
//   then "<|im_start|>assistant\n" when add_generation_prompt.
// Tool messages are wrapped in <|tool_response_start|>...<|tool_response_end|> when the vocabulary has
// both tokens (LFM2-8B template). The result already contains BOS: tokenize it with add_special = false
// and parse_special = true. Throws autoneural::Error for an unknown role or when <|im_start|>/<|im_end|>
// are not in the vocabulary.
// With `content`, the byte range of every message's content in the result is appended to it (for
// Tokenizer::encode_chat, which keeps control-token text inside them as text).
std::string render_lfm2_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                             const Tokenizer& tok, std::vector<std::pair<size_t, size_t>>* content = nullptr);

}  // namespace autoneural::tokenizer
