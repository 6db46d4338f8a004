// .npy reading and writing, plus the file helpers underneath (MappedFile, read_text_file,
// write_file_atomic) that every format uses.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "format/mapped_file.h"
#include "format/npy.h"
#include "test_util.h"

namespace autoneural::format {
namespace {

using test::lfm2_tiny;

using test::expect_error;

// A .npy file assembled by hand: version `major`, the given header dict (padded like numpy does), data.
std::string make_npy(int major, const std::string& dict, const std::string& data) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const uint32_t len = static_cast<uint32_t>(header.size());
  out.append(reinterpret_cast<const char*>(&len), major == 1 ? 2 : 4);
  return out + header + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

void put(const std::string& path, const std::string& bytes) { write_file_atomic(path, bytes.data(), bytes.size()); }

TEST(Npy, ReadsFixtureReferences) {
  const auto tokens = read_npy(lfm2_tiny("ref/plain.tokens.npy"));
  EXPECT_EQ(tokens.shape, (std::vector<int64_t>{56}));
  EXPECT_FALSE(tokens.is_float());
  ASSERT_EQ(tokens.i64.size(), 56u);
  EXPECT_EQ(tokens.i64[0], 1);  // BOS, add_special = true
  for (int64_t id : tokens.i64) EXPECT_TRUE(id >= 0 && id < 640) << id;

  const auto logits = read_npy(lfm2_tiny("ref/plain.logits.f32.npy"));
  EXPECT_EQ(logits.shape, (std::vector<int64_t>{56, 640}));
  EXPECT_TRUE(logits.is_float());
  EXPECT_EQ(logits.size(), 56 * 640);
  ASSERT_EQ(logits.f32.size(), 56u * 640u);
  // README: logits lie roughly in [-27, 29] with std about 6.
  double sum2 = 0;
  for (float v : logits.f32) {
    EXPECT_LT(std::abs(v), 40.0f);
    sum2 += static_cast<double>(v) * v;
  }
  const double rms = std::sqrt(sum2 / static_cast<double>(logits.f32.size()));
  EXPECT_GT(rms, 3.0);
  EXPECT_LT(rms, 10.0);
}

TEST(Npy, WriteReadRoundTrip) {
  test::TempDir dir;
  const std::vector<float> f = {1.0f, -2.0f, 3.5f, 1e-20f, -0.0f, 42.0f};
  write_npy_f32(dir.file("f.npy"), f.data(), {2, 3});
  const auto a = read_npy(dir.file("f.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(a.is_float());
  EXPECT_EQ(a.f32, f);
  EXPECT_TRUE(std::signbit(a.f32[4]));

  const std::vector<int32_t> i = {7, -1, 2147483647, -2147483647 - 1};
  write_npy_i32(dir.file("i.npy"), i.data(), {4});
  const auto b = read_npy(dir.file("i.npy"));
  EXPECT_EQ(b.shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(b.i64, (std::vector<int64_t>{7, -1, 2147483647, -2147483648LL}));

  // numpy's own layout: version 1.0, header padded with spaces to a multiple of 64, ending in '\n'.
  const std::string bytes = read_text_file(dir.file("i.npy"));
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes[10 + header_len - 1], '\n');
  EXPECT_EQ(bytes.substr(10, 57), "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }");
  EXPECT_EQ(bytes.size(), 10 + header_len + 16);
}

TEST(Npy, ScalarAndEmptyShapes) {
  test::TempDir dir;
  const float one = 5.0f;
  write_npy_f32(dir.file("s.npy"), &one, {});
  const auto s = read_npy(dir.file("s.npy"));
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.f32, std::vector<float>{5.0f});
  write_npy_f32(dir.file("e.npy"), nullptr, {0, 3});
  const auto e = read_npy(dir.file("e.npy"));
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(e.f32.empty());
  EXPECT_TRUE(e.is_float());  // known from the dtype even without elements
  EXPECT_EQ(e.size(), 0);
}

TEST(Npy, ReadsF8I8AndVersion2Headers) {
  test::TempDir dir;
  put(dir.file("d.npy"), make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                  raw(std::vector<double>{0.1, -1e10, 2.0})));
  const auto d = read_npy(dir.file("d.npy"));
  EXPECT_EQ(d.f32, (std::vector<float>{0.1f, -1e10f, 2.0f}));

  put(dir.file("l.npy"), make_npy(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }",
                                  raw(std::vector<int64_t>{-5, int64_t{1} << 40})));
  const auto l = read_npy(dir.file("l.npy"));
  EXPECT_EQ(l.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(l.i64, (std::vector<int64_t>{-5, int64_t{1} << 40}));

  // Key order, double quotes and spacing vary between writers; Python 2 numpy wrote "3L".
  put(dir.file("v.npy"), make_npy(1, "{\"shape\": (2L,),\"descr\":\"<f4\",  'fortran_order':False}",
                                  raw(std::vector<float>{1, 2})));
  EXPECT_EQ(read_npy(dir.file("v.npy")).f32, (std::vector<float>{1, 2}));
}

TEST(Npy, ParsesFromMemory) {
  float v[3] = {1.5f, -2.0f, 3.0f};
  const std::string bytes = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                     std::string(reinterpret_cast<const char*>(v), sizeof v));
  const NpyArray a = parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem.npy");
  EXPECT_EQ(a.shape, std::vector<int64_t>{3});
  EXPECT_EQ(a.f32, std::vector<float>(v, v + 3));
  expect_error([&] { parse_npy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() - 1, "mem.npy"); },
               "mem.npy: data size mismatch");
  expect_error([] { parse_npy(nullptr, 0, "null.npy"); }, "null.npy: not a .npy file");
}

