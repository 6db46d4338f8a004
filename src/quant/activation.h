// Activation encodings: how a float tensor maps to 16- or 8-bit codes (docs/quantization.md).
//
// Codes live in an int16 "carrier" whatever the scheme, so that every integer kernel takes one type:
// symmetric int16/int8 codes are themselves; unsigned uint16 codes q are stored as q - 32768 with the zero
// point shifted the same way (uint8 codes fit as they are). real = scale · (code - zero) in every case.
#pragma once

#include <cmath>
#include <cstdint>

#include "quant/scheme.h"

namespace autoneural::quant {

struct ActEncoding {
  float scale = 1.0f;
  int32_t zero = 0;
  int32_t qmin = -32767, qmax = 32767;

  // floor(x / scale + 0.5) + zero, clamped: the one rounding rule of every quantization point (sim and npu).
  int32_t code(float x) const {
    const float t = std::floor(x / scale + 0.5f);
    if (!(t == t)) return zero;  // NaN
    const float c = t + static_cast<float>(zero);
    return c >= static_cast<float>(qmax) ? qmax : c <= static_cast<float>(qmin) ? qmin : static_cast<int32_t>(c);
  }
  float value(int32_t code) const { return scale * static_cast<float>(code - zero); }
  float fake(float x) const { return value(code(x)); }
  bool operator==(const ActEncoding&) const = default;
};

// The encoding of a tensor observed in [lo, hi] (the range is widened to contain 0, so that zero — padding,
// masked values — is exact). A degenerate range gets scale 1.
ActEncoding encoding_for_range(float lo, float hi, const ActScheme& scheme);

void fake_quantize(const ActEncoding& e, const float* x, int64_t n, float* y);  // y may alias x
void to_codes(const ActEncoding& e, const float* x, int64_t n, int16_t* codes);

}  // namespace autoneural::quant
