// Files and inputs of the workflows (include/autoneural/workflows.h): thin public faces of src/format.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "autoneural/workflows.h"
#include "format/mapped_file.h"
#include "format/npy.h"

namespace autoneural {

std::string read_text_file(const std::string& path) { return format::read_text_file(path); }

void write_file_atomic(const std::string& path, std::string_view bytes) {
  format::write_file_atomic(path, bytes.data(), bytes.size());
}

namespace {

namespace fs = std::filesystem;

// The same file on disk (both exist: same device and inode).
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

// A name the checkpoint in directory `dir` is read from.
bool is_checkpoint_file_of(const std::string& out, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  const fs::path p = fs::weakly_canonical(fs::path(out), ec);
  if (ec || !same_file(p.parent_path().string(), dir)) return false;
  const std::string name = p.filename().string();
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".json") || ends(".safetensors") || ends(".jinja");
}

// Two spellings of one output path, existing or not.
bool same_output(const std::string& a, const std::string& b) {
  if (same_file(a, b)) return true;
  std::error_code ea, eb;
  const fs::path pa = fs::weakly_canonical(fs::path(a), ea), pb = fs::weakly_canonical(fs::path(b), eb);
  return !ea && !eb && pa == pb;
}

void check_shape(size_t size, const std::vector<int64_t>& shape, const std::string& path) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(path + ": negative dimension in the array shape");
    n *= d;
  }
  if (static_cast<size_t>(n) != size)
    throw Error(path + ": " + std::to_string(size) + " values do not fill the shape of " + std::to_string(n));
}

}  // namespace

void check_outputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& out = outputs[i];
    if (out.empty()) continue;
    std::error_code ec;
    const auto status = fs::status(out, ec);
    // A device or FIFO (/dev/null, /dev/stdout) is written through, never replaced: nothing to protect.
    if (!ec && fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status)) continue;
    for (const auto& in : inputs) {
      if (in.empty()) continue;
      if (same_output(out, in) || is_checkpoint_file_of(out, in))
        throw Error("refusing to write " + out + ": it would overwrite the input " + in);
    }
    for (size_t j = 0; j < i; ++j)
      if (!outputs[j].empty() && same_output(out, outputs[j]))
        throw Error("refusing to write " + out + " twice: " + outputs[j] + " is the same file");
  }
}

void write_npy(const std::string& path, std::span<const float> data, const std::vector<int64_t>& shape) {
  check_shape(data.size(), shape, path);
  format::write_npy_f32(path, data.data(), shape);
}

void write_npy(const std::string& path, std::span<const int32_t> data, const std::vector<int64_t>& shape) {
  check_shape(data.size(), shape, path);
  format::write_npy_i32(path, data.data(), shape);
}

NpyFloatArray read_npy_f32(const std::string& path) {
  auto a = format::read_npy(path);
  if (!a.is_float()) throw Error(path + ": expected a float32 array");
  return {std::move(a.shape), std::move(a.f32)};
}

std::vector<std::string> list_images(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + " is not a folder of images");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".ppm" || ext == ".pgm")
      out.push_back(e.path().string());
  }
  if (ec) throw Error(dir + ": " + ec.message());
  if (out.empty()) throw Error(dir + " holds no images (png, jpg, jpeg, bmp, ppm, pgm)");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> read_prompts(const std::string& path) {
  std::istringstream in(format::read_text_file(path));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(line);
  if (out.empty()) throw Error(path + " holds no prompts (one per line)");
  return out;
}

}  // namespace autoneural
