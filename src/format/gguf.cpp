#include "format/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "autoneural/error.h"
#include "format/gguf_detail.h"

namespace autoneural::format {

// GGUF is little-endian and we read fields with memcpy in host order.
static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

using namespace gguf_detail;

// Smallest possible encodings, used to reject impossible counts before allocating anything:
// a KV pair is key length (8) + value type (4) + a 1-byte value; a tensor info is name length (8) +
// n_dims (4) + one dimension (8) + type (4) + offset (8).
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
// Arrays are held as one GgufValue (~100 bytes) per element, so a file could make us allocate ~100×
// its size. Real tokenizers (256k tokens × 4 arrays) stay far below this total; a larger count is
// treated as malformed rather than risking an out-of-memory kill.
constexpr uint64_t kMaxArrayElementsTotal = uint64_t{1} << 24;

// Encoded size of a scalar (strings: their length prefix only, the minimum).
uint64_t min_encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    default: return 8;  // UINT64, INT64, FLOAT64, STRING (u64 length), ARRAY (never an element)
  }
}

// Bounds-checked little-endian cursor over the file image. Every failure names the file and offset.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& label) : data_(data), size_(size), label_(label) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& msg) const { throw Error(label_ + ": " + msg); }

  template <class T>
  T read(const char* what) {
    if (remaining() < sizeof(T))
      fail(std::string("truncated file: ") + what + " at offset " + std::to_string(pos_) + " needs " +
           std::to_string(sizeof(T)) + " bytes, " + std::to_string(remaining()) + " left");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  // `what` and `detail` describe the string for the error message ("value of key", "tokens"); they are
  // only concatenated on failure, since this runs once per vocabulary entry.
  std::string read_string(const char* what, std::string_view detail) {
    const uint64_t n = read<uint64_t>("string length");
    // Checked before allocating: a corrupt length must not turn into a multi-gigabyte allocation.
    if (n > remaining())
      fail(std::string(what) + std::string(detail) + ": string length " + std::to_string(n) + " at offset " +
           std::to_string(pos_ - 8) + " exceeds the " + std::to_string(remaining()) + " bytes left");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& label_;
};

GgufValue read_scalar(Reader& r, GgufValueType t, const std::string& key) {
  GgufValue v;
  v.type = t;
  // Integers fill both views so that get_int and a writer round trip need no further conversions.
  auto set_signed = [&](int64_t x) { v.i = x; v.u = static_cast<uint64_t>(x); };
  auto set_unsigned = [&](uint64_t x) { v.u = x; v.i = static_cast<int64_t>(x); };
  switch (t) {
    case GgufValueType::UINT8: set_unsigned(r.read<uint8_t>("uint8 value")); break;
    case GgufValueType::INT8: set_signed(r.read<int8_t>("int8 value")); break;
    case GgufValueType::UINT16: set_unsigned(r.read<uint16_t>("uint16 value")); break;
    case GgufValueType::INT16: set_signed(r.read<int16_t>("int16 value")); break;
    case GgufValueType::UINT32: set_unsigned(r.read<uint32_t>("uint32 value")); break;
    case GgufValueType::INT32: set_signed(r.read<int32_t>("int32 value")); break;
    case GgufValueType::UINT64: set_unsigned(r.read<uint64_t>("uint64 value")); break;
    case GgufValueType::INT64: set_signed(r.read<int64_t>("int64 value")); break;
    case GgufValueType::FLOAT32: v.f = r.read<float>("float32 value"); break;
    case GgufValueType::FLOAT64: v.f = r.read<double>("float64 value"); break;
    // The raw byte is kept (not normalised to 0/1) so that re-writing reproduces the file.
    case GgufValueType::BOOL: set_unsigned(r.read<uint8_t>("bool value")); break;
    case GgufValueType::STRING: v.str = r.read_string("value of key ", key); break;
    case GgufValueType::ARRAY: r.fail("nested arrays are not supported (key '" + key + "')");
  }
  return v;
}

GgufValue read_array(Reader& r, const std::string& key, uint64_t& elements_total) {
  const uint32_t raw = r.read<uint32_t>("array element type");
  if (!is_known_value_type(raw))
    r.fail("unknown array element type " + std::to_string(raw) + " for key '" + key + "'");
  const auto elem = static_cast<GgufValueType>(raw);
  if (elem == GgufValueType::ARRAY) r.fail("nested arrays are not supported (key '" + key + "')");
  const uint64_t count = r.read<uint64_t>("array length");
  if (count > r.remaining() / min_encoded_size(elem))
    r.fail("array length " + std::to_string(count) + " of key '" + key + "' exceeds the " +
           std::to_string(r.remaining()) + " bytes left");
  elements_total += count;
  if (elements_total > kMaxArrayElementsTotal)
    r.fail("metadata arrays hold more than " + std::to_string(kMaxArrayElementsTotal) +
           " elements in total (key '" + key + "')");
  GgufValue v;
  v.type = GgufValueType::ARRAY;
  v.elem_type = elem;
  v.array.reserve(static_cast<size_t>(count));
  for (uint64_t k = 0; k < count; ++k) v.array.push_back(read_scalar(r, elem, key));
  return v;
}

}  // namespace

