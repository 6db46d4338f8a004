#include "format/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <utility>

#include "autoneural/error.h"
#include "format/json.h"

namespace autoneural::format {

static_assert(std::endian::native == std::endian::little, "the safetensors reader assumes a little-endian host");

namespace {

// The reference implementation (huggingface/safetensors) refuses headers above 100 MB; a header that
// large is almost certainly corruption, and parsing it would cost a lot of memory.
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DtypeInfo {
  TensorType type;
  size_t size;
};

std::optional<DtypeInfo> parse_dtype(const std::string& s) {
  if (s == "F32") return DtypeInfo{TensorType::F32, 4};
  if (s == "F16") return DtypeInfo{TensorType::F16, 2};
  if (s == "BF16") return DtypeInfo{TensorType::BF16, 2};
  return std::nullopt;
}

// A non-negative JSON integer as uint64, or nullopt (negative, fractional, not a number).
std::optional<uint64_t> json_u64(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if (v >= 0) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

[[noreturn]] void fail(const std::string& label, const std::string& msg) { throw Error(label + ": " + msg); }
[[noreturn]] void fail_tensor(const std::string& label, const std::string& name, const std::string& msg) {
  throw Error(label + ": tensor '" + name + "': " + msg);
}

}  // namespace

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated not to overflow when the file was parsed
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  SafetensorsFile f = parse(file->data(), file->size(), path);
  f.file_ = std::move(file);
  return f;
}

SafetensorsFile SafetensorsFile::parse(const uint8_t* bytes, size_t size, const std::string& label) {
  if (size < 8) fail(label, "file too small (" + std::to_string(size) + " bytes) for a safetensors header");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);
  if (header_len > size - 8)
    fail(label, "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));
  if (header_len > kMaxHeaderBytes)
    fail(label, "header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  const auto* hbegin = reinterpret_cast<const char*>(bytes + 8);
  // allow_exceptions = false: a syntax error yields a "discarded" value instead of an exception, and
  // nlohmann's own messages are replaced by one naming the file.
  const nlohmann::json header = parse_json(std::string_view(hbegin, header_len), label, "header is not valid JSON");
  if (!header.is_object()) fail(label, "header is not a JSON object");

  SafetensorsFile f;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;  // free-form string map; nothing we need
    if (!entry.is_object()) fail_tensor(label, name, "entry is not a JSON object");
    const auto dt = entry.find("dtype");
    const auto sh = entry.find("shape");
    const auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) fail_tensor(label, name, "missing or non-string dtype");
    if (sh == entry.end() || !sh->is_array()) fail_tensor(label, name, "missing or non-array shape");
    if (off == entry.end() || !off->is_array() || off->size() != 2) fail_tensor(label, name, "data_offsets must be an array of two integers");
    const auto& dtype_name = dt->get_ref<const std::string&>();
    const auto dtype = parse_dtype(dtype_name);
    if (!dtype) fail(label, "unsupported dtype " + dtype_name + " for tensor " + name);

    SafetensorsTensor t;
    t.name = name;
    t.type = dtype->type;
    uint64_t n = 1;
    for (const auto& d : *sh) {
      const auto v = json_u64(d);
      if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail_tensor(label, name, "shape entries must be non-negative integers");
      if (__builtin_mul_overflow(n, *v, &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail_tensor(label, name, "element count overflows");
      t.shape.push_back(static_cast<int64_t>(*v));
    }
    const auto begin = json_u64((*off)[0]);
    const auto end = json_u64((*off)[1]);
    if (!begin || !end) fail_tensor(label, name, "data_offsets must be non-negative integers");
    if (*begin > *end) fail_tensor(label, name, "data_offsets begin " + std::to_string(*begin) + " is after end " + std::to_string(*end));
    if (*end > data_size)
      fail_tensor(label, name, "data_offsets end " + std::to_string(*end) + " is past the end of the data (" + std::to_string(data_size) +
          " bytes)");
    uint64_t expected = 0;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(dtype->size), &expected) || expected != *end - *begin)
      fail_tensor(label, name, "shape needs " + std::to_string(n) + " x " + std::to_string(dtype->size) + " bytes but data_offsets span " +
          std::to_string(*end - *begin));
    t.data = data + *begin;
    t.nbytes = static_cast<size_t>(*end - *begin);
    f.tensors_.push_back(std::move(t));
  }

  // Overlapping ranges would make two tensors alias; the format forbids it.
  std::vector<size_t> order(f.tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f.tensors_[a].data < f.tensors_[b].data; });
  const SafetensorsTensor* prev = nullptr;
  for (size_t i : order) {
    const auto& t = f.tensors_[i];
    if (t.nbytes == 0) continue;
    if (prev && t.data < prev->data + prev->nbytes)
      fail(label, "tensors '" + prev->name + "' and '" + t.name + "' overlap in the data buffer");
    prev = &t;
  }
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---- SafetensorsModel ----------------------------------------------------------------------------------

SafetensorsModel SafetensorsModel::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  const fs::path index_path = root / "model.safetensors.index.json";
  const fs::path single_path = root / "model.safetensors";
  SafetensorsModel m;

  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    const std::string label = index_path.string();
    const nlohmann::json index = parse_json_file(label);
    if (!index.is_object()) throw Error(label + ": not a valid JSON object");
    const auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) throw Error(label + ": missing \"weight_map\" object");

    // Shards in order of first mention; each tensor remembers which shard the index promised.
    std::vector<std::string> shard_names;
    std::map<std::string, size_t> shard_of_name;
    std::vector<std::pair<std::string, size_t>> expected;
    for (const auto& [tensor, file] : wm->items()) {
      if (!file.is_string()) throw Error(label + ": weight_map entry for '" + tensor + "' is not a file name");
      const auto& fname = file.get_ref<const std::string&>();
      // Shard names come from a downloaded file; never let them point outside the model directory.
      const fs::path rel(fname);
      if (fname.empty() || rel.is_absolute() ||
          std::any_of(rel.begin(), rel.end(), [](const fs::path& c) { return c == ".."; }))
        throw Error(label + ": shard name '" + fname + "' for tensor '" + tensor + "' is not a plain file name");
      auto [it, inserted] = shard_of_name.emplace(fname, shard_names.size());
      if (inserted) shard_names.push_back(fname);
      expected.emplace_back(tensor, it->second);
    }
    if (shard_names.empty()) throw Error(label + ": weight_map is empty");
    // Reserved up front: index_ points into the shards' tensor vectors, which must not move.
    m.shards_.reserve(shard_names.size());
    for (const auto& s : shard_names) m.shards_.push_back(SafetensorsFile::open((root / s).string()));
    for (const auto& [tensor, shard] : expected)
      if (!m.shards_[shard].find(tensor))
        throw Error(label + ": tensor '" + tensor + "' is listed for shard " + shard_names[shard] +
                    " but that file does not contain it");
  } else if (fs::exists(single_path, ec)) {
    m.shards_.push_back(SafetensorsFile::open(single_path.string()));
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json found");
  }

  for (size_t s = 0; s < m.shards_.size(); ++s)
    for (const auto& t : m.shards_[s].tensors())
      if (!m.index_.emplace(t.name, &t).second) throw Error(dir + ": tensor '" + t.name + "' appears in more than one shard");
  return m;
}

const SafetensorsTensor* SafetensorsModel::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<const SafetensorsTensor*> SafetensorsModel::all() const {
  std::vector<const SafetensorsTensor*> out;
  out.reserve(index_.size());
  for (const auto& [name, t] : index_) out.push_back(t);
  return out;
}

}  // namespace autoneural::format
