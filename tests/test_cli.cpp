// The command-line tool, run as a user would: outputs, exit codes and messages for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace autoneural {
namespace {

using test::lfm2_tiny;

using test::quote;
using test::run_cli;

TEST(Cli, TokenizeJsonMatchesReference) {
  const auto r = run_cli("tokenize -m " + quote(lfm2_tiny("model-f32.gguf")) + " --json --file " +
                         quote(lfm2_tiny("ref/prompts.json")) + " --no-parse-special");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j["ids"].is_array());
  EXPECT_EQ(j["ids"].size(), j["pieces"].size());
  EXPECT_EQ(j["ids"][0], 1);  // BOS
}

TEST(Cli, LogitsMatchesReferenceAndIncremental) {
  test::TempDir dir;
  // The "plain" prompt text, tokenized as-is with BOS (prompts.json: add_special true, parse_special false).
  const auto prompts = nlohmann::json::parse(std::ifstream(lfm2_tiny("ref/prompts.json")));
  std::ofstream(dir.file("p.txt")) << prompts[0]["text"].get<std::string>();
  for (const std::string mode : {"", " --incremental"}) {
    const auto r = run_cli("logits -m " + quote(lfm2_tiny("model-f32.gguf")) + " --prompt-file " + dir.file("p.txt") +
                           " --no-parse-special --out " + dir.file("l.npy") + " --tokens-out " + dir.file("t.npy") + mode);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(test::npy_i32(dir.file("t.npy")), test::npy_i32(lfm2_tiny("ref/plain.tokens.npy")));
    const auto ref = test::npy_f32(lfm2_tiny("ref/plain.logits.f32.npy"));
    const auto d = test::compare(test::npy_f32(dir.file("l.npy")), ref, 640);
    EXPECT_LE(d.max_abs, 1e-4 * d.max_ref) << mode;
  }
}

TEST(Cli, GenerateGreedyMatchesReference) {
  // Greedy continuation of the "plain" prompt; the reference's first tokens decode to this text.
  const auto prompts = nlohmann::json::parse(std::ifstream(lfm2_tiny("ref/prompts.json")));
  const auto r = run_cli("generate -m " + quote(lfm2_tiny("model-f32.gguf")) + " -p " +
                         quote(prompts[0]["text"].get<std::string>()) + " -n 5 --temp 0 -q --no-parse-special");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(r.out.empty());
}

TEST(Cli, BenchJsonHasTheRequiredFields) {
  const auto r = run_cli("bench -m " + quote(lfm2_tiny("model-q4_0.gguf")) + " -p 16 -n 4 -r 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"prefill_tok_s", "decode_tok_s", "ttft_ms", "peak_rss_mb"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  }
}

struct BadCase {
  std::string args, fragment;
  int exit_code;
};

TEST(Cli, BadInputGivesAClearErrorAndNonZeroExit) {
  test::TempDir dir;
  std::ofstream(dir.file("long.txt")) << std::string(3000, 'x') + " and more words to make it long";
  std::ofstream(dir.file("junk.gguf")) << "GGUF but not really";
  const std::string m = " -m " + quote(lfm2_tiny("model-f32.gguf"));
  const std::vector<BadCase> cases = {
      {"", "usage", 2},
      {"frobnicate", "unknown command", 2},
      {"generate" + m + " -p hi --frobnicate", "unknown option '--frobnicate'", 2},
      {"generate" + m + " -p hi -n many", "expected an integer", 2},
      {"generate" + m + " -p hi --temp", "needs a value", 2},
      {"generate -p hi", "needs a model", 2},
      {"generate -m /nonexistent/model.gguf -p hi", "no such file", 1},
      {"generate -m " + dir.file("junk.gguf") + " -p hi", "junk.gguf", 1},
      {"generate" + m + " -c 64 -f " + dir.file("long.txt"), "context", 1},
      {"logits" + m + " --prompt-file " + dir.file("long.txt") + " -c 64 --out " + dir.file("x.npy"), "context", 1},
      {"logits" + m + " --prompt-file /nonexistent.txt --out " + dir.file("x.npy"), "nonexistent", 1},
      {"logits" + m + " --prompt-file " + dir.file("long.txt") + " --out " + dir.file("x.npy") + " --backend gpu",
       "unknown backend", 2},
      {"convert /nonexistent " + dir.file("o.gguf"), "/nonexistent", 1},
      {"convert " + quote(lfm2_tiny("hf")) + " " + dir.file("o.gguf") + " --type q5_9", "unsupported --type", 2},
      {"make-model --size 9b " + dir.file("o.gguf"), "unknown LFM2 size", 1},
      {"generate" + m + " -p hi --cache-type f8", "unknown cache type", 2},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("Segmentation"), std::string::npos) << c.args;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.npy")));  // no partial output left behind
}

}  // namespace
}  // namespace autoneural
