#include "model/connector_config.h"

#include "format/gguf.h"

namespace autoneural::model {

const char* connector_kind_name(ConnectorKind kind) { return kind == ConnectorKind::Mlp2 ? "mlp2" : "gemma3n"; }

void connector_config_to_gguf(const ConnectorConfig& c, format::GgufWriter& w) {
  using format::GgufValue;
  w.set("autoneural.projector.type", GgufValue::make_string(connector_kind_name(c.kind)));
  w.set("autoneural.projector.input_size", GgufValue::make_u32(static_cast<uint32_t>(c.in_dim)));
  w.set("autoneural.projector.hidden_size", GgufValue::make_u32(static_cast<uint32_t>(c.hidden_dim)));
  w.set("autoneural.projector.output_size", GgufValue::make_u32(static_cast<uint32_t>(c.out_dim)));
  w.set("autoneural.projector.bias", GgufValue::make_bool(c.bias));
  w.set("autoneural.projector.act", GgufValue::make_string(c.gelu_tanh ? "gelu_tanh" : "gelu"));
  w.set("autoneural.projector.norm_eps", GgufValue::make_f32(c.eps));
}

void preprocess_config_to_gguf(const VisionPreprocessConfig& p, format::GgufWriter& w) {
  using format::GgufValue;
  w.set("autoneural.image.size", GgufValue::make_u32(static_cast<uint32_t>(p.image_size)));
  w.set("autoneural.image.mean", GgufValue::make_f32_array({p.mean.begin(), p.mean.end()}));
  w.set("autoneural.image.std", GgufValue::make_f32_array({p.std.begin(), p.std.end()}));
  w.set("autoneural.image.resize", GgufValue::make_string(p.letterbox ? "letterbox" : "stretch"));
}

void image_tokens_to_gguf(const ImageTokenConfig& t, format::GgufWriter& w) {
  using format::GgufValue;
  if (t.image_token_id >= 0) w.set("autoneural.image.token_id", GgufValue::make_i32(t.image_token_id));
  if (t.image_start_id >= 0) w.set("autoneural.image.start_token_id", GgufValue::make_i32(t.image_start_id));
  if (t.image_end_id >= 0) w.set("autoneural.image.end_token_id", GgufValue::make_i32(t.image_end_id));
  if (t.tokens_per_image > 0)
    w.set("autoneural.image.tokens_per_image", GgufValue::make_u32(static_cast<uint32_t>(t.tokens_per_image)));
}

}  // namespace autoneural::model
