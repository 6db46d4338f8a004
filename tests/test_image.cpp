// Image decoding and preprocessing: Pillow-identical pixels for the fixture images, every format and PNG
// colour type, EXIF orientations, the resampler against a direct implementation of Pillow's formula,
// letterboxing, and malformed files.
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>

#include <cmath>
#include <fstream>

#include "format/mapped_file.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "test_util.h"

namespace autoneural::image {
namespace {

std::string mnv5(const std::string& rel) { return test::fixture("vision/mnv5-tiny/" + rel); }

std::vector<uint8_t> file_bytes(const std::string& path) {
  const format::MappedFile f(path);
  return std::vector<uint8_t>(f.data(), f.data() + f.size());
}

// A test pattern: four flat quadrants (robust to JPEG loss), so each orientation is recognisable.
Image quadrants(int w, int h) {
  Image im;
  im.width = w;
  im.height = h;
  im.rgb.resize(static_cast<size_t>(w) * h * 3);
  const uint8_t colours[4][3] = {{250, 10, 10}, {10, 250, 10}, {10, 10, 250}, {250, 250, 10}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int q = (y >= h / 2) * 2 + (x >= w / 2);
      for (int c = 0; c < 3; ++c) im.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = colours[q][c];
    }
  return im;
}

std::vector<uint8_t> encode_jpeg(const Image& im, int orientation) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = im.width;
  cinfo.image_height = im.height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  if (orientation > 0) {
    // Minimal little-endian TIFF: IFD0 with one entry, Orientation (0x0112), SHORT, 1 value.
    const uint8_t exif[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
                            static_cast<uint8_t>(orientation), 0, 0, 0, 0, 0, 0, 0};
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, exif, sizeof exif);
  }
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(im.rgb.data()) + static_cast<size_t>(cinfo.next_scanline) * im.width * 3;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::vector<uint8_t> out(buf, buf + size);
  jpeg_destroy_compress(&cinfo);
  free(buf);
  return out;
}

std::vector<uint8_t> encode_png(const std::vector<uint8_t>& pixels, int w, int h, uint32_t format) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = format;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&img, nullptr, &size, 0, pixels.data(), 0, nullptr));
  std::vector<uint8_t> out(size);
  EXPECT_TRUE(png_image_write_to_memory(&img, out.data(), &size, 0, pixels.data(), 0, nullptr));
  out.resize(size);
  return out;
}

TEST(Image, FixturePixelsMatchPillow) {
  PreprocessOptions o;
  o.width = o.height = 256;
  for (const char* name : {"cockpit", "newspaper"}) {
    const std::string file = std::string(name) == "cockpit" ? "images/cockpit.png" : "images/newspaper.jpg";
    const auto pixels = preprocess(load_image(mnv5(file)), o);
    const auto ref = test::npy_f32(mnv5(std::string("ref/") + name + ".pixels.npy"));
    ASSERT_EQ(pixels.size(), ref.size());
    // Exact: libpng/libjpeg-turbo with Pillow's settings and the same fixed-point resampler.
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(pixels[i], ref[i]) << name << " " << i;
  }
  // The decoded JPEG itself, before resizing.
  const Image im = load_image(mnv5("images/newspaper.jpg"));
  const auto a = format::read_npy(mnv5("ref/newspaper.decoded_rgb.npy"));
  ASSERT_EQ(a.shape, (std::vector<int64_t>{im.height, im.width, 3}));
  for (size_t i = 0; i < im.rgb.size(); ++i) ASSERT_EQ(im.rgb[i], a.i64[i]) << i;
}

TEST(Image, ExifOrientationIsApplied) {
  const Image src = quadrants(32, 16);
  for (int o = 1; o <= 8; ++o) {
    SCOPED_TRACE(o);
    const auto bytes = encode_jpeg(src, o);
    const Image got = decode_image(bytes.data(), bytes.size(), "test.jpg");
    const Image want = apply_exif_orientation(src, o);
    ASSERT_EQ(got.width, want.width);
    ASSERT_EQ(got.height, want.height);
    // JPEG is lossy: compare quadrant centres only.
    for (int qy : {got.height / 4, 3 * got.height / 4})
      for (int qx : {got.width / 4, 3 * got.width / 4})
        for (int c = 0; c < 3; ++c) {
          const size_t i = (static_cast<size_t>(qy) * got.width + qx) * 3 + c;
          ASSERT_NEAR(got.rgb[i], want.rgb[i], 8);
        }
  }
  // Orientation 6 = rotate 90° clockwise: the top-left quadrant (red) moves to the top right.
  const Image r = apply_exif_orientation(src, 6);
  EXPECT_EQ(r.width, 16);
  EXPECT_EQ(r.rgb[(static_cast<size_t>(2) * r.width + r.width - 2) * 3], 250);
}

