#include "model/mobilenetv5_config.h"

#include <charconv>
#include <climits>
#include <cmath>

#include "autoneural/error.h"
#include "format/json.h"
#include "autoneural/vision.h"
#include "format/gguf.h"
#include "model/mobilenetv5_manifest.h"

namespace autoneural::model {
namespace {

[[noreturn]] void bad_block(std::string_view text, const std::string& why) {
  throw Error("invalid MobileNetV5 block definition '" + std::string(text) + "': " + why);
}

int parse_int(std::string_view text, std::string_view digits) {
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || v < 0 || v > 100000)
    bad_block(text, "bad number '" + std::string(digits) + "'");
  return v;
}

double parse_double(std::string_view text, std::string_view digits) {
  // timm writes expansion ratios like "e4", "e6", "e0.5" ("p" for "." is also accepted by timm).
  std::string s(digits);
  for (char& ch : s)
    if (ch == 'p') ch = '.';
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v > 0) || v > 1000) bad_block(text, "bad expansion '" + s + "'");
  return v;
}

}  // namespace

std::vector<VisionBlockDef> parse_vision_block(std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('_', start);
    if (end == std::string_view::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (parts.empty() || parts[0].empty()) bad_block(text, "empty");
  VisionBlockDef b;
  if (parts[0] == "er") b.kind = VisionBlockKind::EdgeResidual;
  else if (parts[0] == "uir") b.kind = VisionBlockKind::UniversalInvertedResidual;
  else if (parts[0] == "mqa") b.kind = VisionBlockKind::MobileAttention;
  else bad_block(text, "unknown block type '" + std::string(parts[0]) + "' (expected er, uir or mqa)");
  int repeat = 1;
  int k = -1, a = -1;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.size() < 2) bad_block(text, "bad option '" + std::string(p) + "'");
    std::string_view v = p.substr(1);
    switch (p[0]) {
      case 'r': repeat = parse_int(text, v); break;
      case 'k': k = parse_int(text, v); break;
      case 'a': a = parse_int(text, v); break;
      case 's': b.stride = parse_int(text, v); break;
      case 'e': b.expansion = parse_double(text, v); break;
      case 'c': b.out_channels = parse_int(text, v); break;
      case 'h': b.heads = parse_int(text, v); break;
      case 'v': b.kv_stride = parse_int(text, v); break;
      case 'd': b.key_dim = parse_int(text, v); break;
      case 'p': break;  // dw_end kernel of timm's UIR: never used by MobileNetV5 (must be absent or 0)
      case 'n': break;  // "noskip" style flags are not used by these blocks
      default: bad_block(text, "unknown option '" + std::string(p) + "'");
    }
    if (p[0] == 'p' && parse_int(text, v) != 0) bad_block(text, "dw_end kernels are not supported");
  }
  if (repeat < 1 || repeat > 1000) bad_block(text, "repeat count must be 1..1000");
  if (b.out_channels <= 0) bad_block(text, "missing output channels (c)");
  if (b.stride != 1 && b.stride != 2) bad_block(text, "stride must be 1 or 2");
  switch (b.kind) {
    case VisionBlockKind::EdgeResidual:
      if (k <= 0 || k % 2 == 0) bad_block(text, "er needs an odd kernel size k");
      b.kernel = k;
      break;
    case VisionBlockKind::UniversalInvertedResidual:
      b.dw_start = a < 0 ? 0 : a;
      b.dw_mid = k < 0 ? 0 : k;
      if ((b.dw_start && b.dw_start % 2 == 0) || (b.dw_mid && b.dw_mid % 2 == 0))
        bad_block(text, "depthwise kernels must be odd");
      if (b.stride != 1 && b.dw_start == 0 && b.dw_mid == 0)
        bad_block(text, "a strided uir block needs a depthwise conv");
      break;
    case VisionBlockKind::MobileAttention:
      if (b.heads <= 0 || b.key_dim <= 0) bad_block(text, "mqa needs heads (h) and key dim (d)");
      if (b.stride != 1) bad_block(text, "mqa blocks must have stride 1");
      if (b.kv_stride != 1 && b.kv_stride != 2) bad_block(text, "kv stride (v) must be 1 or 2");
      b.kv_kernel = k > 0 ? k : 3;
      if (b.kv_kernel % 2 == 0) bad_block(text, "kv down-sampling kernel must be odd");
      break;
  }
  // Each expanded block gets its own one-block definition string ("_r1", and "_s1" after the first
  // repeat), so that a block list written back (GGUF metadata) parses to exactly the same blocks.
  std::string single;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) single += '_';
    single += parts[i][0] == 'r' && i > 0 ? std::string("r1") : std::string(parts[i]);
  }
  std::vector<VisionBlockDef> out;
  for (int i = 0; i < repeat; ++i) {
    b.text = single;
    out.push_back(b);
    if (i == 0 && b.stride != 1) {
      b.stride = 1;
      const auto pos = single.find("_s");
      if (pos != std::string::npos) single.replace(pos, single.find('_', pos + 1) - pos, "_s1");
    }
  }
  return out;
}

