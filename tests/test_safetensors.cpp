// safetensors reader: the fixture's Hugging Face file, hand-made files of each dtype, sharded
// directories, and malformed input.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/half.h"
#include "format/mapped_file.h"
#include "format/safetensors.h"
#include "test_util.h"

namespace autoneural::format {
namespace {

using test::lfm2_tiny;

// u64 header length + JSON header + data buffer.
std::vector<uint8_t> make_st(const std::string& json, const std::vector<uint8_t>& data) {
  const uint64_t n = json.size();
  std::vector<uint8_t> out(8 + json.size() + data.size());
  std::memcpy(out.data(), &n, 8);
  if (!json.empty()) std::memcpy(out.data() + 8, json.data(), json.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + json.size(), data.data(), data.size());
  return out;
}

template <class T>
std::vector<uint8_t> as_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) { write_file_atomic(path, b.data(), b.size()); }

using test::expect_error;

void expect_invalid(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  EXPECT_THROW(SafetensorsFile::parse(bytes.data(), bytes.size(), "bad.safetensors"), Error);
  expect_error([&] { (void)SafetensorsFile::parse(bytes.data(), bytes.size(), "bad.safetensors"); },
               "bad.safetensors: ");
  expect_error([&] { (void)SafetensorsFile::parse(bytes.data(), bytes.size(), "bad.safetensors"); }, fragment);
}

TEST(Safetensors, FixtureFile) {
  const auto f = SafetensorsFile::open(lfm2_tiny("hf/model.safetensors"));
  ASSERT_EQ(f.tensors().size(), 56u);
  size_t total = 0;
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.type, TensorType::F32) << t.name;
    EXPECT_EQ(t.nbytes, static_cast<size_t>(t.n_elements()) * 4) << t.name;
    total += t.nbytes;
  }
  EXPECT_EQ(total, 1330560u * 4u);  // parameter count from the fixture README
  const auto* emb = f.find("model.embed_tokens.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{640, 128}));
  EXPECT_EQ(f.find("model.layers.0.conv.conv.weight")->shape, (std::vector<int64_t>{128, 1, 3}));
  EXPECT_EQ(f.find("model.layers.2.self_attn.k_proj.weight")->shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(f.find("__metadata__"), nullptr);
  EXPECT_EQ(f.find("lm_head.weight"), nullptr);
  // Norm weights were drawn from U[0.5, 1.5].
  const auto* norm = f.find("model.embedding_norm.weight");
  for (int64_t i = 0; i < norm->n_elements(); ++i) {
    float v;
    std::memcpy(&v, norm->data + i * 4, 4);
    EXPECT_TRUE(v >= 0.5f && v <= 1.5f) << v;
  }
}

TEST(Safetensors, FixtureDirectory) {
  const auto m = SafetensorsModel::open_dir(lfm2_tiny("hf"));
  const auto all = m.all();
  ASSERT_EQ(all.size(), 56u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](auto* a, auto* b) { return a->name < b->name; }));
  ASSERT_NE(m.find("model.embedding_norm.weight"), nullptr);
  EXPECT_EQ(m.find("model.embedding_norm.weight")->shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(m.find("missing"), nullptr);
}