TEST(NpyInvalid, BadMagic) {
  test::TempDir dir;
  put(dir.file("m.npy"), "\x93NUMPX\x01\x00\x00\x00");
  expect_error([&] { (void)read_npy(dir.file("m.npy")); }, "bad magic");
  put(dir.file("e.npy"), "");
  expect_error([&] { (void)read_npy(dir.file("e.npy")); }, dir.file("e.npy"));
  put(dir.file("v.npy"), make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", raw(std::vector<float>{1})).replace(6, 1, "\x07"));
  expect_error([&] { (void)read_npy(dir.file("v.npy")); }, "unsupported .npy format version 7");
  expect_error([&] { (void)read_npy(dir.file("none.npy")); }, "none.npy");
}

TEST(NpyInvalid, UnsupportedDtype) {
  test::TempDir dir;
  for (const char* descr : {">f4", "<u2", "<f2", "|b1"}) {
    put(dir.file("t.npy"), make_npy(1, std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (1,), }",
                                    std::string(4, '\0')));
    expect_error([&] { (void)read_npy(dir.file("t.npy")); }, std::string("unsupported dtype '") + descr + "'");
  }
  put(dir.file("r.npy"), make_npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0')));
  expect_error([&] { (void)read_npy(dir.file("r.npy")); }, "unsupported dtype");
}

TEST(NpyInvalid, FortranOrder) {
  test::TempDir dir;
  put(dir.file("f.npy"), make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0')));
  expect_error([&] { (void)read_npy(dir.file("f.npy")); }, "Fortran-order");
}

TEST(NpyInvalid, TruncatedData) {
  test::TempDir dir;
  const std::vector<float> v = {1, 2, 3, 4};
  write_npy_f32(dir.file("ok.npy"), v.data(), {4});
  const std::string full = read_text_file(dir.file("ok.npy"));
  put(dir.file("t.npy"), full.substr(0, full.size() - 1));
  expect_error([&] { (void)read_npy(dir.file("t.npy")); }, "needs 4 x 4 bytes, the file holds 15");
  // Every shorter prefix, header included, is rejected with an Error too.
  for (size_t n = 0; n + 1 < full.size(); ++n) {
    put(dir.file("p.npy"), full.substr(0, n));
    EXPECT_THROW(read_npy(dir.file("p.npy")), Error) << "prefix " << n;
  }
}

TEST(NpyInvalid, MalformedHeader) {
  test::TempDir dir;
  for (const char* dict : {"{'descr': '<f4', 'fortran_order': False}", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "no dict at all"}) {
    put(dir.file("h.npy"), make_npy(1, dict, std::string(4, '\0')));
    expect_error([&] { (void)read_npy(dir.file("h.npy")); }, "malformed header");
  }
}

TEST(NpyInvalid, WriterRejectsNegativeShape) {
  test::TempDir dir;
  expect_error([&] { write_npy_f32(dir.file("n.npy"), nullptr, {-1}); }, "negative dimension");
  EXPECT_FALSE(std::filesystem::exists(dir.file("n.npy")));
}

// ---- file helpers -------------------------------------------------------------------------------

TEST(MappedFile, MapsContentAndEmptyFiles) {
  test::TempDir dir;
  put(dir.file("a.bin"), "hello");
  MappedFile f(dir.file("a.bin"));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(std::memcmp(f.data(), "hello", 5), 0);
  EXPECT_EQ(f.path(), dir.file("a.bin"));
  MappedFile moved = std::move(f);
  EXPECT_EQ(moved.size(), 5u);
  EXPECT_EQ(f.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  put(dir.file("empty.bin"), "");
  MappedFile e(dir.file("empty.bin"));
  EXPECT_EQ(e.size(), 0u);
}

TEST(MappedFile, ErrorsNameThePathAndReason) {
  test::TempDir dir;
  expect_error([&] { MappedFile f(dir.file("missing.bin")); }, dir.file("missing.bin") + "': No such file or directory");
  expect_error([&] { MappedFile f(dir.path()); }, "not a regular file");
  expect_error([&] { (void)read_text_file(dir.file("missing.txt")); }, "missing.txt");
  expect_error([&] { (void)read_text_file(dir.path()); }, "is a directory");
}

TEST(WriteFileAtomic, ReplacesContentAndLeavesNoTemporary) {
  test::TempDir dir;
  const std::string path = dir.file("out.txt");
  put(path, "first version, long");
  put(path, "second");
  EXPECT_EQ(read_text_file(path), "second");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(WriteFileAtomic, FailureThrowsAndKeepsOldFile) {
  test::TempDir dir;
  expect_error([&] { put(dir.file("no/such/dir/x.txt"), "x"); }, "no/such/dir/x.txt");
  // A directory in the target's place is refused before anything is written; no temporary is left.
  std::filesystem::create_directory(dir.file("target"));
  std::ofstream(dir.file("target/keep")).put('k');
  expect_error([&] { put(dir.file("target"), "data"); }, "is a directory");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("target")));
}

TEST(WriteFileAtomic, StreamingWriterDiscardsUncommittedData) {
  test::TempDir dir;
  const std::string path = dir.file("s.bin");
  put(path, "old");
  {
    AtomicFileWriter w(path);
    w.write("new data", 8);
    // destroyed without commit(), as when an exception unwinds a writer
  }
  EXPECT_EQ(read_text_file(path), "old");
  {
    AtomicFileWriter w(path);
    w.write("new ", 4);
    w.write("data", 4);
    w.commit();
    expect_error([&] { w.write("x", 1); }, "committed");
  }
  EXPECT_EQ(read_text_file(path), "new data");
}

}  // namespace
}  // namespace autoneural::format
