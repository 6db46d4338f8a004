// The MobileNetV5 vision encoder (architecture-reference §1): stem, four stages of EdgeResidual /
// UniversalInvertedResidual / MobileAttention blocks, and the multi-scale fusion adapter, producing one
// token per cell of the output grid.
//
// Activations are channels-last (h*w rows of C values, row = y*w + x), so that every 1x1 convolution is a
// plain matmul over pixels and every RMSNorm2d a row norm; the Backend runs the operations.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/mobilenetv5_config.h"
#include "model/mobilenetv5_manifest.h"
#include "format/weight_source.h"
#include "backend/backend.h"

namespace autoneural::model {

namespace mnv5 {
class VisionBlock;
}

// Called with intermediate feature maps (channels-last, h*w rows of c): "stem", "blk.S.B", "stage.S"
// (S = 0..), "msfa.concat", "msfa.ffn", "msfa.resized", "output". For tests, per-layer error reports and
// debugging; costs nothing when empty.
using FeatureTap = std::function<void(std::string_view name, const float* data, int64_t h, int64_t w, int64_t c)>;

class MobileNetV5 {
 public:
  // Validates every tensor's presence and shape against mobilenetv5_manifest(config); throws Error otherwise.
  MobileNetV5(std::shared_ptr<const format::WeightSource> weights, MobileNetV5Config config);
  ~MobileNetV5();

  const MobileNetV5Config& config() const { return config_; }
  int64_t parameter_count() const;
  int64_t out_channels() const { return config_.msfa_output_channels; }
  int64_t tokens() const { return int64_t(config_.msfa_output_resolution) * config_.msfa_output_resolution; }

  // pixels: [3][h][w] (CHW, RGB), h and w positive multiples of 32 (Error otherwise).
  // out: [tokens()][out_channels()], token t = y*res + x.
  void encode(backend::Backend& backend, const float* pixels, int64_t h, int64_t w, float* out,
              const FeatureTap& tap = {}) const;


 private:
  std::shared_ptr<const format::WeightSource> weights_;
  MobileNetV5Config config_;
  std::vector<std::unique_ptr<mnv5::VisionBlock>> blocks_;  // all stages in order
  struct Stem;
  struct Msfa;
  std::unique_ptr<Stem> stem_;
  std::unique_ptr<Msfa> msfa_;
};

}  // namespace autoneural::model
