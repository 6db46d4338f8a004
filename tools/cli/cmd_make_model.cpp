// autoneural make-model: random weights of a published shape, so benchmarks need no download.
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_make_model(int argc, char** argv) {
  std::string out, out_opt;
  RandomModelOptions o;
  ArgParser p("make-model", "Writes a random-weight model with the published shapes (architecture-reference §3.1).");
  p.positional("OUT.gguf", &out, false, "output file (written atomically); or -o");
  p.option({"-o", "--output"}, &out_opt, "OUT.gguf", "output file (the language model for --arch autoneural)");
  p.option({"--arch"}, &o.arch, "lfm2|autoneural", "architecture (default lfm2); autoneural adds the 300M "
                                                     "MobileNetV5 encoder + connector in a vision file (--mmproj)");
  p.option({"--size"}, &o.size, "350m|700m|1.2b", "published LFM2 size (default 1.2b)");
  p.option({"--type"}, &o.type, "f32|f16|bf16|q8_0|q4_0", "language-model matrix type (default q4_0)");
  p.option({"--seed"}, &o.seed, "N", "random seed (default 42)");
  p.option({"--mmproj"}, &o.vision_out, "VISION.gguf", "with --arch autoneural: the vision file to write (required)");
  p.option({"--vision-type"}, &o.vision_type, "f32|f16|bf16|q8_0", "vision matrix type (default f16)");
  p.flag({"--llama-cpp-mmproj"}, &o.llama_cpp_mmproj,
         "write the vision file as llama.cpp's gemma3nv mmproj (Gemma 3n embedder as connector), so that "
         "llama-mtmd-cli runs the same tower");
  if (!p.parse(argc, argv)) return 0;
  check_outputs_usage({out, out_opt, o.vision_out}, {});
  if (!out.empty() && !out_opt.empty()) throw UsageError("give the output file once (OUT.gguf or -o)");
  if (out.empty()) out = out_opt;
  if (out.empty()) throw UsageError("missing output file (OUT.gguf or -o OUT.gguf)");
  if (o.arch != "lfm2" && o.arch != "autoneural")
    throw UsageError("unknown --arch '" + o.arch + "' (available: lfm2, autoneural)");
  if (o.arch == "autoneural" && o.vision_out.empty()) throw UsageError("--arch autoneural needs --mmproj VISION.gguf");
  if (o.arch == "lfm2" && (!o.vision_out.empty() || o.llama_cpp_mmproj || p.given("--vision-type")))
    throw UsageError("--mmproj, --vision-type and --llama-cpp-mmproj need --arch autoneural");
  check_write_type(o.type, "--type");
  // Convolutions are stored as matrices of in·k² columns; 4-bit blocks would lose too much for a tower
  // that is meant to be benchmarked like the real one.
  check_write_type(o.vision_type, "--vision-type", false);
  ProgressBar bar("make-model");
  const auto r = make_random_model(out, o, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  if (o.arch == "lfm2") {
    std::cerr << "wrote " << out << " (LFM2-" << o.size << ", " << o.type << ", random weights)\n";
    return 0;
  }
  std::cerr << "wrote " << out << " (LFM2-" << o.size << ", " << o.type << ") and " << o.vision_out
            << " (MobileNetV5-300M + "
            << (o.llama_cpp_mmproj ? "Gemma 3n embedder, llama.cpp gemma3nv mmproj" : "mlp2 connector") << ", "
            << o.vision_type << "), random weights\n";
  if (o.llama_cpp_mmproj && r.text_hidden != r.vision_channels)
    // mtmd compares the text width with input_projection's first dimension (the tower's 2048 channels).
    std::cerr << "note: llama.cpp's mtmd accepts a gemma3nv mmproj only for a language model of width "
              << r.vision_channels << " (--size 1.2b); autoneural runs this pair\n";
  return 0;
}

}  // namespace autoneural::cli