// ---- GgufValue ----------------------------------------------------------------------------------------

GgufValue GgufValue::make_u32(uint32_t x) {
  GgufValue v;
  v.type = GgufValueType::UINT32;
  v.u = x;
  v.i = x;
  return v;
}
GgufValue GgufValue::make_i32(int32_t x) {
  GgufValue v;
  v.type = GgufValueType::INT32;
  v.i = x;
  v.u = static_cast<uint64_t>(static_cast<int64_t>(x));
  return v;
}
GgufValue GgufValue::make_u64(uint64_t x) {
  GgufValue v;
  v.type = GgufValueType::UINT64;
  v.u = x;
  v.i = static_cast<int64_t>(x);
  return v;
}
GgufValue GgufValue::make_f32(float x) {
  GgufValue v;
  v.type = GgufValueType::FLOAT32;
  v.f = x;
  return v;
}
GgufValue GgufValue::make_bool(bool x) {
  GgufValue v;
  v.type = GgufValueType::BOOL;
  v.u = x ? 1 : 0;
  v.i = x ? 1 : 0;
  return v;
}
GgufValue GgufValue::make_string(std::string x) {
  GgufValue v;
  v.type = GgufValueType::STRING;
  v.str = std::move(x);
  return v;
}
GgufValue GgufValue::make_array(GgufValueType elem_type, std::vector<GgufValue> elems) {
  if (elem_type == GgufValueType::ARRAY) throw Error("GGUF arrays cannot contain arrays");
  for (const auto& e : elems)
    if (e.type != elem_type)
      throw Error(std::string("GGUF array of ") + value_type_name(elem_type) + " given a " +
                  value_type_name(e.type) + " element");
  GgufValue v;
  v.type = GgufValueType::ARRAY;
  v.elem_type = elem_type;
  v.array = std::move(elems);
  return v;
}
GgufValue GgufValue::make_string_array(const std::vector<std::string>& xs) {
  std::vector<GgufValue> e;
  e.reserve(xs.size());
  for (const auto& s : xs) e.push_back(make_string(s));
  return make_array(GgufValueType::STRING, std::move(e));
}
GgufValue GgufValue::make_i32_array(const std::vector<int32_t>& xs) {
  std::vector<GgufValue> e;
  e.reserve(xs.size());
  for (int32_t x : xs) e.push_back(make_i32(x));
  return make_array(GgufValueType::INT32, std::move(e));
}
GgufValue GgufValue::make_f32_array(const std::vector<float>& xs) {
  std::vector<GgufValue> e;
  e.reserve(xs.size());
  for (float x : xs) e.push_back(make_f32(x));
  return make_array(GgufValueType::FLOAT32, std::move(e));
}

bool GgufValue::is_integer() const { return type_is_integer(type); }
bool GgufValue::is_float() const { return type_is_float(type); }

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // validated not to overflow when the file was parsed
  return n;
}

// ---- GgufFile: parsing ----------------------------------------------------------------------------------

GgufFile GgufFile::open(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  GgufFile g = parse(file->data(), file->size(), path);
  g.file_ = std::move(file);
  return g;
}

