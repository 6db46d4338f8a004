#include "quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>


#include "autoneural/error.h"
#include "format/json.h"
#include "format/mapped_file.h"

namespace autoneural::quant {

void RangeStats::grow_to(double amax) {
  if (hist_.empty()) {
    hist_.assign(kBins, 0);
    // Powers of two, so that two histograms can always be brought to the same range by doubling.
    half_range_ = amax > 0 ? std::exp2(std::ceil(std::log2(amax))) : 1.0;
    while (half_range_ <= amax) half_range_ *= 2;
    return;
  }
  while (half_range_ <= amax) {
    // Doubling the range: old bins i and i+1 fall into new bin kBins/4 + i/2.
    std::vector<int64_t> h(kBins, 0);
    for (int i = 0; i < kBins; ++i) h[kBins / 4 + i / 2] += hist_[i];
    hist_.swap(h);
    half_range_ *= 2;
  }
}

void RangeStats::add(const float* x, int64_t n) {
  if (n <= 0) return;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    lo = std::min<double>(lo, x[i]);
    hi = std::max<double>(hi, x[i]);
  }
  if (lo > hi) return;  // nothing finite
  if (count_ == 0) min_ = lo, max_ = hi;
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
  grow_to(std::max(-lo, hi));
  const double inv = kBins / (2 * half_range_);
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const int b = static_cast<int>((x[i] + half_range_) * inv);
    ++hist_[std::clamp(b, 0, kBins - 1)];
    ++count_;
  }
}

void RangeStats::merge(const RangeStats& o) {
  if (o.count_ == 0) return;
  if (count_ == 0) {
    *this = o;
    return;
  }
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  RangeStats other = o;
  const double r = std::max(half_range_, o.half_range_);
  grow_to(r * 0.999999);
  other.grow_to(r * 0.999999);
  for (int i = 0; i < kBins; ++i) hist_[i] += other.hist_[i];
  count_ += o.count_;
}

float RangeStats::quantile(double q) const {
  if (count_ == 0) return 0;
  const double target = q * static_cast<double>(count_);
  double seen = 0;
  const double width = 2 * half_range_ / kBins;
  for (int i = 0; i < kBins; ++i) {
    if (seen + hist_[i] >= target && hist_[i] > 0) {
      const double frac = (target - seen) / hist_[i];
      const double v = -half_range_ + (i + frac) * width;
      return static_cast<float>(std::clamp(v, min_, max_));
    }
    seen += hist_[i];
  }
  return static_cast<float>(max_);
}

std::pair<float, float> RangeStats::mse_range(int bits) const {
  const double lo0 = std::min(min_, 0.0), hi0 = std::max(max_, 0.0);
  if (count_ == 0 || hi0 - lo0 <= 0) return {static_cast<float>(lo0), static_cast<float>(hi0)};
  const double width = 2 * half_range_ / kBins, levels = std::exp2(bits) - 1;
  double best = std::numeric_limits<double>::infinity(), best_a = 1;
  for (int k = 100; k >= 30; --k) {
    const double a = k / 100.0, lo = lo0 * a, hi = hi0 * a, step = (hi - lo) / levels;
    double err = 0;
    for (int i = 0; i < kBins; ++i) {
      if (!hist_[i]) continue;
      const double c = -half_range_ + (i + 0.5) * width;
      const double e = c > hi ? c - hi : c < lo ? lo - c : 0;
      err += hist_[i] * (e * e + step * step / 12);
    }
    if (err < best) best = err, best_a = a;
  }
  return {static_cast<float>(lo0 * best_a), static_cast<float>(hi0 * best_a)};
}

RangeMethod parse_range_method(const std::string& name) {
  if (name == "minmax") return RangeMethod::MinMax;
  if (name == "percentile") return RangeMethod::Percentile;
  if (name == "mse") return RangeMethod::Mse;
  throw Error("unknown activation range method '" + name + "' (expected minmax, percentile or mse)");
}

Calibration Calibration::from_stats(const std::map<std::string, RangeStats>& stats) {
  Calibration c;
  for (const auto& [name, s] : stats) {
    if (s.count() == 0) continue;
    TensorCalibration t;
    t.min = s.min();
    t.max = s.max();
    t.p_lo = s.quantile(1e-4);
    t.p_hi = s.quantile(1 - 1e-4);
    t.mse8 = s.mse_range(8);
    t.mse16 = s.mse_range(16);
    t.count = s.count();
    c.tensors[name] = t;
  }
  return c;
}

std::string Calibration::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "autoneural-calibration";
  j["version"] = 1;
  j["fingerprint"] = fingerprint;
  j["model"] = model_name;
  j["images"] = images;
  j["prompts"] = prompts;
  auto& t = j["tensors"];
  t = nlohmann::ordered_json::object();
  for (const auto& [name, c] : tensors)
    t[name] = {{"min", c.min}, {"max", c.max}, {"p0.01", c.p_lo}, {"p99.99", c.p_hi},
               {"mse8", {c.mse8.first, c.mse8.second}}, {"mse16", {c.mse16.first, c.mse16.second}},
               {"count", c.count}};
  return j.dump(1) + "\n";
}

Calibration Calibration::parse(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = format::parse_json(text, path);
  } catch (const Error&) {
    j = nullptr;  // reported below as what it is not
  }
  // Compared as JSON values, not read with value(): a "format" or "version" of another type is an answer,
  // not a json::type_error (found by fuzz_json).
  if (!j.is_object() || !j.contains("format") || j.at("format") != "autoneural-calibration")
    throw Error(path + " is not an autoneural calibration file (written by `autoneural calibrate`)");
  if (!j.contains("version") || j.at("version") != 1) throw Error(path + ": unsupported calibration version");
  Calibration c;
  try {
    c.fingerprint = j.at("fingerprint").get<std::string>();
    c.model_name = j.value("model", "");
    c.images = format::json_int(j, "images", 0);
    c.prompts = format::json_int(j, "prompts", 0);
    for (const auto& [name, v] : j.at("tensors").items()) {
      TensorCalibration t;
      t.min = v.at("min").get<float>();
      t.max = v.at("max").get<float>();
      t.p_lo = v.at("p0.01").get<float>();
      t.p_hi = v.at("p99.99").get<float>();
      t.mse8 = {v.at("mse8").at(0).get<float>(), v.at("mse8").at(1).get<float>()};
      t.mse16 = {v.at("mse16").at(0).get<float>(), v.at("mse16").at(1).get<float>()};
      t.count = format::json_int(v, "count", 0);
      if (!(t.min <= t.max)) throw Error("min > max for " + name);
      c.tensors[name] = t;
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed calibration file (" + e.what() + ")");
  } catch (const Error& e) {
    throw Error(path + ": malformed calibration file (" + e.what() + ")");
  }
  return c;
}

Calibration Calibration::load(const std::string& path) {
  return parse(format::read_text_file(path), path);
}

std::map<std::string, std::pair<float, float>> Calibration::ranges(RangeMethod method, int bits) const {
  std::map<std::string, std::pair<float, float>> r;
  for (const auto& [name, t] : tensors) {
    switch (method) {
      case RangeMethod::MinMax: r[name] = {t.min, t.max}; break;
      case RangeMethod::Percentile: r[name] = {t.p_lo, t.p_hi}; break;
      case RangeMethod::Mse: r[name] = bits <= 8 ? t.mse8 : t.mse16; break;
    }
  }
  return r;
}

}  // namespace autoneural::quant