// A palette PNG with a transparency chunk (PLTE + tRNS) decodes to the palette's colours, transparency
// dropped as PIL's convert('RGB') does.
TEST(Image, PalettePngWithTransparencyDecodes) {
  const int w = 4, h = 2;
  const std::vector<uint8_t> palette = {200, 10, 20, 255, 30, 40, 50, 0, 60, 70, 80, 128, 90, 100, 110, 255};
  const std::vector<uint8_t> index = {0, 1, 2, 3, 3, 2, 1, 0};
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = w;
  img.height = h;
  img.format = PNG_FORMAT_RGBA_COLORMAP;
  img.colormap_entries = 4;
  png_alloc_size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&img, nullptr, &size, 0, index.data(), 0, palette.data()));
  std::vector<uint8_t> png(size);
  ASSERT_TRUE(png_image_write_to_memory(&img, png.data(), &size, 0, index.data(), 0, palette.data()));
  png.resize(size);
  const std::string bytes(png.begin(), png.end());
  ASSERT_NE(bytes.find("PLTE"), std::string::npos);
  ASSERT_NE(bytes.find("tRNS"), std::string::npos);
  const Image im = decode_image(png.data(), png.size(), "palette.png");
  ASSERT_EQ(im.width, w);
  ASSERT_EQ(im.height, h);
  for (int i = 0; i < w * h; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(im.rgb[i * 3 + c], palette[index[i] * 4 + c]) << i << " " << c;
}

TEST(Image, PngColourTypesAndOtherFormatsDecodeExactly) {
  const int w = 5, h = 3;
  std::vector<uint8_t> rgba(w * h * 4), gray(w * h);
  for (int i = 0; i < w * h; ++i) {
    for (int c = 0; c < 4; ++c) rgba[i * 4 + c] = static_cast<uint8_t>(17 * i + 50 * c);
    gray[i] = static_cast<uint8_t>(13 * i);
  }
  // RGBA: alpha dropped, not composited.
  auto png = encode_png(rgba, w, h, PNG_FORMAT_RGBA);
  Image im = decode_image(png.data(), png.size(), "rgba.png");
  for (int i = 0; i < w * h; ++i)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(im.rgb[i * 3 + c], rgba[i * 4 + c]);
  png = encode_png(gray, w, h, PNG_FORMAT_GRAY);
  im = decode_image(png.data(), png.size(), "gray.png");
  for (int i = 0; i < w * h; ++i)
    for (int c = 0; c < 3; ++c) ASSERT_EQ(im.rgb[i * 3 + c], gray[i]);
  // 16-bit: the high byte, as Pillow keeps it.
  std::vector<uint8_t> rgb16(w * h * 6);
  for (size_t i = 0; i < rgb16.size(); ++i) rgb16[i] = static_cast<uint8_t>(i * 7);
  png = encode_png(rgb16, w, h, PNG_FORMAT_LINEAR_RGB);  // 16-bit samples in host order
  im = decode_image(png.data(), png.size(), "rgb16.png");
  EXPECT_EQ(im.width, w);
  // Binary PPM / PGM and a 24-bit BMP written by hand.
  std::string ppm = "P6\n5 3\n255\n";
  for (int i = 0; i < w * h * 3; ++i) ppm += static_cast<char>(i * 5);
  im = decode_image(reinterpret_cast<const uint8_t*>(ppm.data()), ppm.size(), "x.ppm");
  for (int i = 0; i < w * h * 3; ++i) ASSERT_EQ(im.rgb[i], static_cast<uint8_t>(i * 5));
  std::string pgm = "P5 5 3 255\n";
  for (int i = 0; i < w * h; ++i) pgm += static_cast<char>(i * 9);
  im = decode_image(reinterpret_cast<const uint8_t*>(pgm.data()), pgm.size(), "x.pgm");
  for (int i = 0; i < w * h; ++i) ASSERT_EQ(im.rgb[i * 3 + 1], static_cast<uint8_t>(i * 9));
  const int row = (w * 3 + 3) / 4 * 4;
  std::vector<uint8_t> bmp(54 + row * h, 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int b = 0; b < 4; ++b) bmp[at + b] = static_cast<uint8_t>(v >> (8 * b));
  };
  bmp[0] = 'B', bmp[1] = 'M';
  put32(2, static_cast<uint32_t>(bmp.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, w);
  put32(22, h);  // positive: rows stored bottom-up
  bmp[26] = 1, bmp[28] = 24;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) bmp[54 + (h - 1 - y) * row + x * 3 + (2 - c)] = static_cast<uint8_t>(y * 40 + x * 10 + c);
  im = decode_image(bmp.data(), bmp.size(), "x.bmp");
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(im.rgb[(y * w + x) * 3 + c], y * 40 + x * 10 + c);
  // Raw buffers.
  im = image_from_rgb(rgba.data(), w, h, 4, w * 4);
  EXPECT_EQ(im.rgb[3], rgba[4]);
  test::expect_error([&] { image_from_rgb(rgba.data(), w, h, 2, w * 2); }, "channels");
  test::expect_error([&] { image_from_rgb(rgba.data(), w, h, 3, 2); }, "stride");
}

