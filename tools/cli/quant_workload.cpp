#include "quant_workload.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "common.h"
#include "runtime/model_impl.h"
#include "backend/sequence_state.h"

namespace autoneural::cli {

std::vector<std::string> list_images(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + " is not a folder of images");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".ppm" || ext == ".pgm")
      out.push_back(e.path().string());
  }
  if (ec) throw Error(dir + ": " + ec.message());
  if (out.empty()) throw Error(dir + " holds no images (png, jpg, jpeg, bmp, ppm, pgm)");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> read_prompts(const std::string& path) {
  std::istringstream in(read_file_or_throw(path));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(line);
  if (out.empty()) throw Error(path + " holds no prompts (one per line)");
  return out;
}

std::vector<PreparedImage> prepare_images(const Model& model, const std::vector<std::string>& paths, int size) {
  std::vector<PreparedImage> out;
  const int s = size > 0 ? size : model.vision_info().image_size;
  for (const auto& p : paths) {
    PreparedImage im;
    im.path = p;
    im.size = s;
    try {
      im.pixels = model.preprocess_image(Image::load(p), {s, false});
    } catch (const Error& e) {
      throw Error(std::string("cannot use image ") + e.what());
    }
    out.push_back(std::move(im));
  }
  return out;
}

std::vector<float> run_vision(const Model& model, backend::Backend& be, const PreparedImage& image) {
  const auto& impl = model.impl();
  const auto& enc = *impl.encoder;
  std::vector<float> tower(static_cast<size_t>(enc.tokens() * enc.out_channels()));
  enc.encode(be, image.pixels.data(), image.size, image.size, tower.data());
  if (!impl.connector) return tower;
  std::vector<float> out(static_cast<size_t>(enc.tokens() * impl.connector->config().out_dim));
  impl.connector->forward(be, tower.data(), enc.tokens(), out.data());
  return out;
}

std::vector<float> run_text(const Model& model, backend::Backend& be, const std::vector<int32_t>& tokens,
                            const backend::QuantPlan* plan) {
  const auto& lm = *model.impl().lm;
  const int64_t n = static_cast<int64_t>(tokens.size());
  backend::SequenceState state(lm.state_shape(std::max<int64_t>(n, 1), backend::CacheType::F32));
  model::Lfm2Workspace ws;
  std::vector<float> logits(static_cast<size_t>(n * lm.config().n_vocab));
  if (plan) {
    std::vector<float> rows(static_cast<size_t>(n * lm.config().hidden));
    plan->embed_tokens(tokens.data(), n, lm.config().hidden, rows.data());
    lm.forward(be, state, nullptr, rows.data(), n, model::LogitsRows::All, logits.data(), ws);
  } else {
    lm.forward(be, state, tokens.data(), nullptr, n, model::LogitsRows::All, logits.data(), ws);
  }
  return logits;
}

}  // namespace autoneural::cli
