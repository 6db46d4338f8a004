#include "common.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"

namespace autoneural::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}
ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(double fraction, std::string_view what) {
  const int percent = static_cast<int>(fraction * 100.0 + 0.5);
  if (tty_) {
    const int width = 30, filled = percent * width / 100;
    std::fprintf(stderr, "\r%s [%-*s] %3d%% %-40.40s", label_.c_str(), width, std::string(filled, '#').c_str(),
                 percent, std::string(what).c_str());
    std::fflush(stderr);
  } else if (percent / 10 != last_step_) {
    last_step_ = percent / 10;
    std::fprintf(stderr, "%s: %3d%% %s\n", label_.c_str(), percent, std::string(what).c_str());
  }
}

void ProgressBar::finish() {
  if (done_) return;
  done_ = true;
  if (tty_) std::fprintf(stderr, "\n");
}

CacheType parse_cache_type(const std::string& name) {
  if (name == "f16") return CacheType::F16;
  if (name == "f32") return CacheType::F32;
  throw UsageError("unknown cache type '" + name + "' (expected f16 or f32)");
}

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

}  // namespace autoneural::cli

namespace autoneural::cli {

void check_write_type(const std::string& type, const char* flag, bool allow_q4) {
  try {
    check_writable_type(type, flag, allow_q4);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

void check_outputs_usage(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
  try {
    check_outputs(outputs, inputs);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

void check_size_flag(int size) {
  if (size != 0 && !is_valid_image_side(size))
    throw UsageError("--size must be a positive multiple of " + std::to_string(kImageSideMultiple) + " up to " +
                     std::to_string(kMaxImageSide));
}

void add_sampling_flags(ArgParser& p, SamplingOptions& s) {
  p.option({"--temp"}, &s.temperature, "T", "temperature; 0 = greedy (default 0.8)");
  p.option({"--top-k"}, &s.top_k, "K", "top-k, 0 = off (default 40)");
  p.option({"--top-p"}, &s.top_p, "P", "top-p, 1 = off (default 0.95)");
  p.option({"--min-p"}, &s.min_p, "P", "min-p, 0 = off (default 0.05)");
  p.option({"--repeat-penalty"}, &s.repeat_penalty, "F", "repetition penalty, 1 = off (default 1)");
  p.option({"--repeat-last-n"}, &s.repeat_last_n, "N", "tokens the penalty looks back on (default 64)");
  p.option({"-s", "--seed"}, &s.seed, "N", "random seed");
}

void check_sampling_flags(const SamplingOptions& s) {
  if (!(s.temperature >= 0)) throw UsageError("--temp must be >= 0 (0 = greedy)");
  if (s.top_k < 0) throw UsageError("--top-k must be >= 0 (0 = off)");
  if (!(s.top_p >= 0 && s.top_p <= 1)) throw UsageError("--top-p must be between 0 and 1");
  if (!(s.min_p >= 0 && s.min_p <= 1)) throw UsageError("--min-p must be between 0 and 1");
  if (!(s.repeat_penalty > 0)) throw UsageError("--repeat-penalty must be > 0 (1 = off)");
  if (s.repeat_last_n < 0) throw UsageError("--repeat-last-n must be >= 0");
}

int check_n_predict(int64_t n) {
  if (n < 0 || n > kMaxPredict)
    throw UsageError("-n must be between 0 and " + std::to_string(kMaxPredict) + ", got " + std::to_string(n));
  return static_cast<int>(n);
}

void add_execution_flags(ArgParser& p, ModelOptions& o) {
  p.option({"--backend"}, &o.backend, "float|sim|npu",
           "execution: float (default), sim (fake quantization) or npu (bit-true integer)");
  p.option({"--recipe"}, &o.recipe, "NAME",
           "with sim/npu: w8a16, w4a16, w8a8, w16a16 or autoneural (default: the file's own, else autoneural)");
  p.option({"--calib"}, &o.calibration, "CALIB.json", "with sim/npu: activation ranges from `autoneural calibrate`");
  p.option({"--act-range"}, &o.act_range, "minmax|percentile|mse", "how ranges are chosen from --calib (default minmax)");
  p.repeated({"--override"}, &o.overrides, "PATTERN=SCHEME", "with sim/npu: weight scheme for matching tensors (int8, int4, int4/g32, int16)");
}

void check_execution_flags(const ModelOptions& o) {
  if (o.backend != "float" && o.backend != "sim" && o.backend != "npu")
    throw UsageError("unknown backend '" + o.backend + "' (available: float, sim, npu)");
  if (o.act_range != "minmax" && o.act_range != "percentile" && o.act_range != "mse")
    throw UsageError("unknown --act-range '" + o.act_range + "' (expected minmax, percentile or mse)");
}

void note_random_weights(const Model& model) {
  const bool vision_random = model.has_vision() && model.vision_info().random_weights;
  if (!model.info().random_weights && !vision_random) return;
  std::fprintf(stderr,
               "note: %s has random weights (written by 'autoneural make-model'); there is no trained default "
               "model yet, so the text below is meaningless — it shows the engine running, not an answer.\n",
               model.info().random_weights ? model.info().path.c_str() : model.vision_info().path.c_str());
}

void print_result_json(const GenerateResult& r) {
  nlohmann::json j;
  j["text"] = r.text;
  j["tokens"] = r.tokens;
  j["stop_reason"] = r.stop_reason;
  j["prompt_tokens"] = r.prompt_tokens;
  j["prompt_ms"] = r.prompt_ms;
  j["generate_ms"] = r.generate_ms;
  j["image_ms"] = r.image_ms;
  // Generated text may end inside a multi-byte character: such bytes become U+FFFD instead of failing.
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace autoneural::cli
