// The two quantized execution modes (docs/quantization.md, docs/npu-numerics.md):
//
//   sim — fake quantization in float: weights are their dequantized integer codes, and every activation is
//         rounded to its 16- (or 8-) bit grid at each point where an NPU materialises it; arithmetic in
//         between stays float. These are the points quantization-aware training will use.
//   npu — bit-true integer execution as a fixed-point NPU computes: integer matmuls and convolutions with
//         wide accumulators, requantization by integer multiplier and shift, lookup tables and fixed-point
//         approximations for the nonlinear operators; deterministic across threads and instruction sets.
//
// Both quantize an operation's inputs at its entry with the encoding of "<site>:in" and its output with
// the encoding of "<site>". Activations travel between operations as floats that are exactly
// scale·(code − zero), so the model graphs stay the same for every backend and each npu operator
// recovers its input codes exactly.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/quant_plan.h"

namespace autoneural::backend {

enum class BackendKind { Float, Sim, Npu };
BackendKind parse_backend_kind(std::string_view name);  // float | sim | npu (Error otherwise)
const char* backend_kind_name(BackendKind kind);

std::unique_ptr<Backend> make_sim_backend(int n_threads, std::shared_ptr<const QuantPlan> plan);
std::unique_ptr<Backend> make_npu_backend(int n_threads, std::shared_ptr<const QuantPlan> plan);

// Every quantization point, named here once and shared by the sim / npu backends, the calibration
// observer and the stored ranges (docs/quantization.md):
//   "<site>"        an operation's output
//   "<site>:in"     its (first) input; ":in1", ":in2", ... further inputs
//   "<site>:state"  a short convolution's window [previous inputs; B ⊙ X]
//   "<site>:conv"   the short convolution's output before the C gate
//   "<site>:k", "<site>:v"  the keys and values an attention layer caches
inline std::string point_in(std::string_view site, int index = 0) {
  return std::string(site) + (index == 0 ? ":in" : ":in" + std::to_string(index));
}
inline std::string point_state(std::string_view site) { return std::string(site) + ":state"; }
inline std::string point_conv(std::string_view site) { return std::string(site) + ":conv"; }
inline std::string point_key(std::string_view site) { return std::string(site) + ":k"; }
inline std::string point_value(std::string_view site) { return std::string(site) + ":v"; }
// A linear/conv weight "blk.3.attn_q.weight" is the site "blk.3.attn_q".
std::string site_of_weight(std::string_view weight_name);
// The tensor of a depthwise / short-convolution kernel used at `site`, if `plan` has one.
std::string kernel_tensor_of(const QuantPlan& plan, std::string_view site);

// The SiLU output's encoding before the gate product, derived from its input's: silu(x) >= -0.2785 and
// silu(x) <= max(x, 0), so [-0.2785, max(hi, 0)] holds every value.
quant::ActEncoding silu_encoding(const quant::ActEncoding& input, const quant::ActScheme& scheme);
// The short convolution's float intermediates (what the quantized backends round): hist = [state; U = B ⊙ X]
// ((steps + n) rows of dim) and conv[t][c] = Σ_j kernel[c][j] · hist[t + j][c].
void short_conv_history(const float* bcx, const float* state, int64_t steps, int64_t n, int64_t dim,
                        std::vector<float>& hist);
void short_conv_window(const std::vector<float>& hist, const float* kernel, int64_t l_cache, int64_t n, int64_t dim,
                       float* conv);
// Attention probabilities are unsigned Q15 codes: p = code / 32768, code <= 32767.
inline constexpr int32_t kProbLevels = 32768;

}  // namespace autoneural::backend
