#include "backend/float_backend.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "format/half.h"
#include "kernels/ops.h"

namespace autoneural::backend {

FloatBackend::FloatBackend(int n_threads) : pool_(n_threads) {}

void FloatBackend::linear(const Weight& w, const float* x, int64_t n, float* y) {
  kernels::matmul(w.matrix, x, w.matrix.cols, n, y, w.matrix.rows, scratch_, pool_);
}

void FloatBackend::rms_norm(std::string_view, const float* x, const float* weight, int64_t n, int64_t dim, float eps,
                            float* y) {
  // Vision feature maps have thousands of rows; token chunks a few. Rows are independent either way.
  if (n * dim < (1 << 16)) {
    for (int64_t t = 0; t < n; ++t) kernels::rms_norm(x + t * dim, weight, y + t * dim, dim, eps);
    return;
  }
  pool_.parallel_for(n, 16, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) kernels::rms_norm(x + t * dim, weight, y + t * dim, dim, eps);
  });
}

void FloatBackend::swiglu(std::string_view, const float* gate, const float* up, int64_t count, float* y) {
  pool_.parallel_for(count, 4096, [&](int64_t b, int64_t e) { kernels::silu_mul(gate + b, up + b, y + b, e - b); });
}

void FloatBackend::add(std::string_view, float* acc, const float* x, int64_t count) {
  kernels::add(acc, x, acc, count);
}

void FloatBackend::rope(std::string_view, float* x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
                        float theta) {
  // Angles in double: position × theta^(-2i/d) loses precision in float at long contexts.
  const int64_t half = head_dim / 2;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
  std::vector<float> cos_t(half), sin_t(half);
  for (int64_t t = 0; t < n; ++t) {
    const double pos = static_cast<double>(pos0 + t);
    for (int64_t i = 0; i < half; ++i) {
      cos_t[i] = static_cast<float>(std::cos(pos * inv_freq[i]));
      sin_t[i] = static_cast<float>(std::sin(pos * inv_freq[i]));
    }
    for (int64_t h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_t[i] - b * sin_t[i];
        v[i + half] = b * cos_t[i] + a * sin_t[i];
      }
    }
  }
}

void FloatBackend::short_conv(std::string_view, const float* bcx, const float* kernel, int64_t l_cache, int64_t n,
                              int64_t dim, float* state, float* z) {
  const int64_t steps = l_cache - 1;
  // history rows: the saved U's followed by this chunk's U's, so that every output is a plain window sum.
  std::vector<float> hist(static_cast<size_t>((steps + n) * dim));
  std::copy(state, state + steps * dim, hist.begin());
  for (int64_t t = 0; t < n; ++t) {
    const float* b = bcx + t * 3 * dim;
    const float* xv = b + 2 * dim;
    float* u = hist.data() + (steps + t) * dim;
    for (int64_t c = 0; c < dim; ++c) u[c] = b[c] * xv[c];
  }
  pool_.parallel_for(dim, 256, [&](int64_t c0, int64_t c1) {
    for (int64_t t = 0; t < n; ++t) {
      const float* cgate = bcx + t * 3 * dim + dim;
      for (int64_t c = c0; c < c1; ++c) {
        float acc = 0.0f;
        for (int64_t k = 0; k < l_cache; ++k) acc += kernel[c * l_cache + k] * hist[(t + k) * dim + c];
        z[t * dim + c] = cgate[c] * acc;
      }
    }
  });
  std::copy(hist.end() - steps * dim, hist.end(), state);
}

void FloatBackend::store_kv(std::string_view, KvLayer& cache, const AttentionShape& s, const float* k, const float* v,
                            int64_t pos0, int64_t n) {
  const int64_t row = s.n_head_kv * s.head_dim;
  const size_t off = static_cast<size_t>(pos0 * row), count = static_cast<size_t>(n * row);
  if (!cache.k32.empty()) {
    std::copy(k, k + count, cache.k32.begin() + off);
    std::copy(v, v + count, cache.v32.begin() + off);
  } else {
    kernels::f32_to_f16_row(k, cache.k16.data() + off, static_cast<int64_t>(count));
    kernels::f32_to_f16_row(v, cache.v16.data() + off, static_cast<int64_t>(count));
  }
}

void FloatBackend::attention(std::string_view, const KvLayer& cache, const AttentionShape& s, const float* q,
                             int64_t pos0, int64_t n, float* out) {
  attention_rounded(cache, s, q, pos0, n, 0, out);
}

void FloatBackend::attention_rounded(const KvLayer& cache, const AttentionShape& s, const float* q, int64_t pos0,
                                     int64_t n, int32_t prob_levels, float* out) {
  const int64_t hd = s.head_dim, row = s.n_head_kv * hd, group = s.n_head / s.n_head_kv;
  const int64_t n_kv = pos0 + n;
  const bool f32 = !cache.k32.empty();
  // F16 caches are widened once per call so the inner loops run on float rows.
  std::vector<float> k_wide, v_wide;
  const float* kbase = cache.k32.data();
  const float* vbase = cache.v32.data();
  if (!f32) {
    k_wide.resize(static_cast<size_t>(n_kv * row));
    v_wide.resize(static_cast<size_t>(n_kv * row));
    kernels::f16_to_f32_row(cache.k16.data(), k_wide.data(), n_kv * row);
    kernels::f16_to_f32_row(cache.v16.data(), v_wide.data(), n_kv * row);
    kbase = k_wide.data();
    vbase = v_wide.data();
  }
  const int64_t items = n * s.n_head;
  pool_.run([&](int tid, int nth) {
    const int64_t b = items * tid / nth, e = items * (tid + 1) / nth;
    std::vector<float> scores(static_cast<size_t>(n_kv));
    for (int64_t it = b; it < e; ++it) {
      const int64_t t = it / s.n_head, h = it % s.n_head, kvh = h / group;
      const float* qv = q + (t * s.n_head + h) * hd;
      const int64_t len = pos0 + t + 1;  // causal: keys 0..pos0+t
      float mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) {
        scores[j] = kernels::dot_f32(qv, kbase + j * row + kvh * hd, hd) * s.scale;
        mx = std::max(mx, scores[j]);
      }
      const float sum = kernels::softmax_exp(scores.data(), len, mx);
      float* o = out + (t * s.n_head + h) * hd;
      std::fill(o, o + hd, 0.0f);
      const float inv = 1.0f / sum, lv = static_cast<float>(prob_levels);
      for (int64_t j = 0; j < len; ++j) {
        const float p = prob_levels > 0 ? std::min(std::floor(scores[j] * inv * lv + 0.5f), lv - 1) / lv : scores[j] * inv;
        kernels::axpy(p, vbase + j * row + kvh * hd, o, hd);
      }
    }
  });
}

}  // namespace autoneural::backend
