/*
Writes llama_cpp_sampler_refs.json: for fixed logits and histories, the candidate array after each stage
of llama.cpp's default sampler chain (repetition penalty, top-k, top-p, min-p, temperature), computed
by libllama's public sampler API, plus the probabilities its dist sampler draws from at the end.

A reference tool, not part of the build (CMake does not compile it); it needs llama.cpp, which is
neither in this repository nor fetched by it. The committed JSON was produced with llama.cpp
https://github.com/unslothai/llama.cpp at commit d32676d77426540327835040d5d3279728f0b4c8, by:

  mkdir -p /tmp/llama.cpp && git --git-dir=<clone>/.git archive d32676d77426540327835040d5d3279728f0b4c8 \
      -- ':!docs' ':!models' | tar -x -C /tmp/llama.cpp
  cmake -S /tmp/llama.cpp -B /tmp/llama-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
      -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
      -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_COMMON=OFF -DBUILD_SHARED_LIBS=ON
  cmake --build /tmp/llama-build --target llama -j2
  g++ -std=c++20 -O2 -I/tmp/llama.cpp/include -I/tmp/llama.cpp/ggml/include \
      tests/refs/sampler/gen_sampler_refs.cpp -o /tmp/gen_sampler_refs -L/tmp/llama-build/bin -lllama \
      -Wl,-rpath,/tmp/llama-build/bin
  /tmp/gen_sampler_refs d32676d77426540327835040d5d3279728f0b4c8 > tests/refs/sampler/llama_cpp_sampler_refs.json

Each stage is its own llama_sampler (llama_sampler_init_penalties / _top_k / _top_p / _min_p /
_temp_ext with no dynamic range, min_keep 0: common_params_sampling's defaults), applied with
llama_sampler_apply to one llama_token_data_array in turn, so the array (its order and `sorted` flag
included) is exactly what the chain hands from one stage to the next. The penalty history goes in
through llama_sampler_accept. Only the temperature-0 path (greedy) is not covered: it is an argmax.
*/
#include <llama.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