// Pillow's BILINEAR resample written directly from the fixture README, in double precision per tap.
Image reference_resize(const Image& in, int ow, int oh) {
  auto pass = [](const std::vector<uint8_t>& src, int n_in, int n_out, int count, int step_in, int step_px,
                 std::vector<uint8_t>& dst, int step_out) {
    const double scale = static_cast<double>(n_in) / n_out, fs = std::max(scale, 1.0);
    for (int i = 0; i < n_out; ++i) {
      const double center = (i + 0.5) * scale;
      const int lo = std::max(static_cast<int>(center - fs + 0.5), 0), hi = std::min(static_cast<int>(center + fs + 0.5), n_in);
      std::vector<double> wts;
      double total = 0;
      for (int x = lo; x < hi; ++x) {
        wts.push_back(std::max(0.0, 1.0 - std::fabs((x + 0.5 - center) / fs)));
        total += wts.back();
      }
      for (int k = 0; k < count; ++k)
        for (int c = 0; c < 3; ++c) {
          long long s = 1 << 21;
          for (int x = lo; x < hi; ++x)
            s += static_cast<long long>(src[k * step_px + x * step_in + c]) *
                 static_cast<int>(wts[x - lo] / total * (1 << 22) + 0.5);
          dst[k * step_px / 1 + 0] = dst[k * step_px + 0];  // keep layout symmetric with src (no-op)
          dst[static_cast<size_t>(k) * step_out + static_cast<size_t>(i) * step_in + c] =
              static_cast<uint8_t>(std::clamp(s >> 22, 0LL, 255LL));
        }
    }
  };
  std::vector<uint8_t> a = in.rgb;
  int w = in.width, h = in.height;
  if (ow != w) {
    std::vector<uint8_t> b(static_cast<size_t>(ow) * h * 3);
    // rows: step between pixels 3, between rows w*3 (src) / ow*3 (dst)
    for (int y = 0; y < h; ++y) {
      std::vector<uint8_t> src(a.begin() + y * w * 3, a.begin() + (y + 1) * w * 3), dst(ow * 3);
      pass(src, w, ow, 1, 3, 0, dst, 0);
      std::copy(dst.begin(), dst.end(), b.begin() + y * ow * 3);
    }
    a = b, w = ow;
  }
  if (oh != h) {
    std::vector<uint8_t> b(static_cast<size_t>(w) * oh * 3);
    for (int x = 0; x < w; ++x) {
      std::vector<uint8_t> src(h * 3), dst(oh * 3);
      for (int y = 0; y < h; ++y)
        for (int c = 0; c < 3; ++c) src[y * 3 + c] = a[(y * w + x) * 3 + c];
      pass(src, h, oh, 1, 3, 0, dst, 0);
      for (int y = 0; y < oh; ++y)
        for (int c = 0; c < 3; ++c) b[(y * w + x) * 3 + c] = dst[y * 3 + c];
    }
    a = b, h = oh;
  }
  return {w, h, a};
}

TEST(Image, ResizeMatchesPillowFormula) {
  Image src = load_image(mnv5("images/cockpit.png"));
  for (auto [w, h] : std::vector<std::pair<int, int>>{{256, 256}, {97, 61}, {640, 480}, {1001, 733}, {640, 17}}) {
    const Image got = resize_bilinear_pil(src, w, h);
    const Image want = reference_resize(src, w, h);
    ASSERT_EQ(got.rgb, want.rgb) << w << "x" << h;
  }
  EXPECT_EQ(resize_bilinear_pil(src, src.width, src.height).rgb, src.rgb);
}

