// Sampling: every stage of the sampler against references computed by llama.cpp's sampler chain
// (tests/refs/sampler/llama_cpp_sampler_refs.json, written by tests/refs/sampler/gen_sampler_refs.cpp),
// and the draw's behaviour.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "autoneural/llm.h"
#include "format/mapped_file.h"
#include "runtime/sampler_stages.h"
#include "test_util.h"

namespace autoneural {
namespace {

using nlohmann::json;

// The logits go through the same float operations as llama.cpp's: equal within 4 ulps (EXPECT_FLOAT_EQ;
// bit-identical in practice). The probabilities differ from the generator's double-precision softmax by
// float rounding only.
constexpr double kProbAbsTol = 1e-6;

const json& refs() {
  static const json j = json::parse(
      format::read_text_file(std::string(AUTONEURAL_SOURCE_DIR) + "/tests/refs/sampler/llama_cpp_sampler_refs.json"));
  return j;
}

SamplingOptions options_of(const json& c) {
  const json& p = c.at("params");
  return {.temperature = p.at("temperature").get<float>(),
          .top_k = p.at("top_k").get<int>(),
          .top_p = p.at("top_p").get<float>(),
          .min_p = p.at("min_p").get<float>(),
          .repeat_penalty = p.at("repeat_penalty").get<float>(),
          .repeat_last_n = p.at("repeat_last_n").get<int>()};
}

std::vector<int32_t> ids_of(const std::vector<runtime::SamplerCandidate>& c) {
  std::vector<int32_t> ids;
  for (const auto& x : c) ids.push_back(x.id);
  return ids;
}

// One case: every stage's array (ids in order, `sorted`, logits, probabilities), then the distribution the
// draw uses, which llama.cpp's dist sampler computes over the last stage's array.
void expect_case_matches(const json& c) {
  const auto logits = c.at("logits").get<std::vector<float>>();
  const auto history = c.at("history").get<std::vector<int32_t>>();
  const auto stages = runtime::run_sampler_stages(logits, history, options_of(c));
  const json& ref = c.at("stages");
  ASSERT_EQ(stages.size(), ref.size());
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto& got = stages[s];
    const json& want = ref[s];
    SCOPED_TRACE(want.at("stage").get<std::string>());
    EXPECT_EQ(runtime::stage_name(got.kind), want.at("stage").get<std::string>());
    EXPECT_EQ(got.sorted, want.at("sorted").get<bool>());
    ASSERT_EQ(ids_of(got.candidates), want.at("ids").get<std::vector<int32_t>>());
    const auto want_logits = want.at("logits").get<std::vector<float>>();
    const auto want_probs = want.at("probs").get<std::vector<double>>();
    for (size_t i = 0; i < got.candidates.size(); ++i) {
      EXPECT_FLOAT_EQ(got.candidates[i].logit, want_logits[i]) << "candidate " << i;
      EXPECT_NEAR(got.candidates[i].p, want_probs[i], kProbAbsTol) << "candidate " << i;
    }
  }
  const json& dist = c.at("dist");
  ASSERT_EQ(ids_of(stages.back().candidates), dist.at("ids").get<std::vector<int32_t>>());
  const auto dist_probs = dist.at("probs").get<std::vector<double>>();
  for (size_t i = 0; i < dist_probs.size(); ++i)
    EXPECT_NEAR(stages.back().candidates[i].p, dist_probs[i], kProbAbsTol) << "candidate " << i;
}

TEST(SamplerStages, MatchLlamaCppStageByStage) {
  const json& cases = refs().at("cases");
  ASSERT_GE(cases.size(), 20u);
  EXPECT_EQ(refs().at("llama_cpp").at("commit").get<std::string>().size(), 40u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    expect_case_matches(c);
  }
}

// The references exercise what they are meant to: each stage changes the array in some case, the penalty
// touches only ids in its window and leaves out some seen only before it, a negative logit is penalized,
// and a stage cuts an unsorted array (min-p keeps the id order).
TEST(SamplerStages, ReferencesExerciseEveryStage) {
  std::set<std::string> changed;
  bool window_excludes = false, negative_penalized = false, unsorted_cut = false;
  for (const json& c : refs().at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const auto input = c.at("logits").get<std::vector<double>>();
    const auto history = c.at("history").get<std::vector<int32_t>>();
    const size_t last_n = c.at("params").at("repeat_last_n").get<size_t>();
    const auto window = std::span(history).last(std::min(history.size(), last_n));
    auto in_window = [&](int32_t id) { return std::find(window.begin(), window.end(), id) != window.end(); };
    const auto penalized = c.at("stages")[0].at("logits").get<std::vector<double>>();
    for (size_t i = 0; i < input.size(); ++i) {
      const int32_t id = static_cast<int32_t>(i);
      if (penalized[i] != input[i]) {
        EXPECT_TRUE(in_window(id)) << "id " << id << " penalized outside the window";
        negative_penalized |= input[i] < 0;
      } else if (std::find(history.begin(), history.end(), id) != history.end() && !in_window(id)) {
        window_excludes = true;
      }
    }
    std::vector<int32_t> prev_ids(input.size());
    for (size_t i = 0; i < input.size(); ++i) prev_ids[i] = static_cast<int32_t>(i);
    std::vector<double> prev_logits = input;
    for (const json& st : c.at("stages")) {
      const auto ids = st.at("ids").get<std::vector<int32_t>>();
      const auto logits = st.at("logits").get<std::vector<double>>();
      if (ids != prev_ids || logits != prev_logits) changed.insert(st.at("stage").get<std::string>());
      if (!st.at("sorted").get<bool>() && ids.size() < prev_ids.size()) unsorted_cut = true;
      prev_ids = ids;
      prev_logits = logits;
    }
  }
  EXPECT_EQ(changed, (std::set<std::string>{"repeat_penalty", "top_k", "top_p", "min_p", "temperature"}));
  EXPECT_TRUE(window_excludes);
  EXPECT_TRUE(negative_penalized);
  EXPECT_TRUE(unsorted_cut);
}

// Sampler::sample draws from the last stage with its probabilities, and with temperature 0 takes the argmax
// of the penalized logits.
TEST(SamplerStages, SampleDrawsFromTheLastStage) {
  for (const json& c : refs().at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    if (name != "default_chain" && name != "all_stages_b") continue;
    SCOPED_TRACE(name);
    const auto logits = c.at("logits").get<std::vector<float>>();
    const auto history = c.at("history").get<std::vector<int32_t>>();
    const auto ids = c.at("dist").at("ids").get<std::vector<int32_t>>();
    const auto probs = c.at("dist").at("probs").get<std::vector<double>>();
    SamplingOptions o = options_of(c);
    o.seed = 5;
    Sampler s(o);
    std::vector<int> count(logits.size());
    const int n = 20000;
    for (int i = 0; i < n; ++i) ++count.at(static_cast<size_t>(s.sample(logits, history)));
    int drawn = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_NEAR(count[ids[i]] / static_cast<double>(n), probs[i], 0.015) << "id " << ids[i];
      drawn += count[ids[i]];
    }
    EXPECT_EQ(drawn, n);  // nothing outside the last stage

    const auto penalized = c.at("stages")[0].at("logits").get<std::vector<double>>();
    o.temperature = 0;
    Sampler greedy(o);
    EXPECT_EQ(greedy.sample(logits, history), std::max_element(penalized.begin(), penalized.end()) - penalized.begin());
  }
}

