// Workflows of quantization (include/autoneural/workflows.h): calibration, quantized files, error reports.
#include <algorithm>


#include "autoneural/workflows.h"
#include "backend/float_backend.h"
#include "backend/recording_backend.h"
#include "convert/quantize_model.h"
#include "format/mapped_file.h"
#include "runtime/pipeline.h"

namespace autoneural {

namespace {

using runtime::impl_of;

struct PreparedImage {
  std::string path;
  std::vector<float> pixels;  // [3][size][size]
  int size = 0;
};

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

void run_vision(const Model& model, backend::Backend& be, const PreparedImage& im) {
  (void)runtime::encode_pixels(impl_of(model), be, im.pixels, im.size, im.size, VisionStage::Connector);
}

void check_inputs(const Model& model, bool images, bool texts, const char* job) {
  if (images && !model.has_vision()) (void)model.vision_info();  // explains
  if (texts && !model.has_language_model())
    throw Error(model.info().path + " has no language model: " + job + " cannot use prompts or text");
}

}  // namespace

CalibrationSummary calibrate(const Model& model, const CalibrationInputs& inputs, const std::string& out_path,
                             const ProgressFn& progress) {
  if (inputs.images.empty() && inputs.prompts.empty()) throw Error("calibration needs images and/or prompts");
  check_inputs(model, !inputs.images.empty(), !inputs.prompts.empty(), "calibration");
  const auto images = prepare_images(model, inputs.images, inputs.image_size);
  backend::FloatBackend fb(model.n_threads());
  backend::RecordingBackend rec(fb, true);
  const double total = static_cast<double>(images.size() + inputs.prompts.size());
  size_t done = 0;
  for (const auto& im : images) {
    if (progress) progress(static_cast<double>(done++) / total, im.path);
    run_vision(model, rec, im);
  }
  for (const auto& text : inputs.prompts) {
    if (progress) progress(static_cast<double>(done++) / total, "prompt");
    const auto tokens = model.tokenize(text, true, true);
    if (!tokens.empty()) (void)runtime::run_text(impl_of(model), rec, tokens);
  }
  auto calib = quant::Calibration::from_stats(rec.stats());
  calib.fingerprint = backend::model_fingerprint(impl_of(model).sources());
  calib.model_name = model.info().name;
  calib.images = static_cast<int64_t>(images.size());
  calib.prompts = static_cast<int64_t>(inputs.prompts.size());
  const std::string json = calib.to_json();
  format::write_file_atomic(out_path, json.data(), json.size());
  if (progress) progress(1.0, "written");
  return {calib.tensors.size(), calib.images, calib.prompts};
}

QuantizeSummary write_quantized(const Model& model, const std::string& out, const std::string& vision_out,
                                const ProgressFn& progress) {
  const auto& impl = impl_of(model);
  if (!impl.plan) throw Error("write_quantized: load the model with backend \"sim\" or \"npu\" (and a recipe)");
  const auto sources = impl.sources();
  if (!vision_out.empty() && sources.size() != 2)
    throw Error(model.info().path + " has no separate vision file to write to " + vision_out);
  auto part = [&](double lo, double hi) -> std::function<void(double, std::string_view)> {
    if (!progress) return {};
    return [=, &progress](double f, std::string_view what) { progress(lo + (hi - lo) * f, what); };
  };
  if (!vision_out.empty()) {
    convert::write_quantized_gguf(*sources[0], nullptr, *impl.plan, out, part(0.0, 0.5));
    convert::write_quantized_gguf(*sources[1], nullptr, *impl.plan, vision_out, part(0.5, 1.0));
  } else {
    convert::write_quantized_gguf(*sources[0], sources.size() == 2 ? sources[1].get() : nullptr, *impl.plan, out,
                                  part(0.0, 1.0));
  }
  return {impl.plan->recipe().name, impl.plan->ranges().size(), impl.plan->calibrated()};
}

}  // namespace autoneural
