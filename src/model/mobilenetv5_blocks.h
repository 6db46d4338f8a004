// The three MobileNetV5 block kinds (architecture-reference §1.3-§1.5), each with its own weights and
// forward pass: EdgeResidualBlock ("er"), UniversalInvertedResidualBlock ("uir") and MobileAttentionBlock
// ("mqa"). The encoder (mobilenetv5.cpp) holds them as VisionBlock and adds the residual.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/mobilenetv5_config.h"
#include "model/weight_loading.h"

namespace autoneural::model::mnv5 {

// A feature map in channels-last layout (h*w rows of c values); data may be larger than h*w*c.
struct Map {
  std::vector<float> data;
  int64_t h = 0, w = 0, c = 0;
  int64_t pixels() const { return h * w; }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  void reshape(int64_t nh, int64_t nw, int64_t nc) {
    h = nh, w = nw, c = nc;
    if (data.size() < static_cast<size_t>(h * w * c)) data.resize(static_cast<size_t>(h * w * c));
  }
};

// A k×k convolution with stride s and TensorFlow-style SAME padding (§1.2) over an h×w×c map.
backend::ConvGeometry same_geometry(int64_t h, int64_t w, int64_t c, int64_t k, int64_t s);

class VisionBlock {
 public:
  VisionBlock(std::string site, int64_t in, int64_t out, bool residual)
      : site_(std::move(site)), in_(in), out_(out), residual_(residual) {}
  virtual ~VisionBlock() = default;

  const std::string& site() const { return site_; }  // "v.blk.S.B"
  int64_t out_channels() const { return out_; }
  bool residual() const { return residual_; }  // the caller adds the input to the output

  // The block's output for input x into `out`; t1 and t2 are scratch maps.
  virtual void forward(backend::Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const = 0;

 protected:
  std::string site_;
  int64_t in_, out_;
  bool residual_;
};

// er: full k×k conv_exp + norm + GELU, 1x1 conv_pwl + norm.
class EdgeResidualBlock final : public VisionBlock {
 public:
  EdgeResidualBlock(const ManifestWeights& t, const VisionBlockDef& def, std::string site, int64_t in);
  void forward(backend::Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const override;

 private:
  int64_t kernel_, stride_, mid_;
  backend::Weight conv_exp_, conv_pwl_;
  std::vector<float> bn1_, bn2_;
};

// uir: [depthwise dw_start + norm] + 1x1 pw_exp + norm + GELU + [depthwise dw_mid + norm + GELU] +
// 1x1 pw_proj + norm + [layer scale].
class UniversalInvertedResidualBlock final : public VisionBlock {
 public:
  UniversalInvertedResidualBlock(const ManifestWeights& t, const VisionBlockDef& def, std::string site, int64_t in,
                                 bool layer_scale);
  void forward(backend::Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const override;

 private:
  int64_t dw_start_k_, dw_mid_k_, stride_, mid_;
  std::vector<float> dw_start_, dw_start_bn_, pw_exp_bn_, dw_mid_, dw_mid_bn_, pw_proj_bn_, gamma_;
  backend::Weight pw_exp_, pw_proj_;
};

// mqa: RMSNorm + multi-query attention with K/V down-sampled by a strided depthwise conv + norm
// (kv_stride > 1) + [layer scale]; always residual.
class MobileAttentionBlock final : public VisionBlock {
 public:
  MobileAttentionBlock(const ManifestWeights& t, const VisionBlockDef& def, std::string site, int64_t in,
                       bool layer_scale);
  void forward(backend::Backend& be, float eps, const Map& x, Map& out, Map& t1, Map& t2) const override;

 private:
  // Keys or values: from the normed input, down-sampled when kv_stride > 1, projected to key_dim.
  struct KeyValue {
    std::string site;  // "v.blk.S.B.attn.key"
    std::vector<float> down, norm;
    backend::Weight proj;
  };
  void project(backend::Backend& be, float eps, const KeyValue& kv, const float* xn, int64_t h, int64_t w,
               std::vector<float>& scratch, std::vector<float>& result, int64_t& m) const;

  int heads_, key_dim_, kv_stride_, kv_kernel_;
  std::vector<float> norm_, gamma_;
  backend::Weight query_, output_;
  KeyValue key_, value_;
};

// The block of `def`'s kind, its tensors taken from `t` under "site.".
std::unique_ptr<VisionBlock> make_vision_block(const ManifestWeights& t, const VisionBlockDef& def, std::string site,
                                               int64_t in, bool layer_scale);

}  // namespace autoneural::model::mnv5
