#include "image/image.h"

#include <jpeglib.h>
// jpeglib.h must come first: jerror.h uses its types.
#include <jerror.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <stb/stb_image.h>

#include <cctype>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <optional>

#include "autoneural/error.h"
#include "format/mapped_file.h"

namespace autoneural::image {

namespace {

bool size_ok(int64_t w, int64_t h, int64_t max_pixels) {
  return w > 0 && h > 0 && w <= kMaxSide && h <= kMaxSide && w * h <= max_pixels;
}

void check_size(int64_t w, int64_t h, const std::string& label, int64_t max_pixels = kMaxPixels) {
  if (w <= 0 || h <= 0) throw Error(label + ": image has zero size (" + std::to_string(w) + "x" + std::to_string(h) + ")");
  if (!size_ok(w, h, max_pixels))
    throw Error(label + ": image too large: " + std::to_string(w) + "x" + std::to_string(h) + " (limit " +
                std::to_string(kMaxSide) + " per side, " + std::to_string(max_pixels) + " pixels)");
}

// The EXIF orientation (1..8; 1 when absent or invalid) of an APP1 payload ("Exif\0\0" + TIFF data).
int exif_orientation(const uint8_t* data, unsigned len) {
  ExifData* ed = exif_data_new_from_data(data, len);
  if (!ed) return 1;
  int orientation = 1;
  if (ExifEntry* e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION)) {
    if (e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2)
      orientation = exif_get_short(e->data, exif_data_get_byte_order(ed));
  }
  exif_data_unref(ed);
  return orientation >= 1 && orientation <= 8 ? orientation : 1;
}

// ---- PNG (classic libpng API: exact 16→8-bit high-byte stripping and alpha dropping, as PIL) ----------
struct PngReader {
  const uint8_t* data;
  size_t size, pos;
  char message[200];
  jmp_buf jump;
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* r = static_cast<PngReader*>(png_get_error_ptr(png));
  std::snprintf(r->message, sizeof r->message, "%s", msg);
  longjmp(r->jump, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}
void png_read_fn(png_structp png, png_bytep out, png_size_t n) {
  auto* r = static_cast<PngReader*>(png_get_io_ptr(png));
  if (n > r->size - r->pos) png_error(png, "truncated PNG data");
  std::memcpy(out, r->data + r->pos, n);
  r->pos += n;
}

Image decode_png(const uint8_t* data, size_t size, const std::string& label, int64_t max_pixels) {
  PngReader reader{data, size, 0, "", {}};
  Image img;
  std::vector<png_bytep> rows;
  std::vector<uint8_t> exif;  // an eXIf chunk (TIFF data) behind the "Exif\0\0" header libexif expects
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_error_fn, png_warning_fn);
  if (!png) throw Error(label + ": out of memory reading PNG");
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(reader.jump)) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    throw Error(label + ": invalid PNG: " + reader.message);
  }
  png_set_read_fn(png, &reader, png_read_fn);
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_read_info(png, info);
  const int64_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (!size_ok(w, h, max_pixels)) {
    png_destroy_read_struct(&png, &info, nullptr);
    check_size(w, h, label, max_pixels);
  }
  // EXIF orientation from an eXIf chunk before the image data, as Pillow's exif_transpose reads it.
  png_uint_32 exif_size = 0;
  png_bytep exif_data = nullptr;
  if (png_get_eXIf_1(png, info, &exif_size, &exif_data) && exif_data && exif_size > 0) {
    exif.assign({'E', 'x', 'i', 'f', 0, 0});
    exif.insert(exif.end(), exif_data, exif_data + exif_size);
  }
  const int color = png_get_color_type(png, info);
  png_set_strip_16(png);  // PIL keeps the high byte of 16-bit samples
  png_set_packing(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  // Alpha — a channel, or a transparency chunk (tRNS) that expansion would turn into one — is dropped, not
  // composited (PIL convert('RGB')).
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<size_t>(w) * 3) png_error(png, "unexpected row layout");
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  rows.resize(static_cast<size_t>(h));
  for (int64_t y = 0; y < h; ++y) rows[y] = img.rgb.data() + y * w * 3;
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);
  const int orientation = exif.empty() ? 1 : exif_orientation(exif.data(), static_cast<unsigned>(exif.size()));
  return orientation == 1 ? img : apply_exif_orientation(img, orientation);
}

