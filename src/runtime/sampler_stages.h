// The stages of Sampler::sample, observable one by one: repetition penalty, top-k, top-p, min-p and
// temperature, each transforming the candidate array as llama.cpp's sampler of the same name transforms
// its llama_token_data_array (the array order, the `sorted` flag and the float arithmetic included), so
// that tests can compare every stage with references computed by llama.cpp's sampler chain.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "autoneural/llm.h"

namespace autoneural::runtime {

struct SamplerCandidate {
  int32_t id;
  float logit;
  float p;  // set by softmax() (and by the top-p stage, over the set it cuts)
};

// The candidate array between stages. `sorted`: by logit, largest first; until a stage sorts it, it is
// in id order (the stages that do not sort keep the order they find).
struct SamplerCandidates {
  std::vector<SamplerCandidate> data;
  bool sorted = false;
};

enum class SamplerStageKind { RepeatPenalty, TopK, TopP, MinP, Temperature };
// "repeat_penalty", "top_k", "top_p", "min_p", "temperature".
const char* stage_name(SamplerStageKind kind);

// p = softmax of the logits, in array order: exp in float, the sum in double (as the final draw uses it).
void softmax(std::span<SamplerCandidate> candidates);

using SamplerStageObserver = std::function<void(SamplerStageKind, const SamplerCandidates&)>;

// Fills `c` with the logits (id order) and applies the stages in order, calling `observe` (if set) after
// each one, disabled stages included. With temperature <= 0 (greedy) only the repetition penalty runs.
// Throws on empty logits.
void apply_sampler_stages(SamplerCandidates& c, std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& options, const SamplerStageObserver& observe = {});

struct SamplerStage {
  SamplerStageKind kind;
  std::vector<SamplerCandidate> candidates;  // in array order; p = softmax() of the surviving logits
  bool sorted;
};
// Every stage's output, for tests and diagnostics.
std::vector<SamplerStage> run_sampler_stages(std::span<const float> logits, std::span<const int32_t> history,
                                             const SamplingOptions& options);

}  // namespace autoneural::runtime
