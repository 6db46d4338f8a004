#include "quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace autoneural::quant {

void ErrorStats::add(const float* ref, const float* q, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref[i], e = r - static_cast<double>(q[i]);
    signal += r * r;
    noise += e * e;
  }
  count += n;
}

void ErrorStats::merge(const ErrorStats& o) {
  signal += o.signal;
  noise += o.noise;
  count += o.count;
}

double ErrorStats::sqnr_db() const {
  if (noise == 0) return signal > 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  return 10.0 * std::log10(signal / noise);
}

double ErrorStats::rms_pct() const {
  if (signal == 0) return noise == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return 100.0 * std::sqrt(noise / signal);
}

double sqnr_db(const float* ref, const float* q, int64_t n) {
  ErrorStats s;
  s.add(ref, q, n);
  return s.sqnr_db();
}

double rms_pct(const float* ref, const float* q, int64_t n) {
  ErrorStats s;
  s.add(ref, q, n);
  return s.rms_pct();
}

namespace {

// log-softmax of one row into out (double).
void log_softmax(const float* x, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<size_t>(n));
  const double mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] - lse;
}

int64_t argmax(const float* x, int64_t n) { return std::max_element(x, x + n) - x; }  // first maximum

}  // namespace

void LogitStats::add(const float* ref, const float* q, int64_t n_rows, int64_t n_vocab) {
  std::vector<double> lr, lq;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* a = ref + r * n_vocab;
    const float* b = q + r * n_vocab;
    log_softmax(a, n_vocab, lr);
    log_softmax(b, n_vocab, lq);
    double kl = 0;
    for (int64_t i = 0; i < n_vocab; ++i) kl += std::exp(lr[i]) * (lr[i] - lq[i]);
    kl_sum += std::max(kl, 0.0);
    top1_agree += argmax(a, n_vocab) == argmax(b, n_vocab);
    ++rows;
  }
}

double token_nll(const float* logits, int64_t n_vocab, int32_t target) {
  std::vector<double> l;
  log_softmax(logits, n_vocab, l);
  return -l[static_cast<size_t>(target)];
}

}  // namespace autoneural::quant
