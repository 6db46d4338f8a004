// The command-line tool's answers as token ids, against the fixtures' references: `generate` greedy
// continuations (llama.cpp, F32 model), `run` on an image (the vlm fixture's one_image case), `tokenize
// --json` on every tokenizer case (llama.cpp's llama_tokenize), and `generate` on the quantized files
// against the library's own greedy decoding (which test_lfm2.cpp holds against llama.cpp's).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "autoneural/llm.h"
#include "format/json.h"
#include "test_util.h"

namespace autoneural {
namespace {

using test::quote;

// The JSON line `--json` prints (the last line of the output that starts with '{').
nlohmann::json json_line(const test::RunResult& r) {
  size_t end = r.out.size();
  while (end > 0) {
    const size_t begin = r.out.rfind('\n', end - 1);
    const size_t from = begin == std::string::npos ? 0 : begin + 1;
    if (from < end && r.out[from] == '{') return nlohmann::json::parse(r.out.substr(from, end - from));
    if (begin == std::string::npos) break;
    end = begin;
  }
  ADD_FAILURE() << "no JSON line in:\n" << r.out;
  return nlohmann::json::object();
}

struct Prompt {
  std::string name, text;
  bool add_special = true, parse_special = true;
};

std::vector<Prompt> fixture_prompts() {
  const auto j = format::parse_json_file(test::lfm2_tiny("ref/prompts.json"));
  std::vector<Prompt> out;
  for (const auto& p : j) out.push_back({p.at("name").get<std::string>(), p.at("text").get<std::string>(), p.at("add_special").get<bool>(), p.at("parse_special").get<bool>()});
  return out;
}

// `generate` flags that give a prompt's tokens exactly as the reference tokenized it.
std::string prompt_flags(const Prompt& p, const std::string& file) {
  return " -f " + quote(file) + (p.add_special ? "" : " --no-bos") + (p.parse_special ? "" : " --no-parse-special");
}

std::vector<int32_t> json_ids(const nlohmann::json& j, const char* key) { return j.at(key).get<std::vector<int32_t>>(); }

TEST(CliReference, GenerateGreedyIdsEqualLlamaCpp) {
  test::TempDir dir;
  const auto prompts = fixture_prompts();
  ASSERT_EQ(prompts.size(), 4u);
  for (const auto& p : prompts) {
    const std::string file = dir.file(p.name + ".txt");
    std::ofstream(file, std::ios::binary) << p.text;
    const auto want = test::npy_i32(test::lfm2_tiny("ref/" + p.name + ".greedy.npy"));
    const auto r = test::run_cli("generate -m " + quote(test::lfm2_tiny("model-f32.gguf")) + prompt_flags(p, file) +
                                 " -n " + std::to_string(want.size()) + " --temp 0 --cache-type f32 --json");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = json_line(r);
    EXPECT_EQ(j.at("prompt_tokens").get<size_t>(), test::npy_i32(test::lfm2_tiny("ref/" + p.name + ".tokens.npy")).size())
        << p.name;
    EXPECT_EQ(json_ids(j, "tokens"), want) << p.name;
    EXPECT_EQ(j.at("stop_reason"), "length") << p.name;
  }
}

// Greedy decoding through the library (F32 cache), token by token.
std::vector<int32_t> library_greedy(const std::shared_ptr<Model>& model, const std::vector<int32_t>& prompt, size_t n) {
  Session s(model, {512, 128, CacheType::F32});
  return test::greedy_tokens(s, s.decode(prompt), n);
}

TEST(CliReference, GenerateOnQuantizedFilesEqualsTheLibrarysGreedyDecoding) {
  test::TempDir dir;
  for (const char* type : {"q8_0", "q4_0"}) {
    const std::string path = test::lfm2_tiny(std::string("model-") + type + ".gguf");
    auto model = Model::load(path);
    for (const auto& p : fixture_prompts()) {
      const std::string file = dir.file(p.name + ".txt");
      std::ofstream(file, std::ios::binary) << p.text;
      const auto r = test::run_cli("generate -m " + quote(path) + prompt_flags(p, file) + " -n 24 --temp 0 --cache-type f32 --json");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      const auto prompt = test::npy_i32(test::lfm2_tiny("ref/" + p.name + ".tokens.npy"));
      EXPECT_EQ(json_ids(json_line(r), "tokens"), library_greedy(model, prompt, 24)) << type << " " << p.name;
    }
  }
}

TEST(CliReference, RunOnTheFixtureImageGivesTheReferenceAnswer) {
  const auto want = test::npy_i32(test::fixture("vlm/autoneural-tiny/ref/one_image.greedy.npy"));
  // one_image: system message, then "<image>\nIs the driver looking at the road?" (run puts the image marker
  // and a newline before a question that has none).
  const auto r = test::run_cli("run -m " + quote(test::fixture("vlm/autoneural-tiny/hf")) + " --image " +
                               quote(test::fixture("vision/mnv5-tiny/images/cockpit.png")) +
                               " --system 'You are a helpful automotive assistant.' -p 'Is the driver looking at the road?'"
                               " -n " + std::to_string(want.size()) + " --temp 0 --cache-type f32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = json_line(r);
  EXPECT_EQ(json_ids(j, "tokens"), want);
  EXPECT_EQ(j.at("prompt_tokens").get<size_t>(),
            test::npy_i32(test::fixture("vlm/autoneural-tiny/ref/one_image.tokens.npy")).size());
}

TEST(CliReference, TokenizeJsonEqualsLlamaCppOnEveryCase) {
  test::TempDir dir;
  const auto cases = format::parse_json_file(test::lfm2_tiny("ref/tokenize_cases.json"));
  ASSERT_EQ(cases.size(), 43u);
  const std::string model = quote(test::lfm2_tiny("model-f32.gguf"));
  int i = 0;
  for (const auto& c : cases) {
    const std::string file = dir.file("case" + std::to_string(i++) + ".txt");
    std::ofstream(file, std::ios::binary) << c.at("text").get<std::string>();
    const struct {
      const char* flags;
      const char* key;
    } variants[] = {{" --no-bos", "ids_parse_special"},
                    {" --no-bos --no-parse-special", "ids_no_parse_special"},
                    {"", "ids_add_special_parse_special"}};
    for (const auto& v : variants) {
      const auto r = test::run_cli("tokenize -m " + model + " -f " + quote(file) + v.flags + " --json");
      ASSERT_EQ(r.exit_code, 0) << r.out;
      EXPECT_EQ(json_ids(json_line(r), "ids"), c.at(v.key).get<std::vector<int32_t>>())
          << v.key << " of " << c.at("text").dump();
    }
  }
}

}  // namespace
}  // namespace autoneural
