// autoneural workflows: the jobs behind the command-line tool, as library calls. The CLI (and a server
// or a user's program) parses its inputs, calls these and prints; nothing here prints or exits.
//
//   autoneural::convert_hf("LFM2-VL-dir", "text.gguf", {.vision_out = "vision.gguf"});
//   auto model = autoneural::Model::load("text.gguf", {.mmproj = "vision.gguf"});
//   autoneural::calibrate(*model, {.images = autoneural::list_images("calib/")}, "calib.json");
//   auto report = autoneural::quant_report(*model, {.images = autoneural::list_images("calib/")});
//
// Long jobs take an optional progress callback: fraction done in [0, 1] and what is being worked on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autoneural/llm.h"

namespace autoneural {

using ProgressFn = std::function<void(double fraction, std::string_view what)>;

// ---- files ------------------------------------------------------------------------------------------
// The whole file as text (Error naming the path when it cannot be read).
std::string read_text_file(const std::string& path);
// Writes `bytes` to `path` through a temporary in the same folder renamed into place, so a reader never
// sees half a file.
void write_file_atomic(const std::string& path, std::string_view bytes);
// Error unless writing every one of `outputs` (empty names are skipped) leaves the inputs intact and the
// outputs apart: an output may not be an input file (links, hard links and other spellings of the same
// file included), nor a file a Hugging Face input directory is read from (*.json, *.safetensors in it),
// nor the same file as another output. Commands call it before they write anything.
void check_outputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs);
// NumPy .npy arrays (little-endian, C order).
void write_npy(const std::string& path, std::span<const float> data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, std::span<const int32_t> data, const std::vector<int64_t>& shape);
struct NpyFloatArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
// A float32 .npy array; Error for another type or a malformed file.
NpyFloatArray read_npy_f32(const std::string& path);

// ---- checkpoints -------------------------------------------------------------------------------------
struct CheckpointInfo {
  std::string path;
  std::string kind;             // "LFM2 GGUF", "merged AutoNeural GGUF (text + vision)", "AutoNeural vision GGUF",
                                // "llama.cpp gemma3nv mmproj", "Hugging Face LFM2 directory",
                                // "Hugging Face AutoNeural directory", "... (vision only)"
  bool gguf = false;
  bool language_model = false;  // holds a language model
  bool vision = false;          // holds a vision encoder (+ connector)
};
// What a path holds, read once from its GGUF keys or config.json (Error for anything else).
CheckpointInfo identify_checkpoint(const std::string& path);

// ---- inputs of calibration and error reports ---------------------------------------------------------
// Image files (png, jpg, jpeg, bmp, ppm, pgm by extension) of a folder, sorted; Error if there are none.
std::vector<std::string> list_images(const std::string& dir);
// Non-empty lines of a text file; Error if there are none.
std::vector<std::string> read_prompts(const std::string& path);

// ---- files of other tools and random models ----------------------------------------------------------
// Matrix types files are written with: "f32", "f16", "bf16", "q8_0", "q4_0".
// Error ("unsupported WHAT 'TYPE' (expected ...)") unless `type` is one of those (q4_0 only with allow_q4;
// vision matrices are never written in it).
void check_writable_type(const std::string& type, const std::string& what, bool allow_q4 = true);

struct ConvertOptions {
  std::string type = "f16";         // language-model matrices
  std::string vision_type = "f16";  // vision matrices (not q4_0)
  std::string vision_out;           // AutoNeural: write the vision half here (empty: merged into OUT)
};
struct ConvertResult {
  std::string checkpoint;  // what the directory held ("Hugging Face AutoNeural directory", ...)
  bool vision = false;     // a vision half was written (to vision_out, or merged)
};
// Hugging Face LFM2 or AutoNeural directory → GGUF (llama.cpp's names and keys for the language model).
ConvertResult convert_hf(const std::string& hf_dir, const std::string& out, const ConvertOptions& options = {},
                         const ProgressFn& progress = {});

struct RandomModelOptions {
  std::string arch = "lfm2";        // "lfm2" or "autoneural" (adds the 300M MobileNetV5 + connector)
  std::string size = "1.2b";        // published LFM2 size: "350m", "700m", "1.2b"
  std::string type = "q4_0";        // language-model matrices
  std::string vision_type = "f16";  // vision matrices (not q4_0)
  std::string vision_out;           // arch "autoneural": the vision file (required)
  bool llama_cpp_mmproj = false;    // write the vision file as llama.cpp's gemma3nv mmproj
  uint64_t seed = 42;
};
struct RandomModelResult {
  int64_t text_hidden = 0;      // the language model's width
  int64_t vision_channels = 0;  // the encoder's output channels (arch "autoneural")
};
// Random weights of a published shape, so benchmarks and tests need no download.
RandomModelResult make_random_model(const std::string& out, const RandomModelOptions& options,
                                    const ProgressFn& progress = {});

