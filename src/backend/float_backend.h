// The default backend: float32 activations, weights used in place in their file format, SIMD kernels
// chosen at run time (src/kernels/dispatch.h).
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "kernels/thread_pool.h"

namespace autoneural::backend {

class FloatBackend : public Backend {
 public:
  explicit FloatBackend(int n_threads);

  std::string_view name() const override { return "float"; }
  kernels::ThreadPool& pool() override { return pool_; }

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

  // Vision ops (float_backend_vision.cpp).
  void conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) override;
  void depthwise_conv2d(std::string_view site, const float* kernel, const float* x, const ConvGeometry& g,
                        float* y) override;
  void gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) override;
  void scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) override;
  void add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) override;
  void attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head, const float* k,
                     const float* v, int64_t n_kv, int64_t head_dim, float scale, float* out) override;
  // attention_mqa with the probabilities rounded to multiples of 1/prob_levels (0: not rounded), for the
  // sim backend.
  void attention_mqa_rounded(const float* q, int64_t n_q, int64_t n_head, const float* k, const float* v,
                             int64_t n_kv, int64_t head_dim, float scale, int32_t prob_levels, float* out);
  // Causal attention of the same kind (see attention()).
  void attention_rounded(const KvLayer& cache, const AttentionShape& shape, const float* q, int64_t pos0, int64_t n,
                         int32_t prob_levels, float* out);
  void resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t channels, int64_t out_h,
                int64_t out_w, ResizeKind kind, float* y) override;

 private:
  std::vector<float> im2col_;
  kernels::ThreadPool pool_;
  kernels::MatmulScratch scratch_;
};

}  // namespace autoneural::backend
