// Quantization error metrics (docs/quantization.md, "Error reports").
//
//   SQNR = 10·log10(Σ ref² / Σ (ref − q)²) dB,   relative RMS error = sqrt(Σ (ref − q)² / Σ ref²) · 100 %
//
// so rms_pct = 100 · 10^(−SQNR / 20). Sums are kept in double over any number of chunks.
#pragma once

#include <cstdint>

namespace autoneural::quant {

struct ErrorStats {
  double signal = 0, noise = 0;
  int64_t count = 0;
  void add(const float* ref, const float* q, int64_t n);
  void merge(const ErrorStats& o);
  double sqnr_db() const;  // +inf when noise == 0 and signal > 0; NaN when both are 0
  double rms_pct() const;
};
double sqnr_db(const float* ref, const float* q, int64_t n);
double rms_pct(const float* ref, const float* q, int64_t n);

// Language-model agreement over rows of logits: mean KL(P_ref ‖ P_q) of the softmaxes (nats) and the
// fraction of rows whose argmax (lowest id on ties) agree.
struct LogitStats {
  double kl_sum = 0;
  int64_t top1_agree = 0, rows = 0;
  void add(const float* ref_logits, const float* q_logits, int64_t n_rows, int64_t n_vocab);
  double mean_kl() const { return rows ? kl_sum / static_cast<double>(rows) : 0.0; }
  double top1() const { return rows ? static_cast<double>(top1_agree) / static_cast<double>(rows) : 0.0; }
};

// −log softmax(logits)[target], computed stably (natural log).
double token_nll(const float* logits, int64_t n_vocab, int32_t target);

}  // namespace autoneural::quant
