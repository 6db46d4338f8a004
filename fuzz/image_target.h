// The body of the per-format image fuzz targets (fuzz_image_png, _jpeg, _bmp, _ppm): one decoder, then the
// encoder preprocessing on what it decoded. Any input must either decode or throw autoneural::Error; a
// crash, sanitizer report, leak, other exception type or hang is a bug. See fuzz/README.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "autoneural/error.h"
#include "image/image.h"
#include "image/preprocess.h"

namespace autoneural::fuzz {

// Images up to 1024x1024 decode (the size checks, kMaxSide included, still run on every header); larger
// ones are refused before anything is allocated, so that no input spends the time budget filling hundreds
// of megabytes. The 1 MiB input cap (-max_len) keeps real files small as well.
inline constexpr int64_t kFuzzMaxPixels = int64_t(1) << 20;
// Resizing costs time in proportion to the source pixels and has no parser in it (it took 40 % of the
// time with a 65,536-pixel cap): small images, and the extreme shapes (one pixel thin) at any length.
inline constexpr int64_t kFuzzMaxResizePixels = 4096;

inline int fuzz_decoder(image::ImageFormat format, const uint8_t* data, size_t size) {
  using namespace autoneural::image;
  try {
    const Image img = decode_image_as(format, data, size, "fuzz", kFuzzMaxPixels);
    if (img.width <= 0 || img.height <= 0 || img.rgb.size() != static_cast<size_t>(img.width) * img.height * 3)
      __builtin_trap();  // an accepted image must be exactly what it says
    if (static_cast<int64_t>(img.width) * img.height > kFuzzMaxResizePixels && img.width > 1 && img.height > 1)
      return 0;
    PreprocessOptions o;
    o.width = 8 + static_cast<int>(size % 3) * 4;  // 8, 12 or 16: upscales and downscales both occur
    o.height = 8 + static_cast<int>(size % 5) * 2;
    o.mode = size % 2 ? ResizeMode::Letterbox : ResizeMode::Stretch;
    volatile float sink = preprocess(img, o).back();
    (void)sink;
  } catch (const autoneural::Error&) {
  }
  return 0;
}

}  // namespace autoneural::fuzz
