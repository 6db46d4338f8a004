// libFuzzer target for the image loaders (PNG, JPEG + EXIF, BMP, PPM/PGM) and the preprocessing that
// follows them. Any input must either decode or throw autoneural::Error; a crash, sanitizer report, leak,
// other exception type or hang is a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "autoneural/error.h"
#include "image/image.h"
#include "image/preprocess.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural::image;
  try {
    const Image img = decode_image(data, size, "fuzz");
    // Large decodes are valid but slow to resize under the sanitizers; the decoder is what is fuzzed.
    if (static_cast<int64_t>(img.width) * img.height > (1 << 20)) return 0;
    PreprocessOptions o;
    o.width = o.height = 32;
    o.mode = size % 2 ? ResizeMode::Letterbox : ResizeMode::Stretch;
    volatile float sink = preprocess(img, o)[0];
    (void)sink;
  } catch (const autoneural::Error&) {
  }
  return 0;
}
