// The connector's tensors (architecture-reference §2): mlp2 (mm.1.*, mm.2.*) or the Gemma 3n embedder
// (mm.input_projection, mm.soft_emb_norm), from one table that the loader, make-model, the converter and
// the Hugging Face name map (connector_hf_to_gguf_name, model/connector_config.h) read.
#pragma once

#include "model/connector_config.h"
#include "model/tensor_manifest.h"

namespace autoneural::model {

// mlp2: mm.1.weight [in, hidden], mm.1.bias, mm.2.weight [hidden, out], mm.2.bias (biases with `bias`);
// gemma3n: mm.input_projection.weight [in, out], mm.soft_emb_norm.weight [in].
TensorManifest connector_manifest(const ConnectorConfig& config);

}  // namespace autoneural::model