TEST(Safetensors, EachDtypeDecodes) {
  const std::vector<float> f32 = {1.0f, -2.5f, 3.0f, 0.0f, 1e-3f, 65504.0f};
  std::vector<uint16_t> f16, bf16;
  for (float x : f32) {
    f16.push_back(f32_to_fp16(x));
    bf16.push_back(f32_to_bf16(x));
  }
  auto data = as_bytes(f32);
  const auto b16 = as_bytes(f16), bb16 = as_bytes(bf16), scalar = as_bytes(std::vector<float>{7.0f});
  data.insert(data.end(), b16.begin(), b16.end());
  data.insert(data.end(), bb16.begin(), bb16.end());
  data.insert(data.end(), scalar.begin(), scalar.end());
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"F16","shape":[6],"data_offsets":[24,36]},)"
      R"("c":{"dtype":"BF16","shape":[3,1,2],"data_offsets":[36,48]},)"
      R"("s":{"dtype":"F32","shape":[],"data_offsets":[48,52]},)"
      R"("z":{"dtype":"F16","shape":[0,5],"data_offsets":[52,52]}})";
  const auto bytes = make_st(json, data);
  const auto f = SafetensorsFile::parse(bytes.data(), bytes.size(), "mem");
  ASSERT_EQ(f.tensors().size(), 4u + 1u);
  const auto* a = f.find("a");
  const auto* b = f.find("b");
  const auto* c = f.find("c");
  EXPECT_EQ(a->type, TensorType::F32);
  EXPECT_EQ(b->type, TensorType::F16);
  EXPECT_EQ(c->type, TensorType::BF16);
  EXPECT_EQ(c->shape, (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(f.find("s")->n_elements(), 1);
  float sv;
  std::memcpy(&sv, f.find("s")->data, 4);
  EXPECT_EQ(sv, 7.0f);
  EXPECT_EQ(f.find("z")->nbytes, 0u);
  for (size_t i = 0; i < f32.size(); ++i) {
    float x;
    uint16_t h, g;
    std::memcpy(&x, a->data + i * 4, 4);
    std::memcpy(&h, b->data + i * 2, 2);
    std::memcpy(&g, c->data + i * 2, 2);
    EXPECT_EQ(x, f32[i]);
    EXPECT_EQ(fp16_to_f32(h), fp16_to_f32(f32_to_fp16(f32[i])));
    EXPECT_EQ(bf16_to_f32(g), bf16_to_f32(f32_to_bf16(f32[i])));
  }
  uint16_t h1;
  std::memcpy(&h1, b->data + 2, 2);
  EXPECT_EQ(fp16_to_f32(h1), -2.5f);  // exactly representable in binary16
}

TEST(SafetensorsInvalid, TooSmall) { expect_invalid({1, 2, 3}, "too small"); }

TEST(SafetensorsInvalid, HeaderLengthPastEnd) {
  auto bytes = make_st("{}", {});
  const uint64_t n = 1000;
  std::memcpy(bytes.data(), &n, 8);
  expect_invalid(bytes, "header length 1000 exceeds the file size");
  const uint64_t huge = ~uint64_t{0};
  std::memcpy(bytes.data(), &huge, 8);
  expect_invalid(bytes, "exceeds the file size");
}

TEST(SafetensorsInvalid, HeaderOver100MB) {
  // A sparse 101 MB file whose header claims 100'000'001 bytes: refused before the JSON is parsed.
  test::TempDir dir;
  const std::string path = dir.file("big.safetensors");
  const uint64_t n = 100'000'001;
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&n), 8);
  }
  ASSERT_EQ(::truncate(path.c_str(), 101'000'000), 0);
  expect_error([&] { (void)SafetensorsFile::open(path); }, "100 MB");
}

TEST(SafetensorsInvalid, BadJson) {
  expect_invalid(make_st(R"({"a": {"dtype": "F32",)", {}), "not valid JSON");
  expect_invalid(make_st("", {}), "not valid JSON");
}

TEST(SafetensorsInvalid, NotAnObject) {
  expect_invalid(make_st("[1, 2]", {}), "not a JSON object");
  expect_invalid(make_st(R"({"a": [1]})", {}), "tensor 'a': entry is not a JSON object");
}

TEST(SafetensorsInvalid, MissingFields) {
  expect_invalid(make_st(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)), "dtype");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", std::vector<uint8_t>(4)), "shape");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", std::vector<uint8_t>(4)),
                 "data_offsets");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                 "non-negative");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", std::vector<uint8_t>(4)),
                 "non-negative");
}

TEST(SafetensorsInvalid, OffsetsPastEnd) {
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::vector<uint8_t>(8)),
                 "tensor 'a': data_offsets end 12 is past the end of the data (8 bytes)");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", std::vector<uint8_t>(8)),
                 "is after end");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", std::vector<uint8_t>(8)),
                 "non-negative");
}

TEST(SafetensorsInvalid, ShapeSizeMismatch) {
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::vector<uint8_t>(16)),
                 "shape needs 3 x 4 bytes but data_offsets span 8");
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                         std::vector<uint8_t>(16)),
                 "tensor 'a'");
}

TEST(SafetensorsInvalid, UnsupportedDtype) {
  expect_invalid(make_st(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::vector<uint8_t>(8)),
                 "unsupported dtype I64 for tensor x");
  expect_invalid(make_st(R"({"y":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", std::vector<uint8_t>(8)),
                 "unsupported dtype F8_E4M3 for tensor y");
}

TEST(SafetensorsInvalid, OverlappingTensors) {
  expect_invalid(make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::vector<uint8_t>(12)),
                 "overlap");
}

TEST(SafetensorsInvalid, EveryTruncationThrows) {
  const auto full = make_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::vector<uint8_t>(8, 1));
  ASSERT_NO_THROW(SafetensorsFile::parse(full.data(), full.size(), "full"));
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(SafetensorsFile::parse(prefix.data(), prefix.size(), "prefix"), Error) << n;
  }
}

// ---- sharded directories --------------------------------------------------------------------------

std::vector<uint8_t> one_tensor_file(const std::string& name, float value) {
  return make_st(R"({")" + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                 as_bytes(std::vector<float>{value}));
}

