// autoneural convert: Hugging Face directory → GGUF (llama.cpp's names and keys). An AutoNeural directory
// becomes a text GGUF + a vision GGUF (--mmproj), or one merged GGUF.
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_convert(int argc, char** argv) {
  std::string in, out;
  ConvertOptions o;
  ArgParser p("convert", "Converts a Hugging Face LFM2 or AutoNeural directory to GGUF files that autoneural "
                         "(and, for the language model, llama.cpp) load.");
  p.positional("HF_DIR", &in, true, "directory with config.json, *.safetensors and tokenizer.json");
  p.positional("OUT.gguf", &out, true, "output file (written atomically)");
  p.option({"--type", "--outtype"}, &o.type, "f32|f16|bf16|q8_0|q4_0", "language-model matrix type (default f16)");
  p.option({"--mmproj"}, &o.vision_out, "VISION.gguf", "AutoNeural: write the vision half here (default: merged into OUT)");
  p.option({"--vision-type"}, &o.vision_type, "f32|f16|bf16|q8_0", "vision matrix type (default f16)");
  if (!p.parse(argc, argv)) return 0;
  check_outputs_usage({out, o.vision_out}, {in});
  check_write_type(o.type, "--type");
  check_write_type(o.vision_type, "--vision-type", false);
  const CheckpointInfo checkpoint = identify_checkpoint(in);
  if (!checkpoint.vision && (!o.vision_out.empty() || p.given("--vision-type")))
    throw UsageError(in + " has no vision part (config.json has no vision_config)");
  ProgressBar bar("convert");
  const auto r = convert_hf(in, out, o, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  std::cerr << "wrote " << out
            << (!r.vision ? "" : o.vision_out.empty() ? " (text + vision merged; autoneural only)" : " and " + o.vision_out)
            << "\n";
  return 0;
}

}  // namespace autoneural::cli
