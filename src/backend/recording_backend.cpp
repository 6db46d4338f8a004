#include "backend/recording_backend.h"

#include <vector>

#include "backend/quant_backend.h"

namespace autoneural::backend {

RecordingBackend::RecordingBackend(Backend& inner, bool record_ranges, LayerFn on_layer)
    : inner_(inner), record_(record_ranges), on_layer_(std::move(on_layer)) {}

void RecordingBackend::record(const std::string& p, const float* x, int64_t n) {
  if (record_) stats_[p].add(x, n);
}

void RecordingBackend::observe(std::string_view layer, const float* data, int64_t rows, int64_t dim) {
  if (on_layer_) on_layer_(layer, data, rows, dim);
  inner_.observe(layer, data, rows, dim);
}

void RecordingBackend::linear(const Weight& w, const float* x, int64_t n, float* y) {
  const std::string site = site_of_weight(w.name);
  record(point_in(site), x, n * w.matrix.cols);
  inner_.linear(w, x, n, y);
  record(site, y, n * w.matrix.rows);
}

void RecordingBackend::rms_norm(std::string_view site, const float* x, const float* weight, int64_t n, int64_t dim,
                                float eps, float* y) {
  record(point_in(site), x, n * dim);
  inner_.rms_norm(site, x, weight, n, dim, eps, y);
  record(std::string(site), y, n * dim);
}

void RecordingBackend::swiglu(std::string_view site, const float* gate, const float* up, int64_t count, float* y) {
  record(point_in(site), gate, count);
  record(point_in(site, 1), up, count);
  inner_.swiglu(site, gate, up, count, y);
  record(std::string(site), y, count);
}

void RecordingBackend::add(std::string_view site, float* acc, const float* x, int64_t count) {
  record(point_in(site), acc, count);
  record(point_in(site, 1), x, count);
  inner_.add(site, acc, x, count);
  record(std::string(site), acc, count);
}

void RecordingBackend::rope(std::string_view site, float* x, int64_t n, int64_t n_heads, int64_t head_dim,
                            int64_t pos0, float theta) {
  record(point_in(site), x, n * n_heads * head_dim);
  inner_.rope(site, x, n, n_heads, head_dim, pos0, theta);
  record(std::string(site), x, n * n_heads * head_dim);
}

void RecordingBackend::short_conv(std::string_view site, const float* bcx, const float* kernel, int64_t l_cache,
                                  int64_t n, int64_t dim, float* state, float* z) {
  record(point_in(site), bcx, n * 3 * dim);
  if (record_) {
    // The intermediates the npu materialises: the state (U = B ⊙ X history) and the convolution output.
    const int64_t steps = l_cache - 1;
    std::vector<float> hist, conv(static_cast<size_t>(n * dim));
    short_conv_history(bcx, state, steps, n, dim, hist);
    short_conv_window(hist, kernel, l_cache, n, dim, conv.data());
    record(point_state(site), hist.data(), static_cast<int64_t>(hist.size()));
    record(point_conv(site), conv.data(), n * dim);
  }
  inner_.short_conv(site, bcx, kernel, l_cache, n, dim, state, z);
  record(std::string(site), z, n * dim);
}

void RecordingBackend::store_kv(std::string_view site, KvLayer& cache, const AttentionShape& s, const float* k,
                                const float* v, int64_t pos0, int64_t n) {
  record(point_key(site), k, n * s.n_head_kv * s.head_dim);
  record(point_value(site), v, n * s.n_head_kv * s.head_dim);
  inner_.store_kv(site, cache, s, k, v, pos0, n);
}

void RecordingBackend::attention(std::string_view site, const KvLayer& cache, const AttentionShape& s, const float* q,
                                 int64_t pos0, int64_t n, float* out) {
  record(point_in(site), q, n * s.n_head * s.head_dim);
  inner_.attention(site, cache, s, q, pos0, n, out);
  record(std::string(site), out, n * s.n_head * s.head_dim);
}

void RecordingBackend::conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) {
  const std::string site = site_of_weight(w.name);
  record(point_in(site), x, g.in_h * g.in_w * g.channels);
  inner_.conv2d(w, bias, x, g, y);
  record(site, y, g.out_h * g.out_w * w.matrix.rows);
}

void RecordingBackend::depthwise_conv2d(std::string_view site, const float* kernel, const float* x,
                                        const ConvGeometry& g, float* y) {
  record(point_in(site), x, g.in_h * g.in_w * g.channels);
  inner_.depthwise_conv2d(site, kernel, x, g, y);
  record(std::string(site), y, g.out_h * g.out_w * g.channels);
}

void RecordingBackend::gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) {
  record(point_in(site), x, count);
  inner_.gelu(site, x, count, kind, y);
  record(std::string(site), y, count);
}

void RecordingBackend::scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) {
  record(point_in(site), x, n * dim);
  inner_.scale_channels(site, x, scale, n, dim);
  record(std::string(site), x, n * dim);
}

void RecordingBackend::add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) {
  record(point_in(site), x, n * dim);
  inner_.add_bias(site, x, bias, n, dim);
  record(std::string(site), x, n * dim);
}

void RecordingBackend::attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head,
                                     const float* k, const float* v, int64_t n_kv, int64_t head_dim, float scale,
                                     float* out) {
  record(point_in(site), q, n_q * n_head * head_dim);
  record(point_in(site, 1), k, n_kv * head_dim);
  record(point_in(site, 2), v, n_kv * head_dim);
  inner_.attention_mqa(site, q, n_q, n_head, k, v, n_kv, head_dim, scale, out);
  record(std::string(site), out, n_q * n_head * head_dim);
}

void RecordingBackend::resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t channels,
                                int64_t out_h, int64_t out_w, ResizeKind kind, float* y) {
  record(point_in(site), x, in_h * in_w * channels);
  inner_.resize2d(site, x, in_h, in_w, channels, out_h, out_w, kind, y);
  record(std::string(site), y, out_h * out_w * channels);
}

}  // namespace autoneural::backend
