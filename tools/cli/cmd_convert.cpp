// autoneural convert: Hugging Face directory → GGUF (llama.cpp's names and keys).
#include <iostream>

#include "args.h"
#include "common.h"
#include "model/lfm2_export.h"

namespace autoneural::cli {

int cmd_convert(int argc, char** argv) {
  std::string in, out, type = "f16";
  ArgParser p("convert", "Converts a Hugging Face LFM2 directory to a GGUF file that autoneural and llama.cpp load.");
  p.positional("HF_DIR", &in, true, "directory with config.json, *.safetensors and tokenizer.json");
  p.positional("OUT.gguf", &out, true, "output file (written atomically)");
  p.option({"--type", "--outtype"}, &type, "f32|f16|bf16|q8_0|q4_0", "matrix type (default f16)");
  if (!p.parse(argc, argv)) return 0;
  const auto t = parse_tensor_type(type);
  if (!t || *t == TensorType::Q4_K || *t == TensorType::Q6_K)
    throw UsageError("unsupported --type '" + type + "' (expected f32, f16, bf16, q8_0 or q4_0)");
  ProgressBar bar("convert");
  model::convert_lfm2_hf_to_gguf(in, out, *t, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  std::cerr << "wrote " << out << "\n";
  return 0;
}

}  // namespace autoneural::cli
