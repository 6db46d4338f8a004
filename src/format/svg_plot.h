// A small standalone SVG line chart (quant-report's "SQNR per layer, one line per recipe").
#pragma once

#include <string>
#include <vector>

namespace autoneural::format {

struct Series {
  std::string name;
  std::vector<double> y;  // y[i] at x = i; non-finite points break the line
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<std::string> x_ticks;  // optional labels at x = i (thinned when many)
  std::vector<Series> series;
};

std::string render_svg(const LineChart& chart);

}  // namespace autoneural::format
