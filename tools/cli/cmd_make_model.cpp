// autoneural make-model: random weights of a published shape, so benchmarks need no download.
#include <iostream>

#include "args.h"
#include "common.h"
#include "model/lfm2_export.h"

namespace autoneural::cli {

int cmd_make_model(int argc, char** argv) {
  std::string arch = "lfm2", size = "1.2b", type = "q4_0", out;
  uint64_t seed = 42;
  ArgParser p("make-model", "Writes a random-weight model with the published shapes (architecture-reference §3.1).");
  p.positional("OUT.gguf", &out, true, "output file (written atomically)");
  p.option({"--arch"}, &arch, "lfm2", "architecture (default lfm2)");
  p.option({"--size"}, &size, "350m|700m|1.2b", "published size (default 1.2b)");
  p.option({"--type"}, &type, "f32|f16|bf16|q8_0|q4_0", "matrix type (default q4_0)");
  p.option({"--seed"}, &seed, "N", "random seed (default 42)");
  if (!p.parse(argc, argv)) return 0;
  if (arch != "lfm2") throw UsageError("unknown --arch '" + arch + "' (available: lfm2)");
  const auto t = parse_tensor_type(type);
  if (!t || *t == TensorType::Q4_K || *t == TensorType::Q6_K)
    throw UsageError("unsupported --type '" + type + "' (expected f32, f16, bf16, q8_0 or q4_0)");
  const auto config = model::lfm2_preset(size);
  ProgressBar bar("make-model");
  model::make_random_lfm2(config, *t, out, seed, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  std::cerr << "wrote " << out << " (LFM2-" << size << ", " << type << ", random weights)\n";
  return 0;
}

}  // namespace autoneural::cli
