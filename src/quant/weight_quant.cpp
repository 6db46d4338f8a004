#include "quant/weight_quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autoneural/error.h"
#include "format/half.h"
#include "kernels/int_gemm.h"
#include "kernels/quantize.h"

namespace autoneural::quant {

int64_t effective_group(const WeightScheme& s, int64_t cols) {
  return s.group > 0 && cols % s.group == 0 ? s.group : cols;
}

WeightStorage storage_for(const WeightScheme& s, int64_t cols) {
  const int64_t g = effective_group(s, cols);
  if (cols % 32 != 0 || g % 32 != 0) return WeightStorage::F32Grid;
  if (s.bits == 8 && g == cols) return WeightStorage::Q8_0;
  if (s.bits == 4) return WeightStorage::Q4_0;
  return WeightStorage::F32Grid;
}

TensorType storage_type(WeightStorage st) {
  switch (st) {
    case WeightStorage::Q8_0: return TensorType::Q8_0;
    case WeightStorage::Q4_0: return TensorType::Q4_0;
    case WeightStorage::F32Grid: return TensorType::F32;
  }
  return TensorType::F32;
}

namespace {

// The npu form: row base scale = the largest group scale, multipliers round(scale / base · 2^15).
void make_integer_scales(QuantizedMatrix& q) {
  const int64_t ng = q.n_groups();
  q.row_scale.assign(static_cast<size_t>(q.rows), 0.0f);
  q.mult.clear();
  bool uniform = true;
  for (int64_t r = 0; r < q.rows; ++r) {
    float base = 0;
    for (int64_t g = 0; g < ng; ++g) {
      const float s = q.scales[r * ng + g];
      base = std::max(base, s);
      if (s != q.scales[r * ng]) uniform = false;
    }
    q.row_scale[r] = base;
  }
  if (uniform) return;
  q.mult.resize(q.scales.size());
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t g = 0; g < ng; ++g) {
      const float base = q.row_scale[r];
      q.mult[r * ng + g] = base > 0 ? static_cast<int32_t>(std::lround(q.scales[r * ng + g] / base * 32768.0)) : 0;
    }
}

void set_max_code(QuantizedMatrix& q) {
  int32_t m = 0;
  for (int16_t c : q.codes) m = std::max(m, std::abs(static_cast<int32_t>(c)));
  q.max_abs_code = std::max(m, 1);
}

}  // namespace

void QuantizedMatrix::dequantize(float* out) const {
  const int64_t ng = n_groups(), g = group > 0 ? group : cols;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = codes[r * cols + c] * scales[r * ng + c / g];
}

kernels::IntMatrix QuantizedMatrix::int_matrix() const {
  kernels::IntMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.codes = codes.data();
  m.max_abs_code = max_abs_code;
  m.group = mult.empty() ? 0 : group;
  m.mult = mult.empty() ? nullptr : mult.data();
  return m;
}

QuantizedMatrix quantize_values(const float* w, int64_t rows, int64_t cols, const WeightScheme& scheme,
                                bool fp16_scales) {
  QuantizedMatrix q;
  q.scheme = scheme;
  q.rows = rows;
  q.cols = cols;
  q.group = effective_group(scheme, cols);
  const int64_t ng = q.n_groups();
  const int32_t qmax = scheme.max_code();
  q.codes.resize(static_cast<size_t>(rows * cols));
  q.scales.resize(static_cast<size_t>(rows * ng));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < ng; ++g) {
      const float* x = w + r * cols + g * q.group;
      float amax = 0;
      for (int64_t i = 0; i < q.group; ++i) amax = std::max(amax, std::abs(x[i]));
      if (!std::isfinite(amax)) throw Error("cannot quantize a weight with non-finite values");
      float s = amax / static_cast<float>(qmax);
      if (fp16_scales) s = fp16_to_f32(f32_to_fp16(s));
      q.scales[r * ng + g] = s;
      int16_t* c = q.codes.data() + r * cols + g * q.group;
      for (int64_t i = 0; i < q.group; ++i) {
        const float t = s > 0 ? std::round(x[i] / s) : 0.0f;
        c[i] = static_cast<int16_t>(std::clamp(t, static_cast<float>(-qmax), static_cast<float>(qmax)));
      }
    }
  set_max_code(q);
  make_integer_scales(q);
  return q;
}

