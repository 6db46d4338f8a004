#include "quant/activation.h"

#include <algorithm>

namespace autoneural::quant {

ActEncoding encoding_for_range(float lo, float hi, const ActScheme& s) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  ActEncoding e;
  const int32_t levels = (1 << s.bits) - 1;  // 65535 or 255
  if (s.symmetric) {
    e.qmax = (1 << (s.bits - 1)) - 1;
    e.qmin = -e.qmax;
    e.zero = 0;
    const float amax = std::max(-lo, hi);
    e.scale = amax > 0 && std::isfinite(amax) ? amax / static_cast<float>(e.qmax) : 1.0f;
    return e;
  }
  // Unsigned codes 0..levels; 16-bit ones are carried as q - 32768.
  const int32_t shift = s.bits == 16 ? 32768 : 0;
  e.qmin = -shift;
  e.qmax = levels - shift;
  const float span = hi - lo;
  e.scale = span > 0 && std::isfinite(span) ? span / static_cast<float>(levels) : 1.0f;
  const float z = std::floor(-lo / e.scale + 0.5f);
  e.zero = static_cast<int32_t>(std::clamp(z, 0.0f, static_cast<float>(levels))) - shift;
  return e;
}

void fake_quantize(const ActEncoding& e, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = e.fake(x[i]);
}

void to_codes(const ActEncoding& e, const float* x, int64_t n, int16_t* codes) {
  for (int64_t i = 0; i < n; ++i) codes[i] = static_cast<int16_t>(e.code(x[i]));
}

}  // namespace autoneural::quant
