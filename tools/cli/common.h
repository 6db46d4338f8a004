// Pieces shared by the subcommands: the command table, progress display, peak memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "autoneural/llm.h"
#include "autoneural/workflows.h"

namespace autoneural::cli {

// Each subcommand: argv excludes the program and subcommand names. Returns the process exit code.
int cmd_generate(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_logits(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_make_model(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_encode(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_quant_report(int argc, char** argv);
int cmd_perplexity(int argc, char** argv);

class ArgParser;
// The sampling flags every generating command shares (--temp, --top-k, ..., --seed).
void add_sampling_flags(ArgParser& p, SamplingOptions& s);
// UsageError for sampling flags outside their ranges (--temp < 0, --top-p / --min-p outside [0, 1],
// --top-k < 0, --repeat-penalty <= 0, --repeat-last-n < 0).
void check_sampling_flags(const SamplingOptions& s);
// -n as the token count it means: UsageError unless 0 <= n <= kMaxPredict.
inline constexpr int64_t kMaxPredict = int64_t{1} << 24;
int check_n_predict(int64_t n);
// --backend, --recipe, --calib, --act-range, --override: how the model is executed (ModelOptions).
void add_execution_flags(ArgParser& p, ModelOptions& o);
// UsageError for a value of those flags that cannot work (unknown backend or range method).
void check_execution_flags(const ModelOptions& o);
// Tells the user on stderr when the model (or its vision part) has random weights, so that its output is
// not mistaken for an answer.
void note_random_weights(const Model& model);

// --json of generate and run: one line {"text", "tokens", "stop_reason", "prompt_tokens", "prompt_ms",
// "generate_ms", "image_ms"} on stdout per answer (nothing is streamed).
void print_result_json(const GenerateResult& r);

// Progress bar on stderr, redrawn in place when stderr is a terminal, a line per 10% otherwise.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  void update(double fraction, std::string_view what);
  void finish();

 private:
  std::string label_;
  bool tty_;
  int last_step_ = -1;
  bool done_ = false;
};

CacheType parse_cache_type(const std::string& name);
// UsageError unless `type` is a type files can be written with (f32, f16, bf16, q8_0, q4_0 — without q4_0
// for vision matrices), naming `flag`.
void check_write_type(const std::string& type, const char* flag, bool allow_q4 = true);
// UsageError unless writing the outputs leaves the inputs intact (autoneural::check_outputs).
void check_outputs_usage(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs);
// UsageError unless --size is 0 (the model's own) or a valid encoder input side.
void check_size_flag(int size);
// Peak resident set size of this process, in bytes.
size_t peak_rss_bytes();
std::string human_bytes(double bytes);

}  // namespace autoneural::cli
