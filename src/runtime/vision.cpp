// The vision half of autoneural::Model: image decoding and preprocessing, the MobileNetV5 encoder and the
// connector, and the expansion of <image> markers in prompts.
#include <chrono>
#include <cstring>

#include "image/image.h"
#include "image/preprocess.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"

namespace autoneural {

namespace {

Image to_public(image::Image&& im) {
  Image out;
  out.width = im.width;
  out.height = im.height;
  out.rgb = std::move(im.rgb);
  return out;
}

image::Image to_internal(const Image& im) {
  if (im.width <= 0 || im.height <= 0 ||
      im.rgb.size() != static_cast<size_t>(im.width) * static_cast<size_t>(im.height) * 3)
    throw Error("image: " + std::to_string(im.width) + "x" + std::to_string(im.height) + " with " +
                std::to_string(im.rgb.size()) + " bytes is not a valid RGB image");
  return image::image_from_rgb(im.rgb.data(), im.width, im.height, 3, static_cast<size_t>(im.width) * 3);
}

}  // namespace

Image Image::load(const std::string& path) { return to_public(image::load_image(path)); }

Image Image::decode(std::span<const uint8_t> bytes, const std::string& label) {
  return to_public(image::decode_image(bytes.data(), bytes.size(), label));
}

Image Image::from_pixels(const uint8_t* data, int width, int height, int channels, size_t stride) {
  if (!data) throw Error("image: no pixel data");
  if (stride == 0) stride = static_cast<size_t>(width > 0 ? width : 0) * static_cast<size_t>(channels > 0 ? channels : 0);
  return to_public(image::image_from_rgb(data, width, height, channels, stride));
}

bool Model::has_vision() const { return impl_->encoder != nullptr; }
bool Model::has_language_model() const { return impl_->lm != nullptr; }

const VisionInfo& Model::vision_info() const {
  if (!has_vision())
    throw Error(impl_->info.path + " has no vision encoder (give one with --mmproj, or load an AutoNeural model)");
  return impl_->vision_info;
}

std::vector<float> Model::preprocess_image(const Image& img, const ImageOptions& options) const {
  const auto& pre = impl_->vision.preprocess;
  const int size = options.size > 0 ? options.size : vision_info().image_size;
  if (size % 32 != 0 || size > 4096)
    throw Error("image size " + std::to_string(size) + " must be a positive multiple of 32 (at most 4096)");
  image::PreprocessOptions p;
  p.width = p.height = size;
  p.mode = options.letterbox || pre.letterbox ? image::ResizeMode::Letterbox : image::ResizeMode::Stretch;
  p.mean = pre.mean;
  p.std = pre.std;
  return image::preprocess(to_internal(img), p);
}

ImageEmbedding Model::encode_pixels(std::span<const float> chw, int height, int width, VisionStage stage) const {
  const auto& enc = *impl_->encoder;
  (void)vision_info();
  if (height <= 0 || width <= 0 || height % 32 != 0 || width % 32 != 0 || height > 4096 || width > 4096)
    throw Error("pixels of " + std::to_string(height) + "x" + std::to_string(width) +
                ": both sides must be positive multiples of 32 (at most 4096)");
  if (chw.size() != static_cast<size_t>(3) * height * width)
    throw Error("pixels: expected 3x" + std::to_string(height) + "x" + std::to_string(width) + " = " +
                std::to_string(3 * height * width) + " values, got " + std::to_string(chw.size()));
  ImageEmbedding out;
  if (stage == VisionStage::Pixels) {
    out.n_tokens = 3;
    out.dim = static_cast<int64_t>(height) * width;
    out.rows.assign(chw.begin(), chw.end());
    return out;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto backend_ptr = impl_->make_backend();
  backend::Backend& backend = *backend_ptr;
  std::vector<float> tower(static_cast<size_t>(enc.tokens() * enc.out_channels()));
  enc.encode(backend, chw.data(), height, width, tower.data());
  out.n_tokens = enc.tokens();
  if (stage == VisionStage::Tower) {
    out.dim = enc.out_channels();
    out.rows = std::move(tower);
  } else {
    out.dim = impl_->connector->config().out_dim;
    out.rows.resize(static_cast<size_t>(out.n_tokens * out.dim));
    impl_->connector->forward(backend, tower.data(), out.n_tokens, out.rows.data());
  }
  out.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

ImageEmbedding Model::encode_image(const Image& image, const ImageOptions& options) const {
  const int size = options.size > 0 ? options.size : vision_info().image_size;
  const auto pixels = preprocess_image(image, options);
  return encode_pixels(pixels, size, size, VisionStage::Connector);
}

std::vector<int32_t> Model::tokenize_with_images(std::string_view text, bool add_special, int* n_images) const {
  std::vector<int32_t> ids = tokenize(text, add_special, true);
  int count = 0;
  if (!has_vision()) {
    if (n_images) *n_images = 0;
    return ids;
  }
  const VisionInfo& v = impl_->vision_info;
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id != v.image_token) {
      out.push_back(id);
      continue;
    }
    ++count;
    out.push_back(v.image_start_token);
    out.insert(out.end(), static_cast<size_t>(v.tokens_per_image), v.image_token);
    out.push_back(v.image_end_token);
  }
  if (n_images) *n_images = count;
  return out;
}

}  // namespace autoneural
