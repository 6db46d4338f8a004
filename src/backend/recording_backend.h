// A Backend that runs another one and watches it: activation statistics per quantization point (what
// `autoneural calibrate` records) and per-layer outputs (what `quant-report` compares).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "quant/calibration.h"
#include "backend/backend.h"

namespace autoneural::backend {

class RecordingBackend final : public Backend {
 public:
  using LayerFn = std::function<void(std::string_view layer, const float* data, int64_t rows, int64_t dim)>;
  // inner: the backend that computes. record_ranges: collect RangeStats for every quantization point (see
  // quant_plan.h for the names). on_layer: called at every Backend::observe.
  RecordingBackend(Backend& inner, bool record_ranges, LayerFn on_layer = {});

  const std::map<std::string, quant::RangeStats>& stats() const { return stats_; }

  std::string_view name() const override { return inner_.name(); }
  kernels::ThreadPool& pool() override { return inner_.pool(); }
  bool batches_sequences() const override { return inner_.batches_sequences(); }
  void observe(std::string_view layer, const float* data, int64_t rows, int64_t dim) override;

  void linear(const Weight& w, const float* x, int64_t n, float* y) override;
  void rms_norm(std::string_view site, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                float* y) override;
  void swiglu(std::string_view site, const float* gate, const float* up, int64_t count, float* y) override;
  void add(std::string_view site, float* acc, const float* x, int64_t count) override;
  void rope(std::string_view site, float* x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
            float theta) override;
  void short_conv(std::string_view site, const float* bcx, const float* kernel, int64_t l_cache, int64_t n,
                  int64_t dim, float* state, float* z) override;
  void store_kv(std::string_view site, KvLayer& cache, const AttentionShape& shape, const float* k, const float* v,
                int64_t pos0, int64_t n) override;
  void attention(std::string_view site, const KvLayer& cache, const AttentionShape& shape, const float* q,
                 int64_t pos0, int64_t n, float* out) override;
  void conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) override;
  void depthwise_conv2d(std::string_view site, const float* kernel, const float* x, const ConvGeometry& g,
                        float* y) override;
  void gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) override;
  void scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) override;
  void add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) override;
  void attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head, const float* k,
                     const float* v, int64_t n_kv, int64_t head_dim, float scale, float* out) override;
  void resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t channels, int64_t out_h,
                int64_t out_w, ResizeKind kind, float* y) override;

 private:
  void record(const std::string& point, const float* x, int64_t n);

  Backend& inner_;
  bool record_;
  LayerFn on_layer_;
  std::map<std::string, quant::RangeStats> stats_;
};

}  // namespace autoneural::backend
