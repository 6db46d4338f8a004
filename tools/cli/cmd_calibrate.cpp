// autoneural calibrate: runs the float model on calibration images and prompts and records activation
// statistics at every quantization point (docs/quantization.md, "Calibration").
#include <iostream>

#include "args.h"
#include "common.h"

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
  check_outputs_usage({out}, {model_path, mmproj, prompts_file});
  if (model_path.empty()) throw UsageError("calibrate needs a model (-m PATH)");
  if (out.empty()) throw UsageError("calibrate needs --out CALIB.json");
  if (images_dir.empty() && prompts_file.empty()) throw UsageError("calibrate needs --images DIR and/or --prompts FILE");
  check_size_flag(size);

  ModelOptions mo;
  mo.n_threads = threads;
  mo.mmproj = mmproj;
  auto model = Model::load(model_path, mo);
  if (!prompts_file.empty() && !model->has_language_model())
    throw UsageError(model_path + " has no language model: --prompts cannot be used");
  CalibrationInputs inputs;
  if (!images_dir.empty()) inputs.images = list_images(images_dir);
  if (!prompts_file.empty()) inputs.prompts = read_prompts(prompts_file);
  inputs.image_size = size;
  ProgressBar bar("calibrate");
  const auto s = calibrate(*model, inputs, out, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  std::cerr << "wrote " << s.ranges << " activation ranges (" << s.images << " images, " << s.prompts
            << " prompts) to " << out << "\n";
  return 0;
}

}  // namespace autoneural::cli
