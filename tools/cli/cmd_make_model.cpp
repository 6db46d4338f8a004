// autoneural make-model: random weights of a published shape, so benchmarks need no download.
#include <iostream>

#include "args.h"
#include "common.h"
#include "convert/lfm2_export.h"
#include "convert/vision_export.h"

namespace autoneural::cli {

int cmd_make_model(int argc, char** argv) {
  std::string arch = "lfm2", size = "1.2b", type = "q4_0", vision_type = "f16", mmproj, out, out_opt;
  uint64_t seed = 42;
  bool llama_cpp_mmproj = false;
  ArgParser p("make-model", "Writes a random-weight model with the published shapes (architecture-reference §3.1).");
  p.positional("OUT.gguf", &out, false, "output file (written atomically); or -o");
  p.option({"-o", "--output"}, &out_opt, "OUT.gguf", "output file (the language model for --arch autoneural)");
  p.option({"--arch"}, &arch, "lfm2|autoneural", "architecture (default lfm2); autoneural adds the 300M "
                                                   "MobileNetV5 encoder + connector in a vision file (--mmproj)");
  p.option({"--size"}, &size, "350m|700m|1.2b", "published LFM2 size (default 1.2b)");
  p.option({"--type"}, &type, "f32|f16|bf16|q8_0|q4_0", "language-model matrix type (default q4_0)");
  p.option({"--seed"}, &seed, "N", "random seed (default 42)");
  p.option({"--mmproj"}, &mmproj, "VISION.gguf", "with --arch autoneural: the vision file to write (required)");
  p.option({"--vision-type"}, &vision_type, "f32|f16|bf16|q8_0", "vision matrix type (default f16)");
  p.flag({"--llama-cpp-mmproj"}, &llama_cpp_mmproj,
         "write the vision file as llama.cpp's gemma3nv mmproj (Gemma 3n embedder as connector), so that "
         "llama-mtmd-cli runs the same tower");
  if (!p.parse(argc, argv)) return 0;
  if (!out.empty() && !out_opt.empty()) throw UsageError("give the output file once (OUT.gguf or -o)");
  if (out.empty()) out = out_opt;
  if (out.empty()) throw UsageError("missing output file (OUT.gguf or -o OUT.gguf)");
  if (arch != "lfm2" && arch != "autoneural") throw UsageError("unknown --arch '" + arch + "' (available: lfm2, autoneural)");
  if (arch == "autoneural" && mmproj.empty()) throw UsageError("--arch autoneural needs --mmproj VISION.gguf");
  if (arch == "lfm2" && (!mmproj.empty() || llama_cpp_mmproj || p.given("--vision-type")))
    throw UsageError("--mmproj, --vision-type and --llama-cpp-mmproj need --arch autoneural");
  const TensorType t = parse_write_type(type, "--type"), vt = parse_write_type(vision_type, "--vision-type");
  // Convolutions are stored as matrices of in·k² columns; 4-bit blocks would lose too much for a tower
  // that is meant to be benchmarked like the real one.
  if (vt == TensorType::Q4_0) throw UsageError("unsupported --vision-type 'q4_0' (expected f32, f16, bf16 or q8_0)");
  const auto config = model::lfm2_preset(size);
  ProgressBar bar("make-model");
  auto progress = [&](double f, std::string_view what) { bar.update(f, what); };
  if (arch == "lfm2") {
    convert::make_random_lfm2(config, t, out, seed, progress);
    bar.finish();
    std::cerr << "wrote " << out << " (LFM2-" << size << ", " << type << ", random weights)\n";
    return 0;
  }
  const auto encoder = model::mobilenetv5_builtin("mobilenetv5_300m_enc");
  model::ConnectorConfig connector;
  connector.in_dim = encoder.msfa_output_channels;
  connector.out_dim = config.hidden;
  if (llama_cpp_mmproj) {
    connector.kind = model::ConnectorKind::Gemma3nEmbedder;
    connector.bias = false;
  } else {
    // AutoNeural's connector (UNCONFIRMED width; the fixture's rule): hidden = the text width, erf GELU.
    connector.kind = model::ConnectorKind::Mlp2;
    connector.hidden_dim = config.hidden;
  }
  convert::make_random_autoneural(config, encoder, connector, t, vt, out, mmproj, seed, llama_cpp_mmproj, progress);
  bar.finish();
  std::cerr << "wrote " << out << " (LFM2-" << size << ", " << type << ") and " << mmproj
            << " (MobileNetV5-300M + "
            << (llama_cpp_mmproj ? "Gemma 3n embedder, llama.cpp gemma3nv mmproj" : "mlp2 connector") << ", "
            << vision_type << "), random weights\n";
  if (llama_cpp_mmproj && config.hidden != encoder.msfa_output_channels)
    // mtmd compares the text width with input_projection's first dimension (the tower's 2048 channels).
    std::cerr << "note: llama.cpp's mtmd accepts a gemma3nv mmproj only for a language model of width "
              << encoder.msfa_output_channels << " (--size 1.2b); autoneural runs this pair\n";
  return 0;
}

}  // namespace autoneural::cli
