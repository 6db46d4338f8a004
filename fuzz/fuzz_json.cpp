// libFuzzer target for the JSON readers: config.json (LFM2 and AutoNeural, vision_config, projector
// fields), preprocessor-less vision configuration and calibration files. Any input must be accepted or
// rejected with autoneural::Error; a crash, stack overflow (deep nesting), other exception type, leak or
// hang is a bug. See fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string>

#include "autoneural/error.h"
#include "format/json.h"
#include "model/lfm2_config.h"
#include "model/mobilenetv5_config.h"
#include "model/vision_loader.h"
#include "quant/calibration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace autoneural;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)model::lfm2_config_from_hf_json(text, "config.json");
  } catch (const Error&) {
  }
  try {
    (void)model::mobilenetv5_config_from_hf_json(text, "config.json");
  } catch (const Error&) {
  }
  try {
    (void)quant::Calibration::parse(text, "calib.json");
  } catch (const Error&) {
  }
  try {
    const auto j = format::parse_json(text, "config.json");
    (void)format::describe_json(j);
    // An AutoNeural config.json in a folder without preprocessor_config.json.
    (void)model::vision_info_from_hf_config(j, "/nonexistent-autoneural-fuzz", "config.json");
  } catch (const Error&) {
  }
  return 0;
}
