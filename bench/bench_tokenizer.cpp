// Tokenizer throughput on the lfm2-tiny vocabulary (LFM2 layout) and the 50k-merge GPT-2 vocabulary.
// Fixtures are found through $AUTONEURAL_FIXTURES_DIR (default: ../shared/fixtures relative to the
// working directory, i.e. running from the repository root).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "format/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace {

using namespace autoneural;

std::string fixtures_dir() {
  const char* env = std::getenv("AUTONEURAL_FIXTURES_DIR");
  return env ? env : "../shared/fixtures";
}

std::string sample_text(size_t bytes) {
  const std::string para =
      "Liquid models mix two kinds of layers. Most are gated short convolutions: each channel looks at its "
      "last three inputs (2004).\n\ndef rms_norm(x, w, eps=1e-5):\n    return x / (mean(x * x) + eps) ** 0.5\n"
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E caf\xC3\xA9 <|im_start|>user\nHi<|im_end|>\n";
  std::string text;
  while (text.size() < bytes) text += para;
  return text;
}

void run_encode(benchmark::State& state, const tokenizer::Tokenizer& tok) {
  const std::string text = sample_text(static_cast<size_t>(state.range(0)));
  size_t n = 0;
  for (auto _ : state) {
    auto ids = tok.encode(text, true, true);
    n = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(n);
}

void BM_EncodeLfm2Tiny(benchmark::State& state) {
  std::unique_ptr<tokenizer::Tokenizer> tok;
  try {
    tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::vocab_from_hf_dir(fixtures_dir() + "/text/lfm2-tiny/hf"));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  run_encode(state, *tok);
}
BENCHMARK(BM_EncodeLfm2Tiny)->Arg(1 << 10)->Arg(100 << 10);

void BM_EncodeGpt2(benchmark::State& state) {
  std::unique_ptr<tokenizer::Tokenizer> tok;
  try {
    tok = std::make_unique<tokenizer::Tokenizer>(
        tokenizer::vocab_from_gguf(format::GgufFile::open(fixtures_dir() + "/tokenizer/ggml-vocab-gpt-2.gguf")));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  run_encode(state, *tok);
}
BENCHMARK(BM_EncodeGpt2)->Arg(1 << 10)->Arg(100 << 10);

void BM_LoadGpt2Vocab(benchmark::State& state) {
  const std::string path = fixtures_dir() + "/tokenizer/ggml-vocab-gpt-2.gguf";
  for (auto _ : state) {
    try {
      tokenizer::Tokenizer tok(tokenizer::vocab_from_gguf(format::GgufFile::open(path)));
      benchmark::DoNotOptimize(tok.n_vocab());
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
  }
}
BENCHMARK(BM_LoadGpt2Vocab)->Unit(benchmark::kMillisecond);

}  // namespace
