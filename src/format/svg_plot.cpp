#include "format/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace autoneural::format {

namespace {

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` ticks over span.
double nice_step(double span, int target) {
  const double raw = span / std::max(target, 1);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

std::string render_svg(const LineChart& c) {
  constexpr double W = 1000, H = 500, L = 70, R = 180, T = 40, B = 70;
  const double pw = W - L - R, ph = H - T - B;
  size_t n = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : c.series) {
    n = std::max(n, s.y.size());
    for (double v : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) lo -= 1, hi += 1;
  const double step = nice_step(hi - lo, 6);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  auto X = [&](double i) { return L + (n > 1 ? i / static_cast<double>(n - 1) : 0.5) * pw; };
  auto Y = [&](double v) { return T + (hi - v) / (hi - lo) * ph; };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W << " "
    << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">" << escape(c.title) << "</text>\n";
  for (double v = lo; v <= hi + step / 2; v += step) {
    o << "<line x1=\"" << L << "\" x2=\"" << L + pw << "\" y1=\"" << num(Y(v)) << "\" y2=\"" << num(Y(v))
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << L - 6 << "\" y=\"" << num(Y(v) + 4) << "\" text-anchor=\"end\">"
      << num(v) << "</text>\n";
  }
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  if (!c.x_ticks.empty() && n > 0) {
    const size_t every = std::max<size_t>(1, c.x_ticks.size() / 12);
    for (size_t i = 0; i < c.x_ticks.size() && i < n; i += every)
      o << "<text x=\"" << num(X(static_cast<double>(i))) << "\" y=\"" << num(T + ph + 14)
        << "\" text-anchor=\"end\" font-size=\"9\" transform=\"rotate(-30 " << num(X(static_cast<double>(i))) << " "
        << num(T + ph + 14) << ")\">" << escape(c.x_ticks[i]) << "</text>\n";
  }
  o << "<text x=\"" << L + pw / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">" << escape(c.x_label) << "</text>\n";
  o << "<text x=\"16\" y=\"" << T + ph / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << T + ph / 2
    << ")\">" << escape(c.y_label) << "</text>\n";
  for (size_t k = 0; k < c.series.size(); ++k) {
    const auto& s = c.series[k];
    const char* color = kColors[k % 8];
    std::string pts;
    auto flush = [&] {
      if (!pts.empty()) o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\"" << pts << "\"/>\n";
      pts.clear();
    };
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        flush();
        continue;
      }
      pts += num(X(static_cast<double>(i))) + "," + num(Y(s.y[i])) + " ";
    }
    flush();
    const double ly = T + 10 + 18 * static_cast<double>(k);
    o << "<line x1=\"" << L + pw + 12 << "\" x2=\"" << L + pw + 36 << "\" y1=\"" << ly << "\" y2=\"" << ly
      << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n<text x=\"" << L + pw + 42 << "\" y=\"" << ly + 4
      << "\">" << escape(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace autoneural::format
