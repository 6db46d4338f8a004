// autoneural calibrate: runs the float model on calibration images and prompts and records activation
// statistics at every quantization point (docs/quantization.md, "Calibration").
#include <iostream>

#include "args.h"
#include "common.h"
#include "format/mapped_file.h"
#include "quant_workload.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "backend/recording_backend.h"

namespace autoneural::cli {

int cmd_calibrate(int argc, char** argv) {
  std::string model_path, mmproj, images_dir, prompts_file, out;
  int threads = 0, size = 0;
  ArgParser p("calibrate", "Records activation ranges of the float model for quantization (writes CALIB.json).");
  p.option({"-m", "--model"}, &model_path, "PATH", "float model: GGUF, AutoNeural directory or vision file (required)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file, when -m is a language model without one");
  p.option({"--images"}, &images_dir, "DIR", "folder of calibration images (for a model with vision)");
  p.option({"--prompts"}, &prompts_file, "FILE", "calibration prompts, one per line (for a language model)");
  p.option({"--out"}, &out, "CALIB.json", "output (required; written atomically)");
  p.option({"--size"}, &size, "N", "image size, multiple of 32 (default: the model's)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  if (!p.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("calibrate needs a model (-m PATH)");
  if (out.empty()) throw UsageError("calibrate needs --out CALIB.json");
  if (images_dir.empty() && prompts_file.empty()) throw UsageError("calibrate needs --images DIR and/or --prompts FILE");
  if (size != 0 && (size < 32 || size % 32 != 0 || size > 4096)) throw UsageError("--size must be a positive multiple of 32 up to 4096");

  ModelOptions mo;
  mo.n_threads = threads;
  mo.mmproj = mmproj;
  auto model = Model::load(model_path, mo);
  if (!images_dir.empty() && !model->has_vision()) (void)model->vision_info();  // explains
  if (!prompts_file.empty() && !model->has_language_model())
    throw UsageError(model_path + " has no language model: --prompts cannot be used");
  const auto images = images_dir.empty() ? std::vector<PreparedImage>{}
                                         : prepare_images(*model, list_images(images_dir), size);
  const auto prompts = prompts_file.empty() ? std::vector<std::string>{} : read_prompts(prompts_file);

  backend::FloatBackend fb(model->n_threads());
  backend::RecordingBackend rec(fb, true);
  ProgressBar bar("calibrate");
  const double total = static_cast<double>(images.size() + prompts.size());
  size_t done = 0;
  for (const auto& im : images) {
    bar.update(done++ / total, im.path);
    (void)run_vision(*model, rec, im);
  }
  for (const auto& text : prompts) {
    bar.update(done++ / total, "prompt");
    const auto tokens = model->tokenize(text, true, true);
    if (!tokens.empty()) (void)run_text(*model, rec, tokens);
  }
  bar.finish();
  auto calib = quant::Calibration::from_stats(rec.stats());
  calib.fingerprint = backend::model_fingerprint(model->impl().sources());
  calib.model_name = model->info().name;
  calib.images = static_cast<int64_t>(images.size());
  calib.prompts = static_cast<int64_t>(prompts.size());
  const std::string json = calib.to_json();
  format::write_file_atomic(out, json.data(), json.size());
  std::cerr << "wrote " << calib.tensors.size() << " activation ranges (" << images.size() << " images, "
            << prompts.size() << " prompts) to " << out << "\n";
  return 0;
}

}  // namespace autoneural::cli
