#include "format/weight_source.h"

#include <filesystem>

#include "autoneural/error.h"

namespace autoneural::format {

int64_t TensorRef::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

std::shared_ptr<WeightSource> WeightSource::open(const std::string& path, HfNameMapper mapper) {
  namespace fs = std::filesystem;
  auto src = std::make_shared<WeightSource>();
  src->path_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory");
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "config.json", ec))
      throw Error(path + ": not a Hugging Face model directory (config.json is missing)");
    src->safetensors_ = std::make_unique<format::SafetensorsModel>(format::SafetensorsModel::open_dir(path));
    for (const auto* t : src->safetensors_->all()) {
      src->file_bytes_ += t->nbytes;
      auto name = mapper ? mapper(t->name) : std::nullopt;
      if (!name) continue;  // tensors of other components (e.g. a vision tower) are not ours
      TensorRef ref;
      ref.name = *name;
      ref.source_name = t->name;
      ref.type = t->type;
      ref.ne.assign(t->shape.rbegin(), t->shape.rend());
      ref.data = t->data;
      ref.nbytes = t->nbytes;
      if (!src->tensors_.emplace(ref.name, ref).second)
        throw Error(path + ": two tensors map to the name " + ref.name);
    }
    return src;
  }
  src->gguf_ = std::make_unique<format::GgufFile>(format::GgufFile::open(path));
  src->file_bytes_ = static_cast<size_t>(fs::file_size(path, ec));
  for (const auto& t : src->gguf_->tensors()) {
    TensorRef ref;
    ref.name = t.name;
    ref.source_name = t.name;
    ref.type = t.type;
    ref.ne = t.ne;
    ref.data = t.data;
    ref.nbytes = t.nbytes;
    src->tensors_.emplace(ref.name, ref);
  }
  return src;
}

const TensorRef* WeightSource::find(std::string_view gguf_name) const {
  auto it = tensors_.find(gguf_name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorRef& WeightSource::require(std::string_view gguf_name, const std::vector<int64_t>& ne) const {
  const TensorRef* t = find(gguf_name);
  if (!t) throw Error(path_ + ": missing tensor " + std::string(gguf_name));
  // Trailing (and, for HF conv kernels, middle) dimensions of size 1 carry no data; compare the shape
  // with those removed so that [3, 1, 2048] (HF conv1d) and [3, 2048] (GGUF) both match.
  auto squeeze = [](const std::vector<int64_t>& v) {
    std::vector<int64_t> out;
    for (int64_t d : v)
      if (d != 1) out.push_back(d);
    return out;
  };
  if (squeeze(t->ne) != squeeze(ne))
    throw Error(path_ + ": tensor " + std::string(gguf_name) + " has shape " + shape_string(t->ne) +
                ", expected " + shape_string(ne));
  return *t;
}

}  // namespace autoneural::format
