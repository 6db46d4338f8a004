// quant_report (include/autoneural/workflows.h): the quantization error of each recipe, layer by layer,
// against the float model (docs/quantization.md, "Error reports").
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "autoneural/workflows.h"
#include "backend/float_backend.h"
#include "backend/recording_backend.h"
#include "format/svg_plot.h"
#include "quant/calibration.h"
#include "quant/metrics.h"
#include "runtime/pipeline.h"

namespace autoneural {

namespace {

using runtime::impl_of;
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

// The token sequences the language model is measured on: each prompt, and the text in chunks of
// BOS + chunk_tokens tokens.
std::vector<std::vector<int32_t>> report_texts(const Model& model, const QuantReportOptions& o) {
  std::vector<std::vector<int32_t>> texts;
  for (const auto& line : o.prompts) texts.push_back(model.tokenize(line, true, true));
  if (o.text.empty()) return texts;
  if (o.chunk_tokens < 2) throw Error("text chunks need at least 2 tokens");
  const auto all = model.tokenize(read_text_file(o.text), false, false);
  if (all.size() < 2) throw Error(o.text + " has fewer than 2 tokens");
  const auto step = static_cast<size_t>(o.chunk_tokens);
  for (size_t b = 0; b < all.size() && static_cast<int64_t>(texts.size()) < o.max_chunks; b += step) {
    std::vector<int32_t> chunk{model.bos()};
    chunk.insert(chunk.end(), all.begin() + static_cast<std::ptrdiff_t>(b),
                 all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), b + step)));
    texts.push_back(std::move(chunk));
  }
  return texts;
}

}  // namespace

