// Internals behind autoneural::Model, shared by the runtime, the tools and the tests.
#pragma once

#include <memory>

#include "autoneural/llm.h"
#include "model/connector.h"
#include "model/lfm2.h"
#include "model/mobilenetv5.h"
#include "model/vision_loader.h"
#include "model/lfm2_export.h"
#include "model/weight_source.h"
#include "tokenizer/tokenizer.h"

namespace autoneural {

struct Model::Impl {
  ModelInfo info;
  int n_threads = 1;
  std::shared_ptr<model::WeightSource> weights;
  std::unique_ptr<model::Lfm2Model> lm;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  int32_t end_of_turn = -1;  // <|im_end|>, if the vocabulary has it
  // The tokenizer; Error for a vision-only model.
  const tokenizer::Tokenizer& tokenizer() const;

  // Vision part (null without one).
  std::shared_ptr<model::WeightSource> vision_weights;
  model::VisionFileInfo vision;
  std::unique_ptr<model::MobileNetV5> encoder;
  std::unique_ptr<model::Connector> connector;
  VisionInfo vision_info;
};

}  // namespace autoneural