namespace {

// Codes and block scales of Q8_0 / Q4_0 rows as they are stored.
void read_blocks(TensorType type, const uint8_t* data, int64_t rows, int64_t cols, std::vector<int16_t>& codes,
                 std::vector<float>& d) {
  const int64_t nb = cols / 32;
  const size_t bb = traits(type).block_bytes;
  codes.resize(static_cast<size_t>(rows * cols));
  d.resize(static_cast<size_t>(rows * nb));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = data + (r * nb + b) * bb;
      uint16_t h;
      std::memcpy(&h, blk, 2);
      d[r * nb + b] = fp16_to_f32(h);
      int16_t* c = codes.data() + r * cols + b * 32;
      if (type == TensorType::Q8_0) {
        for (int i = 0; i < 32; ++i) c[i] = static_cast<int8_t>(blk[2 + i]);
      } else {  // Q4_0: low nibbles are elements 0..15, high nibbles 16..31, value (q - 8) · d
        for (int i = 0; i < 16; ++i) {
          c[i] = static_cast<int16_t>((blk[2 + i] & 0x0F) - 8);
          c[i + 16] = static_cast<int16_t>((blk[2 + i] >> 4) - 8);
        }
      }
    }
}

}  // namespace

QuantizedMatrix quantize_stored(TensorType type, const uint8_t* data, int64_t rows, int64_t cols,
                                const WeightScheme& scheme, const std::vector<float>* stored_scales) {
  const int64_t group = effective_group(scheme, cols);
  const bool same_bits = (type == TensorType::Q8_0 && scheme.bits == 8) || (type == TensorType::Q4_0 && scheme.bits == 4);
  if (same_bits && cols % 32 == 0 && group % 32 == 0) {
    QuantizedMatrix q;
    std::vector<float> d;
    read_blocks(type, data, rows, cols, q.codes, d);
    const int64_t nb = cols / 32, per = group / 32, ng = cols / group;
    bool follows = true;
    q.scales.resize(static_cast<size_t>(rows * ng));
    for (int64_t r = 0; r < rows && follows; ++r)
      for (int64_t g = 0; g < ng && follows; ++g) {
        const float s = d[r * nb + g * per];
        for (int64_t b = 1; b < per; ++b) follows = follows && d[r * nb + g * per + b] == s;
        q.scales[r * ng + g] = s;
      }
    if (follows) {
      q.scheme = scheme;
      q.rows = rows;
      q.cols = cols;
      q.group = group;
      set_max_code(q);
      make_integer_scales(q);
      return q;
    }
  }
  if (type == TensorType::F32 && stored_scales) {
    QuantizedMatrix q;
    q.scheme = scheme;
    q.rows = rows;
    q.cols = cols;
    q.group = group;
    const int64_t ng = q.n_groups();
    if (static_cast<int64_t>(stored_scales->size()) != rows * ng)
      throw Error("stored weight scales have " + std::to_string(stored_scales->size()) + " values, expected " +
                  std::to_string(rows * ng));
    q.scales = *stored_scales;
    q.codes.resize(static_cast<size_t>(rows * cols));
    const float* w = reinterpret_cast<const float*>(data);
    const int32_t qmax = scheme.max_code();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float s = q.scales[r * ng + c / group];
        const float t = s > 0 ? std::round(w[r * cols + c] / s) : 0.0f;
        q.codes[r * cols + c] = static_cast<int16_t>(std::clamp(t, static_cast<float>(-qmax), static_cast<float>(qmax)));
      }
    set_max_code(q);
    make_integer_scales(q);
    return q;
  }
  std::vector<float> f(static_cast<size_t>(rows * cols));
  const size_t rb = row_bytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) kernels::dequantize_row(type, data + r * rb, f.data() + r * cols, cols);
  return quantize_values(f.data(), rows, cols, scheme, storage_for(scheme, cols) != WeightStorage::F32Grid);
}

std::vector<uint8_t> encode_storage(const QuantizedMatrix& q, WeightStorage st) {
  const TensorType t = storage_type(st);
  std::vector<uint8_t> out(row_bytes(t, q.cols) * static_cast<size_t>(q.rows));
  if (st == WeightStorage::F32Grid) {
    q.dequantize(reinterpret_cast<float*>(out.data()));
    return out;
  }
  // Block by block from the codes, so that the stored values are exactly the codes (no re-rounding).
  const int64_t nb = q.cols / 32, ng = q.n_groups();
  const size_t bb = traits(t).block_bytes;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* blk = out.data() + (r * nb + b) * bb;
      const uint16_t h = f32_to_fp16(q.scales[r * ng + (b * 32) / q.group]);
      std::memcpy(blk, &h, 2);
      const int16_t* c = q.codes.data() + r * q.cols + b * 32;
      if (t == TensorType::Q8_0) {
        for (int i = 0; i < 32; ++i) blk[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(c[i]));
      } else {
        for (int i = 0; i < 16; ++i)
          blk[2 + i] = static_cast<uint8_t>((c[i] + 8) | ((c[i + 16] + 8) << 4));
      }
    }
  return out;
}

}  // namespace autoneural::quant
