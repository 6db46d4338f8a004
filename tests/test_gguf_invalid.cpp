// Malformed GGUF input: every defect must surface as autoneural::Error naming the file and the problem,
// never as a crash, a huge allocation or a silently accepted file.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/gguf.h"
#include "test_util.h"

namespace autoneural::format {
namespace {

// Hand-assembles GGUF bytes, including ones no writer would produce.
class Bytes {
 public:
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& i64(int64_t v) { return put(v); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& header(int64_t n_tensors, int64_t n_kv, uint32_t version = 3) {
    b.insert(b.end(), {'G', 'G', 'U', 'F'});
    return u32(version).i64(n_tensors).i64(n_kv);
  }
  Bytes& pad(size_t alignment) {
    b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.resize(b.size() + n, 0);
    return *this;
  }
  std::vector<uint8_t> b;

 private:
  template <class T>
  Bytes& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
};

struct RawTensor {
  std::string name;
  std::vector<int64_t> ne;
  uint32_t type;
  uint64_t offset;
};

// A file with the given tensor infos (unvalidated), an optional u32 general.alignment, and
// `data_bytes` of data after the padding.
std::vector<uint8_t> raw_gguf(const std::vector<RawTensor>& tensors, size_t data_bytes, uint32_t alignment = 0) {
  Bytes x;
  x.header(static_cast<int64_t>(tensors.size()), alignment ? 1 : 0);
  if (alignment) x.str("general.alignment").u32(4).u32(alignment);
  for (const auto& t : tensors) {
    x.str(t.name).u32(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) x.i64(d);
    x.u32(t.type).u64(t.offset);
  }
  x.pad(alignment ? alignment : 32).zeros(data_bytes);
  return x.b;
}

// Parses `bytes` and expects autoneural::Error whose message names the file and contains `fragment`.
void expect_invalid(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  const std::string label = "bad-input.gguf";
  EXPECT_THROW(GgufFile::parse(bytes.data(), bytes.size(), label), Error);
  try {
    (void)GgufFile::parse(bytes.data(), bytes.size(), label);
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(label + ": ", 0), 0u) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << msg;
  }
}

constexpr uint32_t kF32 = 0, kQ8_0 = 8;

TEST(GgufInvalid, RawBuilderControlIsValid) {
  // The builder itself makes valid files, so the failures below come from the one defect each adds.
  const auto bytes = raw_gguf({{"a", {4, 2}, kF32, 0}, {"b", {32}, kQ8_0, 32}}, 66);
  const auto g = GgufFile::parse(bytes.data(), bytes.size(), "ok");
  EXPECT_EQ(g.tensors().size(), 2u);
  EXPECT_EQ(g.find_tensor("b")->nbytes, 34u);
  const auto aligned = raw_gguf({{"a", {4}, kF32, 0}}, 16, 16);
  EXPECT_EQ(GgufFile::parse(aligned.data(), aligned.size(), "ok").alignment(), 16u);
}

TEST(GgufInvalid, EmptyFile) {
  expect_invalid({}, "empty file");
  test::TempDir dir;
  const std::string path = dir.file("empty.gguf");
  std::ofstream(path).close();
  try {
    (void)GgufFile::open(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(GgufInvalid, MissingFileNamesPathAndReason) {
  try {
    (void)GgufFile::open("/nonexistent/dir/model.gguf");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST(GgufInvalid, BadMagic) {
  auto bytes = raw_gguf({}, 0);
  bytes[0] = 'X';
  expect_invalid(bytes, "bad magic");
  expect_invalid({'G', 'G'}, "bad magic");
}

TEST(GgufInvalid, WrongVersion) {
  expect_invalid(Bytes().header(0, 0, 2).b, "unsupported GGUF version 2");
  expect_invalid(Bytes().header(0, 0, 4).b, "unsupported GGUF version 4");
  expect_invalid(Bytes().header(0, 0, 0x03000000u).b, "big-endian");
}

// A small but complete file: strings, arrays of strings, integers, two tensors with padding.
std::vector<uint8_t> small_valid_gguf() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("lfm2"));
  w.set("n", GgufValue::make_u32(7));
  w.set("toks", GgufValue::make_string_array({"a", "bc", ""}));
  w.set("ids", GgufValue::make_i32_array({1, -2}));
  const std::vector<uint8_t> data(3 * 34, 0x11);
  w.add_tensor("q", TensorType::Q8_0, {32, 3}, data.data(), 3 * 34);
  // The last tensor fills whole 32-byte units, so the file ends with tensor data rather than padding
  // and every proper prefix really is incomplete (trailing padding is optional for readers).
  w.add_tensor("w", TensorType::F32, {4, 2}, data.data(), 32);
  return w.serialize();
}

TEST(GgufInvalid, EveryTruncationThrows) {
  const auto full = small_valid_gguf();
  ASSERT_NO_THROW(GgufFile::parse(full.data(), full.size(), "full"));
  for (size_t n = 0; n < full.size(); ++n) {
    // A fresh allocation of exactly n bytes, so that ASan catches any read past the prefix.
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(GgufFile::parse(prefix.data(), prefix.size(), "prefix"), Error) << "prefix length " << n;
  }
}

TEST(GgufInvalid, HugeTensorCount) {
  expect_invalid(Bytes().header(int64_t{1} << 40, 0).zeros(64).b, "tensor count 1099511627776");
  expect_invalid(Bytes().header(-1, 0).b, "tensor count -1");
}

TEST(GgufInvalid, HugeKvCount) {
  expect_invalid(Bytes().header(0, int64_t{1} << 40).zeros(64).b, "metadata count 1099511627776");
  expect_invalid(Bytes().header(0, -5).b, "metadata count -5");
}

TEST(GgufInvalid, HugeStringLength) {
  // The key's length prefix claims ~2^62 bytes: rejected before any allocation.
  expect_invalid(Bytes().header(0, 1).u64(uint64_t{1} << 62).zeros(16).b, "string length 4611686018427387904");
  // Same for a string value.
  expect_invalid(Bytes().header(0, 1).str("k").u32(8).u64(1000).zeros(16).b, "string length 1000");
  // And for a tensor name.
  expect_invalid(Bytes().header(1, 0).u64(999999).zeros(40).b, "string length 999999");
}

TEST(GgufInvalid, HugeArrayCount) {
  expect_invalid(Bytes().header(0, 1).str("arr").u32(9).u32(4).u64(uint64_t{1} << 61).zeros(64).b,
                 "array length 2305843009213693952 of key 'arr'");
  // 100 strings need at least 800 bytes of length prefixes; 64 bytes cannot hold them.
  expect_invalid(Bytes().header(0, 1).str("s").u32(9).u32(8).u64(100).zeros(64).b, "array length 100 of key 's'");
}

TEST(GgufInvalid, UnknownValueType) {
  expect_invalid(Bytes().header(0, 1).str("k").u32(13).u32(0).b, "unknown value type 13 for key 'k'");
  expect_invalid(Bytes().header(0, 1).str("k").u32(9).u32(77).u64(0).b, "unknown array element type 77");
  expect_invalid(Bytes().header(0, 1).str("k").u32(9).u32(9).u64(1).u32(4).u64(1).u32(0).b, "nested arrays");
}

TEST(GgufInvalid, DuplicateKey) {
  expect_invalid(Bytes().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).b, "duplicate metadata key 'k'");
}

TEST(GgufInvalid, UnknownTensorType) {
  expect_invalid(raw_gguf({{"blk.0.w", {32}, 99, 0}}, 128), "unsupported tensor type 99 for tensor blk.0.w");
  // Types that exist in ggml but that this engine does not implement (Q5_0 = 6) are refused the same way.
  expect_invalid(raw_gguf({{"w", {32}, 6, 0}}, 128), "unsupported tensor type 6 for tensor w");
}

TEST(GgufInvalid, BadDimensionCount) {
  expect_invalid(raw_gguf({{"w", {}, kF32, 0}}, 64), "n_dims 0");
  expect_invalid(raw_gguf({{"w", {1, 1, 1, 1, 1}, kF32, 0}}, 64), "n_dims 5");
}

TEST(GgufInvalid, BadDimensions) {
  expect_invalid(raw_gguf({{"w", {4, -1}, kF32, 0}}, 64), "negative dimension ne[1] = -1");
  expect_invalid(raw_gguf({{"w", {int64_t{1} << 40, int64_t{1} << 40}, kF32, 0}}, 64), "too large");
}

TEST(GgufInvalid, RowNotMultipleOfBlockSize) {
  expect_invalid(raw_gguf({{"q", {48, 2}, kQ8_0, 0}}, 256), "ne[0] = 48 is not a multiple of the block size 32");
}

TEST(GgufInvalid, OffsetPastEnd) {
  expect_invalid(raw_gguf({{"w", {8}, kF32, 0}}, 16), "extends past the end");
  expect_invalid(raw_gguf({{"w", {8}, kF32, 64}}, 64), "extends past the end");
  expect_invalid(raw_gguf({{"w", {8}, kF32, ~uint64_t{0} - 31}}, 64), "extends past the end");
}

TEST(GgufInvalid, UnalignedOffset) {
  expect_invalid(raw_gguf({{"w", {4}, kF32, 8}}, 64), "offset 8 is not a multiple of the alignment 32");
}

TEST(GgufInvalid, OverlappingTensors) {
  expect_invalid(raw_gguf({{"a", {16}, kF32, 0}, {"b", {16}, kF32, 32}}, 128), "tensors 'a' and 'b' overlap");
  // Identical offsets overlap too, whatever the order in the file.
  expect_invalid(raw_gguf({{"b", {4}, kF32, 32}, {"a", {4}, kF32, 32}}, 128), "overlap");
}

TEST(GgufInvalid, BadAlignment) {
  expect_invalid(raw_gguf({{"w", {4}, kF32, 0}}, 64, 48), "general.alignment 48 is not a non-zero power of two");
  expect_invalid(Bytes().header(0, 1).str("general.alignment").u32(4).u32(0).b, "general.alignment 0");
  expect_invalid(Bytes().header(0, 1).str("general.alignment").u32(8).str("32").b, "general.alignment must be an integer");
}

TEST(GgufInvalid, DuplicateTensorNames) {
  expect_invalid(raw_gguf({{"w", {4}, kF32, 0}, {"w", {4}, kF32, 32}}, 64), "duplicate tensor name 'w'");
}

TEST(GgufInvalid, TensorNameTooLongOrEmpty) {
  expect_invalid(raw_gguf({{std::string(64, 'n'), {4}, kF32, 0}}, 64), "bytes long");
  // Found by fuzz_gguf: an empty name was accepted by the reader but refused by the writer.
  expect_invalid(raw_gguf({{"", {4}, kF32, 0}}, 64), "tensor #0 has an empty name");
}

TEST(GgufInvalid, BitFlipsNeverCrash) {
  // Single-byte corruptions of a valid file either parse or throw Error; nothing else may happen
  // (run under ASan/UBSan this also proves no out-of-bounds read).
  const auto full = small_valid_gguf();
  int rejected = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0xFF}, uint8_t{0x80}}) {
      auto bytes = full;
      if (bytes[i] == v) continue;
      bytes[i] = v;
      try {
        (void)GgufFile::parse(bytes.data(), bytes.size(), "flip");
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace autoneural::format
