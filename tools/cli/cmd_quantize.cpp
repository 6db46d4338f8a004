// autoneural quantize: writes a model quantized by a recipe (docs/quantization.md).
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_quantize(int argc, char** argv) {
  std::string in, out, mmproj, mmproj_out;
  int threads = 0;
  ModelOptions mo;
  mo.recipe = "autoneural";
  ArgParser p("quantize", "Quantizes a model's weights by a recipe and stores the activation ranges with it.");
  p.positional("IN", &in, true, "model: GGUF (text, merged AutoNeural or vision file) or Hugging Face directory");
  p.positional("OUT", &out, true, "output GGUF (written atomically)");
  p.option({"--mmproj"}, &mmproj, "PATH", "the vision file of IN, quantized to --mmproj-out");
  p.option({"--mmproj-out"}, &mmproj_out, "PATH", "output for --mmproj (without it the two are merged into OUT)");
  p.option({"--recipe"}, &mo.recipe, "NAME", "w8a16, w4a16, w8a8, w16a16 or autoneural (default autoneural)");
  p.option({"--calib"}, &mo.calibration, "CALIB.json", "activation ranges from `autoneural calibrate` (without: dynamic at run time)");
  p.option({"--act-range"}, &mo.act_range, "minmax|percentile|mse", "how ranges are chosen from --calib (default minmax)");
  p.repeated({"--override"}, &mo.overrides, "PATTERN=SCHEME", "weight scheme for matching tensors (int8, int4, int4/g32, int16)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  if (!p.parse(argc, argv)) return 0;
  check_outputs_usage({out, mmproj_out}, {in, mmproj});
  if (!mmproj_out.empty() && mmproj.empty() && identify_checkpoint(in).gguf)
    throw UsageError("--mmproj-out needs --mmproj (or a Hugging Face AutoNeural directory as IN)");
  mo.n_threads = threads;
  mo.mmproj = mmproj;
  ProgressBar bar("quantize");
  const auto s = quantize_file(in, out, mo, mmproj_out, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();
  std::cerr << "wrote " << out << (mmproj_out.empty() ? "" : " and " + mmproj_out) << " (recipe " << s.recipe << ", "
            << s.ranges << " activation ranges"
            << (s.calibrated ? "" : "; none calibrated: ranges are dynamic at run time") << ")\n";
  return 0;
}

}  // namespace autoneural::cli
