// Everything the sim and npu backends need to run a model quantized: the recipe, the integer form of every
// weight tensor (built on first use), and the activation range of every quantization point.
//
// Quantization points are named by backend sites: "<site>" is an operation's output, "<site>:in" (":in1"
// for a second input) what it reads, "<site>:<name>" an intermediate the NPU materialises (the short
// convolution's state, the SiLU before the gate product). Points without a calibrated range get a dynamic
// one (the tensor's own min/max at run time), which is convenient but not what an NPU can do; `calibrate`
// fixes them (docs/quantization.md).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "format/weight_source.h"
#include "quant/activation.h"
#include "quant/calibration.h"
#include "quant/scheme.h"
#include "quant/weight_quant.h"

namespace autoneural::backend {

using ActRanges = std::map<std::string, std::pair<float, float>, std::less<>>;

class QuantPlan {
 public:
  QuantPlan(quant::Recipe recipe, std::vector<std::shared_ptr<const format::WeightSource>> sources, ActRanges ranges);

  const quant::Recipe& recipe() const { return recipe_; }
  const ActRanges& ranges() const { return ranges_; }
  bool calibrated() const { return !ranges_.empty(); }

  // The integer form of a weight tensor (matrix, convolution or depthwise kernel, rows = output channels)
  // by GGUF name; Error if no source has it.
  const quant::QuantizedMatrix& weight(std::string_view tensor) const;
  bool has_tensor(std::string_view tensor) const;
  // Its dequantized values (rows × cols floats), for the sim backend.
  const std::vector<float>& dequantized(std::string_view tensor) const;

  // Token embedding rows from the quantized table (what an NPU graph is fed): rows of `dim`.
  void embed_tokens(const int32_t* tokens, int64_t n, int64_t dim, float* out) const;

  quant::ActScheme act_scheme(std::string_view point) const;
  // The encoding of a quantization point: its calibrated range, or the range of `data` (n values).
  quant::ActEncoding encoding(std::string_view point, const float* data, int64_t n) const;
  // For points that have no data of their own (derived encodings): the calibrated range if any.
  const std::pair<float, float>* range(std::string_view point) const;

 private:
  const format::TensorRef* find(std::string_view tensor, const format::WeightSource** owner) const;

  quant::Recipe recipe_;
  std::vector<std::shared_ptr<const format::WeightSource>> sources_;
  ActRanges ranges_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::unique_ptr<quant::QuantizedMatrix>> weights_;
  mutable std::unordered_map<std::string, std::unique_ptr<std::vector<float>>> dequantized_;
};

// Metadata keys of a quantized GGUF (docs/quantization.md).
inline constexpr const char* kQuantRecipeKey = "autoneural.quant.recipe";
inline constexpr const char* kQuantActPointsKey = "autoneural.quant.act.points";
inline constexpr const char* kQuantActRangesKey = "autoneural.quant.act.ranges";  // lo, hi per point
inline std::string quant_scheme_key(std::string_view tensor) { return "autoneural.quant.scheme." + std::string(tensor); }
inline std::string quant_scales_key(std::string_view tensor) { return "autoneural.quant.scales." + std::string(tensor); }

// The recipe (with per-tensor schemes as overrides) and activation ranges stored in a quantized file;
// nullopt recipe for a file `autoneural quantize` did not write.
struct StoredQuantization {
  std::optional<quant::Recipe> recipe;
  ActRanges ranges;
};
StoredQuantization read_stored_quantization(const format::WeightSource& source);

// The activation ranges a recipe uses from a calibration: per point the 16- or 8-bit choice of `method`,
// by the bit width the recipe gives that point's component.
ActRanges calibrated_ranges(const quant::Calibration& calib, const quant::Recipe& recipe, quant::RangeMethod method);
// Error naming both fingerprints when `calib` (read from `path`) was recorded on another model.
void check_calibration(const quant::Calibration& calib, const std::vector<std::shared_ptr<const format::WeightSource>>& sources,
                       const std::string& path);

// A fingerprint of a model's tensor names and shapes (all its files), to tell calibration files apart.
std::string model_fingerprint(const std::vector<std::shared_ptr<const format::WeightSource>>& sources);

}  // namespace autoneural::backend
