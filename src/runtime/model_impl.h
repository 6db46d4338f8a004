// Internals behind autoneural::Model, shared by the runtime, the tools and the tests.
#pragma once

#include <memory>

#include "autoneural/llm.h"
#include "model/connector.h"
#include "model/checkpoint.h"
#include "model/lfm2.h"
#include "model/mobilenetv5.h"
#include "model/vision_loader.h"
#include "format/weight_source.h"
#include "backend/quant_backend.h"
#include "tokenizer/tokenizer.h"

namespace autoneural {

struct Model::Impl {
  ModelInfo info;
  int n_threads = 1;
  std::shared_ptr<const model::Checkpoint> checkpoint;         // what -m named
  std::shared_ptr<const model::Checkpoint> vision_checkpoint;  // where the vision part came from (may be checkpoint)
  std::shared_ptr<const format::WeightSource> weights;
  std::unique_ptr<model::Lfm2Model> lm;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::vector<int32_t> end_of_generation;  // <|im_end|> and <|endoftext|>, where the vocabulary has them
  // The tokenizer; Error for a vision-only model.
  const tokenizer::Tokenizer& tokenizer() const;

  // Vision part (null without one).
  std::shared_ptr<const format::WeightSource> vision_weights;
  model::VisionFileInfo vision;
  std::unique_ptr<model::MobileNetV5> encoder;
  std::unique_ptr<model::Connector> connector;
  VisionInfo vision_info;

  // Execution: which backend runs the model, and for sim/npu what it quantizes with.
  backend::BackendKind backend_kind = backend::BackendKind::Float;
  std::shared_ptr<const backend::QuantPlan> plan;
  std::unique_ptr<backend::Backend> make_backend() const;
  // The model's files (text, then vision if separate).
  std::vector<std::shared_ptr<const format::WeightSource>> sources() const;
};

struct ModelAccess {
  static const Model::Impl& impl(const Model& model) { return *model.impl_; }
};

namespace runtime {
// The internals of a loaded model, for the library's own code (sessions, workflows) and the tests.
inline const Model::Impl& impl_of(const Model& model) { return ModelAccess::impl(model); }
}  // namespace runtime

// Builds the quantization plan for `kind` from the options (recipe, calibration, overrides) and what the
// files store; Error for an unknown recipe or a calibration file recorded on another model.
std::shared_ptr<const backend::QuantPlan> make_quant_plan(const Model::Impl& impl, const ModelOptions& options);

}  // namespace autoneural
