// Flags mean what they say: values outside their ranges are usage errors (exit code 2) naming the flag,
// never silently wrapped or ignored (issue 10, item 5).
#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"

namespace autoneural {
namespace {

TEST(CliFlags, OutOfRangeValuesAreUsageErrors) {
  test::TempDir dir;
  std::ofstream(dir.file("p.txt")) << "Hello";
  const std::string m = test::lfm2_tiny("model-f32.gguf");
  struct Case {
    std::string args, fragment;
  };
  const std::vector<Case> cases = {
      {"generate -m " + m + " -p hi -n 2147483648", "-n must be between 0 and 16777216, got 2147483648"},
      {"generate -m " + m + " -p hi -n -1", "-n must be between 0"},
      {"run -m " + m + " -p hi -n 99999999999", "-n must be between 0"},
      {"generate -m " + m + " -p hi --temp -0.5", "--temp must be >= 0"},
      {"generate -m " + m + " -p hi --top-p 1.5", "--top-p must be between 0 and 1"},
      {"generate -m " + m + " -p hi --min-p -0.1", "--min-p must be between 0 and 1"},
      {"generate -m " + m + " -p hi --top-k -3", "--top-k must be >= 0"},
      {"generate -m " + m + " -p hi --repeat-penalty 0", "--repeat-penalty must be > 0"},
      {"generate -m " + m + " -p hi --repeat-last-n -1", "--repeat-last-n must be >= 0"},
      {"generate -m " + m + " -p hi -f " + dir.file("p.txt"), "give either -p TEXT or -f FILE"},
      {"tokenize -m " + m, "tokenize needs TEXT or --file FILE"},
      {"perplexity -m " + m + " -f " + dir.file("p.txt") + " --chunks -2", "--chunks must be >= 0"},
      {"quant-report -m " + m + " --text " + dir.file("p.txt") + " --chunks -1", "--chunks must be at least 1"},
  };
  for (const auto& c : cases) {
    const auto r = test::run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.args << "\n" << r.out;
  }
  // The limits themselves are accepted.
  const auto ok = test::run_cli("generate -m " + m + " -p hi -n 0 --temp 0 --top-p 1 --min-p 0 --top-k 0 -q");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
}

}  // namespace
}  // namespace autoneural
