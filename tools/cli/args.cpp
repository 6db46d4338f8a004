#include "args.h"

#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>

namespace autoneural::cli {

namespace {

template <typename T>
T parse_integer(const std::string& flag, const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty())
    throw UsageError("invalid value '" + text + "' for " + flag + ": expected an integer");
  return value;
}

float parse_float(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    const float v = std::stof(text, &used);
    if (used != text.size() || !std::isfinite(v)) throw std::invalid_argument("trailing");
    return v;
  } catch (const std::exception&) {
    throw UsageError("invalid value '" + text + "' for " + flag + ": expected a number");
  }
}

}  // namespace

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void ArgParser::flag(const std::vector<std::string>& names, bool* out, const std::string& help) {
  specs_.push_back({names, "", help, false, [out](const std::string&) { *out = true; }});
}

void ArgParser::option(const std::vector<std::string>& names, std::string* out, const std::string& meta,
                       const std::string& help) {
  specs_.push_back({names, meta, help, true, [out](const std::string& v) { *out = v; }});
}

void ArgParser::option(const std::vector<std::string>& names, int64_t* out, const std::string& meta,
                       const std::string& help) {
  const std::string flag = names.front();
  specs_.push_back({names, meta, help, true, [out, flag](const std::string& v) { *out = parse_integer<int64_t>(flag, v); }});
}

void ArgParser::option(const std::vector<std::string>& names, int* out, const std::string& meta,
                       const std::string& help) {
  const std::string flag = names.front();
  specs_.push_back({names, meta, help, true, [out, flag](const std::string& v) { *out = parse_integer<int>(flag, v); }});
}

void ArgParser::option(const std::vector<std::string>& names, uint64_t* out, const std::string& meta,
                       const std::string& help) {
  const std::string flag = names.front();
  specs_.push_back({names, meta, help, true, [out, flag](const std::string& v) { *out = parse_integer<uint64_t>(flag, v); }});
}

void ArgParser::option(const std::vector<std::string>& names, float* out, const std::string& meta,
                       const std::string& help) {
  const std::string flag = names.front();
  specs_.push_back({names, meta, help, true, [out, flag](const std::string& v) { *out = parse_float(flag, v); }});
}

void ArgParser::repeated(const std::vector<std::string>& names, std::vector<std::string>* out, const std::string& meta,
                         const std::string& help) {
  specs_.push_back({names, meta, help, true, [out](const std::string& v) { out->push_back(v); }});
}

void ArgParser::positional(const std::string& name, std::string* out, bool required, const std::string& help) {
  positionals_.push_back({name, help, out, required});
}

ArgParser::Spec* ArgParser::find(const std::string& name) {
  for (auto& s : specs_)
    for (const auto& n : s.names)
      if (n == name) return &s;
  return nullptr;
}

bool ArgParser::given(const std::string& name) const {
  for (const auto& s : specs_)
    for (const auto& n : s.names)
      if (n == name) return s.seen;
  return false;
}

bool ArgParser::parse(int argc, char** argv) {
  size_t next_positional = 0;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << help();
      return false;
    }
    if (arg.size() > 1 && arg[0] == '-' && !(arg.size() > 1 && (std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.'))) {
      std::string value;
      bool has_inline = false;
      if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
      Spec* s = find(arg);
      if (!s) throw UsageError("unknown option '" + arg + "' for '" + command_ + "' (see autoneural " + command_ + " --help)");
      s->seen = true;
      if (!s->takes_value) {
        if (has_inline) throw UsageError("option " + arg + " takes no value");
        s->set("");
        continue;
      }
      if (!has_inline) {
        if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value (" + s->meta + ")");
        value = argv[++i];
      }
      s->set(value);
      continue;
    }
    if (next_positional >= positionals_.size())
      throw UsageError("unexpected argument '" + arg + "' for '" + command_ + "' (see autoneural " + command_ + " --help)");
    *positionals_[next_positional++].out = arg;
  }
  for (size_t p = next_positional; p < positionals_.size(); ++p)
    if (positionals_[p].required)
      throw UsageError("missing " + positionals_[p].name + " for '" + command_ + "' (see autoneural " + command_ + " --help)");
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream os;
  os << "usage: autoneural " << command_;
  for (const auto& p : positionals_) os << (p.required ? " " : " [") << p.name << (p.required ? "" : "]");
  os << " [options]\n\n" << summary_ << "\n";
  if (!positionals_.empty()) {
    os << "\narguments:\n";
    for (const auto& p : positionals_) os << "  " << p.name << "\n      " << p.help << "\n";
  }
  os << "\noptions:\n";
  for (const auto& s : specs_) {
    os << "  ";
    for (size_t i = 0; i < s.names.size(); ++i) os << (i ? ", " : "") << s.names[i];
    if (s.takes_value) os << " " << s.meta;
    os << "\n      " << s.help << "\n";
  }
  os << "  -h, --help\n      show this help\n";
  return os.str();
}

}  // namespace autoneural::cli
