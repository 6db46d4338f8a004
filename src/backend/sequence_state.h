// Per-sequence decoding state of a hybrid model: a rolling window of recent inputs for each short-conv
// layer and a key/value cache for each attention layer (architecture-reference §3.3).
//
// The conv state is constant-size (l_cache - 1 steps × hidden per conv layer) while the KV cache grows
// with the context; that difference is what lets LFM2 hold a long context in little memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <memory>
#include <utility>
#include <vector>

namespace autoneural::backend {

enum class CacheType { F32, F16 };

struct StateShape {
  int64_t n_layers = 0;
  std::vector<bool> is_attention;
  int64_t hidden = 0;        // conv state channels
  int64_t conv_steps = 2;    // l_cache - 1
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ctx = 0;         // positions the KV cache holds
  CacheType cache_type = CacheType::F16;
};

// Memory for a KV cache that is not filled up front: elements are default-initialised (left as they
// are), so the pages of a long context are touched only as positions are written. Positions are read
// only after they are written (attention reads [0, n_past + n)).
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using KvVector = std::vector<T, UninitializedAllocator<T>>;

// KV cache of one attention layer: K and V as [n_ctx][n_head_kv][head_dim], in F32 or F16.
struct KvLayer {
  KvVector<float> k32, v32;
  KvVector<uint16_t> k16, v16;
};

// A copy of a sequence's state as far as it goes: the conv windows, the KV rows [0, n_past) and n_past.
// For a hybrid model this is what a prefix cache keeps: the conv windows summarise the whole prefix, so a
// KV prefix alone cannot resume it. Restorable into any state of the same shape whose n_ctx holds n_past.
struct StateSnapshot {
  StateShape shape;  // of the state it was taken from
  int64_t n_past = 0;
  std::vector<std::vector<float>> conv;
  std::vector<KvLayer> kv;
  size_t bytes() const;  // conv windows and KV rows held
};

class SequenceState {
 public:
  explicit SequenceState(const StateShape& shape);

  const StateShape& shape() const { return shape_; }
  int64_t n_past() const { return n_past_; }
  void set_n_past(int64_t n) { n_past_ = n; }
  // Forget everything (a new conversation).
  void reset();
  // The state as it is now (see StateSnapshot).
  StateSnapshot snapshot() const;
  // Makes this state equal to the one `s` was taken from. Error, leaving the state unchanged, when the
  // shapes differ (other than n_ctx) or n_past does not fit this state's n_ctx.
  void restore(const StateSnapshot& s);
  // Why `s` cannot be restored here; empty if it can.
  std::string restore_problem(const StateSnapshot& s) const;

  float* conv(int64_t layer) { return conv_[layer].data(); }  // [conv_steps][hidden], oldest first
  KvLayer& kv(int64_t layer) { return kv_[layer]; }

  // Memory the state occupies now, and its parts (bytes).
  size_t conv_bytes() const;
  size_t kv_bytes_allocated() const;
  // KV bytes needed per cached position (all attention layers).
  size_t kv_bytes_per_token() const { return kv_bytes_per_token(shape_); }

  // The same quantities computed from a shape alone (for reports, without allocating a state).
  static size_t conv_bytes(const StateShape& shape);
  static size_t kv_bytes_per_token(const StateShape& shape);

 private:
  StateShape shape_;
  int64_t n_past_ = 0;
  std::vector<std::vector<float>> conv_;
  std::vector<KvLayer> kv_;
};

}  // namespace autoneural::backend