// ---- quantization ------------------------------------------------------------------------------------
struct CalibrationInputs {
  std::vector<std::string> images;   // image files (for a model with vision)
  std::vector<std::string> prompts;  // prompts (for a model with a language model)
  int image_size = 0;                // 0: the model's own
};
struct CalibrationSummary {
  size_t ranges = 0;
  int64_t images = 0, prompts = 0;
};
// Runs the float model on the inputs and writes the activation statistics of every quantization point
// (docs/quantization.md) to out_path as JSON.
CalibrationSummary calibrate(const Model& model, const CalibrationInputs& inputs, const std::string& out_path,
                             const ProgressFn& progress = {});

struct QuantizeSummary {
  std::string recipe;
  size_t ranges = 0;
  bool calibrated = false;  // false: no stored ranges, they are dynamic at run time
};
// Writes the model as the quantized GGUF of its plan: `model` is loaded with backend "sim" or "npu" and
// the recipe / calibration / overrides in its ModelOptions. A model with a separate vision file goes to
// `out` + `vision_out`, or merged into `out` when vision_out is empty.
QuantizeSummary write_quantized(const Model& model, const std::string& out, const std::string& vision_out = "",
                                const ProgressFn& progress = {});

// The file form of write_quantized: loads `in` with `options` (backend npu, recipe, calibration, overrides,
// mmproj) and writes the quantized GGUF. A Hugging Face directory is first converted (f32) into a private
// temporary folder next to `out`, removed afterwards.
QuantizeSummary quantize_file(const std::string& in, const std::string& out, ModelOptions options,
                              const std::string& vision_out = "", const ProgressFn& progress = {});

struct QuantReportOptions {
  std::vector<std::string> recipes = {"w8a16", "w8a8", "w4a16", "w16a16", "autoneural"};
  std::string backend = "npu";      // "sim" or "npu"
  std::string calibration;          // CALIB.json; empty: calibrated on the report's own inputs
  std::string act_range = "minmax"; // minmax | percentile | mse
  std::vector<std::string> images;  // image files for the encoder and connector
  std::vector<std::string> prompts; // prompts for the language model
  std::string text;                 // a text for the language model, in chunks of chunk_tokens
  int64_t chunk_tokens = 256;
  int64_t max_chunks = 4;
  int image_size = 0;               // 0: the model's own
};
struct QuantReportRecord {
  std::string recipe, layer;
  double sqnr_db = 0, rms_pct = 0;       // sqnr_db is +inf for an exact layer
  std::optional<double> kl, top1;        // the "logits" layer: mean KL divergence and top-1 agreement
};
struct QuantReport {
  std::string backend;
  std::vector<std::string> recipes;
  std::vector<std::string> layers;  // in the order the model produced them
  int64_t images = 0, texts = 0;
  std::vector<QuantReportRecord> records;  // one per recipe and layer

  const QuantReportRecord* find(std::string_view recipe, std::string_view layer) const;
  // The records as a JSON array ({recipe, tensor, sqnr_db (null when exact), rms_pct, kl?, top1?}).
  std::string to_json() const;
  // SQNR per layer, one line per recipe, as an SVG chart.
  std::string to_svg() const;
};
// The quantization error of each recipe layer by layer against the float model (the model must be
// loaded with the float backend).
QuantReport quant_report(const Model& model, const QuantReportOptions& options, const ProgressFn& progress = {});

// ---- evaluation --------------------------------------------------------------------------------------
struct PerplexityResult {
  double ppl = 0, ppl_stderr = 0;
  int64_t tokens = 0;   // scored tokens
  int64_t chunks = 0;
};
// Perplexity of a text as llama.cpp measures it: chunks of BOS + n_ctx - 1 tokens, the second half of each
// scored. on_chunk receives the running perplexity after each chunk.
PerplexityResult perplexity(std::shared_ptr<const Model> model, const std::string& text, int64_t n_ctx,
                            int64_t n_batch = 128, int64_t max_chunks = 0,
                            const std::function<void(int64_t chunk, double ppl)>& on_chunk = {});

// ---- state memory ------------------------------------------------------------------------------------
struct StateMemoryEstimate {
  size_t conv_bytes = 0;                 // constant per sequence
  size_t kv_bytes_per_token = 0;         // this model
  size_t all_attention_kv_bytes_per_token = 0;  // the same shape with attention in every layer
};
// What a sequence's state costs for this model and KV cache type (no state is allocated).
StateMemoryEstimate estimate_state_memory(const Model& model, CacheType cache_type);

}  // namespace autoneural
