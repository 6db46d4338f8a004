// Error reporting for autoneural.
//
// Every failure caused by bad input (a corrupt file, a missing tensor, an unknown flag, a prompt longer
// than the context) is reported by throwing autoneural::Error with a message a user can act on. The CLI
// and the C API catch it at their boundary; nothing below them prints or exits.
#pragma once

#include <stdexcept>
#include <string>

namespace autoneural {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace autoneural
