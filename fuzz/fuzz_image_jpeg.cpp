// libFuzzer target for the JPEG decoder alone (decode_image_as, EXIF orientation included), then
// preprocessing. See image_target.h.
#include "image_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return autoneural::fuzz::fuzz_decoder(autoneural::image::ImageFormat::Jpeg, data, size);
}
