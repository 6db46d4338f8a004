// Calibration: activation statistics of the float model, per quantization point, and the ranges chosen
// from them (docs/quantization.md, "Calibration").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "quant/scheme.h"

namespace autoneural::quant {

// Running statistics of one tensor: exact min/max, and a symmetric histogram whose range doubles (merging
// bin pairs) whenever a value falls outside it, for percentiles and the MSE clip search.
class RangeStats {
 public:
  static constexpr int kBins = 2048;
  void add(const float* x, int64_t n);
  void merge(const RangeStats& o);
  int64_t count() const { return count_; }
  float min() const { return static_cast<float>(min_); }
  float max() const { return static_cast<float>(max_); }
  // The value below which a fraction q of the observations lie (bin-resolution, clamped to [min, max]).
  float quantile(double q) const;
  // [lo, hi] minimizing the expected squared error of `bits`-bit asymmetric quantization of the observed
  // distribution: the [min, max] range shrunk by factors 1, 0.99, ..., 0.30 around zero.
  std::pair<float, float> mse_range(int bits) const;

 private:
  void grow_to(double amax);
  double min_ = 0, max_ = 0, half_range_ = 0;  // histogram covers [-half_range_, half_range_)
  int64_t count_ = 0;
  std::vector<int64_t> hist_;
};

enum class RangeMethod { MinMax, Percentile, Mse };
RangeMethod parse_range_method(const std::string& name);  // minmax | percentile | mse

struct TensorCalibration {
  float min = 0, max = 0, p_lo = 0, p_hi = 0;  // p_lo / p_hi: the 0.01% and 99.99% quantiles
  std::pair<float, float> mse8, mse16;
  int64_t count = 0;
};

// What `autoneural calibrate` writes (JSON, docs/quantization.md).
struct Calibration {
  std::string fingerprint;  // model_fingerprint() of the model it was recorded on
  std::string model_name;
  int64_t images = 0, prompts = 0;
  std::map<std::string, TensorCalibration> tensors;

  static Calibration from_stats(const std::map<std::string, RangeStats>& stats);
  std::string to_json() const;
  static Calibration parse(const std::string& json_text, const std::string& path);
  static Calibration load(const std::string& path);
  // The range per quantization point for a method and bit width.
  std::map<std::string, std::pair<float, float>> ranges(RangeMethod method, int bits) const;
};

}  // namespace autoneural::quant