TEST(Image, LetterboxKeepsTheAspectRatio) {
  Image wide = quadrants(64, 32);
  PreprocessOptions o;
  o.width = o.height = 64;
  o.mode = ResizeMode::Letterbox;
  o.pad_value = 0;
  const auto px = preprocess(wide, o);
  // 64x32 fits as 64x32 centred: rows 0..15 and 48..63 are padding, the content starts at row 16.
  EXPECT_EQ(px[0], 0.0f);
  EXPECT_EQ(px[15 * 64 + 5], 0.0f);
  EXPECT_EQ(px[16 * 64 + 5], 250.0f / 255.0f);  // red quadrant, channel 0
  EXPECT_EQ(px[48 * 64 + 5], 0.0f);
  o.mean = {0.5f, 0.5f, 0.5f};
  o.std = {0.5f, 0.5f, 0.5f};
  EXPECT_FLOAT_EQ(preprocess(wide, o)[0], -1.0f);
}

TEST(Image, BadFilesAreClearErrors) {
  const auto png = file_bytes(mnv5("images/cockpit.png"));
  const auto jpg = file_bytes(mnv5("images/newspaper.jpg"));
  test::expect_error([&] { decode_image(png.data(), png.size() / 2, "half.png"); }, "half.png: invalid PNG");
  test::expect_error([&] { decode_image(jpg.data(), jpg.size() / 2, "half.jpg"); }, "half.jpg: invalid JPEG");
  test::expect_error([&] { decode_image(png.data(), 0, "empty"); }, "empty file");
  const std::string gif = "GIF89a.....";
  test::expect_error([&] { decode_image(reinterpret_cast<const uint8_t*>(gif.data()), gif.size(), "x.gif"); },
                     "unsupported image format");
  const std::string huge = "P6\n100000 100000\n255\n";
  test::expect_error([&] { decode_image(reinterpret_cast<const uint8_t*>(huge.data()), huge.size(), "huge.ppm"); },
                     "huge.ppm");
  const std::string zero = "P6\n0 5\n255\n";
  test::expect_error([&] { decode_image(reinterpret_cast<const uint8_t*>(zero.data()), zero.size(), "zero.ppm"); },
                     "zero.ppm");
  // A PNG header claiming 100000 x 100000 pixels.
  std::vector<uint8_t> big = png;
  for (int i = 0; i < 4; ++i) big[16 + i] = big[20 + i] = static_cast<uint8_t>((100000u >> (24 - 8 * i)) & 0xFF);
  test::expect_error([&] { decode_image(big.data(), big.size(), "big.png"); }, "big.png");
  test::expect_error([] { load_image("/nonexistent/x.png"); }, "/nonexistent/x.png");
  std::vector<uint8_t> noise(4096);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  noise[0] = 0xFF, noise[1] = 0xD8, noise[2] = 0xFF;
  test::expect_error([&] { decode_image(noise.data(), noise.size(), "noise.jpg"); }, "noise.jpg");
}

// The per-format entry the fuzz targets use: one decoder, the signature checked first, a pixel cap.
TEST(Image, DecodeAsOneFormat) {
  std::string ppm = "P6\n4 2\n255\n";
  ppm += std::string(4 * 2 * 3, '\x7f');
  const auto* p = reinterpret_cast<const uint8_t*>(ppm.data());
  const Image im = decode_image_as(ImageFormat::Ppm, p, ppm.size(), "x.ppm");
  EXPECT_EQ(im.width, 4);
  EXPECT_EQ(im.height, 2);
  EXPECT_EQ(im.rgb, decode_image(p, ppm.size(), "x.ppm").rgb);
  test::expect_error([&] { decode_image_as(ImageFormat::Bmp, p, ppm.size(), "x.ppm"); }, "x.ppm: not a BMP file");
  test::expect_error([&] { decode_image_as(ImageFormat::Png, p, ppm.size(), "x.ppm"); }, "x.ppm: not a PNG file");
  test::expect_error([&] { decode_image_as(ImageFormat::Jpeg, p, 0, "e"); }, "e: empty file");
  test::expect_error([&] { decode_image_as(ImageFormat::Ppm, p, ppm.size(), "x.ppm", 7); },
                     "x.ppm: image too large: 4x2 (limit 32768 per side, 7 pixels)");
  EXPECT_EQ(decode_image_as(ImageFormat::Ppm, p, ppm.size(), "x.ppm", 8).width, 4);
  const auto png = file_bytes(mnv5("images/cockpit.png"));
  test::expect_error([&] { decode_image_as(ImageFormat::Png, png.data(), png.size(), "c.png", 1000); },
                     "c.png: image too large");
  EXPECT_GT(decode_image_as(ImageFormat::Png, png.data(), png.size(), "c.png").width, 0);
  const auto jpg = file_bytes(mnv5("images/newspaper.jpg"));
  test::expect_error([&] { decode_image_as(ImageFormat::Jpeg, jpg.data(), jpg.size(), "n.jpg", 1000); },
                     "n.jpg: image too large");
}

}  // namespace
}  // namespace autoneural::image
