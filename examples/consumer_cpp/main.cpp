// A C++ program built against the installed autoneural package with find_package(autoneural) (see
// CMakeLists.txt). On the lfm2-tiny fixture it tokenizes the "plain" prompt, checks the ids against
// llama.cpp's (ref/plain.tokens.npy) and the detokenized text against the prompt, evaluates it and
// generates 24 tokens greedily with an F32 KV cache, checking them against ref/plain.greedy.npy.
// Exit status 0 when everything matches.
#include <autoneural/llm.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

// The fixture's "plain" prompt (ref/prompts.json): add_special true, parse_special false.
const std::string kPrompt =
    "The quick brown fox jumps over the lazy dog, and the license grants you a perpetual, worldwide right "
    "to use it.";

// A 1-D little-endian int32 .npy file (version 1 header).
std::vector<int32_t> read_npy_i32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0 || bytes[6] != 1)
    throw autoneural::Error(path + ": not a version 1 .npy file");
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  if (std::string(bytes.data() + 10, std::min(bytes.size() - 10, header_len)).find("'<i4'") == std::string::npos)
    throw autoneural::Error(path + ": not int32");
  std::vector<int32_t> out((bytes.size() - 10 - header_len) / 4);
  std::memcpy(out.data(), bytes.data() + 10 + header_len, out.size() * 4);
  return out;
}

int fail(const std::string& what) {
  std::cerr << "consumer_cpp: FAIL: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " LFM2_TINY_FIXTURE_DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    const auto want_tokens = read_npy_i32(dir + "/ref/plain.tokens.npy");
    const auto want_greedy = read_npy_i32(dir + "/ref/plain.greedy.npy");

    auto model = autoneural::Model::load(dir + "/model-f32.gguf", {.n_threads = 2});
    const auto& info = model->info();
    std::cout << "model " << info.architecture << " '" << info.name << "': " << info.n_params << " parameters, "
              << info.n_layers << " layers, vocab " << info.n_vocab << "\n";

    const auto tokens = model->tokenize(kPrompt, true, false);
    if (tokens != want_tokens) return fail("tokens differ from ref/plain.tokens.npy");
    const std::string round = model->detokenize(std::vector<int32_t>(tokens.begin() + 1, tokens.end()));
    if (round != kPrompt) return fail("detokenized text differs from the prompt: " + round);
    std::cout << "prompt: " << tokens.size() << " tokens, ids equal llama.cpp's, text round-trips\n";

    autoneural::Session session(model, {.n_ctx = 256, .cache_type = autoneural::CacheType::F32});
    std::vector<float> row = session.decode(tokens);
    std::vector<int32_t> got;
    while (got.size() < want_greedy.size()) {
      if (!std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); }))
        return fail("logits not finite");
      const int32_t id = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      got.push_back(id);
      row = session.decode(std::span<const int32_t>(&id, 1));
    }
    std::cout << "greedy:";
    for (int32_t id : got) std::cout << ' ' << id;
    std::cout << "\ntext: ";
    for (unsigned char c : model->detokenize(got)) {  // random weights: control bytes shown escaped
      if (c >= 0x20 && c < 0x7f) std::cout << c;
      else std::cout << "\\x" << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    }
    std::cout << "\n";
    if (got != want_greedy) return fail("greedy tokens differ from ref/plain.greedy.npy");
    std::cout << "consumer_cpp: OK (" << got.size() << " greedy tokens equal llama.cpp's)\n";
  } catch (const autoneural::Error& e) {
    return fail(e.what());
  }
  return 0;
}
