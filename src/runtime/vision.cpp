// The vision half of autoneural::Model: image decoding and preprocessing, the MobileNetV5 encoder and the
// connector, and the expansion of <image> markers in prompts.
#include <chrono>
#include <cstring>

#include "image/image.h"
#include "image/preprocess.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "runtime/pipeline.h"

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
  check_image_sides(size, size, "image size");
  image::PreprocessOptions p;
  p.width = p.height = size;
  p.mode = options.letterbox || pre.letterbox ? image::ResizeMode::Letterbox : image::ResizeMode::Stretch;
  p.mean = pre.mean;
  p.std = pre.std;
  return image::preprocess(to_internal(img), p);
}

ImageEmbedding Model::encode_pixels(std::span<const float> chw, int height, int width, VisionStage stage) const {
  (void)vision_info();
  const auto backend = impl_->make_backend();
  return runtime::encode_pixels(*impl_, *backend, chw, height, width, stage);
}

ImageEmbedding Model::encode_image(const Image& image, const ImageOptions& options) const {
  (void)vision_info();
  const auto backend = impl_->make_backend();
  return runtime::encode_image(*this, *backend, image, options);
}

std::vector<int32_t> Model::tokenize_with_images(std::string_view text, bool add_special, int* n_images) const {
  return runtime::expand_image_markers(*this, tokenize(text, add_special, true), n_images);
}

}  // namespace autoneural

namespace autoneural::runtime {

ImageEmbedding encode_pixels(const Model::Impl& m, backend::Backend& be, std::span<const float> chw, int height,
                             int width, VisionStage stage) {
  if (!m.encoder) throw Error(m.info.path + " has no vision encoder (give one with --mmproj, or load an AutoNeural model)");
  const auto& enc = *m.encoder;
  check_image_sides(height, width, "pixels");
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
  std::vector<float> tower(static_cast<size_t>(enc.tokens() * enc.out_channels()));
  enc.encode(be, chw.data(), height, width, tower.data());
  out.n_tokens = enc.tokens();
  if (stage == VisionStage::Tower || !m.connector) {
    out.dim = enc.out_channels();
    out.rows = std::move(tower);
  } else {
    out.dim = m.connector->config().out_dim;
    out.rows.resize(static_cast<size_t>(out.n_tokens * out.dim));
    m.connector->forward(be, tower.data(), out.n_tokens, out.rows.data());
  }
  out.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

ImageEmbedding encode_image(const Model& model, backend::Backend& be, const Image& image, const ImageOptions& options) {
  const int size = options.size > 0 ? options.size : model.vision_info().image_size;
  const auto pixels = model.preprocess_image(image, options);
  return encode_pixels(impl_of(model), be, pixels, size, size, VisionStage::Connector);
}

std::vector<PreparedImage> prepare_images(const Model& model, const std::vector<std::string>& paths, int size) {
  std::vector<PreparedImage> out;
  if (paths.empty()) return out;
  const int s = size > 0 ? size : model.vision_info().image_size;
  check_image_sides(s, s, "image size");
  for (const auto& p : paths) {
    PreparedImage im{p, {}, s};
    try {
      im.pixels = model.preprocess_image(Image::load(p), {s, false});
    } catch (const Error& e) {
      throw Error(std::string("cannot use image ") + e.what());
    }
    out.push_back(std::move(im));
  }
  return out;
}

ImageEmbedding encode_prepared(const Model& model, backend::Backend& be, const PreparedImage& im) {
  return encode_pixels(impl_of(model), be, im.pixels, im.size, im.size, VisionStage::Connector);
}

std::vector<int32_t> expand_image_markers(const Model& model, const std::vector<int32_t>& ids, int* n_images) {
  int count = 0;
  if (!model.has_vision()) {
    if (n_images) *n_images = 0;
    return ids;
  }
  const VisionInfo& v = model.vision_info();
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

std::vector<float> run_text(const Model::Impl& m, backend::Backend& be, std::span<const int32_t> tokens,
                            const backend::QuantPlan* plan) {
  if (!m.lm) throw Error(m.info.path + " has no language model (it is a vision encoder only)");
  const auto& lm = *m.lm;
  const int64_t n = static_cast<int64_t>(tokens.size());
  backend::SequenceState state(lm.state_shape(std::max<int64_t>(n, 1), backend::CacheType::F32));
  model::Lfm2Workspace ws;
  std::vector<float> logits(static_cast<size_t>(n * lm.config().n_vocab));
  if (n == 0) return logits;
  if (plan) {
    std::vector<float> rows(static_cast<size_t>(n * lm.config().hidden));
    plan->embed_tokens(tokens.data(), n, lm.config().hidden, rows.data());
    lm.forward(be, state, nullptr, rows.data(), n, model::LogitsRows::All, logits.data(), ws);
  } else {
    lm.forward(be, state, tokens.data(), nullptr, n, model::LogitsRows::All, logits.data(), ws);
  }
  return logits;
}

}  // namespace autoneural::runtime
