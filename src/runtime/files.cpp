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
