// The inputs calibrate and quant-report run a model on (a folder of images, a file of prompts), and the
// plain loops that push them through the model on a chosen backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "autoneural/llm.h"
#include "backend/backend.h"
#include "backend/quant_plan.h"

namespace autoneural::cli {

// Image files (by extension: png, jpg, jpeg, bmp, ppm, pgm) of a folder, sorted; Error if the folder is
// missing or holds none.
std::vector<std::string> list_images(const std::string& dir);
// Non-empty lines of a text file; Error if there are none.
std::vector<std::string> read_prompts(const std::string& path);

struct PreparedImage {
  std::string path;
  std::vector<float> pixels;  // [3][size][size]
  int size = 0;
};
// Loads and preprocesses every image (Error naming a file that cannot be read).
std::vector<PreparedImage> prepare_images(const Model& model, const std::vector<std::string>& paths, int size);

// Encoder and connector (when present) on `be`; returns the connector output (or the tower's without one).
std::vector<float> run_vision(const Model& model, backend::Backend& be, const PreparedImage& image);
// The language model over `tokens` from an empty state on `be`; logits of every position ([n][vocab]).
// With a plan, tokens are looked up in its quantized embedding table (as Session does for sim/npu).
std::vector<float> run_text(const Model& model, backend::Backend& be, const std::vector<int32_t>& tokens,
                            const backend::QuantPlan* plan = nullptr);

}  // namespace autoneural::cli
