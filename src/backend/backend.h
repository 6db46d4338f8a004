// How a model's operations are executed.
//
// Model components (src/model) say *what* is computed, as a sequence of calls on this interface; a
// backend decides *how*: in float with SIMD kernels (FloatBackend), and later with fake quantization
// (sim), bit-true integer arithmetic (npu) or on a GPU. Every call names its site ("blk.3.ffn_up") so that
// a quantizing backend can look up per-tensor activation scales and a profiler can attribute time.
//
// All activations are row-major float arrays: `n` rows (tokens) of `dim` values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "autoneural/error.h"
#include "kernels/matmul.h"
#include "backend/sequence_state.h"

namespace autoneural::backend {

struct Weight {
  std::string name;          // GGUF tensor name
  kernels::Matrix matrix;    // [rows = out features][cols = in features]
};

// Geometry of a 2-D convolution over a channels-last feature map: in_h*in_w rows (row = y*in_w + x) of
// `channels` values; output out_h*out_w rows. Zero padding pad_top/pad_left before the image (the rest
// after it is implied by the output size), as TensorFlow-style SAME padding needs (architecture-reference §1.2).
struct ConvGeometry {
  int64_t in_h = 0, in_w = 0, channels = 0;
  int64_t kernel = 1, stride = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t out_h = 0, out_w = 0;
};

enum class GeluKind { Tanh, Erf };  // tanh approximation (MobileNetV5) / exact erf (connector)

enum class ResizeKind {
  Nearest,          // source index floor(dst * in / out)
  Bilinear,         // PyTorch align_corners=False, no antialias, edge-clamped
  AveragePool,      // kernel = stride = in / out (requires divisibility), no padding
};

struct AttentionShape {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ctx = 0;
  float scale = 1.0f;  // applied to q·k
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  virtual kernels::ThreadPool& pool() = 0;
  // Whether the rows of several sequences may go through one call of a row-wise op (linear, rms_norm,
  // swiglu, add) and come out as if each sequence ran alone. True when every output row depends only on
  // its own input row (float). The quantized backends choose dynamic ranges per call from all its rows,
  // so they answer false and a model runs a batch's sequences one after another instead.
  virtual bool batches_sequences() const { return true; }

  // y[n][w.rows] = x[n][w.cols] · Wᵀ
  virtual void linear(const Weight& w, const float* x, int64_t n, float* y) = 0;
  // Per row of `dim` values: y = x / sqrt(mean(x²) + eps) * weight. x and y may alias.
  virtual void rms_norm(std::string_view site, const float* x, const float* weight, int64_t n, int64_t dim,
                        float eps, float* y) = 0;
  // y = silu(gate) * up, element-wise over `count` values.
  virtual void swiglu(std::string_view site, const float* gate, const float* up, int64_t count, float* y) = 0;
  // acc += x, element-wise (residual connections).
  virtual void add(std::string_view site, float* acc, const float* x, int64_t count) = 0;
  // NEOX rotary embedding in place on x[n][n_heads][head_dim], row t at position pos0 + t.
  virtual void rope(std::string_view site, float* x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
                    float theta) = 0;
  // Gated short convolution (§3.2 steps 2–4) for n consecutive tokens of one sequence:
  // bcx[n][3·dim] holds B, C, X; kernel[dim][l_cache]; state[(l_cache-1)][dim] holds the previous U's
  // (oldest first) and is updated; z[n][dim] = C ⊙ conv(U = B ⊙ X).
  virtual void short_conv(std::string_view site, const float* bcx, const float* kernel, int64_t l_cache,
                          int64_t n, int64_t dim, float* state, float* z) = 0;
  // Writes k, v ([n][n_head_kv][head_dim]) into the cache at positions pos0..pos0+n-1.
  virtual void store_kv(std::string_view site, KvLayer& cache, const AttentionShape& shape, const float* k,
                        const float* v, int64_t pos0, int64_t n) = 0;
  // Causal attention of q[n][n_head][head_dim] (positions pos0..) over cached positions [0, pos0 + n);
  // writes out[n][n_head][head_dim].
  virtual void attention(std::string_view site, const KvLayer& cache, const AttentionShape& shape, const float* q,
                         int64_t pos0, int64_t n, float* out) = 0;

  // A layer boundary: `data` (rows × dim) is the output of `layer` ("blk.3", "v.blk.2.7", "encoder_output",
  // "connector_output", "logits"). Nothing to compute; wrappers that record per-layer results
  // (calibration, quant-report, debugging) override it.
  virtual void observe(std::string_view layer, const float* data, int64_t rows, int64_t dim) {}

  // ---- vision ops (channels-last feature maps, see ConvGeometry) ----------------------------------------
  // A backend that cannot run an op (yet) keeps the default, which reports that clearly.
  // Full convolution: w.rows = output channels, w.cols = channels·kernel² in PyTorch weight order
  // (input channel slowest, then ky, then kx). bias[w.rows] may be null. y: out_h*out_w rows of w.rows.
  virtual void conv2d(const Weight& w, const float* bias, const float* x, const ConvGeometry& g, float* y) { unsupported("conv2d"); }
  // Depthwise convolution: kernel[kernel²][channels] (tap-major, so that a tap's weights for all channels
  // are contiguous). y: out_h*out_w rows of `channels`.
  virtual void depthwise_conv2d(std::string_view site, const float* kernel, const float* x, const ConvGeometry& g,
                                float* y) { unsupported("depthwise_conv2d"); }
  // y = gelu(x) element-wise; x and y may alias.
  virtual void gelu(std::string_view site, const float* x, int64_t count, GeluKind kind, float* y) { unsupported("gelu"); }
  // x[i][c] *= scale[c] (layer scale) for n rows of dim.
  virtual void scale_channels(std::string_view site, float* x, const float* scale, int64_t n, int64_t dim) { unsupported("scale_channels"); }
  // x[i][c] += bias[c] for n rows of dim.
  virtual void add_bias(std::string_view site, float* x, const float* bias, int64_t n, int64_t dim) { unsupported("add_bias"); }
  // Non-causal multi-query attention: q[n_q][n_head][head_dim] against one shared head k, v[n_kv][head_dim];
  // out[n_q][n_head][head_dim] = softmax(q·kᵀ·scale)·v per head.
  virtual void attention_mqa(std::string_view site, const float* q, int64_t n_q, int64_t n_head, const float* k,
                             const float* v, int64_t n_kv, int64_t head_dim, float scale, float* out) { unsupported("attention_mqa"); }
  // Resizes a channels-last map in_h×in_w → out_h×out_w (`channels` per pixel).
  virtual void resize2d(std::string_view site, const float* x, int64_t in_h, int64_t in_w, int64_t channels,
                        int64_t out_h, int64_t out_w, ResizeKind kind, float* y) { unsupported("resize2d"); }

 protected:
  [[noreturn]] void unsupported(const char* op) const {
    throw Error("the " + std::string(name()) + " backend does not implement " + op);
  }
};

}  // namespace autoneural::backend
