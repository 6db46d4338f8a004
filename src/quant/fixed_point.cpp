#include "quant/fixed_point.h"

#include <array>

namespace autoneural::quant {

namespace {

struct Exp2Table {
  std::array<int64_t, 257> v{};
  Exp2Table() {
    for (int i = 0; i <= 256; ++i) v[i] = std::llround(std::exp2(-i / 256.0) * 1073741824.0);
  }
};

}  // namespace

int64_t exp2_neg_q16(int64_t t) {
  static const Exp2Table table;
  if (t < 0) t = 0;
  const int64_t whole = t >> 16;
  if (whole >= 31) return 0;
  const int64_t frac = t & 0xFFFF, i = frac >> 8, f = frac & 0xFF;
  const int64_t a = table.v[i], b = table.v[i + 1];
  const int64_t e = a - (((a - b) * f + 128) >> 8);
  return (e + (int64_t(1) << whole >> 1)) >> whole;
}

}  // namespace autoneural::quant
