// Image decoding: PNG (libpng) and JPEG (libjpeg-turbo), their EXIF orientation (PNG eXIf chunk, JPEG APP1)
// applied like PIL's exif_transpose; BMP and PPM/PGM (stb_image). The format is detected from the content,
// not the file name. Output is always 8-bit RGB; alpha is dropped as PIL's convert('RGB') does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace autoneural::image {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // height rows of width*3 bytes
};

// Larger images are refused before anything is allocated for them.
inline constexpr int kMaxSide = 32768;
inline constexpr int64_t kMaxPixels = int64_t(1) << 28;

enum class ImageFormat { Png, Jpeg, Bmp, Ppm };

Image load_image(const std::string& path);
Image decode_image(const uint8_t* data, size_t size, const std::string& label);
// One decoder only (used by the per-format fuzz targets): input that does not start with that format's
// signature is refused with an Error before the decoder sees it. A smaller max_pixels refuses larger
// images before anything is allocated for them (the fuzz targets keep allocations small with it).
Image decode_image_as(ImageFormat format, const uint8_t* data, size_t size, const std::string& label,
                      int64_t max_pixels = kMaxPixels);
// Raw pixels: channels 1 (gray), 3 (RGB) or 4 (RGBA, alpha dropped); stride in bytes between rows.
Image image_from_rgb(const uint8_t* data, int width, int height, int channels, size_t stride);

// Applies an EXIF orientation (1..8) to an image (exposed for tests).
Image apply_exif_orientation(const Image& in, int orientation);

}  // namespace autoneural::image
