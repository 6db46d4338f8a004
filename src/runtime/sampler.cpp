// Token sampling in llama.cpp's default order: repetition penalty, top-k, top-p, min-p, temperature,
// then a draw from the remaining distribution (or argmax when the temperature is 0).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_set>

#include "autoneural/llm.h"

namespace autoneural {

struct Sampler::Impl {
  SamplingOptions opt;
  std::mt19937_64 rng;
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  std::vector<Candidate> cand;
};

Sampler::Sampler(const SamplingOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = options;
  impl_->rng.seed(options.seed);
}
Sampler::~Sampler() = default;

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.empty()) throw Error("sampler: empty logits");
  const SamplingOptions& o = impl_->opt;
  auto& cand = impl_->cand;
  cand.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) cand[i] = {static_cast<int32_t>(i), logits[i], 0.0f};

  if (o.repeat_penalty != 1.0f && o.repeat_last_n != 0) {
    const size_t n = o.repeat_last_n < 0 ? history.size() : std::min<size_t>(history.size(), o.repeat_last_n);
    std::unordered_set<int32_t> seen(history.end() - n, history.end());
    for (int32_t id : seen) {
      if (id < 0 || static_cast<size_t>(id) >= cand.size()) continue;
      float& l = cand[id].logit;
      l = l > 0 ? l / o.repeat_penalty : l * o.repeat_penalty;
    }
  }
  if (o.temperature <= 0.0f) {
    // Greedy; the lowest id wins ties (as llama.cpp's argmax).
    size_t best = 0;
    for (size_t i = 1; i < cand.size(); ++i)
      if (cand[i].logit > cand[best].logit) best = i;
    return cand[best].id;
  }
  using Candidate = Impl::Candidate;
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t keep = cand.size();
  if (o.top_k > 0 && static_cast<size_t>(o.top_k) < keep) {
    keep = static_cast<size_t>(o.top_k);
    std::partial_sort(cand.begin(), cand.begin() + keep, cand.end(), by_logit);
  } else {
    std::sort(cand.begin(), cand.end(), by_logit);
  }
  cand.resize(keep);
  auto softmax = [&](float temperature) {
    const float mx = cand[0].logit;
    double sum = 0;
    for (auto& c : cand) sum += (c.p = std::exp((c.logit - mx) / temperature));
    for (auto& c : cand) c.p = static_cast<float>(c.p / sum);
  };
  softmax(1.0f);
  if (o.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < cand.size()) {
      cum += cand[n++].p;
      if (cum >= o.top_p) break;
    }
    cand.resize(std::max<size_t>(1, n));
  }
  if (o.min_p > 0.0f) {
    const float threshold = o.min_p * cand[0].p;
    size_t n = 1;
    while (n < cand.size() && cand[n].p >= threshold) ++n;
    cand.resize(n);
  }
  softmax(o.temperature);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = uniform(impl_->rng), cum = 0;
  for (const auto& c : cand) {
    cum += c.p;
    if (r < cum) return c.id;
  }
  return cand.back().id;
}

}  // namespace autoneural
