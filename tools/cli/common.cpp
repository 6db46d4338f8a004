#include "common.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "args.h"
#include "format/mapped_file.h"

namespace autoneural::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}
ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(double fraction, std::string_view what) {
  const int percent = static_cast<int>(fraction * 100.0 + 0.5);
  if (tty_) {
    const int width = 30, filled = percent * width / 100;
    std::fprintf(stderr, "\r%s [%-*s] %3d%% %-40.40s", label_.c_str(), width, std::string(filled, '#').c_str(),
                 percent, std::string(what).c_str());
    std::fflush(stderr);
  } else if (percent / 10 != last_step_) {
    last_step_ = percent / 10;
    std::fprintf(stderr, "%s: %3d%% %s\n", label_.c_str(), percent, std::string(what).c_str());
  }
}

void ProgressBar::finish() {
  if (done_) return;
  done_ = true;
  if (tty_) std::fprintf(stderr, "\n");
}

CacheType parse_cache_type(const std::string& name) {
  if (name == "f16") return CacheType::F16;
  if (name == "f32") return CacheType::F32;
  throw UsageError("unknown cache type '" + name + "' (expected f16 or f32)");
}

std::string read_file_or_throw(const std::string& path) { return format::read_text_file(path); }

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) bytes /= 1024.0, ++u;
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

}  // namespace autoneural::cli
