// autoneural vision API: images in, language-model embeddings out.
//
//   auto model = autoneural::Model::load("lfm2.gguf", {.mmproj = "vision.gguf"});
//   auto image = autoneural::Image::load("cockpit.jpg");
//   auto emb = model->encode_image(image);                      // [tokens][hidden] rows
//   auto ids = model->tokenize_with_images(prompt_with_image_marker);
//   session.generate(ids, {&emb, 1}, options, on_text);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "autoneural/error.h"

namespace autoneural {

// A decoded 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;

  // PNG, JPEG (their EXIF orientation applied), BMP, PPM/PGM; the format is detected from the content.
  static Image load(const std::string& path);
  static Image decode(std::span<const uint8_t> bytes, const std::string& label = "image");
  // Raw pixels: channels 1 (gray), 3 (RGB) or 4 (RGBA, alpha dropped); stride 0 = width*channels.
  static Image from_pixels(const uint8_t* data, int width, int height, int channels, size_t stride = 0);
};

// Encoder input sides: positive multiples of 32 pixels (the encoder's total stride), at most 4096.
inline constexpr int kImageSideMultiple = 32;
inline constexpr int kMaxImageSide = 4096;
constexpr bool is_valid_image_side(int64_t side) {
  return side > 0 && side % kImageSideMultiple == 0 && side <= kMaxImageSide;
}
// Error ("<what> of HxW: both sides must be positive multiples of 32, at most 4096") unless both are valid.
inline void check_image_sides(int64_t height, int64_t width, const std::string& what) {
  if (!is_valid_image_side(height) || !is_valid_image_side(width))
    throw Error(what + " of " + std::to_string(height) + "x" + std::to_string(width) + ": both sides must be positive " +
                "multiples of " + std::to_string(kImageSideMultiple) + ", at most " + std::to_string(kMaxImageSide));
}

struct ImageOptions {
  int size = 0;           // square input size in pixels, multiple of 32; 0: the model's own (e.g. 768)
  bool letterbox = false; // keep the aspect ratio and pad, instead of stretching (the default, as trained)
};

// Which output of the vision stack to return.
enum class VisionStage { Pixels, Tower, Connector };

// Rows of one encoded image: [n_tokens][dim] (dim = the LM hidden size after the connector).
struct ImageEmbedding {
  int64_t n_tokens = 0, dim = 0;
  std::vector<float> rows;
  double encode_ms = 0;  // encoder + connector time
};

struct VisionInfo {
  std::string path;
  std::string encoder;          // "mobilenetv5_300m_enc" or "custom"
  std::string projector;        // "mlp2" or "gemma3n"
  bool random_weights = false;
  int image_size = 0;           // default input size
  int64_t tokens_per_image = 0; // at image_size
  int64_t encoder_channels = 0;
  int64_t n_params = 0;         // encoder + connector
  int32_t image_token = -1, image_start_token = -1, image_end_token = -1;
};

}  // namespace autoneural