int MobileNetV5Config::mid_channels(int in_channels, double expansion) {
  // timm make_divisible(v, 8): round to the nearest multiple of 8, at least 8, bumped up a step if
  // rounding lost more than 10%.
  const double v = in_channels * expansion;
  int r = std::max(8, static_cast<int>(v + 4.0) / 8 * 8);
  if (r < 0.9 * v) r += 8;
  return r;
}

int MobileNetV5Config::feature_channels(int point) const {
  if (point == 0) return stem_size;
  if (point < 0 || point > static_cast<int>(stages.size()) || stages[point - 1].empty())
    throw Error("MobileNetV5: feature point " + std::to_string(point) + " does not exist");
  return stages[point - 1].back().out_channels;
}

std::vector<int> MobileNetV5Config::msfa_points() const {
  const int n_points = static_cast<int>(stages.size()) + 1;
  std::vector<int> points;
  for (int i : msfa_indices) {
    int p = i < 0 ? n_points + i : i;
    if (p < 0 || p >= n_points) throw Error("MobileNetV5: MSFA index " + std::to_string(i) + " is out of range");
    points.push_back(p);
  }
  return points;
}

int MobileNetV5Config::msfa_in_channels() const {
  int c = 0;
  for (int p : msfa_points()) c += feature_channels(p);
  return c;
}

int64_t MobileNetV5Config::parameter_count() const { return model::parameter_count(mobilenetv5_manifest(*this)); }

void MobileNetV5Config::validate() const {
  auto fail = [](const std::string& what) { throw Error("invalid MobileNetV5 configuration: " + what); };
  if (stages.empty() || stages.size() > 16) fail("expected 1..16 stages");
  for (const auto& s : stages)
    if (s.empty()) fail("empty stage");
  if (in_channels != 3) fail("input channels must be 3 (RGB)");
  if (stem_size <= 0 || stem_size > 65536) fail("stem size");
  if (msfa_indices.empty()) fail("no MSFA taps");
  if (msfa_output_channels <= 0 || msfa_output_channels > 65536) fail("MSFA output channels");
  if (msfa_output_resolution <= 0 || msfa_output_resolution > 1024) fail("MSFA output resolution");
  if (!(msfa_expansion > 0)) fail("MSFA expansion");
  if (!(eps > 0)) fail("norm epsilon must be positive");
  check_image_sides(image_size, image_size, "image size");
  for (const auto& s : stages)
    for (const auto& b : s)
      if (b.kind == VisionBlockKind::MobileAttention && b.out_channels != 0 && b.heads * b.key_dim <= 0)
        fail("attention block " + b.text);
  (void)msfa_in_channels();  // checks the taps
}

MobileNetV5Config mobilenetv5_builtin(std::string_view name) {
  if (name != "mobilenetv5_300m_enc")
    throw Error("unknown MobileNetV5 architecture '" + std::string(name) + "' (built in: mobilenetv5_300m_enc)");
  // architecture-reference §1.4: 3 / 5 / 37 / 39 blocks.
  std::vector<std::vector<std::string>> defs(4);
  defs[0] = {"er_r1_k3_s2_e4_c128", "er_r2_k3_s1_e4_c128"};
  defs[1] = {"uir_r1_a3_k5_s2_e6_c256", "uir_r1_a5_k0_s1_e4_c256", "uir_r1_a3_k0_s1_e4_c256",
             "uir_r1_a5_k0_s1_e4_c256", "uir_r1_a3_k0_s1_e4_c256"};
  defs[2] = {"uir_r1_a5_k5_s2_e6_c640", "uir_r7_a5_k0_s1_e4_c640", "uir_r1_a0_k0_s1_e1_c640"};
  for (int i = 0; i < 14; ++i) {
    defs[2].push_back("mqa_r1_k3_h12_v2_s1_d64_c640");
    defs[2].push_back("uir_r1_a0_k0_s1_e2_c640");
  }
  defs[3] = {"uir_r1_a5_k5_s2_e6_c1280"};
  for (int i = 0; i < 19; ++i) {
    defs[3].push_back("mqa_r1_k3_h16_s1_d96_c1280");
    defs[3].push_back("uir_r1_a0_k0_s1_e2_c1280");
  }
  MobileNetV5Config c;
  c.architecture = "mobilenetv5_300m_enc";
  for (const auto& stage : defs) {
    c.stages.emplace_back();
    for (const auto& d : stage)
      for (auto& b : parse_vision_block(d)) c.stages.back().push_back(std::move(b));
  }
  c.validate();
  return c;
}

