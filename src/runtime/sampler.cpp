// Token sampling in llama.cpp's default order: repetition penalty, top-k, top-p, min-p, temperature,
// then a draw from the remaining distribution (or argmax when the temperature is 0). Each stage transforms
// the candidate array as llama.cpp's sampler of the same name does (tests/refs/sampler holds references
// computed by llama.cpp's sampler chain, checked stage by stage in tests/test_sampler.cpp).
#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>

#include "autoneural/llm.h"
#include "runtime/sampler_stages.h"

namespace autoneural {
namespace runtime {
namespace {

// Largest logit first; the lowest id first among equal logits.
bool by_logit(const SamplerCandidate& a, const SamplerCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// p = exp(logit - max) / sum, the sum accumulated in Acc (float: llama.cpp's top-p; double: its draw).
template <class Acc>
void softmax_with(std::span<SamplerCandidate> c) {
  if (c.empty()) return;
  float mx = c[0].logit;
  for (const auto& x : c) mx = std::max(mx, x.logit);
  Acc sum = 0;
  for (auto& x : c) sum += (x.p = std::exp(x.logit - mx));
  for (auto& x : c) x.p = static_cast<float>(x.p / sum);
}

void sort_by_logit(SamplerCandidates& c, size_t k) {
  std::partial_sort(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(k), c.data.end(), by_logit);
  c.data.resize(k);
  c.sorted = true;
}

// Every id in the last repeat_last_n tokens of the history (all of it when negative), once: a positive
// logit is divided by the penalty, any other multiplied (so that a penalty > 1 always demotes).
void repeat_penalty(SamplerCandidates& c, std::span<const int32_t> history, const SamplingOptions& o) {
  if (o.repeat_penalty == 1.0f || o.repeat_last_n == 0) return;
  const size_t n = o.repeat_last_n < 0 ? history.size() : std::min<size_t>(history.size(), o.repeat_last_n);
  const std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
  for (int32_t id : seen) {
    if (id < 0 || static_cast<size_t>(id) >= c.data.size()) continue;
    float& l = c.data[static_cast<size_t>(id)].logit;  // still in id order: the first stage
    l = l <= 0 ? l * o.repeat_penalty : l / o.repeat_penalty;
  }
  c.sorted = false;
}

// The k largest logits, sorted.
void top_k(SamplerCandidates& c, int k) {
  if (k <= 0) return;
  sort_by_logit(c, std::min(static_cast<size_t>(k), c.data.size()));
}

// The smallest sorted prefix whose probability (softmax of the current set, summed in float) reaches p.
void top_p(SamplerCandidates& c, float p) {
  if (p >= 1.0f) return;
  softmax_with<float>(c.data);
  if (!c.sorted) sort_by_logit(c, c.data.size());
  float cum = 0;
  size_t keep = c.data.size();
  for (size_t i = 0; i < c.data.size(); ++i) {
    cum += c.data[i].p;
    if (cum >= p) {
      keep = i + 1;
      break;
    }
  }
  c.data.resize(keep);
}

// The candidates whose probability is at least min_p times the largest, decided on the logits
// (logit >= max + log(min_p)); the order is kept. Above 1 only the largest remains.
void min_p(SamplerCandidates& c, float min_p) {
  if (min_p <= 0.0f || c.data.empty()) return;
  float mx = c.data[0].logit;
  for (const auto& x : c.data) mx = std::max(mx, x.logit);
  const float min_logit = mx + std::log(min_p);
  if (min_p > 1.0f) {
    sort_by_logit(c, 1);
    return;
  }
  std::erase_if(c.data, [&](const SamplerCandidate& x) { return x.logit < min_logit; });
}

void temperature(SamplerCandidates& c, float t) {
  for (auto& x : c.data) x.logit /= t;
}

}  // namespace

const char* stage_name(SamplerStageKind kind) {
  switch (kind) {
    case SamplerStageKind::RepeatPenalty: return "repeat_penalty";
    case SamplerStageKind::TopK: return "top_k";
    case SamplerStageKind::TopP: return "top_p";
    case SamplerStageKind::MinP: return "min_p";
    case SamplerStageKind::Temperature: return "temperature";
  }
  return "?";
}

void softmax(std::span<SamplerCandidate> candidates) { softmax_with<double>(candidates); }

void apply_sampler_stages(SamplerCandidates& c, std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& o, const SamplerStageObserver& observe) {
  if (logits.empty()) throw Error("sampler: empty logits");
  c.data.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c.data[i] = {static_cast<int32_t>(i), logits[i], 0.0f};
  c.sorted = false;
  auto done = [&](SamplerStageKind kind) {
    if (observe) observe(kind, c);
  };
  repeat_penalty(c, history, o);
  done(SamplerStageKind::RepeatPenalty);
  if (o.temperature <= 0.0f) return;
  top_k(c, o.top_k);
  done(SamplerStageKind::TopK);
  top_p(c, o.top_p);
  done(SamplerStageKind::TopP);
  min_p(c, o.min_p);
  done(SamplerStageKind::MinP);
  temperature(c, o.temperature);
  done(SamplerStageKind::Temperature);
}

std::vector<SamplerStage> run_sampler_stages(std::span<const float> logits, std::span<const int32_t> history,
                                             const SamplingOptions& options) {
  std::vector<SamplerStage> stages;
  SamplerCandidates c;
  apply_sampler_stages(c, logits, history, options, [&](SamplerStageKind kind, const SamplerCandidates& now) {
    stages.push_back({kind, now.data, now.sorted});
    softmax(stages.back().candidates);
  });
  return stages;
}

}  // namespace runtime

struct Sampler::Impl {
  SamplingOptions opt;
  std::mt19937_64 rng;
  runtime::SamplerCandidates cand;
};

Sampler::Sampler(const SamplingOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = options;
  impl_->rng.seed(options.seed);
}
Sampler::~Sampler() = default;

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  auto& cand = impl_->cand.data;
  runtime::apply_sampler_stages(impl_->cand, logits, history, impl_->opt);
  if (impl_->opt.temperature <= 0.0f) {
    // Greedy over the penalized logits (still in id order): the lowest id wins ties, as llama.cpp's argmax.
    return std::max_element(cand.begin(), cand.end(), [](const auto& a, const auto& b) { return a.logit < b.logit; })
        ->id;
  }
  // A draw in array order, as llama.cpp's dist sampler.
  runtime::softmax(cand);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = uniform(impl_->rng), cum = 0;
  for (const auto& c : cand) {
    cum += c.p;
    if (r < cum) return c.id;
  }
  return cand.back().id;
}

}  // namespace autoneural
