#include "image/preprocess.h"

#include <algorithm>
#include <cmath>

#include "autoneural/error.h"

namespace autoneural::image {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's fixed point for 8-bit images

// Pillow's per-axis coefficients for the bilinear (triangle) filter: for output i, taps [first, first+count)
// with integer weights summing to ~2^22.
struct Coefficients {
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // out_size × max_taps
  int max_taps = 0;
};

Coefficients coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;  // triangle filter support 1, widened when shrinking (antialias)
  Coefficients c;
  c.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.max_taps, 0);
  std::vector<double> k(c.max_taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    xmax = std::min(xmax, c.max_taps);
    double total = 0;
    for (int x = 0; x < xmax; ++x) {
      const double t = std::abs((x + xmin - center + 0.5) / filterscale);
      k[x] = t < 1.0 ? 1.0 - t : 0.0;
      total += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = total != 0 ? k[x] / total : 0.0;
      c.weights[static_cast<size_t>(i) * c.max_taps + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.first[i] = xmin;
    c.count[i] = xmax;
  }
  return c;
}

inline uint8_t clip8(int64_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

}  // namespace

Image resize_bilinear_pil(const Image& in, int out_w, int out_h) {
  if (out_w <= 0 || out_h <= 0) throw Error("resize: output size must be positive");
  if (in.width <= 0 || in.height <= 0 || in.rgb.size() != static_cast<size_t>(in.width) * in.height * 3)
    throw Error("resize: invalid input image");
  Image cur = in;
  if (out_w != in.width) {  // horizontal pass first, stored as uint8 (as Pillow does)
    const Coefficients c = coefficients(in.width, out_w);
    Image tmp;
    tmp.width = out_w;
    tmp.height = in.height;
    tmp.rgb.resize(static_cast<size_t>(out_w) * in.height * 3);
    for (int y = 0; y < in.height; ++y) {
      const uint8_t* row = cur.rgb.data() + static_cast<size_t>(y) * cur.width * 3;
      uint8_t* out = tmp.rgb.data() + static_cast<size_t>(y) * out_w * 3;
      for (int x = 0; x < out_w; ++x) {
        const int32_t* w = c.weights.data() + static_cast<size_t>(x) * c.max_taps;
        int64_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
        for (int t = 0; t < c.count[x]; ++t) {
          const uint8_t* p = row + (c.first[x] + t) * 3;
          for (int ch = 0; ch < 3; ++ch) s[ch] += static_cast<int64_t>(p[ch]) * w[t];
        }
        for (int ch = 0; ch < 3; ++ch) out[x * 3 + ch] = clip8(s[ch]);
      }
    }
    cur = std::move(tmp);
  }
  if (out_h != in.height) {
    const Coefficients c = coefficients(in.height, out_h);
    Image tmp;
    tmp.width = cur.width;
    tmp.height = out_h;
    tmp.rgb.resize(static_cast<size_t>(cur.width) * out_h * 3);
    const size_t stride = static_cast<size_t>(cur.width) * 3;
    std::vector<int64_t> acc(stride);
    for (int y = 0; y < out_h; ++y) {
      const int32_t* w = c.weights.data() + static_cast<size_t>(y) * c.max_taps;
      std::fill(acc.begin(), acc.end(), int64_t(1) << (kPrecisionBits - 1));
      for (int t = 0; t < c.count[y]; ++t) {
        const uint8_t* row = cur.rgb.data() + (c.first[y] + t) * stride;
        for (size_t i = 0; i < stride; ++i) acc[i] += static_cast<int64_t>(row[i]) * w[t];
      }
      uint8_t* out = tmp.rgb.data() + y * stride;
      for (size_t i = 0; i < stride; ++i) out[i] = clip8(acc[i]);
    }
    cur = std::move(tmp);
  }
  return cur;
}

Image resize_to_input(const Image& img, const PreprocessOptions& o) {
  if (o.width <= 0 || o.height <= 0 || o.width > 8192 || o.height > 8192)
    throw Error("preprocess: output size " + std::to_string(o.width) + "x" + std::to_string(o.height) + " is invalid");
  if (o.mode == ResizeMode::Stretch) return resize_bilinear_pil(img, o.width, o.height);
  if (img.width <= 0 || img.height <= 0) throw Error("resize: invalid input image");
  // Fit inside, keep the aspect ratio, pad around (the odd pixel after the image).
  const double scale = std::min(static_cast<double>(o.width) / img.width, static_cast<double>(o.height) / img.height);
  const int nw = std::clamp(static_cast<int>(std::lround(img.width * scale)), 1, o.width);
  const int nh = std::clamp(static_cast<int>(std::lround(img.height * scale)), 1, o.height);
  const Image inner = resize_bilinear_pil(img, nw, nh);
  Image sized;
  sized.width = o.width;
  sized.height = o.height;
  sized.rgb.assign(static_cast<size_t>(o.width) * o.height * 3, o.pad_value);
  const int x0 = (o.width - nw) / 2, y0 = (o.height - nh) / 2;
  for (int y = 0; y < nh; ++y)
    std::copy(inner.rgb.begin() + static_cast<ptrdiff_t>(y) * nw * 3,
              inner.rgb.begin() + static_cast<ptrdiff_t>(y + 1) * nw * 3,
              sized.rgb.begin() + (static_cast<ptrdiff_t>(y0 + y) * o.width + x0) * 3);
  return sized;
}

std::vector<float> preprocess(const Image& img, const PreprocessOptions& o) {
  for (float s : o.std)
    if (!(s > 0)) throw Error("preprocess: std must be positive");
  const Image sized = resize_to_input(img, o);
  const size_t plane = static_cast<size_t>(o.width) * o.height;
  std::vector<float> out(3 * plane);
  for (int c = 0; c < 3; ++c) {
    const float mean = o.mean[c], std = o.std[c];
    const bool identity = mean == 0.0f && std == 1.0f;
    for (size_t p = 0; p < plane; ++p) {
      const float v = static_cast<float>(sized.rgb[p * 3 + c]) / 255.0f;  // correctly rounded, as the reference
      out[c * plane + p] = identity ? v : (v - mean) / std;
    }
  }
  return out;
}

}  // namespace autoneural::image
