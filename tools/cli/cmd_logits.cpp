// autoneural logits: the logits of every position of a prompt, as float32 .npy [n_tokens, n_vocab].
#include <iostream>

#include "args.h"
#include "common.h"
#include "format/npy.h"

namespace autoneural::cli {

int cmd_logits(int argc, char** argv) {
  std::string model_path, prompt_file, out, tokens_out, backend = "float", cache = "f32";
  bool incremental = false, no_bos = false, no_parse_special = false;
  int threads = 0;
  int64_t n_ctx = 4096, n_batch = 128;
  ArgParser p("logits", "Tokenizes a prompt file as-is and writes the logits of every position as .npy.");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.option({"--prompt-file"}, &prompt_file, "FILE", "prompt text (required)");
  p.option({"--out"}, &out, "FILE.npy", "logits output, float32 [n_tokens, n_vocab] (required)");
  p.option({"--tokens-out"}, &tokens_out, "FILE.npy", "also write the token ids, int32 [n_tokens]");
  p.flag({"--incremental"}, &incremental, "feed the tokens one at a time through the decode path");
  p.flag({"--no-bos"}, &no_bos, "do not add the BOS token");
  p.flag({"--no-parse-special"}, &no_parse_special, "treat special-token text as plain text");
  p.option({"--backend"}, &backend, "NAME", "execution backend (float)");
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision (default f32)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "context length (default 4096)");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  if (!p.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("logits needs a model (-m PATH)");
  if (prompt_file.empty()) throw UsageError("logits needs --prompt-file FILE");
  if (out.empty()) throw UsageError("logits needs --out FILE.npy");
  if (backend != "float") throw UsageError("unknown backend '" + backend + "' (available: float)");

  const std::string text = read_file_or_throw(prompt_file);
  auto model = Model::load(model_path, {threads});
  const auto tokens = model->tokenize(text, !no_bos, !no_parse_special);
  if (tokens.empty()) throw Error(prompt_file + ": the prompt is empty after tokenization");
  Session session(model, {n_ctx, n_batch, parse_cache_type(cache)});
  const int64_t n = static_cast<int64_t>(tokens.size()), vocab = model->info().n_vocab;
  std::vector<float> logits;
  if (incremental) {
    logits.reserve(static_cast<size_t>(n * vocab));
    for (int32_t id : tokens) {
      const auto row = session.decode(std::span<const int32_t>(&id, 1));
      logits.insert(logits.end(), row.begin(), row.end());
    }
  } else {
    logits = session.decode(tokens, true);
  }
  format::write_npy_f32(out, logits.data(), {n, vocab});
  if (!tokens_out.empty()) format::write_npy_i32(tokens_out, tokens.data(), {n});
  std::cerr << "wrote logits [" << n << ", " << vocab << "] to " << out << "\n";
  return 0;
}

}  // namespace autoneural::cli
