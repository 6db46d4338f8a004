// Holds back generated text that might be the start of a stop string, so that a stop string is never
// shown to the user, even when it arrives split over several tokens.
#pragma once

#include <string>
#include <vector>

namespace autoneural::runtime {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);

  struct Output {
    std::string text;      // safe to show now
    bool stopped = false;  // a stop string was completed; text ends right before it
  };
  Output push(const std::string& text);
  // Text still held back at the end of generation.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace autoneural::runtime
