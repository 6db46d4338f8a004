// autoneural encode: one image (or preprocessed pixels) through the vision stack, written as float32 .npy:
// [3, H, W] for --stage pixels, [tokens, channels] for tower and connector.
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_encode(int argc, char** argv) {
  std::string model_path, mmproj, image_path, pixels_path, out, stage_name = "connector";
  int threads = 0, size = 0;
  bool letterbox = false;
  ModelOptions exec;
  ArgParser p("encode", "Runs the vision encoder (and connector) on one image and writes the result as .npy.");
  p.option({"-m", "--model"}, &model_path, "PATH", "AutoNeural model, vision GGUF or directory (required)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file, when -m is a language model without one");
  p.option({"--image"}, &image_path, "IMG", "image file (PNG, JPEG, BMP, PPM/PGM)");
  p.option({"--pixels"}, &pixels_path, "FILE.npy", "already preprocessed float32 [3, H, W], H and W multiples of 32");
  p.option({"--out"}, &out, "FILE.npy", "output (required)");
  p.option({"--stage"}, &stage_name, "pixels|tower|connector", "what to write (default connector)");
  p.option({"--size"}, &size, "N", "input size for --image, multiple of 32 (default: the model's)");
  p.flag({"--letterbox"}, &letterbox, "keep the aspect ratio and pad instead of stretching");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  add_execution_flags(p, exec);
  if (!p.parse(argc, argv)) return 0;
  check_outputs_usage({out}, {model_path, mmproj, image_path, pixels_path});
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("encode needs a model (-m PATH)");
  if (image_path.empty() == pixels_path.empty()) throw UsageError("encode needs exactly one of --image and --pixels");
  if (out.empty()) throw UsageError("encode needs --out FILE.npy");
  VisionStage stage;
  if (stage_name == "pixels") stage = VisionStage::Pixels;
  else if (stage_name == "tower") stage = VisionStage::Tower;
  else if (stage_name == "connector") stage = VisionStage::Connector;
  else throw UsageError("unknown --stage '" + stage_name + "' (pixels, tower or connector)");
  check_size_flag(size);

  exec.n_threads = threads;
  exec.mmproj = mmproj;
  auto model = Model::load(model_path, exec);
  if (!model->has_vision()) (void)model->vision_info();  // throws the explanation
  std::vector<float> pixels;
  int64_t h = 0, w = 0;
  if (!pixels_path.empty()) {
    auto a = read_npy_f32(pixels_path);
    if (a.shape.size() != 3 || a.shape[0] != 3 || a.data.empty())
      throw Error(pixels_path + ": expected a float32 array [3, H, W]");
    h = a.shape[1];
    w = a.shape[2];
    check_image_sides(h, w, pixels_path + ": pixels");
    pixels = std::move(a.data);
  } else {
    const Image image = Image::load(image_path);
    const ImageOptions io{size, letterbox};
    pixels = model->preprocess_image(image, io);
    h = w = size > 0 ? size : model->vision_info().image_size;
  }
  if (stage == VisionStage::Pixels) {
    if (!pixels_path.empty()) throw UsageError("--stage pixels needs --image (the pixels are the input)");
    write_npy(out, std::span<const float>(pixels), {3, h, w});
    std::cerr << "wrote pixels [3, " << h << ", " << w << "] to " << out << "\n";
    return 0;
  }
  const auto e = model->encode_pixels(pixels, static_cast<int>(h), static_cast<int>(w), stage);
  write_npy(out, std::span<const float>(e.rows), {e.n_tokens, e.dim});
  std::cerr << "wrote " << stage_name << " [" << e.n_tokens << ", " << e.dim << "] to " << out << " (" << e.encode_ms
            << " ms)\n";
  return 0;
}

}  // namespace autoneural::cli
