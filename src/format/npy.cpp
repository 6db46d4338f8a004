#include "format/npy.h"

#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

#include "autoneural/error.h"
#include "format/mapped_file.h"

namespace autoneural::format {

static_assert(std::endian::native == std::endian::little, "the .npy reader and writer assume a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy aligns the data to 64 bytes (ARRAY_ALIGN) so that it can be memory-mapped; we do the same.
constexpr size_t kAlign = 64;

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw Error(path + ": " + msg); }

// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
// This parser accepts exactly the subset numpy writes: quoted strings, True/False, tuples of integers.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  struct Header {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<int64_t>> shape;
  };

  Header parse() {
    Header h;
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') fail(path_, "unsupported dtype (structured or non-string descr)");
        h.descr = parse_string();
      } else if (key == "fortran_order") {
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        h.shape = parse_tuple();
      } else {
        bad("unexpected key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') bad("expected ',' or '}'");
    }
    if (!h.descr || !h.fortran_order || !h.shape) bad("missing descr, fortran_order or shape");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& msg) const {
    fail(path_, "malformed header: " + msg + " at position " + std::to_string(pos_));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> parse_tuple() {
    expect('(');
    std::vector<int64_t> dims;
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{peek() - '0'}, &v))
          bad("dimension too large");
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal, written by old numpy versions
      dims.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') bad("expected ',' or ')' in shape");
    }
    ++pos_;
    return dims;
  }

  std::string_view s_;
  size_t pos_ = 0;
  const std::string& path_;
};

std::string shape_repr(const std::vector<int64_t>& shape) {
  // Python's tuple repr: () / (n,) / (a, b, ...).
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

void write_npy(const std::string& path, const char* descr, const void* data, size_t elem_size,
               const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(path + ": cannot write .npy with negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) throw Error(path + ": .npy shape overflows");
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(elem_size), &nbytes) || nbytes > std::numeric_limits<size_t>::max())
    throw Error(path + ": .npy data too large");
  if (nbytes > 0 && data == nullptr) throw Error(path + ": no data to write");

  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  // magic (6) + version (2) + header length (2) + dict + padding + '\n' must be a multiple of 64.
  const size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict += '\n';
  if (dict.size() > 0xFFFF) throw Error(path + ": .npy header too long for format version 1.0");

  std::string head(kMagic, kMagicLen);
  head += '\x01';
  head += '\x00';
  head += static_cast<char>(dict.size() & 0xFF);
  head += static_cast<char>(dict.size() >> 8);
  head += dict;
  AtomicFileWriter out(path);
  out.write(head.data(), head.size());
  out.write(data, static_cast<size_t>(nbytes));
  out.commit();
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  const MappedFile file(path);
  return parse_npy(file.data(), file.size(), path);
}

NpyArray parse_npy(const uint8_t* p, size_t size, const std::string& path) {
  if (!p || size < kMagicLen + 2 || std::memcmp(p, kMagic, kMagicLen) != 0) fail(path, "not a .npy file (bad magic)");
  const uint8_t major = p[6];
  size_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    if (size < 10) fail(path, "truncated .npy header");
    header_len = static_cast<size_t>(p[8]) | static_cast<size_t>(p[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {  // 3.0 differs only in allowing UTF-8 in the header
    if (size < 12) fail(path, "truncated .npy header");
    uint32_t len = 0;
    std::memcpy(&len, p + 8, 4);
    header_len = len;
    header_start = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(p[7]));
  }
  if (header_len > size - header_start) fail(path, "truncated .npy header");
  const std::string_view text(reinterpret_cast<const char*>(p + header_start), header_len);
  const auto h = HeaderParser(text, path).parse();

  const std::string& descr = *h.descr;
  if (descr != "<f4" && descr != "<f8" && descr != "<i4" && descr != "<i8" && descr != "|u1")
    fail(path, "unsupported dtype '" + descr + "' (supported: <f4, <f8, <i4, <i8, |u1)");
  const size_t item = descr == "|u1" ? 1 : descr[2] == '4' ? 4 : 8;
  const bool is_float = descr[1] == 'f';
  if (*h.fortran_order) fail(path, "Fortran-order arrays are not supported");

  NpyArray a;
  a.shape = *h.shape;
  a.is_float_dtype = is_float;
  uint64_t n = 1;
  for (int64_t d : a.shape)
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) fail(path, "shape overflows");
  const size_t data_start = header_start + header_len;
  const uint64_t available = size - data_start;
  uint64_t needed = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(item), &needed) || needed != available)
    fail(path, "data size mismatch: shape " + shape_repr(a.shape) + " needs " + std::to_string(n) + " x " +
                   std::to_string(item) + " bytes, the file holds " + std::to_string(available));
  const uint8_t* d = p + data_start;
  // memcpy, not pointer casts: the data offset of a v2 or hand-made file need not be aligned.
  if (descr == "<f4") {
    a.f32.resize(n);
    if (n) std::memcpy(a.f32.data(), d, n * 4);
  } else if (descr == "<f8") {
    a.f32.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      double v;
      std::memcpy(&v, d + k * 8, 8);
      a.f32[k] = static_cast<float>(v);
    }
  } else if (descr == "<i4") {
    a.i64.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      int32_t v;
      std::memcpy(&v, d + k * 4, 4);
      a.i64[k] = v;
    }
  } else if (descr == "|u1") {  // images (uint8 pixels)
    a.i64.assign(d, d + n);
  } else {
    a.i64.resize(n);
    if (n) std::memcpy(a.i64.data(), d, n * 8);
  }
  return a;
}

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy(path, "<f4", data, sizeof(float), shape);
}

void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape) {
  write_npy(path, "<i4", data, sizeof(int32_t), shape);
}

}  // namespace autoneural::format