// ---- JPEG (libjpeg-turbo with Pillow's defaults: ISLOW DCT, fancy upsampling) -------------------------
struct JpegError {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  longjmp(e->jump, 1);
}
// A truncated file is an error (Pillow: "image file is truncated"), not gray padding.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& label, int64_t max_pixels) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  Image img;
  std::vector<uint8_t> row;
  int orientation = 1;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_error_exit;
  err.mgr.emit_message = jpeg_emit_message;
  err.message[0] = 0;
  jpeg_create_decompress(&cinfo);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw Error(label + ": invalid JPEG: " + err.message);
  }
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&cinfo, TRUE);
  const int64_t w = cinfo.image_width, h = cinfo.image_height;
  if (!size_ok(w, h, max_pixels)) {
    jpeg_destroy_decompress(&cinfo);
    check_size(w, h, label, max_pixels);
  }
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0)
      orientation = exif_orientation(m->data, m->data_length);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : (cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB);
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  const int comps = cinfo.output_components;
  img.width = static_cast<int>(w);
  img.height = static_cast<int>(h);
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  row.resize(static_cast<size_t>(w * comps));
  const bool adobe_inverted = cmyk && cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < cinfo.output_height) {
    const int64_t y = cinfo.output_scanline;
    JSAMPROW r = row.data();
    jpeg_read_scanlines(&cinfo, &r, 1);
    uint8_t* out = img.rgb.data() + y * w * 3;
    for (int64_t x = 0; x < w; ++x) {
      const uint8_t* p = row.data() + x * comps;
      if (comps == 1) {
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = p[0];
      } else if (comps == 3) {
        std::memcpy(out + 3 * x, p, 3);
      } else {
        // CMYK (Adobe files store it inverted): RGB = (255 − C)(255 − K)/255 per channel.
        const int k = adobe_inverted ? p[3] : 255 - p[3];
        for (int c = 0; c < 3; ++c) {
          const int v = adobe_inverted ? p[c] : 255 - p[c];
          out[3 * x + c] = static_cast<uint8_t>((v * k + 127) / 255);
        }
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return orientation == 1 ? img : apply_exif_orientation(img, orientation);
}

// ---- BMP, PPM/PGM (stb_image) ------------------------------------------------------------------------
uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }

// Bytes of pixel data the header promises, and where they start; 0 when the layout is not a plain one
// (compressed BMP), which stb_image then checks itself.
struct PixelExtent {
  uint64_t offset = 0, bytes = 0;
};

PixelExtent ppm_extent(const uint8_t* data, size_t size, int w, int h) {
  // "P5"/"P6", then width, height and maxval separated by whitespace and #-comments, then one whitespace.
  size_t i = 2;
  int64_t fields[3] = {0, 0, 0};
  for (int f = 0; f < 3; ++f) {
    for (;;) {
      while (i < size && std::isspace(data[i])) ++i;
      if (i < size && data[i] == '#') {
        while (i < size && data[i] != '\n') ++i;
        continue;
      }
      break;
    }
    while (i < size && std::isdigit(data[i]) && fields[f] < (int64_t{1} << 40)) fields[f] = fields[f] * 10 + (data[i++] - '0');
  }
  ++i;  // the single whitespace before the samples
  const uint64_t channels = data[1] == '6' ? 3 : 1, sample = fields[2] > 255 ? 2 : 1;
  return {i, static_cast<uint64_t>(w) * static_cast<uint64_t>(h) * channels * sample};
}

PixelExtent bmp_extent(const uint8_t* data, size_t size, int w, int h) {
  if (size < 34) return {};
  const uint32_t offset = le32(data + 10), compression = le32(data + 30);
  const uint32_t bpp = data[28] | data[29] << 8;
  if (compression != 0 && compression != 3) return {};  // RLE: no fixed size
  const uint64_t row = (static_cast<uint64_t>(w) * bpp + 31) / 32 * 4;
  return {offset, row * static_cast<uint64_t>(h)};
}

Image decode_stb(const uint8_t* data, size_t size, const std::string& label, int64_t max_pixels) {
  if (size > static_cast<size_t>(INT32_MAX)) throw Error(label + ": file too large");
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &n))
    throw Error(label + ": invalid image: " + (stbi_failure_reason() ? stbi_failure_reason() : "unknown error"));
  check_size(w, h, label, max_pixels);
  // stb_image pads missing pixel data with zeros; a truncated file is an error instead (as in Pillow).
  const PixelExtent e = data[0] == 'P' ? ppm_extent(data, size, w, h) : bmp_extent(data, size, w, h);
  if (e.bytes > 0 && e.offset + e.bytes > size)
    throw Error(label + ": truncated image: " + std::to_string(size) + " bytes, the header promises " +
                std::to_string(e.offset + e.bytes));
  uint8_t* pixels = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &n, 3);
  if (!pixels) throw Error(label + ": invalid image: " + (stbi_failure_reason() ? stbi_failure_reason() : "unknown error"));
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(pixels, pixels + static_cast<size_t>(w) * h * 3);
  stbi_image_free(pixels);
  return img;
}

}  // namespace

