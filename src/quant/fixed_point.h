// Integer building blocks of the npu backend (docs/npu-numerics.md gives each formula).
//
// Everything here is exact integer arithmetic on fixed inputs, so results do not depend on the instruction
// set, the compiler's float contraction or the number of threads. Tables are computed once in double
// precision and then used only as integer data.
#pragma once

#include <cmath>
#include <cstdint>

namespace autoneural::quant {

using int128 = __int128;

// A positive real factor as m · 2^-shift with m in [2^30, 2^31) (or m = 0 for a zero factor), as NPUs
// encode a requantization scale.
struct Multiplier {
  int32_t m = 0;
  int shift = 0;
};

inline Multiplier make_multiplier(double real) {
  if (!(real > 0) || !std::isfinite(real)) return {};
  int e = 0;
  const double mant = std::frexp(real, &e);  // real = mant · 2^e, mant in [0.5, 1)
  int64_t m = std::llround(mant * 2147483648.0);
  if (m == (int64_t(1) << 31)) m >>= 1, ++e;
  return {static_cast<int32_t>(m), 31 - e};
}

// floor((v + 2^(s-1)) / 2^s): rounding to nearest, ties toward +infinity. s <= 0 shifts left (saturating
// at ±2^126 is the caller's concern; requantize() saturates first).
inline int128 round_shift(int128 v, int s) {
  if (s <= 0) return v << (-s);
  if (s >= 126) return 0;
  return (v + (int128(1) << (s - 1))) >> s;
}

// clamp(round_shift(v · m, shift) + zero, qmin, qmax): the one requantization step of every npu operator.
inline int32_t requantize(int128 v, Multiplier M, int32_t zero, int32_t qmin, int32_t qmax) {
  constexpr int128 kLimit = int128(1) << 95;  // |v · m| < 2^126: no overflow in the product
  if (v >= kLimit) return qmax;
  if (v <= -kLimit) return qmin;
  int128 r = v * M.m;
  if (M.shift < 0) {
    // A factor >= 2^31: saturate before shifting left.
    const int128 big = int128(1) << 40;
    if (r > big) return qmax;
    if (r < -big) return qmin;
  }
  r = round_shift(r, M.shift) + zero;
  return r > qmax ? qmax : r < qmin ? qmin : static_cast<int32_t>(r);
}

// floor(sqrt(x)) for any 64-bit x, exactly (digit-by-digit, no floating point).
inline uint64_t isqrt64(uint64_t x) {
  uint64_t r = 0, bit = uint64_t(1) << 62;
  while (bit > x) bit >>= 2;
  while (bit) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  return r;
}

// 2^(-t / 2^16) in Q30 for t >= 0 (Q16): integer part by shifting, fraction by a 257-entry Q30 table with
// linear interpolation between its entries (|error| < 2^-16 relative). The softmax exponent.
int64_t exp2_neg_q16(int64_t t);

}  // namespace autoneural::quant
