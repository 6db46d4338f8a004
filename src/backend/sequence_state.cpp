#include "backend/sequence_state.h"

#include <algorithm>

namespace autoneural::backend {


SequenceState::SequenceState(const StateShape& shape) : shape_(shape) {
  conv_.resize(shape.n_layers);
  kv_.resize(shape.n_layers);
  const size_t kv_elems = static_cast<size_t>(shape.n_ctx * shape.n_head_kv * shape.head_dim);
  for (int64_t l = 0; l < shape.n_layers; ++l) {
    if (shape.is_attention[l]) {
      if (shape.cache_type == CacheType::F32) {
        kv_[l].k32.assign(kv_elems, 0.0f);
        kv_[l].v32.assign(kv_elems, 0.0f);
      } else {
        kv_[l].k16.assign(kv_elems, 0);
        kv_[l].v16.assign(kv_elems, 0);
      }
    } else {
      conv_[l].assign(static_cast<size_t>(shape.conv_steps * shape.hidden), 0.0f);
    }
  }
}

void SequenceState::reset() {
  n_past_ = 0;
  for (auto& c : conv_) std::fill(c.begin(), c.end(), 0.0f);
}

size_t SequenceState::conv_bytes() const { return conv_bytes(shape_); }

size_t SequenceState::kv_bytes_allocated() const {
  size_t n = 0;
  for (const auto& l : kv_)
    n += (l.k32.size() + l.v32.size()) * sizeof(float) + (l.k16.size() + l.v16.size()) * sizeof(uint16_t);
  return n;
}

size_t SequenceState::conv_bytes(const StateShape& s) {
  const size_t n_conv = static_cast<size_t>(std::count(s.is_attention.begin(), s.is_attention.end(), false));
  return n_conv * static_cast<size_t>(s.conv_steps * s.hidden) * sizeof(float);
}

size_t SequenceState::kv_bytes_per_token(const StateShape& s) {
  const size_t elem = s.cache_type == CacheType::F32 ? 4 : 2;
  const size_t n_attn = static_cast<size_t>(std::count(s.is_attention.begin(), s.is_attention.end(), true));
  return n_attn * 2 * static_cast<size_t>(s.n_head_kv * s.head_dim) * elem;
}

}  // namespace autoneural::backend