MobileNetV5Config mobilenetv5_config_from_hf_json(const std::string& json_text, const std::string& label) {
  const nlohmann::json j = format::parse_json(json_text, label + ": vision_config");
  if (!j.is_object()) throw Error(label + ": vision_config must be an object");
  try {
    MobileNetV5Config c;
    const std::string arch = j.value("architecture", std::string("custom"));
    if (j.contains("block_defs") && !j["block_defs"].is_null()) {
      c.architecture = arch;
      for (const auto& stage : j.at("block_defs")) {
        c.stages.emplace_back();
        for (const auto& d : stage)
          for (auto& b : parse_vision_block(d.get<std::string>())) c.stages.back().push_back(std::move(b));
      }
    } else {
      c = mobilenetv5_builtin(arch);
    }
    // Integers read as integers: value<int>() would cast a float such as 1e300, undefined behaviour.
    auto to_int = [](int64_t v, const std::string& key) {
      if (v < INT32_MIN || v > INT32_MAX) throw Error("field '" + key + "' is out of range: " + std::to_string(v));
      return static_cast<int>(v);
    };
    auto int_field = [&](const char* key, int fallback) { return to_int(format::json_int(j, key, fallback), key); };
    c.stem_size = int_field("stem_size", c.stem_size);
    c.stem_bias = j.value("stem_bias", c.stem_bias);
    c.layer_scale = j.value("layer_scale", c.layer_scale);
    if (j.contains("msfa_indices")) {
      if (!j["msfa_indices"].is_array()) throw Error("field 'msfa_indices' must be an array of integers");
      c.msfa_indices.clear();
      for (const auto& v : j["msfa_indices"]) {
        if (!v.is_number_integer()) throw Error("field 'msfa_indices' must be an array of integers");
        c.msfa_indices.push_back(to_int(v.get<int64_t>(), "msfa_indices"));
      }
    }
    c.msfa_output_channels = int_field("msfa_output_channels", int_field("hidden_size", c.msfa_output_channels));
    c.msfa_expansion = j.value("msfa_expansion", c.msfa_expansion);
    c.msfa_output_resolution = int_field("msfa_output_resolution", c.msfa_output_resolution);
    c.eps = j.value("rms_norm_eps", c.eps);
    c.image_size = int_field("image_size", c.image_size);
    c.in_channels = int_field("num_channels", c.in_channels);
    if (j.contains("pad_type") && j["pad_type"] != "same")
      throw Error("pad_type '" + j["pad_type"].get<std::string>() + "' is not supported (only 'same')");
    if (j.contains("hidden_act") && j["hidden_act"] != "gelu_pytorch_tanh")
      throw Error("hidden_act '" + j["hidden_act"].get<std::string>() + "' is not supported (gelu_pytorch_tanh)");
    if (j.contains("msfa_interpolation") && j["msfa_interpolation"] != "nearest")
      throw Error("msfa_interpolation must be 'nearest'");
    c.validate();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(label + ": bad vision_config field: " + e.what());
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

namespace {
constexpr const char* kKeyArch = "autoneural.vision.architecture";
constexpr const char* kKeyBlocks = "autoneural.vision.block_defs";
constexpr const char* kKeyStageLengths = "autoneural.vision.stage_lengths";
}  // namespace

void mobilenetv5_config_to_gguf(const MobileNetV5Config& c, format::GgufWriter& w) {
  using format::GgufValue;
  std::vector<std::string> blocks;
  std::vector<int32_t> lengths;
  // Stored expanded, one single-block string per block, so that entry i of a stage is v.blk.S.i.
  for (const auto& stage : c.stages) {
    lengths.push_back(static_cast<int32_t>(stage.size()));
    for (const auto& b : stage) blocks.push_back(b.text);
  }
  w.set(kKeyArch, GgufValue::make_string(c.architecture));
  w.set(kKeyBlocks, GgufValue::make_string_array(blocks));
  w.set(kKeyStageLengths, GgufValue::make_i32_array(lengths));
  w.set("autoneural.vision.in_channels", GgufValue::make_u32(c.in_channels));
  w.set("autoneural.vision.stem_size", GgufValue::make_u32(c.stem_size));
  w.set("autoneural.vision.stem_bias", GgufValue::make_bool(c.stem_bias));
  w.set("autoneural.vision.layer_scale", GgufValue::make_bool(c.layer_scale));
  w.set("autoneural.vision.msfa_indices", GgufValue::make_i32_array({c.msfa_indices.begin(), c.msfa_indices.end()}));
  w.set("autoneural.vision.msfa_output_channels", GgufValue::make_u32(c.msfa_output_channels));
  w.set("autoneural.vision.msfa_expansion", GgufValue::make_f32(static_cast<float>(c.msfa_expansion)));
  w.set("autoneural.vision.msfa_output_resolution", GgufValue::make_u32(c.msfa_output_resolution));
  w.set("autoneural.vision.rms_norm_eps", GgufValue::make_f32(c.eps));
  w.set("autoneural.vision.image_size", GgufValue::make_u32(c.image_size));
}

MobileNetV5Config mobilenetv5_config_from_gguf(const format::GgufFile& f) {
  auto fail = [&](const std::string& what) -> Error { return Error(f.path() + ": " + what); };
  auto blocks = f.get_string_array(kKeyBlocks);
  auto lengths = f.get_int_array(kKeyStageLengths);
  if (!blocks || !lengths) throw fail(std::string("missing metadata ") + kKeyBlocks + " / " + kKeyStageLengths);
  MobileNetV5Config c;
  c.architecture = f.get_string(kKeyArch).value_or("custom");
  size_t next = 0;
  try {
    for (int64_t n : *lengths) {
      if (n <= 0 || next + static_cast<size_t>(n) > blocks->size())
        throw fail("autoneural.vision.stage_lengths does not match the block list");
      c.stages.emplace_back();
      for (int64_t i = 0; i < n; ++i)
        for (auto& b : parse_vision_block((*blocks)[next++])) c.stages.back().push_back(std::move(b));
    }
    if (next != blocks->size()) throw fail("autoneural.vision.stage_lengths does not match the block list");
    auto get_int = [&](const char* key, int def) {
      auto v = f.get_int(key);
      if (v && (*v < -65536 || *v > 65536)) throw fail(std::string("metadata ") + key + " out of range");
      return v ? static_cast<int>(*v) : def;
    };
    c.in_channels = get_int("autoneural.vision.in_channels", c.in_channels);
    c.stem_size = get_int("autoneural.vision.stem_size", c.stem_size);
    c.stem_bias = f.get_bool("autoneural.vision.stem_bias").value_or(c.stem_bias);
    c.layer_scale = f.get_bool("autoneural.vision.layer_scale").value_or(c.layer_scale);
    if (auto idx = f.get_int_array("autoneural.vision.msfa_indices")) {
      c.msfa_indices.clear();
      for (int64_t v : *idx) c.msfa_indices.push_back(static_cast<int>(std::clamp<int64_t>(v, -1000, 1000)));
    }
    c.msfa_output_channels = get_int("autoneural.vision.msfa_output_channels", c.msfa_output_channels);
    c.msfa_expansion = f.get_float("autoneural.vision.msfa_expansion").value_or(c.msfa_expansion);
    c.msfa_output_resolution = get_int("autoneural.vision.msfa_output_resolution", c.msfa_output_resolution);
    c.eps = static_cast<float>(f.get_float("autoneural.vision.rms_norm_eps").value_or(c.eps));
    c.image_size = get_int("autoneural.vision.image_size", c.image_size);
    c.validate();
  } catch (const Error& e) {
    if (std::string_view(e.what()).starts_with(f.path())) throw;
    throw fail(e.what());
  }
  return c;
}

}  // namespace autoneural::model