TEST(Sampler, GreedyTakesTheArgmaxAndTheLowestIdOnTies) {
  Sampler s({.temperature = 0});
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 3.0f}, {}), 1);
  EXPECT_EQ(s.sample(std::vector<float>{5.0f}, {}), 0);
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  Sampler s({.temperature = 5.0f, .top_k = 1, .top_p = 1.0f, .min_p = 0.0f});
  const std::vector<float> logits = {0.5f, 0.2f, 2.5f, 2.4f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits, {}), 2);
}

TEST(Sampler, SameSeedSameSequence) {
  const std::vector<float> logits = {1.0f, 1.1f, 0.9f, 1.2f, 0.8f};
  SamplingOptions o{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 99};
  Sampler a(o), b(o);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits, {}), b.sample(logits, {}));
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // Unrestricted sampling at temperature 1 draws id i with probability softmax(logits)[i].
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  Sampler s({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 7});
  std::vector<int> count(4);
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[s.sample(logits, {})];
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(count[i] / static_cast<double>(n), (i + 1) / 10.0, 0.015) << i;
}

TEST(Sampler, TopPAndMinPCutTheTail) {
  // Probabilities 0.5, 0.25, 0.125, 0.125: top-p 0.7 keeps ids 0 and 1 only.
  const std::vector<float> logits = {std::log(4.0f), std::log(2.0f), 0.0f, 0.0f};
  Sampler top_p({.temperature = 1.0f, .top_k = 0, .top_p = 0.7f, .min_p = 0.0f, .seed = 3});
  Sampler min_p({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.4f, .seed = 3});
  for (int i = 0; i < 500; ++i) {
    EXPECT_LE(top_p.sample(logits, {}), 1);
    EXPECT_LE(min_p.sample(logits, {}), 1);  // 0.125 < 0.4 · 0.5
  }
}

TEST(Sampler, RepetitionPenaltyDemotesRecentTokens) {
  const std::vector<float> logits = {2.0f, 1.9f, -1.0f};
  Sampler plain({.temperature = 0});
  Sampler penalized({.temperature = 0, .repeat_penalty = 1.5f, .repeat_last_n = 4});
  const std::vector<int32_t> history = {5, 0};
  EXPECT_EQ(plain.sample(logits, history), 0);
  EXPECT_EQ(penalized.sample(logits, history), 1);  // 2.0 / 1.5 < 1.9
  EXPECT_THROW(plain.sample(std::vector<float>{}, {}), Error);
}

}  // namespace
}  // namespace autoneural
