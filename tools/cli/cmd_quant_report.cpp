// autoneural quant-report: the quantization error of each recipe, layer by layer, against the float model
// (docs/quantization.md, "Error reports").
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "common.h"
#include "format/mapped_file.h"
#include "quant/metrics.h"
#include "quant_workload.h"
#include "format/svg_plot.h"
#include "backend/float_backend.h"
#include "runtime/model_impl.h"
#include "backend/recording_backend.h"

namespace autoneural::cli {

namespace {

using Layers = std::map<std::string, std::vector<float>>;

// Per-layer outputs of one run, and the order layers appeared in.
struct Capture {
  Layers data;
  std::vector<std::string>* order = nullptr;
  void operator()(std::string_view layer, const float* x, int64_t rows, int64_t dim) {
    std::string k(layer);
    if (order && std::find(order->begin(), order->end(), k) == order->end()) order->push_back(k);
    data[k].assign(x, x + rows * dim);
  }
};

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
  if (model_path.empty()) throw UsageError("quant-report needs a model (-m PATH)");
  if (images_dir.empty() && prompts_file.empty() && text_file.empty())
    throw UsageError("quant-report needs --images DIR and/or --prompts FILE / --text FILE");
  if (backend != "sim" && backend != "npu") throw UsageError("--backend must be sim or npu");
  if (ctx < 2) throw UsageError("-c must be at least 2");
  if (size != 0 && (size < 32 || size % 32 != 0 || size > 4096)) throw UsageError("--size must be a positive multiple of 32 up to 4096");
  std::vector<quant::Recipe> recipes;
  for (const auto& r : split_list(recipes_arg)) recipes.push_back(quant::recipe_by_name(r));
  if (recipes.empty()) throw UsageError("--recipes is empty");
  const auto method = quant::parse_range_method(act_range);

  ModelOptions mo;
  mo.n_threads = threads;
  mo.mmproj = mmproj;
  auto model = Model::load(model_path, mo);
  const auto& impl = model->impl();
  if (!images_dir.empty() && !model->has_vision()) (void)model->vision_info();
  if ((!prompts_file.empty() || !text_file.empty()) && !model->has_language_model())
    throw UsageError(model_path + " has no language model: --prompts/--text cannot be used");
  const auto images = images_dir.empty() ? std::vector<PreparedImage>{} : prepare_images(*model, list_images(images_dir), size);
  std::vector<std::vector<int32_t>> texts;
  if (!prompts_file.empty())
    for (const auto& line : read_prompts(prompts_file)) texts.push_back(model->tokenize(line, true, true));
  if (!text_file.empty()) {
    const auto all = model->tokenize(read_file_or_throw(text_file), false, false);
    if (all.size() < 2) throw Error(text_file + " has fewer than 2 tokens");
    for (size_t b = 0; b < all.size() && static_cast<int64_t>(texts.size()) < max_chunks; b += static_cast<size_t>(ctx)) {
      std::vector<int32_t> chunk{model->bos()};
      chunk.insert(chunk.end(), all.begin() + b, all.begin() + std::min(all.size(), b + static_cast<size_t>(ctx)));
      texts.push_back(std::move(chunk));
    }
  }

  backend::FloatBackend fb(model->n_threads());
  const double work = static_cast<double>((images.size() + texts.size()) * (recipes.size() + 2));
  double done = 0;
  ProgressBar bar("quant-report");

  // Activation ranges: the calibration file's, or recorded here on the same inputs.
  quant::Calibration calib;
  if (!calib_path.empty()) {
    calib = quant::Calibration::load(calib_path);
    backend::check_calibration(calib, impl.sources(), calib_path);
    done += static_cast<double>(images.size() + texts.size());
  } else {
    backend::RecordingBackend rec(fb, true);
    for (const auto& im : images) bar.update(done++ / work, "calibrating " + im.path), (void)run_vision(*model, rec, im);
    for (const auto& t : texts) bar.update(done++ / work, "calibrating text"), (void)run_text(*model, rec, t);
    calib = quant::Calibration::from_stats(rec.stats());
  }

  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, quant::ErrorStats>> err;  // recipe → layer → stats
  std::map<std::string, quant::LogitStats> logit_stats;
  auto compare = [&](const std::string& recipe, const Layers& ref, const Layers& got) {
    for (const auto& [layer, v] : got) {
      auto it = ref.find(layer);
      if (it == ref.end() || it->second.size() != v.size()) continue;
      err[recipe][layer].add(it->second.data(), v.data(), static_cast<int64_t>(v.size()));
    }
  };
  std::vector<std::shared_ptr<backend::QuantPlan>> recipe_plans;
  for (const auto& r : recipes)
    recipe_plans.push_back(std::make_shared<backend::QuantPlan>(r, impl.sources(), backend::calibrated_ranges(calib, r, method)));
  auto make_quant = [&](size_t k) {
    return backend == "sim" ? backend::make_sim_backend(model->n_threads(), recipe_plans[k])
                            : backend::make_npu_backend(model->n_threads(), recipe_plans[k]);
  };

