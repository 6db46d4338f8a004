// autoneural perplexity: llama.cpp's measurement — the text in chunks of n_ctx tokens (BOS first), each
// from an empty state, the second half of every chunk scored on predicting its next token.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "common.h"
#include "quant/metrics.h"

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
  const std::string text = read_file_or_throw(text_file);
  exec.n_threads = threads;
  auto model = Model::load(model_path, exec);
  if (!model->has_language_model()) throw UsageError(model_path + " has no language model");
  const auto tokens = model->tokenize(text, false, false);
  // Each chunk: BOS + n_ctx - 1 text tokens.
  const int64_t per = n_ctx - 1;
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / per;
  if (max_chunks > 0) n_chunks = std::min(n_chunks, max_chunks);
  if (n_chunks < 1)
    throw Error(text_file + " has " + std::to_string(tokens.size()) + " tokens; one chunk needs " + std::to_string(per) +
                " (use a smaller -c)");
  const int64_t vocab = model->info().n_vocab, first = n_ctx / 2;
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk{model->bos()};
    chunk.insert(chunk.end(), tokens.begin() + c * per, tokens.begin() + (c + 1) * per);
    Session s(model, {n_ctx, n_batch, CacheType::F32});
    const auto logits = s.decode(chunk, true);
    for (int64_t i = first; i + 1 < n_ctx; ++i) {
      const double v = quant::token_nll(logits.data() + i * vocab, vocab, chunk[i + 1]);
      nll += v;
      nll2 += v * v;
      ++count;
    }
    if (!json) std::fprintf(stderr, "[%lld]%.4f%s", static_cast<long long>(c + 1), std::exp(nll / count), c + 1 == n_chunks ? "\n" : ",");
  }
  const double mean = nll / count, var = nll2 / count - mean * mean;
  const double ppl = std::exp(mean), err = count > 1 ? ppl * std::sqrt(std::max(var, 0.0) / (count - 1)) : 0.0;
  if (json) {
    std::printf("{\"ppl\": %.6f, \"ppl_stderr\": %.6f, \"tokens\": %lld, \"chunks\": %lld}\n", ppl, err,
                static_cast<long long>(count), static_cast<long long>(n_chunks));
  } else {
    std::printf("PPL = %.4f +/- %.4f (%lld scored tokens, %lld chunks of %lld)\n", ppl, err, static_cast<long long>(count),
                static_cast<long long>(n_chunks), static_cast<long long>(n_ctx));
  }
  return 0;
}

}  // namespace autoneural::cli