Image apply_exif_orientation(const Image& in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  // Orientations 5..8 swap the axes. For output (x, y), the source pixel (PIL's exif_transpose:
  // 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 270 (= 90 clockwise), 7 transverse, 8 rotate 90).
  const bool swap = orientation >= 5;
  Image out;
  out.width = swap ? in.height : in.width;
  out.height = swap ? in.width : in.height;
  out.rgb.resize(in.rgb.size());
  const int W = in.width, H = in.height;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = W - 1 - x; break;
        case 3: sx = W - 1 - x, sy = H - 1 - y; break;
        case 4: sy = H - 1 - y; break;
        case 5: sx = y, sy = x; break;
        case 6: sx = y, sy = H - 1 - x; break;
        case 7: sx = W - 1 - y, sy = H - 1 - x; break;
        case 8: sx = W - 1 - y, sy = x; break;
      }
      std::memcpy(out.rgb.data() + (static_cast<size_t>(y) * out.width + x) * 3,
                  in.rgb.data() + (static_cast<size_t>(sy) * W + sx) * 3, 3);
    }
  return out;
}

namespace {
std::optional<ImageFormat> detect_format(const uint8_t* data, size_t size) {
  if (size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::Png;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat::Jpeg;
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat::Bmp;
  if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')) return ImageFormat::Ppm;
  return std::nullopt;
}
}  // namespace

Image decode_image(const uint8_t* data, size_t size, const std::string& label) {
  if (!data || size == 0) throw Error(label + ": empty file");
  const auto format = detect_format(data, size);
  if (!format) throw Error(label + ": unsupported image format (expected PNG, JPEG, BMP, or binary PPM/PGM)");
  return decode_image_as(*format, data, size, label);
}

Image decode_image_as(ImageFormat format, const uint8_t* data, size_t size, const std::string& label,
                      int64_t max_pixels) {
  if (!data || size == 0) throw Error(label + ": empty file");
  if (detect_format(data, size) != format) {
    static constexpr const char* kNames[] = {"PNG", "JPEG", "BMP", "binary PPM/PGM"};
    throw Error(label + ": not a " + kNames[static_cast<int>(format)] + " file (no signature)");
  }
  switch (format) {
    case ImageFormat::Png: return decode_png(data, size, label, max_pixels);
    case ImageFormat::Jpeg: return decode_jpeg(data, size, label, max_pixels);
    case ImageFormat::Bmp:
    case ImageFormat::Ppm: return decode_stb(data, size, label, max_pixels);
  }
  throw Error(label + ": unknown image format");
}

Image load_image(const std::string& path) {
  const format::MappedFile file(path);
  return decode_image(file.data(), file.size(), path);
}

Image image_from_rgb(const uint8_t* data, int width, int height, int channels, size_t stride) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw Error("raw image: " + std::to_string(channels) + " channels (expected 1, 3 or 4)");
  check_size(width, height, "raw image");
  if (!data) throw Error("raw image: no pixel data");
  if (stride < static_cast<size_t>(width) * channels)
    throw Error("raw image: row stride " + std::to_string(stride) + " is smaller than a row");
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src = data + static_cast<size_t>(y) * stride;
    uint8_t* dst = img.rgb.data() + static_cast<size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) dst[3 * x + c] = src[x * channels + (channels == 1 ? 0 : c)];
  }
  return img;
}

}  // namespace autoneural::image