namespace {

struct Params {
  float repeat_penalty = 1.0f;
  int repeat_last_n = 64;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float temperature = 1.0f;
};

struct Case {
  std::string name, description;
  int vocab;
  uint32_t seed;
  float lo, hi;  // logits drawn uniformly from [lo, hi) by the LCG below
  std::vector<int32_t> history;
  Params params;
};

// Numerical Recipes' LCG; 24 bits of each state give the uniform number.
std::vector<float> make_logits(int n, uint32_t seed, float lo, float hi) {
  std::vector<float> out;
  uint32_t s = seed;
  for (int i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    const double u = static_cast<double>(s >> 8) / 16777216.0;
    out.push_back(static_cast<float>(lo + (hi - lo) * u));
  }
  return out;
}

// A history for the penalty: `outside` ids that occur only before the last `window` tokens, then a window
// holding ids with positive and negative logits (some repeated) and an id outside the vocabulary.
std::vector<int32_t> make_history(const std::vector<float>& logits, size_t outside, size_t window) {
  std::vector<int32_t> pos, neg;
  for (size_t i = 0; i < logits.size(); ++i) (logits[i] > 0 ? pos : neg).push_back(static_cast<int32_t>(i));
  if (pos.size() < 8 || neg.size() < 8) {
    std::fprintf(stderr, "make_history: too few positive or negative logits\n");
    std::exit(1);
  }
  std::vector<int32_t> h;
  // Before the window: ids that the window does not hold (pos[6], pos[7], neg[6]) and ones it does.
  const int32_t before[] = {pos[6], neg[6], pos[0], pos[7], neg[1]};
  for (size_t i = 0; i < outside; ++i) h.push_back(before[i % 5]);
  const int32_t in[] = {pos[0], neg[0], pos[1], pos[0], neg[1], pos[2], static_cast<int32_t>(logits.size()) + 3,
                        neg[2], pos[3], pos[0], neg[0], pos[4]};
  for (size_t i = 0; i < window; ++i) h.push_back(in[i % 12]);
  return h;
}

void print_floats(const char* key, const std::vector<double>& v) {
  std::printf("\"%s\": [", key);
  for (size_t i = 0; i < v.size(); ++i) std::printf("%s%.9g", i ? ", " : "", v[i]);
  std::printf("]");
}

void print_ids(const char* key, const llama_token_data_array& a) {
  std::printf("\"%s\": [", key);
  for (size_t i = 0; i < a.size; ++i) std::printf("%s%d", i ? ", " : "", a.data[i].id);
  std::printf("]");
}

// The softmax of the surviving logits, in double precision: what this generator reports as a stage's
// probabilities (the penalty, top-k, min-p and temperature samplers leave p unset; top-p sets it over the
// set before its cut).
std::vector<double> softmax(const llama_token_data_array& a) {
  double mx = -INFINITY, sum = 0;
  for (size_t i = 0; i < a.size; ++i) mx = std::max(mx, static_cast<double>(a.data[i].logit));
  std::vector<double> p;
  for (size_t i = 0; i < a.size; ++i) sum += p.emplace_back(std::exp(a.data[i].logit - mx));
  for (auto& x : p) x /= sum;
  return p;
}

void check_distinct(const llama_token_data_array& a, const std::string& name) {
  std::set<float> seen;
  for (size_t i = 0; i < a.size; ++i)
    if (!seen.insert(a.data[i].logit).second) {
      // Equal logits would make llama.cpp's order (std::partial_sort by logit alone) unspecified.
      std::fprintf(stderr, "%s: equal logits after the penalty; pick another seed\n", name.c_str());
      std::exit(1);
    }
}

void run_case(const Case& c, bool last) {
  const std::vector<float> logits = make_logits(c.vocab, c.seed, c.lo, c.hi);
  const Params& p = c.params;
  llama_sampler* stages[] = {
      llama_sampler_init_penalties(c.vocab, p.repeat_last_n, p.repeat_penalty, 0.0f, 0.0f),
      llama_sampler_init_top_k(p.top_k),
      llama_sampler_init_top_p(p.top_p, 0),
      llama_sampler_init_min_p(p.min_p, 0),
      llama_sampler_init_temp_ext(p.temperature, 0.0f, 1.0f),
  };
  const char* names[] = {"repeat_penalty", "top_k", "top_p", "min_p", "temperature"};
  for (int32_t id : c.history) llama_sampler_accept(stages[0], id);

  std::vector<llama_token_data> data;
  for (int i = 0; i < c.vocab; ++i) data.push_back({i, logits[static_cast<size_t>(i)], 0.0f});
  llama_token_data_array a{data.data(), data.size(), -1, false};

  std::printf("    {\n      \"name\": \"%s\",\n      \"description\": \"%s\",\n", c.name.c_str(),
              c.description.c_str());
  std::printf("      \"logits_formula\": {\"n\": %d, \"seed\": %u, \"lo\": %.9g, \"hi\": %.9g},\n", c.vocab, c.seed,
              c.lo, c.hi);
  std::printf("      ");
  print_floats("logits", std::vector<double>(logits.begin(), logits.end()));
  std::printf(",\n      \"history\": [");
  for (size_t i = 0; i < c.history.size(); ++i) std::printf("%s%d", i ? ", " : "", c.history[i]);
  std::printf("],\n");
  std::printf(
      "      \"params\": {\"repeat_penalty\": %.9g, \"repeat_last_n\": %d, \"top_k\": %d, \"top_p\": %.9g, "
      "\"min_p\": %.9g, \"temperature\": %.9g},\n",
      p.repeat_penalty, p.repeat_last_n, p.top_k, p.top_p, p.min_p, p.temperature);
  std::printf("      \"stages\": [\n");
  for (int s = 0; s < 5; ++s) {
    llama_sampler_apply(stages[s], &a);
    if (s == 0) check_distinct(a, c.name);
    std::vector<double> l;
    for (size_t i = 0; i < a.size; ++i) l.push_back(a.data[i].logit);
    std::printf("        {\"stage\": \"%s\", \"llama_sampler\": \"%s\", \"sorted\": %s,\n          ", names[s],
                llama_sampler_name(stages[s]), a.sorted ? "true" : "false");
    print_ids("ids", a);
    std::printf(",\n          ");
    print_floats("logits", l);
    std::printf(",\n          ");
    print_floats("probs", softmax(a));
    std::printf("}%s\n", s < 4 ? "," : "");
  }
  std::printf("      ],\n");
  // The draw: llama.cpp's dist sampler normalizes p over the final array (its pick is not recorded).
  llama_sampler* dist = llama_sampler_init_dist(1234);
  llama_sampler_apply(dist, &a);
  std::vector<double> dp;
  for (size_t i = 0; i < a.size; ++i) dp.push_back(a.data[i].p);
  std::printf("      \"dist\": {");
  print_ids("ids", a);
  std::printf(", ");
  print_floats("probs", dp);
  std::printf("}\n    }%s\n", last ? "" : ",");
  llama_sampler_free(dist);
  for (auto* s : stages) llama_sampler_free(s);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <llama.cpp commit>\n", argv[0]);
    return 2;
  }
  std::vector<Case> cases;
  auto add = [&](std::string name, std::string description, int vocab, uint32_t seed, float lo, float hi, Params params,
                 size_t outside = 0, size_t window = 0) {
    const auto logits = make_logits(vocab, seed, lo, hi);
    cases.push_back({std::move(name), std::move(description), vocab, seed, lo, hi,
                     window ? make_history(logits, outside, window) : std::vector<int32_t>{}, params});
  };
  // Stages alone (the others off: top_k 0, top_p 1, min_p 0, temperature 1, repeat_penalty 1).
  add("repeat_penalty_window",
      "penalty 1.3 over the last 16 of 40 tokens: repeated ids, negative logits, an id beyond the vocabulary, ids only "
      "before the window",
      64, 11, -6, 6, {.repeat_penalty = 1.3f, .repeat_last_n = 16}, 24, 16);
  add("repeat_penalty_below_one", "penalty 0.8 (rewards repetition) over the last 10 of 30 tokens", 64, 12, -5, 7,
      {.repeat_penalty = 0.8f, .repeat_last_n = 10}, 20, 10);
  add("repeat_last_n_beyond_history", "repeat_last_n 64 with 12 tokens of history: all of it counts", 72, 13, -6, 6,
      {.repeat_penalty = 1.5f, .repeat_last_n = 64}, 0, 12);
  add("top_k_5", "top-k 5", 80, 21, -4, 8, {.top_k = 5});
  add("top_k_20_temperature_0_7", "top-k 20, temperature 0.7", 80, 22, -4, 8, {.top_k = 20, .temperature = 0.7f});
  add("top_k_beyond_vocab", "top-k 500 over 64 candidates: all kept, sorted", 64, 23, -6, 6, {.top_k = 500});
  add("top_p_0_9", "top-p 0.9 on the unsorted array", 80, 31, -4, 8, {.top_p = 0.9f});
  add("top_p_0_5", "top-p 0.5 on the unsorted array", 80, 32, -4, 8, {.top_p = 0.5f});
  add("top_k_20_top_p_0_5", "top-p 0.5 after top-k 20 (sorted array)", 80, 33, -4, 8, {.top_k = 20, .top_p = 0.5f});
  add("min_p_0_05", "min-p 0.05 on the unsorted array: id order kept", 80, 41, -4, 8, {.min_p = 0.05f});
  add("min_p_0_2", "min-p 0.2 on the unsorted array: id order kept", 80, 42, -4, 8, {.min_p = 0.2f});
  add("top_k_20_min_p_0_2", "min-p 0.2 after top-k 20 (sorted array)", 80, 43, -4, 8, {.top_k = 20, .min_p = 0.2f});
  add("temperature_0_7", "temperature 0.7 alone: all candidates, id order", 60, 51, -5, 5, {.temperature = 0.7f});
  add("temperature_1_5", "temperature 1.5 alone: all candidates, id order", 60, 52, -5, 5, {.temperature = 1.5f});
  add("top_p_0_9_min_p_0_05_temperature_0_7", "top-p 0.9, min-p 0.05, temperature 0.7 without top-k", 90, 61, -5, 7,
      {.top_p = 0.9f, .min_p = 0.05f, .temperature = 0.7f});
  add("peaked_top_p_0_5_min_p_0_2", "logits in [-20, 20): top-p 0.5 and min-p 0.2 on a peaked distribution", 50, 62,
      -20, 20, {.top_p = 0.5f, .min_p = 0.2f});
  // The whole chain.
  add("default_chain",
      "autoneural's defaults with penalty 1.1: last 64, top-k 40, top-p 0.95, min-p 0.05, temperature 0.8", 100, 71, -6,
      8,
      {.repeat_penalty = 1.1f, .repeat_last_n = 64, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .temperature = 0.8f},
      30, 50);
  add("all_stages_a", "penalty 1.3 (last 16), top-k 20, top-p 0.9, min-p 0.05, temperature 1.5", 96, 72, -5, 7,
      {.repeat_penalty = 1.3f, .repeat_last_n = 16, .top_k = 20, .top_p = 0.9f, .min_p = 0.05f, .temperature = 1.5f},
      20, 16);
  add("all_stages_b", "penalty 1.5 (last 32), top-k 50, top-p 0.5, min-p 0.2, temperature 0.7", 96, 73, -3, 5,
      {.repeat_penalty = 1.5f, .repeat_last_n = 32, .top_k = 50, .top_p = 0.5f, .min_p = 0.2f, .temperature = 0.7f}, 16,
      32);
  add("all_stages_c", "penalty 1.2 (last 24), top-k 40, top-p 0.95, min-p 0.2, temperature 1.2: min-p cuts after top-p",
      100, 74, -4, 6,
      {.repeat_penalty = 1.2f, .repeat_last_n = 24, .top_k = 40, .top_p = 0.95f, .min_p = 0.2f, .temperature = 1.2f},
      12, 24);
  add("all_off", "every stage off (top-k 0, top-p 1, min-p 0, penalty 1, temperature 1): the input, id order", 50, 81,
      -6, 6, {}, 8, 8);
  add("off_values_with_penalty", "top-k 0, top-p 1, min-p 0 with penalty 1.3 and temperature 1.5", 64, 82, -6, 6,
      {.repeat_penalty = 1.3f, .repeat_last_n = 8, .temperature = 1.5f}, 8, 8);

