#include "tokenizer/chat_template.h"

#include "autoneural/error.h"
#include "tokenizer/tokenizer.h"

namespace autoneural::tokenizer {

std::string render_lfm2_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                             const Tokenizer& tok, std::vector<std::pair<size_t, size_t>>* content) {
  // The markers must be single tokens; if a vocabulary spells them differently the model was not
  // trained on this layout and rendering it anyway would produce garbage.
  for (const char* marker : {"<|im_start|>", "<|im_end|>"})
    if (!tok.find_token(marker))
      throw Error(std::string("chat template: the vocabulary has no ") + marker + " token");
  const bool wrap_tool = tok.find_token("<|tool_response_start|>") && tok.find_token("<|tool_response_end|>");

  for (const ChatMessage& m : messages)
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
      throw Error("chat template: unknown role \"" + m.role + "\" (expected system, user, assistant or tool)");

  std::string out;
  auto add_content = [&](const std::string& text) {
    if (content) content->push_back({out.size(), out.size() + text.size()});
    out += text;
  };
  if (tok.bos() >= 0) out += tok.data().tokens[tok.bos()];
  size_t first = 0;
  // Only a leading system message is hoisted, and an empty one renders nothing, mirroring the Jinja
  // template's `if ns.system_prompt`. Later system messages render in place like any other turn.
  if (!messages.empty() && messages[0].role == "system") {
    if (!messages[0].content.empty()) {
      out += "<|im_start|>system\n";
      add_content(messages[0].content);
      out += "<|im_end|>\n";
    }
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    out += "<|im_start|>";
    out += m.role;
    out += '\n';
    if (m.role == "tool" && wrap_tool) {
      out += "<|tool_response_start|>";
      add_content(m.content);
      out += "<|tool_response_end|>";
    } else {
      add_content(m.content);
    }
    out += "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace autoneural::tokenizer
