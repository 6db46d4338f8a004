// autoneural make-model: random weights of a published shape, so benchmarks need no download.
#include <iostream>

#include "args.h"
#include "common.h"
#include "model/lfm2_export.h"
#include "model/vision_export.h"

namespace autoneural::cli {

int cmd_make_model(int argc, char** argv) {
  std::string arch = "lfm2", size = "1.2b", type = "q4_0", vision_type = "f16", mmproj, out;
  uint64_t seed = 42;
  bool llama_cpp_mmproj = false;
  ArgParser p("make-model", "Writes a random-weight model with the published shapes (architecture-reference §3.1).");
  p.positional("OUT.gguf", &out, true, "output file (written atomically)");
  p.option({"--arch"}, &arch, "lfm2|autoneural", "architecture (default lfm2); autoneural adds the 300M "
                                                   "MobileNetV5 encoder + connector in a vision file (--mmproj)");
  p.option({"--size"}, &size, "350m|700m|1.2b", "published size (default 1.2b)");
  p.option({"--type"}, &type, "f32|f16|bf16|q8_0|q4_0", "matrix type (default q4_0)");
  p.option({"--seed"}, &seed, "N", "random seed (default 42)");
  p.option({"--mmproj"}, &mmproj, "VISION.gguf", "with --arch autoneural: the vision file to write (required)");
  p.option({"--vision-type"}, &vision_type, "f32|f16|bf16|q8_0", "vision matrix type (default f16)");
  p.flag({"--llama-cpp-mmproj"}, &llama_cpp_mmproj,
         "write the vision file as llama.cpp's gemma3nv mmproj (Gemma 3n embedder as connector)");
  if (!p.parse(argc, argv)) return 0;
  if (arch != "lfm2" && arch != "autoneural") throw UsageError("unknown --arch '" + arch + "' (available: lfm2, autoneural)");
  if (arch == "autoneural" && mmproj.empty()) throw UsageError("--arch autoneural needs --mmproj VISION.gguf");
  if (arch == "lfm2" && (!mmproj.empty() || llama_cpp_mmproj)) throw UsageError("--mmproj needs --arch autoneural");
  const TensorType t = parse_write_type(type, "--type"), vt = parse_write_type(vision_type, "--vision-type");
  const auto config = model::lfm2_preset(size);
  {
    ProgressBar bar("make-model");
    model::make_random_lfm2(config, t, out, seed, [&](double f, std::string_view what) { bar.update(f, what); });
    bar.finish();
  }
  std::cerr << "wrote " << out << " (LFM2-" << size << ", " << type << ", random weights)\n";
  if (arch == "autoneural") {
    model::RandomVisionOptions vo;
    vo.type = vt;
    vo.llama_cpp_mmproj = llama_cpp_mmproj;
    vo.seed = seed + 1;
    ProgressBar bar("make-model vision");
    model::make_random_vision(model::mobilenetv5_builtin("mobilenetv5_300m_enc"), config.hidden, vo, mmproj,
                              [&](double f, std::string_view what) { bar.update(f, what); });
    bar.finish();
    std::cerr << "wrote " << mmproj << " (MobileNetV5-300M + " << (llama_cpp_mmproj ? "Gemma 3n embedder, llama.cpp mmproj" : "mlp2 connector")
              << ", " << vision_type << ", random weights)\n";
  }
  return 0;
}

}  // namespace autoneural::cli
