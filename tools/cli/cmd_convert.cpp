// autoneural convert: Hugging Face directory → GGUF (llama.cpp's names and keys). An AutoNeural directory
// becomes a text GGUF + a vision GGUF (--mmproj), or one merged GGUF.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "common.h"
#include "format/mapped_file.h"
#include "convert/lfm2_export.h"
#include "convert/vision_export.h"

namespace autoneural::cli {

int cmd_convert(int argc, char** argv) {
  std::string in, out, mmproj, type = "f16", vision_type = "f16";
  ArgParser p("convert", "Converts a Hugging Face LFM2 or AutoNeural directory to GGUF files that autoneural "
                         "(and, for the language model, llama.cpp) load.");
  p.positional("HF_DIR", &in, true, "directory with config.json, *.safetensors and tokenizer.json");
  p.positional("OUT.gguf", &out, true, "output file (written atomically)");
  p.option({"--type", "--outtype"}, &type, "f32|f16|bf16|q8_0|q4_0", "language-model matrix type (default f16)");
  p.option({"--mmproj"}, &mmproj, "VISION.gguf", "AutoNeural: write the vision half here (default: merged into OUT)");
  p.option({"--vision-type"}, &vision_type, "f32|f16|bf16|q8_0", "vision matrix type (default f16)");
  if (!p.parse(argc, argv)) return 0;
  const TensorType t = parse_write_type(type, "--type"), vt = parse_write_type(vision_type, "--vision-type");
  const std::string cfg = (std::filesystem::path(in) / "config.json").string();
  const auto j = nlohmann::json::parse(format::read_text_file(cfg), nullptr, false);
  const bool vision = j.is_object() && (j.contains("vision_config") ||
                                         (j.contains("model_type") && j["model_type"] == "autoneural"));
  if (!vision && (!mmproj.empty() || p.given("--vision-type")))
    throw UsageError(in + " has no vision part (config.json has no vision_config)");
  if (vt == TensorType::Q4_0) throw UsageError("unsupported --vision-type 'q4_0' (expected f32, f16, bf16 or q8_0)");
  ProgressBar bar("convert");
  auto progress = [&](double f, std::string_view what) { bar.update(f, what); };
  if (vision) convert::convert_autoneural_hf(in, out, mmproj, t, vt, progress);
  else convert::convert_lfm2_hf_to_gguf(in, out, t, progress);
  bar.finish();
  std::cerr << "wrote " << out
            << (!vision ? "" : mmproj.empty() ? " (text + vision merged; autoneural only)" : " and " + mmproj) << "\n";
  return 0;
}

}  // namespace autoneural::cli