  std::printf("{\n");
  std::printf(
      "  \"description\": \"Candidate arrays after each stage of llama.cpp's sampler chain (repetition penalty, top-k, "
      "top-p, min-p, temperature), then the probabilities its dist sampler draws from. Each stage: the ids and logits "
      "in array order, llama_token_data_array.sorted, and probs = the softmax of the surviving logits computed by the "
      "generator in double precision (the penalty, top-k, min-p and temperature samplers leave p unset). dist.probs: p "
      "as llama_sampler_dist normalizes it. Sampled ids are not recorded. min_keep 0; frequency and presence penalties "
      "0; the temperature through llama_sampler_init_temp_ext(t, 0, 1) as common_sampler does. Logits: n values lo + "
      "(hi - lo) * (s >> 8) / 2^24 with s = s * 1664525 + 1013904223 (mod 2^32) from s = seed, as float.\",\n");
  std::printf("  \"llama_cpp\": {\"repository\": \"https://github.com/unslothai/llama.cpp\", \"commit\": \"%s\"},\n",
              argv[1]);
  std::printf(
      "  \"generator\": \"tests/refs/sampler/gen_sampler_refs.cpp (its header comment has the build commands)\",\n");
  std::printf(
      "  \"compile\": \"g++ -std=c++20 -O2 -I/tmp/llama.cpp/include -I/tmp/llama.cpp/ggml/include "
      "tests/refs/sampler/gen_sampler_refs.cpp -o /tmp/gen_sampler_refs -L/tmp/llama-build/bin -lllama "
      "-Wl,-rpath,/tmp/llama-build/bin\",\n");
  std::printf("  \"command\": \"/tmp/gen_sampler_refs %s > tests/refs/sampler/llama_cpp_sampler_refs.json\",\n",
              argv[1]);
  std::printf("  \"cases\": [\n");
  for (size_t i = 0; i < cases.size(); ++i) run_case(cases[i], i + 1 == cases.size());
  std::printf("  ]\n}\n");
  return 0;
}
