// Workflows of quantization (include/autoneural/workflows.h): calibration, quantized files, error reports.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>


#include "autoneural/workflows.h"
#include "backend/float_backend.h"
#include "backend/recording_backend.h"
#include "convert/quantize_model.h"
#include "format/mapped_file.h"
#include "runtime/pipeline.h"

namespace autoneural {

namespace {

using runtime::impl_of;

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
  const auto images = runtime::prepare_images(model, inputs.images, inputs.image_size);
  backend::FloatBackend fb(model.n_threads());
  backend::RecordingBackend rec(fb, true);
  const double total = static_cast<double>(images.size() + inputs.prompts.size());
  size_t done = 0;
  for (const auto& im : images) {
    if (progress) progress(static_cast<double>(done++) / total, im.path);
    (void)runtime::encode_prepared(model, rec, im);
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

namespace {

// A private folder (mkdtemp) beside `near`, removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& near) {
    std::string templ = std::filesystem::absolute(near).parent_path().string() + "/.autoneural-tmp-XXXXXX";
    if (!::mkdtemp(templ.data())) throw Error("cannot create a temporary folder next to " + near);
    path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace

QuantizeSummary quantize_file(const std::string& in, const std::string& out, ModelOptions options,
                              const std::string& vision_out, const ProgressFn& progress) {
  options.backend = "npu";  // builds the plan
  if (options.recipe.empty()) options.recipe = "autoneural";
  const CheckpointInfo checkpoint = identify_checkpoint(in);
  if (checkpoint.gguf) return write_quantized(*Model::load(in, options), out, vision_out, progress);
  if (!options.mmproj.empty())
    throw Error(in + " is a Hugging Face directory, which holds its own vision part: give no separate vision file");
  auto part = [&](double lo, double hi) -> ProgressFn {
    if (!progress) return {};
    return [=, &progress](double f, std::string_view what) { progress(lo + (hi - lo) * f, what); };
  };
  ScratchDir scratch(out);
  ConvertOptions c{.type = "f32", .vision_type = "f32"};
  if (checkpoint.vision && !vision_out.empty()) c.vision_out = scratch.file("vision.gguf");
  convert_hf(in, scratch.file("text.gguf"), c, part(0.0, 0.3));
  options.mmproj = c.vision_out;
  return write_quantized(*Model::load(scratch.file("text.gguf"), options), out, vision_out, part(0.3, 1.0));
}

}  // namespace autoneural
