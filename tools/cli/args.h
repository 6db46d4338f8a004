// A small declarative command-line parser: each subcommand declares its flags, the parser rejects
// anything undeclared or malformed with a message that names the flag, and --help prints the list.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autoneural/error.h"

namespace autoneural::cli {

// Bad command-line usage (exit code 2, as most Unix tools).
class UsageError : public Error {
 public:
  using Error::Error;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  void flag(const std::vector<std::string>& names, bool* out, const std::string& help);
  void option(const std::vector<std::string>& names, std::string* out, const std::string& meta, const std::string& help);
  void option(const std::vector<std::string>& names, int64_t* out, const std::string& meta, const std::string& help);
  void option(const std::vector<std::string>& names, int* out, const std::string& meta, const std::string& help);
  void option(const std::vector<std::string>& names, float* out, const std::string& meta, const std::string& help);
  void option(const std::vector<std::string>& names, uint64_t* out, const std::string& meta, const std::string& help);
  void repeated(const std::vector<std::string>& names, std::vector<std::string>* out, const std::string& meta,
                const std::string& help);
  void positional(const std::string& name, std::string* out, bool required, const std::string& help);

  // Returns false when --help was given (help already printed to stdout). Throws UsageError.
  bool parse(int argc, char** argv);
  std::string help() const;
  // Whether an option was given on the command line (by any of its names).
  bool given(const std::string& name) const;

 private:
  struct Spec {
    std::vector<std::string> names;
    std::string meta, help;
    bool takes_value = true;
    std::function<void(const std::string&)> set;
    bool seen = false;
  };
  struct Positional {
    std::string name, help;
    std::string* out;
    bool required;
  };
  Spec* find(const std::string& name);

  std::string command_, summary_;
  std::vector<Spec> specs_;
  std::vector<Positional> positionals_;
};

}  // namespace autoneural::cli