GgufFile GgufFile::parse(const uint8_t* bytes, size_t size, const std::string& label) {
  GgufFile g;
  g.label_ = label;
  Reader r(bytes, size, g.label_);
  if (size == 0) r.fail("empty file, not a GGUF file");

  if (size < 4 || r.read<uint32_t>("magic") != kGgufMagic) r.fail("not a GGUF file (bad magic)");
  g.version_ = r.read<uint32_t>("version");
  if (g.version_ != kGgufVersion) {
    // A big-endian file shows up as a byte-swapped version number; say so rather than "version 50331648".
    if (g.version_ != 0 && (g.version_ & 0xFFFFu) == 0 && __builtin_bswap32(g.version_) <= 3)
      r.fail("big-endian GGUF files are not supported");
    r.fail("unsupported GGUF version " + std::to_string(g.version_) + " (only version 3 is supported)");
  }
  const auto n_tensors = r.read<int64_t>("tensor count");
  const auto n_kv = r.read<int64_t>("metadata count");
  if (n_tensors < 0 || static_cast<uint64_t>(n_tensors) > r.remaining() / kMinTensorInfoBytes)
    r.fail("tensor count " + std::to_string(n_tensors) + " is impossible for the " +
           std::to_string(r.remaining()) + " bytes left");
  if (n_kv < 0 || static_cast<uint64_t>(n_kv) > r.remaining() / kMinKvBytes)
    r.fail("metadata count " + std::to_string(n_kv) + " is impossible for the " + std::to_string(r.remaining()) +
           " bytes left");
  if (static_cast<uint64_t>(n_tensors) * kMinTensorInfoBytes + static_cast<uint64_t>(n_kv) * kMinKvBytes >
      r.remaining())
    r.fail("tensor count " + std::to_string(n_tensors) + " and metadata count " + std::to_string(n_kv) +
           " are impossible for the " + std::to_string(r.remaining()) + " bytes left");

  // ---- metadata ----
  uint64_t array_elements = 0;
  g.kv_.reserve(static_cast<size_t>(n_kv));
  for (int64_t k = 0; k < n_kv; ++k) {
    std::string key = r.read_string("metadata key #", std::to_string(k));
    if (g.kv_index_.count(key)) r.fail("duplicate metadata key '" + key + "'");
    const uint32_t raw = r.read<uint32_t>("value type");
    if (!is_known_value_type(raw)) r.fail("unknown value type " + std::to_string(raw) + " for key '" + key + "'");
    const auto t = static_cast<GgufValueType>(raw);
    GgufValue v = t == GgufValueType::ARRAY ? read_array(r, key, array_elements) : read_scalar(r, t, key);
    g.kv_index_.emplace(key, g.kv_.size());
    g.kv_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = g.find("general.alignment")) {
    if (!a->is_integer()) r.fail(std::string("general.alignment must be an integer, not ") + value_type_name(a->type));
    const bool negative = type_is_signed(a->type) && a->i < 0;
    if (negative || a->u == 0 || a->u > std::numeric_limits<uint32_t>::max() || !std::has_single_bit(a->u))
      r.fail("general.alignment " + (negative ? std::to_string(a->i) : std::to_string(a->u)) +
             " is not a non-zero power of two");
    g.alignment_ = static_cast<uint32_t>(a->u);
  }

  // ---- tensor infos ----
  if (static_cast<uint64_t>(n_tensors) > r.remaining() / kMinTensorInfoBytes)
    r.fail("tensor count " + std::to_string(n_tensors) + " is impossible for the " +
           std::to_string(r.remaining()) + " bytes left after the metadata");
  g.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (int64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = r.read_string("tensor name #", std::to_string(k));
    if (t.name.empty()) r.fail("tensor #" + std::to_string(k) + " has an empty name");
    if (t.name.size() > kMaxTensorName)
      r.fail("tensor name '" + t.name.substr(0, 80) + "...' is " + std::to_string(t.name.size()) +
             " bytes long (the limit is " + std::to_string(kMaxTensorName) + ")");
    if (g.tensor_index_.count(t.name)) r.fail("duplicate tensor name '" + t.name + "'");
    const uint32_t n_dims = r.read<uint32_t>("n_dims");
    if (n_dims == 0 || n_dims > kMaxDims)
      r.fail("tensor '" + t.name + "' has n_dims " + std::to_string(n_dims) + " (must be 1 to 4)");
    for (uint32_t d = 0; d < n_dims; ++d) {
      const auto n = r.read<int64_t>("tensor dimension");
      if (n < 0) r.fail("tensor '" + t.name + "' has negative dimension ne[" + std::to_string(d) + "] = " + std::to_string(n));
      t.ne.push_back(n);
    }
    const uint32_t type_id = r.read<uint32_t>("tensor type");
    const auto tt = tensor_type_traits(type_id);
    if (!tt) r.fail("unsupported tensor type " + std::to_string(type_id) + " for tensor " + t.name);
    t.type = static_cast<TensorType>(type_id);
    if (t.ne[0] % tt->block_elems != 0)
      r.fail("tensor '" + t.name + "': ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the block size " +
             std::to_string(tt->block_elems) + " of type " + std::string(tt->name));
    const auto nbytes = tensor_nbytes(*tt, t.ne);
    if (!element_count(t.ne) || !nbytes) r.fail("tensor '" + t.name + "' is too large (element count overflows)");
    t.nbytes = static_cast<size_t>(*nbytes);
    t.offset = r.read<uint64_t>("tensor offset");
    g.tensor_index_.emplace(t.name, g.tensors_.size());
    g.tensors_.push_back(std::move(t));
  }

  // ---- data section ----
  const uint64_t data_start = align_up(r.pos(), g.alignment_);
  const uint64_t data_size = size > data_start ? size - data_start : 0;
  for (auto& t : g.tensors_) {
    if (t.offset % g.alignment_ != 0)
      r.fail("tensor '" + t.name + "' offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(g.alignment_));
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      r.fail("tensor '" + t.name + "' (offset " + std::to_string(t.offset) + ", " + std::to_string(t.nbytes) +
             " bytes) extends past the end of the file (data section holds " + std::to_string(data_size) + " bytes)");
    // Zero-sized tensors may sit exactly at the end of a file without a data section; never form a
    // pointer beyond the image for them.
    t.data = data_start + t.offset <= size ? bytes + data_start + t.offset : nullptr;
  }
  // Overlapping tensors would alias each other's data; llama.cpp forbids it (it insists on packed
  // offsets), we only require disjoint ranges.
  std::vector<size_t> order(g.tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return g.tensors_[a].offset < g.tensors_[b].offset; });
  uint64_t prev_end = 0;
  const GgufTensorInfo* prev = nullptr;
  for (size_t idx : order) {
    const auto& t = g.tensors_[idx];
    if (t.nbytes == 0) continue;
    if (prev && t.offset < prev_end)
      r.fail("tensors '" + prev->name + "' and '" + t.name + "' overlap in the data section");
    prev_end = t.offset + t.nbytes;
    prev = &t;
  }
  return g;
}

