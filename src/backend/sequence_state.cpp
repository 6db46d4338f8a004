#include "backend/sequence_state.h"

#include <algorithm>

#include "autoneural/error.h"

namespace autoneural::backend {

namespace {
const char* cache_type_name(CacheType t) { return t == CacheType::F32 ? "f32" : "f16"; }
}  // namespace

SequenceState::SequenceState(const StateShape& shape) : shape_(shape) {
  conv_.resize(shape.n_layers);
  kv_.resize(shape.n_layers);
  const size_t kv_elems = static_cast<size_t>(shape.n_ctx * shape.n_head_kv * shape.head_dim);
  for (int64_t l = 0; l < shape.n_layers; ++l) {
    if (shape.is_attention[l]) {
      // resize without a value: nothing is written until a position is stored.
      if (shape.cache_type == CacheType::F32) {
        kv_[l].k32.resize(kv_elems);
        kv_[l].v32.resize(kv_elems);
      } else {
        kv_[l].k16.resize(kv_elems);
        kv_[l].v16.resize(kv_elems);
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

StateSnapshot SequenceState::snapshot() const {
  StateSnapshot s;
  s.shape = shape_;
  s.n_past = n_past_;
  s.conv = conv_;
  s.kv.resize(kv_.size());
  const size_t used = static_cast<size_t>(n_past_ * shape_.n_head_kv * shape_.head_dim);
  for (size_t l = 0; l < kv_.size(); ++l) {
    const KvLayer& from = kv_[l];
    KvLayer& to = s.kv[l];
    if (!from.k32.empty()) {
      to.k32.assign(from.k32.begin(), from.k32.begin() + used);
      to.v32.assign(from.v32.begin(), from.v32.begin() + used);
    }
    if (!from.k16.empty()) {
      to.k16.assign(from.k16.begin(), from.k16.begin() + used);
      to.v16.assign(from.v16.begin(), from.v16.begin() + used);
    }
  }
  return s;
}

std::string SequenceState::restore_problem(const StateSnapshot& s) const {
  const StateShape& a = shape_;
  const StateShape& b = s.shape;
  if (a.n_layers != b.n_layers || a.is_attention != b.is_attention || a.hidden != b.hidden ||
      a.conv_steps != b.conv_steps || a.n_head_kv != b.n_head_kv || a.head_dim != b.head_dim)
    return "the snapshot is of a model with another state shape";
  if (a.cache_type != b.cache_type)
    return "the snapshot holds an " + std::string(cache_type_name(b.cache_type)) + " KV cache, this state an " +
           std::string(cache_type_name(a.cache_type)) + " one";
  if (s.n_past < 0 || s.n_past > a.n_ctx)
    return "the snapshot holds " + std::to_string(s.n_past) + " positions, more than the context length " +
           std::to_string(a.n_ctx);
  // A snapshot built by hand (or damaged) must still have the parts its shape promises.
  const size_t used = static_cast<size_t>(s.n_past * b.n_head_kv * b.head_dim);
  if (s.conv.size() != conv_.size() || s.kv.size() != kv_.size()) return "the snapshot is incomplete";
  for (size_t l = 0; l < conv_.size(); ++l) {
    const KvLayer& k = s.kv[l];
    const bool attn = a.is_attention[l];
    const size_t want32 = attn && a.cache_type == CacheType::F32 ? used : 0;
    const size_t want16 = attn && a.cache_type == CacheType::F16 ? used : 0;
    if (s.conv[l].size() != conv_[l].size() || k.k32.size() != want32 || k.v32.size() != want32 ||
        k.k16.size() != want16 || k.v16.size() != want16)
      return "the snapshot is incomplete";
  }
  return {};
}

void SequenceState::restore(const StateSnapshot& s) {
  if (const std::string why = restore_problem(s); !why.empty()) throw Error("cannot restore the state: " + why);
  n_past_ = s.n_past;
  for (size_t l = 0; l < conv_.size(); ++l) {
    std::copy(s.conv[l].begin(), s.conv[l].end(), conv_[l].begin());
    const KvLayer& from = s.kv[l];
    KvLayer& to = kv_[l];
    std::copy(from.k32.begin(), from.k32.end(), to.k32.begin());
    std::copy(from.v32.begin(), from.v32.end(), to.v32.begin());
    std::copy(from.k16.begin(), from.k16.end(), to.k16.begin());
    std::copy(from.v16.begin(), from.v16.end(), to.v16.begin());
  }
}

size_t StateSnapshot::bytes() const {
  size_t n = 0;
  for (const auto& c : conv) n += c.size() * sizeof(float);
  for (const auto& l : kv)
    n += (l.k32.size() + l.v32.size()) * sizeof(float) + (l.k16.size() + l.v16.size()) * sizeof(uint16_t);
  return n;
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
