// Shared helpers for the test suite: fixture paths, .npy references, comparison metrics.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "autoneural/error.h"
#include "autoneural/llm.h"
#include "format/npy.h"

namespace autoneural::test {

inline std::string fixture(const std::string& rel) { return std::string(AUTONEURAL_FIXTURES_DIR) + "/" + rel; }
inline std::string lfm2_tiny(const std::string& rel) { return fixture("text/lfm2-tiny/" + rel); }

// Expects fn() to throw autoneural::Error whose message contains `fragment`.
template <class F>
void expect_error(F&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "no autoneural::Error thrown (expected one mentioning '" << fragment << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
  }
}

inline std::vector<float> npy_f32(const std::string& path) {
  auto a = format::read_npy(path);
  return a.f32;
}
inline std::vector<int32_t> npy_i32(const std::string& path) {
  auto a = format::read_npy(path);
  return std::vector<int32_t>(a.i64.begin(), a.i64.end());
}

struct Diff {
  double max_abs = 0, max_ref = 0, rel_rms = 0;
  double top1_agree = 0;  // fraction of rows with equal argmax
};

// Row-wise comparison of two [rows][cols] arrays.
inline Diff compare(const std::vector<float>& got, const std::vector<float>& ref, int64_t cols) {
  Diff d;
  EXPECT_EQ(got.size(), ref.size());
  const size_t n = std::min(got.size(), ref.size());
  double se = 0, sr = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(got[i]) - ref[i];
    d.max_abs = std::max(d.max_abs, std::abs(e));
    d.max_ref = std::max(d.max_ref, std::abs(static_cast<double>(ref[i])));
    se += e * e;
    sr += static_cast<double>(ref[i]) * ref[i];
  }
  d.rel_rms = sr > 0 ? std::sqrt(se / sr) : 0;
  const int64_t rows = static_cast<int64_t>(n) / cols;
  int64_t agree = 0;
  for (int64_t r = 0; r < rows; ++r) {
    auto g = got.begin() + r * cols, f = ref.begin() + r * cols;
    agree += (std::max_element(g, g + cols) - g) == (std::max_element(f, f + cols) - f);
  }
  d.top1_agree = rows ? static_cast<double>(agree) / static_cast<double>(rows) : 1.0;
  return d;
}

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "autoneural-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : std::string();
    if (path_.empty()) throw std::runtime_error("mkdtemp failed");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ASAN_OPTIONS=exitcode=86 and UBSAN_OPTIONS=exitcode=87 in .ci/run (the CLI exits with 0, 1 or 2).
inline constexpr int kSanitizerExitCode = 86;
inline constexpr int kUbsanExitCode = 87;

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

// The command-line tool under test: the one built with the tests, or AUTONEURAL_TEST_CLI (an installed
// binary, or an older build to show which tests fail on it).
inline std::string cli_path() {
  const char* e = std::getenv("AUTONEURAL_TEST_CLI");
  return e && *e ? std::string(e) : std::string(AUTONEURAL_CLI_PATH);
}

// Runs the command-line tool with `args` (shell syntax) and collects its output and exit code.
// `env` (e.g. "AUTONEURAL_ISA=scalar") is put in front of the command when not empty.
inline RunResult run_cli(const std::string& args, const std::string& env = "") {
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + cli_path() + " " + args + " 2>&1";
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  // .ci/run gives the sanitizers exit codes the CLI never uses, so that a test expecting an error cannot
  // mistake a sanitizer report for it.
  if (r.exit_code == kSanitizerExitCode || r.exit_code == kUbsanExitCode)
    ADD_FAILURE() << "sanitizer report from: autoneural " << args << "\n" << r.out;
  return r;
}

// Greedy continuation (argmax, lowest id on ties) of `row`, the logits after the session's last token: n
// tokens, each evaluated except the last. `rows` receives the logits each token was taken from.
inline std::vector<int32_t> greedy_tokens(Session& s, std::vector<float> row, size_t n, std::vector<float>* rows = nullptr) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; ++i) {
    if (rows) rows->insert(rows->end(), row.begin(), row.end());
    const int32_t id = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    out.push_back(id);
    if (i + 1 < n) row = s.decode(std::span<const int32_t>(&id, 1));
  }
  return out;
}

inline ModelOptions with_mmproj(std::string path) {
  ModelOptions o;
  o.mmproj = std::move(path);
  return o;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace autoneural::test
