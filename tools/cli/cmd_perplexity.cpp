// autoneural perplexity: llama.cpp's measurement — the text in chunks of n_ctx tokens (BOS first), each
// from an empty state, the second half of every chunk scored on predicting its next token.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_perplexity(int argc, char** argv) {
  std::string model_path, text_file;
  int threads = 0;
  int64_t n_ctx = 512, max_chunks = 0, n_batch = 128;
  bool json = false;
  ModelOptions exec;
  ArgParser p("perplexity", "Perplexity of a text file, computed as llama.cpp's perplexity tool does.");
  p.option({"-m", "--model"}, &model_path, "PATH", "language model (required)");
  p.option({"-f", "--file"}, &text_file, "TEXT", "text file (required)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "tokens per chunk (default 512)");
  p.option({"--chunks"}, &max_chunks, "N", "at most N chunks (default: all)");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  p.flag({"--json"}, &json, "print {ppl, ppl_stderr, tokens, chunks} as JSON");
  add_execution_flags(p, exec);
  if (!p.parse(argc, argv)) return 0;
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("perplexity needs a model (-m PATH)");
  if (text_file.empty()) throw UsageError("perplexity needs a text file (-f TEXT)");
  if (n_ctx < 8) throw UsageError("-c must be at least 8");
  if (max_chunks < 0) throw UsageError("--chunks must be >= 0 (0 = all)");
  const std::string text = read_text_file(text_file);
  exec.n_threads = threads;
  auto model = Model::load(model_path, exec);
  if (!model->has_language_model()) throw UsageError(model_path + " has no language model");
  const auto r = perplexity(model, text, n_ctx, n_batch, max_chunks, [&](int64_t chunk, double ppl) {
    if (!json) std::fprintf(stderr, "[%lld]%.4f,", static_cast<long long>(chunk + 1), ppl);
  });
  if (!json) std::fprintf(stderr, "\n");
  const double ppl = r.ppl, err = r.ppl_stderr;
  const long long count = r.tokens, n_chunks = r.chunks;
  if (json) {
    std::printf("{\"ppl\": %.6f, \"ppl_stderr\": %.6f, \"tokens\": %lld, \"chunks\": %lld}\n", ppl, err,
                count, n_chunks);
  } else {
    std::printf("PPL = %.4f +/- %.4f (%lld scored tokens, %lld chunks of %lld)\n", ppl, err, count, n_chunks,
                static_cast<long long>(n_ctx));
  }
  return 0;
}

}  // namespace autoneural::cli
