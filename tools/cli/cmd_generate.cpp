// autoneural generate: prompt in, streamed continuation out.
#include <cstdio>
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_generate(int argc, char** argv) {
  std::string model_path, prompt, prompt_file, system, cache = "f16";
  std::vector<std::string> stop;
  int64_t n_predict = 128, n_ctx = 4096, n_batch = 128;
  int threads = 0;
  bool chat = false, no_bos = false, no_parse_special = false, show_special = false, quiet = false;
  GenerateOptions gen;
  SamplingOptions& s = gen.sampling;
  ModelOptions exec;
  ArgParser p("generate", "Generates a continuation of a prompt and streams it to stdout; timings go to stderr.");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.option({"-p", "--prompt"}, &prompt, "TEXT", "prompt text");
  p.option({"-f", "--file"}, &prompt_file, "FILE", "read the prompt from a file");
  p.flag({"--chat"}, &chat, "wrap the prompt as a user turn of the model's chat template");
  p.option({"--system"}, &system, "TEXT", "system message (with --chat)");
  p.option({"-n", "--n-predict"}, &n_predict, "N", "maximum tokens to generate (default 128)");
  add_sampling_flags(p, s);
  p.repeated({"--stop"}, &stop, "TEXT", "stop when this text is generated (repeatable)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "context length (default 4096)");
  bool ctx_force = false;
  p.flag({"--ctx-force"}, &ctx_force, "allow -c above the context length the model was trained on");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision (default f16)");
  p.flag({"--no-bos"}, &no_bos, "do not add the BOS token");
  p.flag({"--no-parse-special"}, &no_parse_special, "treat special-token text in the prompt as plain text");
  p.flag({"--special"}, &show_special, "print special tokens");
  p.flag({"-q", "--quiet"}, &quiet, "no timing summary on stderr");
  bool json = false;
  p.flag({"--json"}, &json, "print the answer as one JSON line (text, token ids, stop reason, timings) instead of streaming it");
  add_execution_flags(p, exec);
  if (!p.parse(argc, argv)) return 0;
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("generate needs a model (-m PATH)");
  if (p.given("-p") && !prompt_file.empty()) throw UsageError("give either -p TEXT or -f FILE, not both");
  if (!prompt_file.empty()) prompt = read_text_file(prompt_file);
  if (!p.given("-p") && prompt_file.empty())
    throw UsageError("generate needs a prompt (-p TEXT or -f FILE)");
  gen.max_tokens = check_n_predict(n_predict);
  check_sampling_flags(gen.sampling);
  gen.stop = stop;
  gen.render_special = show_special;

  exec.n_threads = threads;
  auto model = Model::load(model_path, exec);
  note_random_weights(*model);
  std::vector<int32_t> tokens;
  if (chat) {
    std::vector<ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    messages.push_back({"user", prompt});
    // The rendered template starts with the BOS text itself.
    tokens = model->tokenize(model->apply_chat_template(messages, true), false, true);
  } else {
    tokens = model->tokenize(prompt, !no_bos, !no_parse_special);
  }
  if (tokens.empty()) throw UsageError("the prompt is empty after tokenization");
  Session session(model, {n_ctx, n_batch, parse_cache_type(cache), ctx_force});
  const auto result = session.generate(tokens, gen, [json](std::string_view text) {
    if (json) return true;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  if (json) {
    print_result_json(result);
    return 0;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);  // before the summary on stderr, also when both go to one pipe
  if (!quiet) {
    const double gen_tokens = static_cast<double>(result.tokens.size());
    std::fprintf(stderr,
                 "\nprompt: %lld tokens in %.1f ms (%.1f tok/s); generated: %zu tokens in %.1f ms (%.1f tok/s); "
                 "stop: %s\n",
                 static_cast<long long>(result.prompt_tokens), result.prompt_ms,
                 result.prompt_tokens / (result.prompt_ms / 1000.0), result.tokens.size(), result.generate_ms,
                 gen_tokens > 0 ? gen_tokens / (result.generate_ms / 1000.0) : 0.0, result.stop_reason.c_str());
  }
  return 0;
}

}  // namespace autoneural::cli
