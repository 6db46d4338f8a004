// autoneural bench: prefill and decode throughput, time to first token, memory — measured the way
// llama-bench measures (pp: a prompt of -p tokens from an empty context; tg: -n tokens decoded one at a
// time from an empty context), so the two tools' numbers can be put side by side.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <memory>
#include <random>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

namespace {

struct Stats {
  double mean = 0, stddev = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(s.stddev / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

// Encoder milliseconds per image, and time to first token for one image plus an n_prompt-token text
// (encode + prefill + first sample) from an empty state.
int bench_image(const std::shared_ptr<const Model>& model_ptr, const std::string& image_path, const ImageOptions& io, int64_t n_prompt, int reps,
                int threads, int64_t n_ctx, bool ctx_force, bool json) {
  using clock = std::chrono::steady_clock;
  const Model& model = *model_ptr;
  const Image image = Image::load(image_path);
  const auto& vi = model.vision_info();
  const int size = io.size > 0 ? io.size : vi.image_size;
  const bool has_lm = model.has_language_model();
  std::vector<int32_t> prompt;
  std::unique_ptr<Session> session;
  if (has_lm) {
    std::mt19937 rng(1234);
    // Random text ids below the image tokens' ids would be arbitrary; any id that is not a placeholder works.
    std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(model.info().n_vocab - 1));
    prompt.push_back(vi.image_start_token);
    prompt.insert(prompt.end(), static_cast<size_t>(vi.tokens_per_image), vi.image_token);
    prompt.push_back(vi.image_end_token);
    for (int64_t i = 0; i < n_prompt; ++i) {
      int32_t t = pick(rng);
      while (t == vi.image_token) t = pick(rng);
      prompt.push_back(t);
    }
    if (static_cast<int64_t>(prompt.size()) > n_ctx) throw UsageError("the image and prompt do not fit the context (-c)");
    session = std::make_unique<Session>(model_ptr, SessionOptions{n_ctx, 128, CacheType::F16, ctx_force});
  }
  // With a language model the session encodes (its backend and threads serve image and text alike).
  auto encode = [&] { return session ? session->encode_image(image, io) : model.encode_image(image, io); };
  (void)encode();  // warm-up: faults in the weights, sizes the buffers
  std::vector<double> encode_ms, ttft_ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = clock::now();
    ImageEmbedding e = encode();
    encode_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (!session) continue;
    session->reset();
    const auto logits = session->decode_with_images(prompt, {&e, 1});
    Sampler greedy({.temperature = 0});
    volatile int32_t first = greedy.sample(logits, {});
    (void)first;
    ttft_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  const Stats enc = stats(encode_ms);
  const double peak_mb = static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0);
  if (json) {
    nlohmann::json j;
    j["model"] = model.info().path;
    j["vision"] = vi.path;
    j["encoder"] = vi.encoder;
    j["image_size"] = size;
    j["threads"] = threads;
    j["repetitions"] = reps;
    j["encode_ms"] = enc.mean;
    j["encode_ms_std"] = enc.stddev;
    j["encode_ms_min"] = *std::min_element(encode_ms.begin(), encode_ms.end());
    if (!ttft_ms.empty()) {
      j["n_prompt"] = n_prompt;
      j["ttft_ms"] = stats(ttft_ms).mean;
    }
    j["peak_rss_mb"] = peak_mb;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("vision: %s (%s, %.1f M params), %dx%d input, threads: %d, repetitions: %d\n", vi.path.c_str(),
                vi.encoder.c_str(), static_cast<double>(vi.n_params) / 1e6, size, size, threads, reps);
    std::printf("encode (encoder + connector): %.1f ± %.1f ms per image (best %.1f)\n", enc.mean, enc.stddev,
                *std::min_element(encode_ms.begin(), encode_ms.end()));
    if (!ttft_ms.empty())
      std::printf("time to first token (image + %lld-token prompt): %.1f ms\n", static_cast<long long>(n_prompt),
                  stats(ttft_ms).mean);
    std::printf("peak resident memory: %.1f MiB\n", peak_mb);
  }
  return 0;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  std::string model_path, mmproj, image_path, cache = "f16";
  int size = 0;
  int64_t n_prompt = 512, n_gen = 128, n_ctx = 4096, n_batch = 128;
  int threads = 2, reps = 3;
  bool json = false;
  ModelOptions exec;
  ArgParser p("bench", "Measures prefill (pp) and decode (tg) speed, time to first token and memory.");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.option({"-p", "--n-prompt"}, &n_prompt, "N", "prompt tokens for the prefill test (default 512)");
  p.option({"-n", "--n-gen"}, &n_gen, "N", "tokens for the decode test (default 128)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default 2)");
  p.option({"-r", "--repetitions"}, &reps, "N", "repetitions of each test (default 3)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "context length to allocate (default 4096)");
  bool ctx_force = false;
  p.flag({"--ctx-force"}, &ctx_force, "allow -c above the context length the model was trained on");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision (default f16)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file, when the model file has none");
  p.option({"--image"}, &image_path, "IMG", "measure the vision encoder on this image and the time to first token "
                                            "for the image plus a -p token prompt (instead of pp/tg)");
  p.option({"--size"}, &size, "N", "encoder input size with --image, multiple of 32 (default: the model's)");
  p.flag({"--json"}, &json, "print one JSON object");
  add_execution_flags(p, exec);
  if (!p.parse(argc, argv)) return 0;
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("bench needs a model (-m PATH)");
  if (n_prompt < 1 || n_gen < 1 || reps < 1) throw UsageError("-p, -n and -r must be positive");
  if (n_prompt > n_ctx || n_gen > n_ctx) throw UsageError("-p and -n must fit the context (-c)");

  check_size_flag(size);
  exec.n_threads = threads;
  exec.mmproj = mmproj;
  auto model = Model::load(model_path, exec);
  if (!image_path.empty()) return bench_image(model, image_path, {size, false}, n_prompt, reps, threads, n_ctx, ctx_force, json);
  if (!model->has_language_model())
    throw UsageError(model_path + " has no language model: give --image IMG to measure its vision encoder");
  const SessionOptions so{n_ctx, n_batch, parse_cache_type(cache), ctx_force};
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(model->info().n_vocab - 1));
  std::vector<int32_t> prompt(static_cast<size_t>(n_prompt));
  for (auto& t : prompt) t = pick(rng);

  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); };
  Session session(model, so);
  // Warm-up: fault in the mapped weights and size the scratch buffers once.
  session.decode(std::span<const int32_t>(prompt.data(), std::min<size_t>(prompt.size(), 16)));

  std::vector<double> pp_rate, tg_rate, ttft;
  for (int r = 0; r < reps; ++r) {
    session.reset();
    auto t0 = clock::now();
    const auto logits = session.decode(prompt);
    Sampler greedy({.temperature = 0});
    volatile int32_t first = greedy.sample(logits, {});
    (void)first;
    const double ms = ms_since(t0);
    ttft.push_back(ms);
    pp_rate.push_back(static_cast<double>(n_prompt) / (ms / 1000.0));

    session.reset();
    int32_t tok = prompt[0];
    t0 = clock::now();
    for (int64_t i = 0; i < n_gen; ++i) {
      const auto row = session.decode(std::span<const int32_t>(&tok, 1));
      tok = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    }
    tg_rate.push_back(static_cast<double>(n_gen) / (ms_since(t0) / 1000.0));
  }
  const Stats pp = stats(pp_rate), tg = stats(tg_rate), tt = stats(ttft);
  const StateMemory mem = session.memory();
  // What the session holds: the quantized backends keep their 16-bit codes in an f32 cache whatever was asked.
  const char* cache_held = mem.cache_type == CacheType::F32 ? "f32" : "f16";
  const double peak_mb = static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0);
  const auto& info = model->info();
  if (json) {
    nlohmann::json j;
    j["model"] = info.path;
    j["weight_type"] = info.weight_type;
    j["n_params"] = info.n_params;
    j["file_mb"] = static_cast<double>(info.file_bytes) / (1024.0 * 1024.0);
    j["threads"] = threads;
    j["n_prompt"] = n_prompt;
    j["n_gen"] = n_gen;
    j["n_ctx"] = n_ctx;
    j["n_batch"] = n_batch;
    j["repetitions"] = reps;
    j["prefill_tok_s"] = pp.mean;
    j["prefill_tok_s_std"] = pp.stddev;
    j["decode_tok_s"] = tg.mean;
    j["decode_tok_s_std"] = tg.stddev;
    j["ttft_ms"] = tt.mean;
    j["peak_rss_mb"] = peak_mb;
    j["state_conv_bytes"] = mem.conv_bytes;
    j["state_kv_bytes_per_token"] = mem.kv_bytes_per_token;
    j["state_kv_bytes_allocated"] = mem.kv_bytes_allocated;
    j["cache_type"] = cache_held;
    j["backend"] = exec.backend;
    std::cout << j.dump(2) << "\n";
  } else {
    std::printf("model: %s (%s, %.2f B params, %s)\n", info.path.c_str(), info.weight_type.c_str(),
                static_cast<double>(info.n_params) / 1e9, human_bytes(static_cast<double>(info.file_bytes)).c_str());
    std::printf("threads: %d, repetitions: %d, backend: %s\n", threads, reps, exec.backend.c_str());
    std::printf("prefill  pp%-5lld %10.2f ± %.2f tok/s\n", static_cast<long long>(n_prompt), pp.mean, pp.stddev);
    std::printf("decode   tg%-5lld %10.2f ± %.2f tok/s\n", static_cast<long long>(n_gen), tg.mean, tg.stddev);
    std::printf("time to first token (%lld-token prompt): %.1f ms\n", static_cast<long long>(n_prompt), tt.mean);
    std::printf("peak resident memory: %.1f MiB\n", peak_mb);
    std::printf("state per sequence: conv %s (constant) + KV %s per token (%s allocated for %lld positions, %s)\n",
                human_bytes(static_cast<double>(mem.conv_bytes)).c_str(),
                human_bytes(static_cast<double>(mem.kv_bytes_per_token)).c_str(),
                human_bytes(static_cast<double>(mem.kv_bytes_allocated)).c_str(), static_cast<long long>(n_ctx),
                cache_held);
  }
  return 0;
}

}  // namespace autoneural::cli
