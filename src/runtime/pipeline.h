// The model's components run on a given backend: the vision pipeline (encoder + connector) and the
// language model over a whole token sequence. Sessions pass their own backend (one thread pool for text and
// images); calibration and error reports pass recording or quantized backends.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "autoneural/vision.h"
#include "backend/backend.h"
#include "backend/quant_plan.h"
#include "runtime/model_impl.h"

namespace autoneural::runtime {

// Encoder (+ connector for VisionStage::Connector) on preprocessed pixels [3][height][width]; checks the
// sizes. Stage Pixels returns the pixels as 3 rows.
ImageEmbedding encode_pixels(const Model::Impl& model, backend::Backend& be, std::span<const float> chw, int height,
                             int width, VisionStage stage);

// Preprocessing (the model's rules, options.size or the model's own size) and encoding on `be`.
ImageEmbedding encode_image(const Model& model, backend::Backend& be, const Image& image, const ImageOptions& options);

// Image files decoded and preprocessed once, to be encoded many times (calibration, error reports).
struct PreparedImage {
  std::string path;
  std::vector<float> pixels;  // [3][size][size]
  int size = 0;
};
// Every file at `size` (0: the model's own); Error naming a file that cannot be used.
std::vector<PreparedImage> prepare_images(const Model& model, const std::vector<std::string>& paths, int size);
// Encoder + connector of a prepared image on `be`.
ImageEmbedding encode_prepared(const Model& model, backend::Backend& be, const PreparedImage& image);

// Each <image> token of `ids` becomes <|image_start|>, one placeholder per image token, <|image_end|>
// (unchanged for a model without vision); n_images receives the number of markers.
std::vector<int32_t> expand_image_markers(const Model& model, const std::vector<int32_t>& ids, int* n_images = nullptr);

// The language model over `tokens` from an empty state; the logits of every position ([n][vocab]). With a
// plan (sim/npu), tokens are looked up in its quantized embedding table as Session does.
std::vector<float> run_text(const Model::Impl& model, backend::Backend& be, std::span<const int32_t> tokens,
                            const backend::QuantPlan* plan = nullptr);

}  // namespace autoneural::runtime