  for (const auto& im : images) {
    bar.update(done++ / work, "float " + im.path);
    Capture ref{{}, &order};
    backend::RecordingBackend rf(fb, false, std::ref(ref));
    (void)run_vision(*model, rf, im);
    for (size_t k = 0; k < recipes.size(); ++k) {
      bar.update(done++ / work, recipes[k].name + " " + im.path);
      Capture got;
      auto qb = make_quant(k);
      backend::RecordingBackend rq(*qb, false, std::ref(got));
      (void)run_vision(*model, rq, im);
      compare(recipes[k].name, ref.data, got.data);
    }
  }
  for (const auto& t : texts) {
    if (t.empty()) continue;
    bar.update(done++ / work, "float text");
    Capture ref{{}, &order};
    backend::RecordingBackend rf(fb, false, std::ref(ref));
    const auto ref_logits = run_text(*model, rf, t);
    for (size_t k = 0; k < recipes.size(); ++k) {
      bar.update(done++ / work, recipes[k].name + " text");
      Capture got;
      auto qb = make_quant(k);
      backend::RecordingBackend rq(*qb, false, std::ref(got));
      const auto q_logits = run_text(*model, rq, t, recipe_plans[k].get());
      compare(recipes[k].name, ref.data, got.data);
      logit_stats[recipes[k].name].add(ref_logits.data(), q_logits.data(), static_cast<int64_t>(t.size()),
                                       model->info().n_vocab);
    }
  }
  bar.finish();

  // Table: one row per layer, SQNR (dB) per recipe; then the summary per recipe.
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  std::cout << "SQNR (dB) per layer, " << backend << " backend, " << images.size() << " image(s), " << texts.size()
            << " text(s)\n" << std::string(28, ' ');
  for (const auto& r : recipes) std::printf("%12s", r.name.c_str());
  std::cout << "\n";
  for (const auto& layer : order) {
    std::printf("%-28s", layer.c_str());
    for (const auto& r : recipes) {
      const auto& s = err[r.name][layer];
      std::printf("%12s", fmt(s.sqnr_db()).c_str());
      nlohmann::ordered_json rec{{"recipe", r.name}, {"tensor", layer}, {"sqnr_db", s.sqnr_db()}, {"rms_pct", s.rms_pct()}};
      if (layer == "logits" && logit_stats.count(r.name)) {
        rec["kl"] = logit_stats[r.name].mean_kl();
        rec["top1"] = logit_stats[r.name].top1();
      }
      if (std::isinf(s.sqnr_db())) rec["sqnr_db"] = nullptr;
      records.push_back(rec);
    }
    std::cout << "\n";
  }
  std::cout << "\nsummary                      SQNR dB   RMS %";
  if (!texts.empty()) std::cout << "      KL   top-1";
  std::cout << "\n";
  for (const auto& r : recipes)
    for (const char* layer : {"encoder_output", "connector_output", "logits"}) {
      auto it = err[r.name].find(layer);
      if (it == err[r.name].end()) continue;
      std::printf("%-12s %-16s %7s %7s", r.name.c_str(), layer, fmt(it->second.sqnr_db()).c_str(),
                  fmt(it->second.rms_pct(), 3).c_str());
      if (std::string(layer) == "logits")
        std::printf(" %7s %6s%%", fmt(logit_stats[r.name].mean_kl(), 4).c_str(), fmt(100 * logit_stats[r.name].top1(), 1).c_str());
      std::printf("\n");
    }
  if (!out_json.empty()) {
    const std::string s = records.dump(1) + "\n";
    format::write_file_atomic(out_json, s.data(), s.size());
    std::cerr << "wrote " << records.size() << " records to " << out_json << "\n";
  }
  if (!plot_svg.empty()) {
    format::LineChart chart{"SQNR per layer (" + backend + ")", "layer", "SQNR (dB)", order, {}};
    for (const auto& r : recipes) {
      format::Series s{r.name, {}};
      for (const auto& layer : order) s.y.push_back(err[r.name][layer].sqnr_db());
      chart.series.push_back(std::move(s));
    }
    const std::string svg = format::render_svg(chart);
    format::write_file_atomic(plot_svg, svg.data(), svg.size());
    std::cerr << "wrote " << plot_svg << "\n";
  }
  return 0;
}

}  // namespace autoneural::cli