QuantReport quant_report(const Model& model, const QuantReportOptions& o, const ProgressFn& progress) {
  const auto& impl = impl_of(model);
  if (o.images.empty() && o.prompts.empty() && o.text.empty())
    throw Error("a quantization report needs images and/or prompts or a text");
  if (o.backend != "sim" && o.backend != "npu") throw Error("the report's backend must be sim or npu, not " + o.backend);
  if (impl.backend_kind != backend::BackendKind::Float) throw Error("quant_report compares against the float model: load it with backend \"float\"");
  if (!o.images.empty() && !model.has_vision()) (void)model.vision_info();
  if ((!o.prompts.empty() || !o.text.empty()) && !model.has_language_model())
    throw Error(model.info().path + " has no language model: prompts and text cannot be used");
  std::vector<quant::Recipe> recipes;
  for (const auto& r : o.recipes) recipes.push_back(quant::recipe_by_name(r));
  if (recipes.empty()) throw Error("no recipes to report on");
  const auto method = quant::parse_range_method(o.act_range);

  const auto prepared = runtime::prepare_images(model, o.images, o.image_size);
  const auto texts = report_texts(model, o);
  auto run_vision = [&](backend::Backend& be, size_t i) { (void)runtime::encode_prepared(model, be, prepared[i]); };

  backend::FloatBackend fb(model.n_threads());
  const double work = static_cast<double>((prepared.size() + texts.size()) * (recipes.size() + 2));
  double done = 0;
  auto step = [&](const std::string& what) {
    if (progress) progress(done / work, what);
    done += 1;
  };

  // Activation ranges: the calibration file's, or recorded here on the same inputs.
  quant::Calibration calib;
  if (!o.calibration.empty()) {
    calib = quant::Calibration::load(o.calibration);
    backend::check_calibration(calib, impl.sources(), o.calibration);
    done += static_cast<double>(prepared.size() + texts.size());
  } else {
    backend::RecordingBackend rec(fb, true);
    for (size_t i = 0; i < prepared.size(); ++i) step("calibrating " + o.images[i]), run_vision(rec, i);
    for (const auto& t : texts) step("calibrating text"), (void)runtime::run_text(impl, rec, t);
    calib = quant::Calibration::from_stats(rec.stats());
  }

  QuantReport report;
  report.backend = o.backend;
  report.images = static_cast<int64_t>(prepared.size());
  report.texts = static_cast<int64_t>(texts.size());
  std::map<std::string, std::map<std::string, quant::ErrorStats>> err;  // recipe → layer → stats
  std::map<std::string, quant::LogitStats> logit_stats;
  auto compare = [&](const std::string& recipe, const Layers& ref, const Layers& got) {
    for (const auto& [layer, v] : got) {
      auto it = ref.find(layer);
      if (it == ref.end() || it->second.size() != v.size()) continue;
      err[recipe][layer].add(it->second.data(), v.data(), static_cast<int64_t>(v.size()));
    }
  };
  std::vector<std::shared_ptr<backend::QuantPlan>> plans;
  for (const auto& r : recipes)
    plans.push_back(std::make_shared<backend::QuantPlan>(r, impl.sources(), backend::calibrated_ranges(calib, r, method)));
  auto make_quant = [&](size_t k) {
    return o.backend == "sim" ? backend::make_sim_backend(model.n_threads(), plans[k])
                              : backend::make_npu_backend(model.n_threads(), plans[k]);
  };

  for (size_t i = 0; i < prepared.size(); ++i) {
    step("float " + o.images[i]);
    Capture ref{{}, &report.layers};
    backend::RecordingBackend rf(fb, false, std::ref(ref));
    run_vision(rf, i);
    for (size_t k = 0; k < recipes.size(); ++k) {
      step(recipes[k].name + " " + o.images[i]);
      Capture got;
      auto qb = make_quant(k);
      backend::RecordingBackend rq(*qb, false, std::ref(got));
      run_vision(rq, i);
      compare(recipes[k].name, ref.data, got.data);
    }
  }
  for (const auto& t : texts) {
    if (t.empty()) continue;
    step("float text");
    Capture ref{{}, &report.layers};
    backend::RecordingBackend rf(fb, false, std::ref(ref));
    const auto ref_logits = runtime::run_text(impl, rf, t);
    for (size_t k = 0; k < recipes.size(); ++k) {
      step(recipes[k].name + " text");
      Capture got;
      auto qb = make_quant(k);
      backend::RecordingBackend rq(*qb, false, std::ref(got));
      const auto q_logits = runtime::run_text(impl, rq, t, plans[k].get());
      compare(recipes[k].name, ref.data, got.data);
      logit_stats[recipes[k].name].add(ref_logits.data(), q_logits.data(), static_cast<int64_t>(t.size()),
                                       model.info().n_vocab);
    }
  }

  for (const auto& r : recipes) report.recipes.push_back(r.name);
  for (const auto& layer : report.layers)
    for (const auto& r : recipes) {
      const auto& s = err[r.name][layer];
      QuantReportRecord rec{r.name, layer, s.sqnr_db(), s.rms_pct(), std::nullopt, std::nullopt};
      if (layer == "logits" && logit_stats.count(r.name)) {
        rec.kl = logit_stats[r.name].mean_kl();
        rec.top1 = logit_stats[r.name].top1();
      }
      report.records.push_back(std::move(rec));
    }
  if (progress) progress(1.0, "done");
  return report;
}

const QuantReportRecord* QuantReport::find(std::string_view recipe, std::string_view layer) const {
  for (const auto& r : records)
    if (r.recipe == recipe && r.layer == layer) return &r;
  return nullptr;
}

std::string QuantReport::to_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& r : records) {
    nlohmann::ordered_json rec{{"recipe", r.recipe}, {"tensor", r.layer}, {"sqnr_db", r.sqnr_db}, {"rms_pct", r.rms_pct}};
    if (std::isinf(r.sqnr_db)) rec["sqnr_db"] = nullptr;
    if (r.kl) rec["kl"] = *r.kl;
    if (r.top1) rec["top1"] = *r.top1;
    out.push_back(std::move(rec));
  }
  return out.dump(1) + "\n";
}

std::string QuantReport::to_svg() const {
  format::LineChart chart{"SQNR per layer (" + backend + ")", "layer", "SQNR (dB)", layers, {}};
  for (const auto& recipe : recipes) {
    format::Series s{recipe, {}};
    for (const auto& layer : layers) {
      const auto* r = find(recipe, layer);
      s.y.push_back(r ? r->sqnr_db : std::numeric_limits<double>::quiet_NaN());
    }
    chart.series.push_back(std::move(s));
  }
  return format::render_svg(chart);
}

}  // namespace autoneural