// ---- GgufFile: accessors --------------------------------------------------------------------------------

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

[[noreturn]] void wrong_type(const std::string& label, std::string_view key, const GgufValue& v, const char* wanted) {
  std::string have = value_type_name(v.type);
  if (v.type == GgufValueType::ARRAY) have += std::string(" of ") + value_type_name(v.elem_type);
  throw Error(label + ": metadata key '" + std::string(key) + "' is " + have + ", expected " + wanted);
}

// The integer held by `v` (an integer type) as int64, or Error if it does not fit.
int64_t as_int64(const std::string& label, std::string_view key, const GgufValue& v) {
  if (type_is_signed(v.type)) return v.i;
  if (v.u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error(label + ": metadata key '" + std::string(key) + "' value " + std::to_string(v.u) + " does not fit in int64");
  return static_cast<int64_t>(v.u);
}

double as_double(const GgufValue& v) {
  if (type_is_float(v.type)) return v.f;
  return type_is_signed(v.type) ? static_cast<double>(v.i) : static_cast<double>(v.u);
}

}  // namespace

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::STRING) wrong_type(label_, key, *v, "string");
  return v->str;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) wrong_type(label_, key, *v, "an integer");
  return as_int64(label_, key, *v);
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer() && !v->is_float()) wrong_type(label_, key, *v, "a number");
  return as_double(*v);
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::BOOL) wrong_type(label_, key, *v, "bool");
  return v->u != 0;
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || v->elem_type != GgufValueType::STRING)
    wrong_type(label_, key, *v, "array of string");
  std::vector<std::string> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(e.str);
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || !type_is_integer(v->elem_type)) wrong_type(label_, key, *v, "array of integers");
  std::vector<int64_t> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(as_int64(label_, key, e));
  return out;
}

std::optional<std::vector<double>> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValueType::ARRAY || !(type_is_integer(v->elem_type) || type_is_float(v->elem_type)))
    wrong_type(label_, key, *v, "array of numbers");
  std::vector<double> out;
  out.reserve(v->array.size());
  for (const auto& e : v->array) out.push_back(as_double(e));
  return out;
}
}  // namespace autoneural::format
