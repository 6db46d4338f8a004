// autoneural quant-report: the quantization error of each recipe, layer by layer, against the float model
// (docs/quantization.md, "Error reports").
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string fmt(double v, int prec = 2) {
  if (std::isinf(v)) return "inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

int cmd_quant_report(int argc, char** argv) {
  std::string model_path, mmproj, images_dir, prompts_file, text_file, recipes_arg = "w8a16,w8a8,w4a16,w16a16,autoneural";
  std::string backend = "npu", calib_path, act_range = "minmax", out_json, plot_svg;
  int threads = 0, size = 0;
  int64_t ctx = 256, max_chunks = 4;
  ArgParser p("quant-report", "Quantization error per recipe and layer: SQNR (dB), relative RMS error (%), and for "
                              "the language model KL divergence and top-1 agreement against float.");
  p.option({"-m", "--model"}, &model_path, "PATH", "the float model (required)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file, when -m is a language model without one");
  p.option({"--images"}, &images_dir, "DIR", "folder of images for the encoder and connector");
  p.option({"--prompts"}, &prompts_file, "FILE", "prompts, one per line, for the language model");
  p.option({"--text"}, &text_file, "FILE", "a text for the language model, in chunks of -c tokens");
  p.option({"-c", "--ctx-size"}, &ctx, "N", "tokens per --text chunk (default 256)");
  p.option({"--chunks"}, &max_chunks, "N", "at most this many --text chunks (default 4)");
  p.option({"--recipes"}, &recipes_arg, "LIST", "comma-separated recipes (default w8a16,w8a8,w4a16,w16a16,autoneural)");
  p.option({"--backend"}, &backend, "sim|npu", "quantized execution (default npu)");
  p.option({"--calib"}, &calib_path, "CALIB.json", "activation ranges (default: calibrated on the report's own inputs)");
  p.option({"--act-range"}, &act_range, "minmax|percentile|mse", "how ranges are chosen (default minmax)");
  p.option({"--out"}, &out_json, "report.json", "write the records as JSON (atomically)");
  p.option({"--plot"}, &plot_svg, "sqnr.svg", "write SQNR per layer, one line per recipe, as SVG");
  p.option({"--size"}, &size, "N", "image size, multiple of 32 (default: the model's)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  if (!p.parse(argc, argv)) return 0;
  check_outputs_usage({out_json, plot_svg}, {model_path, mmproj, prompts_file, text_file, calib_path});
  if (model_path.empty()) throw UsageError("quant-report needs a model (-m PATH)");
  if (images_dir.empty() && prompts_file.empty() && text_file.empty())
    throw UsageError("quant-report needs --images DIR and/or --prompts FILE / --text FILE");
  if (backend != "sim" && backend != "npu") throw UsageError("--backend must be sim or npu");
  if (ctx < 2) throw UsageError("-c must be at least 2");
  if (max_chunks < 1) throw UsageError("--chunks must be at least 1");
  if (act_range != "minmax" && act_range != "percentile" && act_range != "mse")
    throw UsageError("unknown --act-range '" + act_range + "' (expected minmax, percentile or mse)");
  check_size_flag(size);
  QuantReportOptions o{.recipes = split_list(recipes_arg), .backend = backend, .calibration = calib_path,
                       .act_range = act_range, .text = text_file, .chunk_tokens = ctx, .max_chunks = max_chunks,
                       .image_size = size};
  if (o.recipes.empty()) throw UsageError("--recipes is empty");

  ModelOptions mo;
  mo.n_threads = threads;
  mo.mmproj = mmproj;
  auto model = Model::load(model_path, mo);
  if ((!prompts_file.empty() || !text_file.empty()) && !model->has_language_model())
    throw UsageError(model_path + " has no language model: --prompts/--text cannot be used");
  if (!images_dir.empty()) o.images = list_images(images_dir);
  if (!prompts_file.empty()) o.prompts = read_prompts(prompts_file);
  ProgressBar bar("quant-report");
  const QuantReport report = quant_report(*model, o, [&](double f, std::string_view what) { bar.update(f, what); });
  bar.finish();

  // Table: one row per layer, SQNR (dB) per recipe; then the summary per recipe.
  std::cout << "SQNR (dB) per layer, " << backend << " backend, " << report.images << " image(s), " << report.texts
            << " text(s)\n" << std::string(28, ' ');
  for (const auto& r : report.recipes) std::printf("%12s", r.c_str());
  std::cout << "\n";
  for (const auto& layer : report.layers) {
    std::printf("%-28s", layer.c_str());
    for (const auto& r : report.recipes) std::printf("%12s", fmt(report.find(r, layer)->sqnr_db).c_str());
    std::cout << "\n";
  }
  std::cout << "\nsummary                      SQNR dB   RMS %";
  if (report.texts > 0) std::cout << "      KL   top-1";
  std::cout << "\n";
  for (const auto& r : report.recipes)
    for (const char* layer : {"encoder_output", "connector_output", "logits"}) {
      const QuantReportRecord* rec = report.find(r, layer);
      if (!rec) continue;
      std::printf("%-12s %-16s %7s %7s", r.c_str(), layer, fmt(rec->sqnr_db).c_str(), fmt(rec->rms_pct, 3).c_str());
      if (rec->kl && rec->top1) std::printf(" %7s %6s%%", fmt(*rec->kl, 4).c_str(), fmt(100 * *rec->top1, 1).c_str());
      std::printf("\n");
    }
  if (!out_json.empty()) {
    write_file_atomic(out_json, report.to_json());
    std::cerr << "wrote " << report.records.size() << " records to " << out_json << "\n";
  }
  if (!plot_svg.empty()) {
    write_file_atomic(plot_svg, report.to_svg());
    std::cerr << "wrote " << plot_svg << "\n";
  }
  return 0;
}

}  // namespace autoneural::cli
