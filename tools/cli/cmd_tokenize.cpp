// autoneural tokenize: token ids (and pieces) of a text.
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_tokenize(int argc, char** argv) {
  std::string model_path, text, file;
  bool no_bos = false, no_parse_special = false, json = false;
  ArgParser p("tokenize", "Prints the token ids of TEXT (or of a file's contents).");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.positional("TEXT", &text, false, "text to tokenize");
  p.option({"-f", "--file"}, &file, "FILE", "tokenize this file's contents instead");
  p.flag({"--no-bos"}, &no_bos, "do not add the BOS token");
  p.flag({"--no-parse-special"}, &no_parse_special, "treat special-token text as plain text");
  p.flag({"--json"}, &json, "print {\"ids\": [...], \"pieces\": [...]}");
  if (!p.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("tokenize needs a model (-m PATH)");
  if (text.empty() && file.empty()) throw UsageError("tokenize needs TEXT or --file FILE");
  if (!file.empty()) {
    if (!text.empty()) throw UsageError("give either TEXT or --file, not both");
    text = read_text_file(file);
  }
  auto model = Model::load(model_path, {1});
  const auto ids = model->tokenize(text, !no_bos, !no_parse_special);
  if (json) {
    nlohmann::json out;
    out["ids"] = ids;
    out["pieces"] = nlohmann::json::array();
    for (int32_t id : ids) out["pieces"].push_back(model->token_to_piece(id, true));
    // A piece can be part of a multi-byte character; show such bytes as U+FFFD rather than failing.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
  }
  return 0;
}

}  // namespace autoneural::cli
