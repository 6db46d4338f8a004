// GgufWriter: serializes metadata and tensors in the layout llama.cpp writes (see gguf.h).
#include "format/gguf.h"

#include <bit>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "autoneural/error.h"
#include "format/gguf_detail.h"

namespace autoneural::format {

using namespace gguf_detail;

namespace {

class ByteBuffer {
 public:
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) { bytes.resize(static_cast<size_t>(align_up(bytes.size(), alignment)), 0); }
  std::vector<uint8_t> bytes;
};

void put_scalar(ByteBuffer& b, const GgufValue& v, const std::string& key) {
  // Range checks: writing a silently truncated value would produce a file that means something else.
  auto check_u = [&](uint64_t max) {
    if (v.u > max) throw Error("GGUF metadata key '" + key + "': value " + std::to_string(v.u) + " does not fit in " + value_type_name(v.type));
  };
  auto check_i = [&](int64_t lo, int64_t hi) {
    if (v.i < lo || v.i > hi) throw Error("GGUF metadata key '" + key + "': value " + std::to_string(v.i) + " does not fit in " + value_type_name(v.type));
  };
  switch (v.type) {
    case GgufValueType::UINT8: check_u(0xFF); b.put<uint8_t>(static_cast<uint8_t>(v.u)); break;
    case GgufValueType::INT8: check_i(-128, 127); b.put<int8_t>(static_cast<int8_t>(v.i)); break;
    case GgufValueType::UINT16: check_u(0xFFFF); b.put<uint16_t>(static_cast<uint16_t>(v.u)); break;
    case GgufValueType::INT16: check_i(-32768, 32767); b.put<int16_t>(static_cast<int16_t>(v.i)); break;
    case GgufValueType::UINT32: check_u(0xFFFFFFFFu); b.put<uint32_t>(static_cast<uint32_t>(v.u)); break;
    case GgufValueType::INT32:
      check_i(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
      b.put<int32_t>(static_cast<int32_t>(v.i));
      break;
    case GgufValueType::UINT64: b.put<uint64_t>(v.u); break;
    case GgufValueType::INT64: b.put<int64_t>(v.i); break;
    case GgufValueType::FLOAT32: b.put<float>(static_cast<float>(v.f)); break;
    case GgufValueType::FLOAT64: b.put<double>(v.f); break;
    case GgufValueType::BOOL: check_u(0xFF); b.put<uint8_t>(static_cast<uint8_t>(v.u)); break;
    case GgufValueType::STRING: b.put_string(v.str); break;
    case GgufValueType::ARRAY: throw Error("GGUF metadata key '" + key + "': nested arrays are not supported");
    default: throw Error("GGUF metadata key '" + key + "': unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
  }
}

void put_value(ByteBuffer& b, const GgufValue& v, const std::string& key) {
  b.put<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type != GgufValueType::ARRAY) {
    put_scalar(b, v, key);
    return;
  }
  if (v.elem_type == GgufValueType::ARRAY || !is_known_value_type(static_cast<uint32_t>(v.elem_type)))
    throw Error("GGUF metadata key '" + key + "': invalid array element type");
  b.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
  b.put<uint64_t>(v.array.size());
  for (const auto& e : v.array) {
    if (e.type != v.elem_type)
      throw Error("GGUF metadata key '" + key + "': array of " + value_type_name(v.elem_type) + " holds a " +
                  value_type_name(e.type) + " element");
    put_scalar(b, e, key);
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne, const void* data,
                            size_t nbytes) {
  const auto tt = tensor_type_traits(static_cast<uint32_t>(type));
  auto fail = [&](const std::string& msg) { throw Error("GGUF writer: tensor '" + name + "': " + msg); };
  if (!tt) fail("unsupported tensor type " + std::to_string(static_cast<uint32_t>(type)));
  if (name.empty() || name.size() > kMaxTensorName)
    fail("name must be 1 to " + std::to_string(kMaxTensorName) + " bytes long");
  if (ne.empty() || ne.size() > static_cast<size_t>(kMaxDims)) fail("must have 1 to 4 dimensions");
  for (int64_t d : ne)
    if (d < 0) fail("negative dimension");
  if (ne[0] % tt->block_elems != 0)
    fail("ne[0] = " + std::to_string(ne[0]) + " is not a multiple of the block size " + std::to_string(tt->block_elems));
  const auto expected = tensor_nbytes(*tt, ne);
  if (!expected || !element_count(ne)) fail("element count overflows");
  if (*expected != nbytes)
    fail("has " + std::to_string(nbytes) + " bytes of data, its shape needs " + std::to_string(*expected));
  if (nbytes > 0 && data == nullptr) fail("data is null");
  PendingTensor t{name, type, std::move(ne), {}};
  if (nbytes > 0) {
    const auto* p = static_cast<const uint8_t*>(data);
    t.bytes.assign(p, p + nbytes);
  }
  tensors_.push_back(std::move(t));
}

uint32_t GgufWriter::alignment() const {
  for (const auto& [key, v] : kv_) {
    if (key != "general.alignment") continue;
    const bool ok = v.is_integer() && !(type_is_signed(v.type) && v.i < 0) && v.u != 0 &&
                    v.u <= std::numeric_limits<uint32_t>::max() && std::has_single_bit(v.u);
    if (!ok) throw Error("GGUF writer: general.alignment must be a non-zero power of two");
    return static_cast<uint32_t>(v.u);
  }
  return kDefaultAlignment;
}

namespace {

// Everything before the data section: header, metadata, tensor infos with running offsets, padding.
// A template so that it can read the writer's private PendingTensor records.
template <class Tensors>
std::vector<uint8_t> serialize_header(const std::vector<std::pair<std::string, GgufValue>>& kv, const Tensors& tensors,
                                      uint32_t alignment) {
  std::set<std::string_view> seen;
  for (const auto& t : tensors)
    if (!seen.insert(t.name).second) throw Error("GGUF writer: duplicate tensor name '" + t.name + "'");
  ByteBuffer b;
  b.put<uint32_t>(kGgufMagic);
  b.put<uint32_t>(kGgufVersion);
  b.put<int64_t>(static_cast<int64_t>(tensors.size()));
  b.put<int64_t>(static_cast<int64_t>(kv.size()));
  for (const auto& [key, v] : kv) {
    b.put_string(key);
    put_value(b, v, key);
  }
  // Offsets are the running sum of padded sizes, the only layout llama.cpp accepts.
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    b.put_string(t.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) b.put<int64_t>(d);
    b.put<uint32_t>(static_cast<uint32_t>(t.type));
    b.put<uint64_t>(offset);
    offset += align_up(t.bytes.size(), alignment);
  }
  b.pad_to(alignment);
  return std::move(b.bytes);
}

}  // namespace

std::vector<uint8_t> GgufWriter::serialize() const {
  const uint32_t align = alignment();
  std::vector<uint8_t> out = serialize_header(kv_, tensors_, align);
  for (const auto& t : tensors_) {
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    out.resize(static_cast<size_t>(align_up(out.size(), align)), 0);
  }
  return out;
}

void GgufWriter::write(const std::string& path) const {
  const uint32_t align = alignment();
  // Only the (small) header is built in memory; tensor data is streamed straight from the pending
  // copies so that writing a multi-gigabyte model does not need a second copy of it.
  const std::vector<uint8_t> header = serialize_header(kv_, tensors_, align);
  AtomicFileWriter out(path);
  out.write(header.data(), header.size());
  const std::vector<uint8_t> zeros(align, 0);
  for (const auto& t : tensors_) {
    out.write(t.bytes.data(), t.bytes.size());
    out.write(zeros.data(), static_cast<size_t>(align_up(t.bytes.size(), align) - t.bytes.size()));
  }
  out.commit();
}

}  // namespace autoneural::format
