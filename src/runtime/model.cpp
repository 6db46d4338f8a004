#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "quant/calibration.h"
#include "backend/float_backend.h"
#include "convert/lfm2_export.h"
#include "convert/vision_export.h"
#include "runtime/model_impl.h"
#include "tokenizer/chat_template.h"

namespace autoneural {

namespace {

std::string dominant_matrix_type(const format::WeightSource& w) {
  std::map<std::string, int64_t> elems;
  for (const auto& [name, t] : w.tensors())
    if (t.ne.size() >= 2) elems[std::string(tensor_type_name(t.type))] += t.n_elements();
  std::string best;
  int64_t most = -1;
  for (const auto& [type, n] : elems)
    if (n > most) best = type, most = n;
  return best;
}

void load_vision(Model::Impl& impl, std::shared_ptr<const model::Checkpoint> checkpoint) {
  const std::string& path = checkpoint->path();
  impl.vision_weights = checkpoint->vision_weights();
  impl.vision = checkpoint->vision();
  impl.vision_checkpoint = std::move(checkpoint);
  if (impl.lm) model::check_vision_fits_text(impl.vision, impl.lm->config().hidden, path);
  impl.encoder = std::make_unique<model::MobileNetV5>(impl.vision_weights, impl.vision.encoder);
  impl.connector = std::make_unique<model::Connector>(impl.vision_weights, impl.vision.connector);

  VisionInfo& v = impl.vision_info;
  v.path = path;
  v.encoder = impl.vision.encoder.architecture;
  v.projector = impl.vision.connector.kind == model::ConnectorKind::Mlp2 ? "mlp2" : "gemma3n";
  v.image_size = impl.vision.preprocess.image_size > 0 ? impl.vision.preprocess.image_size
                                                       : impl.vision.encoder.image_size;
  v.tokens_per_image = impl.encoder->tokens();
  v.encoder_channels = impl.encoder->out_channels();
  v.n_params = impl.encoder->parameter_count() + impl.connector->parameter_count();
  v.random_weights = impl.vision_checkpoint->name().rfind(convert::kRandomVisionNamePrefix, 0) == 0;
  if (!impl.lm) return;  // a vision-only model has no prompts
  // Image token ids: the checkpoint's config when it names them, else looked up in the vocabulary
  // (LFM2's vocabulary has <image>, <|image_start|>, <|image_end|>).
  auto id_of = [&](int32_t configured, const char* text) {
    if (configured >= 0) return configured;
    auto id = impl.tok->find_token(text);
    if (!id)
      throw Error(impl.info.path + ": the language model's vocabulary has no " + text +
                  " token, so it cannot take images");
    return *id;
  };
  v.image_token = id_of(impl.vision.tokens.image_token_id, "<image>");
  v.image_start_token = id_of(impl.vision.tokens.image_start_id, "<|image_start|>");
  v.image_end_token = id_of(impl.vision.tokens.image_end_id, "<|image_end|>");
  for (int32_t id : {v.image_token, v.image_start_token, v.image_end_token})
    if (id < 0 || id >= impl.lm->config().n_vocab)
      throw Error(path + ": image token id " + std::to_string(id) + " is outside the vocabulary");
  if (impl.vision.tokens.tokens_per_image > 0 && impl.vision.tokens.tokens_per_image != v.tokens_per_image)
    throw Error(path + ": the configuration says " + std::to_string(impl.vision.tokens.tokens_per_image) +
                " tokens per image but the encoder produces " + std::to_string(v.tokens_per_image));
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::vector<std::shared_ptr<const format::WeightSource>> Model::Impl::sources() const {
  std::vector<std::shared_ptr<const format::WeightSource>> s;
  if (weights) s.push_back(weights);
  // A merged GGUF holds both parts in one source: list it once.
  if (vision_weights && vision_weights != weights) s.push_back(vision_weights);
  return s;
}

std::unique_ptr<backend::Backend> Model::Impl::make_backend() const {
  switch (backend_kind) {
    case backend::BackendKind::Sim: return backend::make_sim_backend(n_threads, plan);
    case backend::BackendKind::Npu: return backend::make_npu_backend(n_threads, plan);
    case backend::BackendKind::Float: break;
  }
  return std::make_unique<backend::FloatBackend>(n_threads);
}

std::shared_ptr<const backend::QuantPlan> make_quant_plan(const Model::Impl& impl, const ModelOptions& options) {
  const auto sources = impl.sources();
  std::optional<quant::Recipe> recipe;
  backend::ActRanges ranges;
  for (const auto& s : sources) {
    auto stored = backend::read_stored_quantization(*s);
    if (stored.recipe && !recipe) recipe = stored.recipe;
    ranges.insert(stored.ranges.begin(), stored.ranges.end());
  }
  if (!options.recipe.empty()) recipe = quant::recipe_by_name(options.recipe);
  if (!recipe) recipe = quant::recipe_by_name("autoneural");
  for (const auto& o : options.overrides) recipe->overrides.push_back(quant::parse_override(o));
  if (!options.calibration.empty()) {
    const auto calib = quant::Calibration::load(options.calibration);
    backend::check_calibration(calib, sources, options.calibration);
    ranges = backend::calibrated_ranges(calib, *recipe, quant::parse_range_method(options.act_range));
  } else {
    (void)quant::parse_range_method(options.act_range);
  }
  return std::make_shared<backend::QuantPlan>(*recipe, sources, std::move(ranges));
}

namespace {

void setup_execution(Model::Impl& impl, const ModelOptions& options) {
  impl.backend_kind = backend::parse_backend_kind(options.backend);
  if (impl.backend_kind == backend::BackendKind::Float) {
    if (!options.recipe.empty() || !options.calibration.empty() || !options.overrides.empty())
      throw Error("a quantization recipe, calibration or override needs --backend sim or npu");
    return;
  }
  impl.plan = make_quant_plan(impl, options);
}

}  // namespace

int max_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return 4 * static_cast<int>(hw > 0 ? hw : 1);
}

std::shared_ptr<Model> Model::load(const std::string& path, const ModelOptions& options) {
  if (options.n_threads > max_threads())
    throw Error(std::to_string(options.n_threads) + " threads is more than the limit of " +
                std::to_string(max_threads()) + " (4 per core) on this machine");
  auto impl = std::make_unique<Impl>();
  const unsigned hw = std::thread::hardware_concurrency();
  impl->n_threads = options.n_threads > 0 ? options.n_threads : static_cast<int>(hw ? hw : 1);
  auto checkpoint = model::Checkpoint::open(path);
  impl->checkpoint = checkpoint;
  ModelInfo& info = impl->info;
  info.path = path;
  info.checkpoint = model::checkpoint_kind_name(checkpoint->kind());
  if (!checkpoint->has_language_model()) {
    if (!options.mmproj.empty()) throw Error(path + " is a vision file; give the language model with -m and this with --mmproj");
    load_vision(*impl, checkpoint);
    info.architecture = "vision";
    info.name = std::filesystem::path(path).filename().string();
    info.n_params = impl->vision_info.n_params;
    info.file_bytes = impl->vision_weights->file_bytes();
    info.random_weights = impl->vision_info.random_weights;
    setup_execution(*impl, options);
    return std::shared_ptr<Model>(new Model(std::move(impl)));
  }
  impl->weights = checkpoint->text_weights();
  const model::Lfm2Config& config = checkpoint->text_config();
  impl->tok = std::make_unique<tokenizer::Tokenizer>(checkpoint->vocab());
  if (impl->tok->n_vocab() > config.n_vocab)
    throw Error(path + ": the tokenizer has " + std::to_string(impl->tok->n_vocab()) +
                " tokens but the model's embedding only " + std::to_string(config.n_vocab));
  impl->lm = std::make_unique<model::Lfm2Model>(impl->weights, config);
  // As llama.cpp: besides EOS, the end-of-turn and end-of-text markers end a reply.
  for (const char* marker : {"<|im_end|>", "<|endoftext|>"})
    if (const auto id = impl->tok->find_token(marker)) impl->end_of_generation.push_back(*id);

  info.architecture = "lfm2";
  info.name = checkpoint->name();
  info.random_weights = info.name.rfind(convert::kRandomModelNamePrefix, 0) == 0;
  info.weight_type = dominant_matrix_type(*impl->weights);
  info.n_params = impl->lm->parameter_count();
  info.file_bytes = impl->weights->file_bytes();
  info.n_vocab = config.n_vocab;
  info.hidden = config.hidden;
  info.n_layers = config.n_layers;
  info.n_attention_layers = config.n_attention_layers();
  info.n_head = config.n_head;
  info.n_head_kv = config.n_head_kv;
  info.head_dim = config.head_dim;
  info.ff = config.ff;
  info.conv_l_cache = config.conv_l_cache;
  info.context_train = config.context_train;

  if (!options.mmproj.empty()) load_vision(*impl, model::Checkpoint::open(options.mmproj));
  else if (checkpoint->has_vision()) load_vision(*impl, checkpoint);
  setup_execution(*impl, options);
  return std::shared_ptr<Model>(new Model(std::move(impl)));
}

const ModelInfo& Model::info() const { return impl_->info; }
int Model::n_threads() const { return impl_->n_threads; }

const tokenizer::Tokenizer& Model::Impl::tokenizer() const {
  if (!tok) throw Error(info.path + " has no language model (it is a vision encoder only)");
  return *tok;
}

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->tokenizer().encode(text, add_special, parse_special);
}

std::string Model::token_to_piece(int32_t id, bool render_special) const {
  return impl_->tokenizer().token_to_piece(id, render_special);
}

std::string Model::detokenize(const std::vector<int32_t>& ids, bool render_special) const {
  return impl_->tokenizer().decode(ids, render_special);
}

std::string Model::apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::vector<tokenizer::ChatMessage> m;
  for (const auto& msg : messages) m.push_back({msg.role, msg.content});
  return tokenizer::render_lfm2_chat(m, add_generation_prompt, impl_->tokenizer());
}

int32_t Model::bos() const { return impl_->tokenizer().bos(); }
int32_t Model::eos() const { return impl_->tokenizer().eos(); }
bool Model::is_end_of_generation(int32_t id) const {
  const auto& markers = impl_->end_of_generation;
  return id == impl_->tokenizer().eos() || std::find(markers.begin(), markers.end(), id) != markers.end();
}

}  // namespace autoneural
