// Turning an image into encoder input: resize exactly like Pillow's BILINEAR (a separable triangle filter,
// antialiased when shrinking, fixed-point with 22 fraction bits, uint8 between the passes), then scale to
// [0, 1] and normalise per channel, channels first.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "image/image.h"

namespace autoneural::image {

enum class ResizeMode {
  Stretch,    // to exactly width x height, aspect ratio not kept (how AutoNeural / Gemma 3n preprocess)
  // Keep the aspect ratio and fit inside: scale = min(width / w, height / h), the fitted size
  // lround(w * scale) x lround(h * scale) (half away from zero) clamped to [1, width] x [1, height], placed at
  // ((width − nw) / 2, (height − nh) / 2) (integer division: an odd pixel of padding goes after the image),
  // the rest pad_value.
  Letterbox,
};

struct PreprocessOptions {
  int width = 0, height = 0;
  ResizeMode mode = ResizeMode::Stretch;
  std::array<float, 3> mean{0, 0, 0}, std{1, 1, 1};
  uint8_t pad_value = 0;
};

Image resize_bilinear_pil(const Image& in, int out_w, int out_h);
// The 8-bit width x height image that preprocess() scales: stretched, or letterboxed.
Image resize_to_input(const Image& img, const PreprocessOptions& options);
// float32 [3][height][width]: (v / 255 − mean[c]) / std[c], v / 255 correctly rounded.
std::vector<float> preprocess(const Image& img, const PreprocessOptions& options);

}  // namespace autoneural::image