TEST(SafetensorsModel, ShardedDirectory) {
  test::TempDir dir;
  write_bytes(dir.file("model-00001-of-00002.safetensors"), one_tensor_file("a", 1.5f));
  write_bytes(dir.file("model-00002-of-00002.safetensors"), one_tensor_file("b", -2.0f));
  const std::string index = R"({"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                            R"("b":"model-00002-of-00002.safetensors"}})";
  write_file_atomic(dir.file("model.safetensors.index.json"), index.data(), index.size());
  // model.safetensors.index.json takes precedence over a stray single file.
  write_bytes(dir.file("model.safetensors"), one_tensor_file("stray", 0.0f));
  auto m = SafetensorsModel::open_dir(dir.path());
  ASSERT_EQ(m.all().size(), 2u);
  float a, b;
  std::memcpy(&a, m.find("a")->data, 4);
  std::memcpy(&b, m.find("b")->data, 4);
  EXPECT_EQ(a, 1.5f);
  EXPECT_EQ(b, -2.0f);
  EXPECT_EQ(m.find("stray"), nullptr);
  // Moving the model keeps the tensor pointers valid (they point into the shards' own storage).
  auto moved = std::move(m);
  std::memcpy(&b, moved.find("b")->data, 4);
  EXPECT_EQ(b, -2.0f);
}

TEST(SafetensorsModel, MissingFiles) {
  test::TempDir dir;
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "no model.safetensors");
}

TEST(SafetensorsModel, MissingShard) {
  test::TempDir dir;
  write_bytes(dir.file("s1.safetensors"), one_tensor_file("a", 1.0f));
  const std::string index = R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})";
  write_file_atomic(dir.file("model.safetensors.index.json"), index.data(), index.size());
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, dir.file("s2.safetensors"));
}

TEST(SafetensorsModel, IndexListsTensorMissingFromShard) {
  test::TempDir dir;
  write_bytes(dir.file("s1.safetensors"), one_tensor_file("a", 1.0f));
  const std::string index = R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})";
  write_file_atomic(dir.file("model.safetensors.index.json"), index.data(), index.size());
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "tensor 'b' is listed for shard s1.safetensors");
}

TEST(SafetensorsModel, BadIndex) {
  test::TempDir dir;
  const auto write_index = [&](const std::string& s) {
    write_file_atomic(dir.file("model.safetensors.index.json"), s.data(), s.size());
  };
  write_index("{not json");
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "model.safetensors.index.json");
  write_index(R"({"metadata":{}})");
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "weight_map");
  write_index(R"({"weight_map":{"a":"../outside.safetensors"}})");
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "not a plain file name");
  write_index(R"({"weight_map":{"a":"/etc/passwd"}})");
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "not a plain file name");
}

TEST(SafetensorsModel, DuplicateTensorAcrossShards) {
  test::TempDir dir;
  write_bytes(dir.file("s1.safetensors"), one_tensor_file("a", 1.0f));
  write_bytes(dir.file("s2.safetensors"), one_tensor_file("a", 2.0f));
  const std::string index = R"({"weight_map":{"a":"s1.safetensors","x":"s2.safetensors"}})";
  write_file_atomic(dir.file("model.safetensors.index.json"), index.data(), index.size());
  // "x" is missing from s2 — reported first; with a correct map the duplicate "a" is reported.
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "tensor 'x'");
  const std::string index2 = R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})";
  write_bytes(dir.file("s2.safetensors"), make_st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                                  R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                                  std::vector<uint8_t>(8)));
  write_file_atomic(dir.file("model.safetensors.index.json"), index2.data(), index2.size());
  expect_error([&] { (void)SafetensorsModel::open_dir(dir.path()); }, "tensor 'a' appears in more than one shard");
}

// Seed corpus for fuzz/fuzz_safetensors (see fuzz/README.md): runs only when AUTONEURAL_FUZZ_SEED_DIR
// is set. Small files with every accepted dtype, metadata, scalars and empty tensors, and one tensor
// taken from the fixture.
TEST(SafetensorsFuzzSeeds, WriteWhenRequested) {
  const char* dir = std::getenv("AUTONEURAL_FUZZ_SEED_DIR");
  if (dir == nullptr) GTEST_SKIP() << "set AUTONEURAL_FUZZ_SEED_DIR to write the fuzz seed corpus";
  const std::string out = std::string(dir) + "/safetensors";
  std::filesystem::create_directories(out);
  write_bytes(out + "/dtypes.safetensors",
              make_st(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
                      R"("c":{"dtype":"BF16","shape":[],"data_offsets":[12,14]},)"
                      R"("z":{"dtype":"F32","shape":[0],"data_offsets":[14,14]}})",
                      std::vector<uint8_t>(14, 0x3C)));
  write_bytes(out + "/one.safetensors", one_tensor_file("model.embed_tokens.weight", 0.5f));
  // One real tensor of the fixture with its real bytes (the whole 5 MB fixture is a slow seed).
  const auto f = SafetensorsFile::open(lfm2_tiny("hf/model.safetensors"));
  const auto* t = f.find("model.embedding_norm.weight");
  write_bytes(out + "/lfm2-norm.safetensors",
              make_st(R"({"__metadata__":{"format":"pt"},"model.embedding_norm.weight":{"dtype":"F32","shape":[128],)"
                      R"("data_offsets":[0,512]}})",
                      std::vector<uint8_t>(t->data, t->data + t->nbytes)));
  EXPECT_TRUE(std::filesystem::exists(out + "/lfm2-norm.safetensors"));
}

}  // namespace
}  // namespace autoneural::format
