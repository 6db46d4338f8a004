// Image decoding and preprocessing against Pillow: the references in tests/refs/images, made by
// make_pillow_refs.py there with Debian's python3-pil 9.4.0. EXIF orientations on a lossless image and
// through our JPEG decoder, Pillow's BILINEAR resize when shrinking, when enlarging and for non-square
// inputs, and the letterbox (fitted size, placement, padding, normalisation). All comparisons are exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "format/npy.h"
#include "image/image.h"
#include "image/preprocess.h"

namespace autoneural::image {
namespace {

std::string refs_file(const std::string& name) { return std::string(AUTONEURAL_SOURCE_DIR) + "/tests/refs/images/" + name; }

// A uint8 [H][W][3] reference as an Image.
Image npy_image(const std::string& name) {
  const format::NpyArray a = format::read_npy(refs_file(name));
  Image im;
  if (a.shape.size() != 3 || a.shape[2] != 3 || a.is_float()) {
    ADD_FAILURE() << name << ": expected a uint8 [H][W][3] array";
    return im;
  }
  im.height = static_cast<int>(a.shape[0]);
  im.width = static_cast<int>(a.shape[1]);
  im.rgb.assign(a.i64.begin(), a.i64.end());
  return im;
}

// Exact equality, with the size of the difference when there is one.
void expect_same_pixels(const Image& got, const Image& want, const std::string& what) {
  ASSERT_EQ(got.width, want.width) << what;
  ASSERT_EQ(got.height, want.height) << what;
  ASSERT_EQ(got.rgb.size(), want.rgb.size()) << what;
  size_t differ = 0, first = 0;
  int max_abs = 0;
  double sum_abs = 0;
  for (size_t i = 0; i < want.rgb.size(); ++i) {
    const int d = std::abs(int(got.rgb[i]) - int(want.rgb[i]));
    if (d != 0 && differ++ == 0) first = i;
    max_abs = std::max(max_abs, d);
    sum_abs += d;
  }
  const size_t px = first / 3;
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << want.rgb.size() << " values differ, max |diff| "
                        << max_abs << ", mean |diff| " << sum_abs / want.rgb.size() << "; first at x " << px % want.width
                        << " y " << px / want.width << " channel " << first % 3 << ": " << int(got.rgb[first])
                        << " vs Pillow " << int(want.rgb[first]);
}

TEST(PillowRefs, ExifOrientationMatchesPillowTranspose) {
  // Lossless: Pillow's exif_transpose of the pattern carrying orientation o in a PNG eXIf chunk.
  const Image base = load_image(refs_file("orient.png"));
  ASSERT_EQ(base.width, 25);
  ASSERT_EQ(base.height, 14);
  std::vector<Image> seen{base};
  for (int o = 2; o <= 8; ++o) {
    const std::string name = std::to_string(o);
    const Image want = npy_image("orient_transpose_" + name + ".npy");
    expect_same_pixels(apply_exif_orientation(base, o), want, "orientation " + name);
    expect_same_pixels(load_image(refs_file("orient_exif_" + name + ".png")), want, "orient_exif_" + name + ".png");
    // The pattern tells every orientation apart, so a swapped pair cannot pass.
    for (const Image& s : seen) EXPECT_FALSE(s.width == want.width && s.rgb == want.rgb) << o;
    seen.push_back(want);
  }
}

TEST(PillowRefs, JpegDecodeWithExifMatchesPillow) {
  // ImageOps.exif_transpose(Image.open(f)).convert('RGB'): the same libjpeg-turbo decode, then the transpose.
  for (int o = 1; o <= 8; ++o) {
    const std::string name = "orient_" + std::to_string(o);
    expect_same_pixels(load_image(refs_file(name + ".jpg")), npy_image(name + ".npy"), name + ".jpg");
  }
}

TEST(PillowRefs, StretchMatchesPillowBilinear) {
  // Image.resize((W, H), Image.BILINEAR): shrinking (antialiased), enlarging, one axis each way.
  for (const auto& [input, w, h] : std::vector<std::tuple<std::string, int, int>>{
           {"37x23", 32, 32}, {"20x50", 64, 64}, {"300x200", 64, 64}, {"16x9", 96, 96}, {"300x200", 64, 48},
           {"37x23", 17, 40}}) {
    const std::string size = std::to_string(w) + "x" + std::to_string(h);
    const Image src = load_image(refs_file("resize_" + input + ".png"));
    const Image want = npy_image("stretch_" + input + "_" + size + ".npy");
    expect_same_pixels(resize_bilinear_pil(src, w, h), want, input + " -> " + size);
    PreprocessOptions o;
    o.width = w;
    o.height = h;
    expect_same_pixels(resize_to_input(src, o), want, input + " -> " + size + " (stretch)");
  }
}

TEST(PillowRefs, LetterboxMatchesPillowResizeAndDocumentedPlacement) {
  // Pillow's resize to the fitted size (rounded half away from zero), placed with the odd pixel of padding
  // after the image (numpy), the rest pad_value.
  for (const auto& [input, w, h, pad] : std::vector<std::tuple<std::string, int, int, int>>{
           {"37x23", 32, 32, 0}, {"20x50", 64, 64, 0}, {"300x200", 64, 64, 114}, {"16x9", 96, 96, 0},
           {"64x45", 32, 32, 0}, {"300x200", 64, 32, 0}}) {
    const std::string name = input + "_" + std::to_string(w) + "x" + std::to_string(h) + "_pad" + std::to_string(pad);
    PreprocessOptions o;
    o.width = w;
    o.height = h;
    o.mode = ResizeMode::Letterbox;
    o.pad_value = static_cast<uint8_t>(pad);
    expect_same_pixels(resize_to_input(load_image(refs_file("resize_" + input + ".png")), o),
                       npy_image("letterbox_" + name + ".npy"), "letterbox " + name);
  }
}

TEST(PillowRefs, NormalisedLetterboxMatchesNumpy) {
  // (v / 255 − mean[c]) / std[c] in float32, channels first, computed by numpy from Pillow's pixels.
  PreprocessOptions o;
  o.width = o.height = 64;
  o.mode = ResizeMode::Letterbox;
  o.pad_value = 114;
  o.mean = {0.485f, 0.456f, 0.406f};
  o.std = {0.229f, 0.224f, 0.225f};
  const std::vector<float> got = preprocess(load_image(refs_file("resize_300x200.png")), o);
  const format::NpyArray want = format::read_npy(refs_file("preprocess_300x200_64x64_pad114.npy"));
  ASSERT_EQ(want.shape, (std::vector<int64_t>{3, 64, 64}));
  ASSERT_EQ(got.size(), want.f32.size());
  size_t differ = 0;
  double max_abs = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    differ += got[i] != want.f32[i];
    max_abs = std::max(max_abs, std::abs(double(got[i]) - want.f32[i]));
  }
  EXPECT_EQ(differ, 0u) << "max |diff| " << max_abs;
}

}  // namespace
}  // namespace autoneural::image
