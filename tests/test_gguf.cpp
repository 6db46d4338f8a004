// GGUF reader and writer: the llama.cpp-made fixture files, writer round trips, and the fixture re-written
// byte for byte. Malformed-input tests are in test_gguf_invalid.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "format/mapped_file.h"
#include "format/safetensors.h"
#include "test_util.h"

namespace autoneural::format {
namespace {

using test::lfm2_tiny;

using test::expect_error;

std::map<TensorType, int> count_types(const GgufFile& g) {
  std::map<TensorType, int> n;
  for (const auto& t : g.tensors()) ++n[t.type];
  return n;
}

TEST(GgufFixture, F32Metadata) {
  const auto g = GgufFile::open(lfm2_tiny("model-f32.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.metadata().size(), 26u);
  EXPECT_EQ(g.metadata().front().first, "general.architecture");
  EXPECT_EQ(g.get_string("general.architecture"), "lfm2");
  EXPECT_EQ(g.get_string("general.name"), "lfm2-tiny");
  EXPECT_EQ(g.find("lfm2.block_count")->type, GgufValueType::UINT32);
  EXPECT_EQ(g.get_int("lfm2.block_count"), 6);
  EXPECT_EQ(g.get_int("lfm2.embedding_length"), 128);
  EXPECT_EQ(g.get_int("lfm2.feed_forward_length"), 384);
  EXPECT_EQ(g.get_int("lfm2.context_length"), 128000);
  EXPECT_EQ(g.get_int("lfm2.attention.head_count"), 2);
  EXPECT_EQ(g.get_int("lfm2.vocab_size"), 640);
  EXPECT_EQ(g.get_int("lfm2.shortconv.l_cache"), 3);
  EXPECT_EQ(g.get_int("general.file_type"), 0);
  EXPECT_EQ(g.get_int("general.quantization_version"), 2);

  const GgufValue* kv = g.find("lfm2.attention.head_count_kv");
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->type, GgufValueType::ARRAY);
  EXPECT_EQ(kv->elem_type, GgufValueType::INT32);
  EXPECT_EQ(g.get_int_array("lfm2.attention.head_count_kv"), (std::vector<int64_t>{0, 0, 1, 0, 0, 1}));

  EXPECT_EQ(g.get_float("lfm2.rope.freq_base"), 1e6);
  EXPECT_EQ(static_cast<float>(*g.get_float("lfm2.attention.layer_norm_rms_epsilon")), 1e-5f);

  const auto tokens = g.get_string_array("tokenizer.ggml.tokens").value();
  ASSERT_EQ(tokens.size(), 640u);
  EXPECT_EQ(tokens[0], "<|pad|>");
  EXPECT_EQ(tokens[1], "<|startoftext|>");
  EXPECT_EQ(tokens[7], "<|im_end|>");
  EXPECT_EQ(tokens[45], "\xC4\xA0");  // 'Ġ', the GPT-2 spelling of the space byte (13 + 32)
  const auto types = g.get_int_array("tokenizer.ggml.token_type").value();
  ASSERT_EQ(types.size(), 640u);
  for (size_t i = 0; i < types.size(); ++i) EXPECT_EQ(types[i], i < 13 ? 3 : 1) << "token " << i;
  EXPECT_EQ(g.get_string_array("tokenizer.ggml.merges")->size(), 371u);
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(g.get_string("tokenizer.ggml.pre"), "lfm2");
  EXPECT_EQ(g.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(g.get_int("tokenizer.ggml.eos_token_id"), 7);
  EXPECT_EQ(g.get_int("tokenizer.ggml.padding_token_id"), 0);
  EXPECT_EQ(g.get_bool("tokenizer.ggml.add_bos_token"), true);
  EXPECT_NE(g.get_string("tokenizer.chat_template")->find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(g.find("no.such.key"), nullptr);
  EXPECT_EQ(g.get_int("no.such.key"), std::nullopt);
}

TEST(GgufFixture, F32Tensors) {
  const std::string path = lfm2_tiny("model-f32.gguf");
  const MappedFile f(path);
  const auto g = GgufFile::parse(f.data(), f.size(), path);
  ASSERT_EQ(g.tensors().size(), 56u);
  EXPECT_EQ(count_types(g)[TensorType::F32], 56);
  EXPECT_EQ(g.tensors()[0].name, "token_embd.weight");
  EXPECT_EQ(g.tensors()[1].name, "token_embd_norm.weight");

  const auto* emb = g.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->ne, (std::vector<int64_t>{128, 640}));
  EXPECT_EQ(emb->n_elements(), 128 * 640);
  EXPECT_EQ(emb->nbytes, 128u * 640u * 4u);
  EXPECT_EQ(g.find_tensor("blk.0.shortconv.conv.weight")->ne, (std::vector<int64_t>{3, 128}));
  EXPECT_EQ(g.find_tensor("blk.2.attn_k.weight")->ne, (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(g.find_tensor("blk.0.ffn_down.weight")->ne, (std::vector<int64_t>{384, 128}));
  EXPECT_EQ(g.find_tensor("output.weight"), nullptr);  // tied embeddings

  // llama.cpp's layout: offsets are the running sum of sizes padded to 32, and the last tensor ends
  // (padded) exactly at the end of the file.
  uint64_t expect_offset = 0;
  for (const auto& t : g.tensors()) {
    EXPECT_EQ(t.offset, expect_offset) << t.name;
    expect_offset += (t.nbytes + 31) / 32 * 32;
    ASSERT_GE(t.data, f.data());
    ASSERT_LE(t.data + t.nbytes, f.data() + f.size());
  }
  const auto* first = g.tensors().front().data;
  EXPECT_EQ(static_cast<size_t>(first - g.tensors().front().offset - f.data()) + expect_offset, f.size());
}

TEST(GgufFixture, TypedGettersRejectWrongTypesNamingTheKey) {
  const auto g = GgufFile::open(lfm2_tiny("model-f32.gguf"));
  expect_error([&] { (void)g.get_int("general.architecture"); }, "general.architecture");
  expect_error([&] { (void)g.get_string("lfm2.block_count"); }, "lfm2.block_count");
  expect_error([&] { (void)g.get_bool("lfm2.block_count"); }, "lfm2.block_count");
  expect_error([&] { (void)g.get_int("lfm2.rope.freq_base"); }, "lfm2.rope.freq_base");
  expect_error([&] { (void)g.get_float("tokenizer.ggml.model"); }, "tokenizer.ggml.model");
  expect_error([&] { (void)g.get_string_array("lfm2.attention.head_count_kv"); }, "lfm2.attention.head_count_kv");
  expect_error([&] { (void)g.get_int_array("tokenizer.ggml.tokens"); }, "tokenizer.ggml.tokens");
  expect_error([&] { (void)g.get_int("tokenizer.ggml.tokens"); }, "tokenizer.ggml.tokens");
  // Conversions that are allowed: any integer as a float, integer arrays as float arrays.
  EXPECT_EQ(g.get_float("lfm2.block_count"), 6.0);
  EXPECT_EQ(g.get_float_array("lfm2.attention.head_count_kv"), (std::vector<double>{0, 0, 1, 0, 0, 1}));
}

void check_quantized(const std::string& file, TensorType qtype, int64_t file_type, size_t block_bytes) {
  const auto g = GgufFile::open(lfm2_tiny(file));
  ASSERT_EQ(g.tensors().size(), 56u);
  auto counts = count_types(g);
  EXPECT_EQ(counts[qtype], 35);
  EXPECT_EQ(counts[TensorType::F32], 21);
  EXPECT_EQ(g.get_int("general.file_type"), file_type);
  const auto* emb = g.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->type, qtype);
  EXPECT_EQ(emb->ne, (std::vector<int64_t>{128, 640}));
  EXPECT_EQ(emb->nbytes, 640u * (128u / 32u) * block_bytes);
  const std::regex stays_f32(R"(.*_norm\.weight|blk\.\d+\.shortconv\.conv\.weight)");
  for (const auto& t : g.tensors()) {
    const bool f32 = std::regex_match(t.name, stays_f32);
    EXPECT_EQ(t.type, f32 ? TensorType::F32 : qtype) << t.name;
  }
}

TEST(GgufFixture, Q8_0Types) { check_quantized("model-q8_0.gguf", TensorType::Q8_0, 7, 34); }
TEST(GgufFixture, Q4_0Types) { check_quantized("model-q4_0.gguf", TensorType::Q4_0, 2, 18); }

// HF → GGUF name, following the table in architecture-reference §3.4.
std::string gguf_name_of(const std::string& hf) {
  static const std::vector<std::pair<std::string, std::string>> kLayer = {
      {"operator_norm.weight", "attn_norm.weight"},        {"ffn_norm.weight", "ffn_norm.weight"},
      {"feed_forward.w1.weight", "ffn_gate.weight"},       {"feed_forward.w3.weight", "ffn_up.weight"},
      {"feed_forward.w2.weight", "ffn_down.weight"},       {"conv.in_proj.weight", "shortconv.in_proj.weight"},
      {"conv.conv.weight", "shortconv.conv.weight"},       {"conv.out_proj.weight", "shortconv.out_proj.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},        {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},        {"self_attn.out_proj.weight", "attn_output.weight"},
      {"self_attn.q_layernorm.weight", "attn_q_norm.weight"}, {"self_attn.k_layernorm.weight", "attn_k_norm.weight"},
  };
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.embedding_norm.weight") return "token_embd_norm.weight";
  std::smatch m;
  if (std::regex_match(hf, m, std::regex(R"(model\.layers\.(\d+)\.(.*))")))
    for (const auto& [from, to] : kLayer)
      if (m[2] == from) return "blk." + m[1].str() + "." + to;
  return "";
}

TEST(GgufFixture, EveryTensorBitEqualToSafetensors) {
  const auto g = GgufFile::open(lfm2_tiny("model-f32.gguf"));
  const auto st = SafetensorsModel::open_dir(lfm2_tiny("hf"));
  const auto all = st.all();
  ASSERT_EQ(all.size(), g.tensors().size());
  for (const auto* s : all) {
    const std::string name = gguf_name_of(s->name);
    ASSERT_FALSE(name.empty()) << "unmapped HF tensor " << s->name;
    const auto* t = g.find_tensor(name);
    ASSERT_NE(t, nullptr) << name;
    // GGUF ne is the PyTorch shape reversed; the converter squeezes the conv kernel's [C, 1, K] to ne [K, C].
    std::vector<int64_t> expect(s->shape.rbegin(), s->shape.rend());
    std::erase(expect, 1);
    EXPECT_EQ(t->ne, expect) << name;
    ASSERT_EQ(t->nbytes, s->nbytes) << name;
    EXPECT_EQ(std::memcmp(t->data, s->data, s->nbytes), 0) << name << " differs from " << s->name;
  }
}

// ---- writer round trips ----------------------------------------------------------------------------

GgufValue int_value(GgufValueType type, int64_t v) {
  GgufValue x;
  x.type = type;
  x.i = v;
  x.u = static_cast<uint64_t>(v);
  return x;
}
GgufValue f64_value(double v) {
  GgufValue x;
  x.type = GgufValueType::FLOAT64;
  x.f = v;
  return x;
}

void expect_same_value(const GgufValue& a, const GgufValue& b, const std::string& key) {
  ASSERT_EQ(a.type, b.type) << key;
  if (a.type == GgufValueType::ARRAY) {
    ASSERT_EQ(a.elem_type, b.elem_type) << key;
    ASSERT_EQ(a.array.size(), b.array.size()) << key;
    for (size_t i = 0; i < a.array.size(); ++i) expect_same_value(a.array[i], b.array[i], key + "[" + std::to_string(i) + "]");
  } else if (a.type == GgufValueType::STRING) {
    EXPECT_EQ(a.str, b.str) << key;
  } else if (a.is_float()) {
    EXPECT_EQ(a.f, b.f) << key;
  } else {
    EXPECT_EQ(a.i, b.i) << key;
    EXPECT_EQ(a.u, b.u) << key;
  }
}

struct TestTensor {
  std::string name;
  TensorType type;
  std::vector<int64_t> ne;
  std::vector<uint8_t> bytes;
};

// A writer holding every metadata type (scalars and arrays, strings included) and one tensor of each type.
GgufWriter all_types_writer(std::vector<std::pair<std::string, GgufValue>>& kv, std::vector<TestTensor>& tensors) {
  using T = GgufValueType;
  kv = {
      {"general.architecture", GgufValue::make_string("test")},
      {"t.u8", int_value(T::UINT8, 250)},
      {"t.i8", int_value(T::INT8, -100)},
      {"t.u16", int_value(T::UINT16, 65000)},
      {"t.i16", int_value(T::INT16, -30000)},
      {"t.u32", GgufValue::make_u32(4000000000u)},
      {"t.i32", GgufValue::make_i32(-2000000000)},
      {"t.f32", GgufValue::make_f32(3.25f)},
      {"t.bool", GgufValue::make_bool(true)},
      {"t.string", GgufValue::make_string(std::string("h\xC3\xA9llo\0world", 12))},
      {"t.empty_string", GgufValue::make_string("")},
      {"t.u64", GgufValue::make_u64(18000000000000000000ull)},
      {"t.i64", int_value(T::INT64, -9000000000000000000ll)},
      {"t.f64", f64_value(-1.0 / 3.0)},
      {"t.arr.string", GgufValue::make_string_array({"a", "", "ccc", "\xE2\x96\x81x"})},
      {"t.arr.i32", GgufValue::make_i32_array({0, -1, 7, 2147483647})},
      {"t.arr.f32", GgufValue::make_f32_array({1.5f, -0.0f, 1e-30f})},
      {"t.arr.u8", GgufValue::make_array(T::UINT8, {int_value(T::UINT8, 0), int_value(T::UINT8, 255)})},
      {"t.arr.i64", GgufValue::make_array(T::INT64, {int_value(T::INT64, -5)})},
      {"t.arr.bool", GgufValue::make_array(T::BOOL, {GgufValue::make_bool(false), GgufValue::make_bool(true)})},
      {"t.arr.f64", GgufValue::make_array(T::FLOAT64, {f64_value(2.5), f64_value(1e300)})},
      {"t.arr.empty", GgufValue::make_array(T::UINT32, {})},
  };
  std::mt19937 rng(42);
  auto random_bytes = [&](size_t n) {
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  tensors = {
      {"f32", TensorType::F32, {3, 5}, random_bytes(3 * 5 * 4)},
      {"f16", TensorType::F16, {7}, random_bytes(7 * 2)},
      {"bf16", TensorType::BF16, {2, 3, 4}, random_bytes(24 * 2)},
      {"q4_0", TensorType::Q4_0, {64, 3}, random_bytes(2 * 3 * 18)},
      {"q8_0", TensorType::Q8_0, {32, 2, 1, 2}, random_bytes(4 * 34)},
      {"q4_k", TensorType::Q4_K, {256, 2}, random_bytes(2 * 144)},
      {"q6_k", TensorType::Q6_K, {512}, random_bytes(2 * 210)},
      {"empty", TensorType::F32, {0, 4}, {}},
  };
  GgufWriter w;
  for (const auto& [k, v] : kv) w.set(k, v);
  for (const auto& t : tensors) w.add_tensor(t.name, t.type, t.ne, t.bytes.data(), t.bytes.size());
  return w;
}

void check_all_types(const GgufFile& g, const std::vector<std::pair<std::string, GgufValue>>& kv,
                     const std::vector<TestTensor>& tensors) {
  ASSERT_EQ(g.metadata().size(), kv.size());
  for (size_t i = 0; i < kv.size(); ++i) {
    EXPECT_EQ(g.metadata()[i].first, kv[i].first);  // file order is insertion order
    expect_same_value(g.metadata()[i].second, kv[i].second, kv[i].first);
  }
  ASSERT_EQ(g.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = g.tensors()[i];
    EXPECT_EQ(t.name, tensors[i].name);
    EXPECT_EQ(t.type, tensors[i].type);
    EXPECT_EQ(t.ne, tensors[i].ne);
    EXPECT_EQ(t.offset % g.alignment(), 0u);
    ASSERT_EQ(t.nbytes, tensors[i].bytes.size()) << t.name;
    if (t.nbytes) {
      EXPECT_EQ(std::memcmp(t.data, tensors[i].bytes.data(), t.nbytes), 0) << t.name;
    }
  }
}

TEST(GgufWriter, RoundTripEveryTypeInMemory) {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<TestTensor> tensors;
  const auto bytes = all_types_writer(kv, tensors).serialize();
  const auto g = GgufFile::parse(bytes.data(), bytes.size(), "memory");
  check_all_types(g, kv, tensors);
  EXPECT_EQ(g.get_int("t.u8"), 250);
  EXPECT_EQ(g.get_int("t.i16"), -30000);
  EXPECT_EQ(g.get_int("t.u32"), 4000000000ll);
  EXPECT_EQ(g.get_float("t.f64"), -1.0 / 3.0);
  EXPECT_EQ(g.get_float("t.i64"), -9e18);
  EXPECT_EQ(g.get_bool("t.bool"), true);
  EXPECT_EQ(g.get_string("t.string")->size(), 12u);
  EXPECT_EQ(g.get_string_array("t.arr.string"), (std::vector<std::string>{"a", "", "ccc", "\xE2\x96\x81x"}));
  EXPECT_EQ(g.get_float_array("t.arr.f32"), (std::vector<double>{1.5, -0.0, static_cast<double>(1e-30f)}));
  EXPECT_EQ(g.get_int_array("t.arr.empty"), std::vector<int64_t>{});
  // A u64 above INT64_MAX cannot be returned as int64: an error naming the key, not a wrapped value.
  expect_error([&] { (void)g.get_int("t.u64"); }, "t.u64");
  EXPECT_EQ(g.get_float("t.u64"), 18000000000000000000.0);
}

TEST(GgufWriter, WriteToFileMatchesSerializeAndLeavesNoTemporary) {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<TestTensor> tensors;
  const auto w = all_types_writer(kv, tensors);
  test::TempDir dir;
  const std::string path = dir.file("all.gguf");
  w.write(path);
  const auto g = GgufFile::open(path);
  check_all_types(g, kv, tensors);
  EXPECT_EQ(g.path(), path);
  const auto expected = w.serialize();
  const std::string on_disk = read_text_file(path);
  ASSERT_EQ(on_disk.size(), expected.size());
  EXPECT_EQ(std::memcmp(on_disk.data(), expected.data(), expected.size()), 0);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(GgufWriter, HonoursGeneralAlignment) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::make_u32(64));
  const std::vector<float> a(3, 1.0f), b(5, 2.0f);
  w.add_tensor("a", TensorType::F32, {3}, a.data(), 12);
  w.add_tensor("b", TensorType::F32, {5}, b.data(), 20);
  const auto bytes = w.serialize();
  EXPECT_EQ(bytes.size() % 64, 0u);
  const auto g = GgufFile::parse(bytes.data(), bytes.size(), "aligned");
  EXPECT_EQ(g.alignment(), 64u);
  EXPECT_EQ(g.find_tensor("a")->offset, 0u);
  EXPECT_EQ(g.find_tensor("b")->offset, 64u);
  EXPECT_EQ((g.find_tensor("b")->data - bytes.data()) % 64, 0);
  float x;
  std::memcpy(&x, g.find_tensor("b")->data + 16, 4);
  EXPECT_EQ(x, 2.0f);
}

TEST(GgufWriter, SetReplacesInPlace) {
  GgufWriter w;
  w.set("a", GgufValue::make_u32(1));
  w.set("b", GgufValue::make_u32(2));
  w.set("a", GgufValue::make_string("x"));
  const auto bytes = w.serialize();
  const auto g = GgufFile::parse(bytes.data(), bytes.size(), "set");
  ASSERT_EQ(g.metadata().size(), 2u);
  EXPECT_EQ(g.metadata()[0].first, "a");
  EXPECT_EQ(g.get_string("a"), "x");
  EXPECT_TRUE(g.tensors().empty());
}

TEST(GgufWriter, RejectsInvalidInput) {
  const std::vector<uint8_t> data(64 * 4, 0);
  {
    GgufWriter w;
    w.add_tensor("x", TensorType::F32, {4}, data.data(), 16);
    w.add_tensor("x", TensorType::F32, {4}, data.data(), 16);
    expect_error([&] { (void)w.serialize(); }, "duplicate tensor name 'x'");
    test::TempDir dir;
    expect_error([&] { w.write(dir.file("dup.gguf")); }, "duplicate tensor name 'x'");
    EXPECT_FALSE(std::filesystem::exists(dir.file("dup.gguf")));
  }
  GgufWriter w;
  expect_error([&] { w.add_tensor("x", TensorType::F32, {4}, data.data(), 12); }, "needs 16");
  expect_error([&] { w.add_tensor("x", TensorType::Q8_0, {33}, data.data(), 34); }, "not a multiple of the block size 32");
  expect_error([&] { w.add_tensor("x", TensorType::F32, {1, 1, 1, 1, 1}, data.data(), 4); }, "1 to 4 dimensions");
  expect_error([&] { w.add_tensor("x", TensorType::F32, {-1}, data.data(), 0); }, "negative");
  expect_error([&] { w.add_tensor(std::string(64, 'n'), TensorType::F32, {1}, data.data(), 4); }, "bytes long");
  expect_error([&] { w.add_tensor("x", static_cast<TensorType>(99), {1}, data.data(), 4); }, "unsupported tensor type 99");
  expect_error([] { (void)GgufValue::make_array(GgufValueType::UINT32, {GgufValue::make_string("s")}); }, "array of uint32");
  {
    GgufWriter bad;
    bad.set("general.alignment", GgufValue::make_u32(48));
    expect_error([&] { (void)bad.serialize(); }, "power of two");
  }
  {
    GgufWriter bad;
    bad.set("small", int_value(GgufValueType::UINT8, 300));
    expect_error([&] { (void)bad.serialize(); }, "small");
  }
  {
    GgufWriter bad;
    test::TempDir dir;
    expect_error([&] { bad.write(dir.file("missing/sub/dir.gguf")); }, "missing/sub/dir.gguf");
  }
}

// Re-writing a llama.cpp-made file with our writer must reproduce it exactly: same key order and value
// types, same tensor order, offsets as the running sum of 32-byte padded sizes, zero padding. This
// covers both llama.cpp writers: gguf-py (model-f32, from convert_hf_to_gguf.py) and the C++ gguf
// writer (the quantized files, from llama-quantize).
void expect_byte_identical_rewrite(const std::string& file) {
  const std::string path = lfm2_tiny(file);
  const auto g = GgufFile::open(path);
  GgufWriter w;
  for (const auto& [k, v] : g.metadata()) w.set(k, v);
  for (const auto& t : g.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
  const auto bytes = w.serialize();
  const MappedFile original(path);
  ASSERT_EQ(bytes.size(), original.size()) << file;
  const auto mismatch = std::mismatch(bytes.begin(), bytes.end(), original.data());
  EXPECT_EQ(mismatch.first, bytes.end()) << file << ": first difference at byte " << (mismatch.first - bytes.begin());
}

TEST(GgufFixture, RewriteIsByteIdenticalF32) { expect_byte_identical_rewrite("model-f32.gguf"); }
TEST(GgufFixture, RewriteIsByteIdenticalQ8_0) { expect_byte_identical_rewrite("model-q8_0.gguf"); }
TEST(GgufFixture, RewriteIsByteIdenticalQ4_0) { expect_byte_identical_rewrite("model-q4_0.gguf"); }

// Seed corpus for fuzz/fuzz_gguf (see fuzz/README.md): runs only when AUTONEURAL_FUZZ_SEED_DIR is set,
// and writes small, valid files that reach every part of the parser quickly: each value and tensor
// type, and the fixture's real metadata (tokenizer arrays) with few or no tensors.
TEST(GgufFuzzSeeds, WriteWhenRequested) {
  const char* dir = std::getenv("AUTONEURAL_FUZZ_SEED_DIR");
  if (dir == nullptr) GTEST_SKIP() << "set AUTONEURAL_FUZZ_SEED_DIR to write the fuzz seed corpus";
  const std::string out = std::string(dir) + "/gguf";
  std::filesystem::create_directories(out);
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<TestTensor> tensors;
  all_types_writer(kv, tensors).write(out + "/all-types.gguf");

  const auto g = GgufFile::open(lfm2_tiny("model-q8_0.gguf"));
  GgufWriter meta_only, two_tensors, tiny;
  for (const auto& [k, v] : g.metadata()) {
    meta_only.set(k, v);
    two_tensors.set(k, v);
  }
  meta_only.write(out + "/lfm2-metadata-only.gguf");
  for (const char* name : {"token_embd_norm.weight", "blk.0.shortconv.conv.weight"}) {
    const auto* t = g.find_tensor(name);
    two_tensors.add_tensor(t->name, t->type, t->ne, t->data, t->nbytes);
  }
  two_tensors.write(out + "/lfm2-two-tensors.gguf");
  tiny.set("general.architecture", GgufValue::make_string("lfm2"));
  tiny.set("general.alignment", GgufValue::make_u32(16));
  const std::vector<uint8_t> q(34, 3);
  tiny.add_tensor("q", TensorType::Q8_0, {32}, q.data(), q.size());
  tiny.write(out + "/tiny-aligned16.gguf");
  EXPECT_TRUE(std::filesystem::exists(out + "/tiny-aligned16.gguf"));
}

}  // namespace
}  // namespace autoneural::format
