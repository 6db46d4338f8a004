#include <filesystem>
#include <map>
#include <thread>

#include "format/mapped_file.h"
#include "runtime/model_impl.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/vocab.h"

namespace autoneural {

namespace {

std::string dominant_matrix_type(const model::WeightSource& w) {
  std::map<std::string, int64_t> elems;
  for (const auto& [name, t] : w.tensors())
    if (t.ne.size() >= 2) elems[std::string(tensor_type_name(t.type))] += t.n_elements();
  std::string best;
  int64_t most = -1;
  for (const auto& [type, n] : elems)
    if (n > most) best = type, most = n;
  return best;
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<Model> Model::load(const std::string& path, const ModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->weights = model::WeightSource::open(path, &model::lfm2_hf_to_gguf_name);
  model::Lfm2Config config;
  tokenizer::VocabData vocab;
  if (impl->weights->is_gguf()) {
    config = model::lfm2_config_from_gguf(*impl->weights->gguf());
    vocab = tokenizer::vocab_from_gguf(*impl->weights->gguf());
  } else {
    const std::string cfg_path = (std::filesystem::path(path) / "config.json").string();
    config = model::lfm2_config_from_hf_json(format::read_text_file(cfg_path), cfg_path);
    vocab = tokenizer::vocab_from_hf_dir(path);
  }
  impl->tok = std::make_unique<tokenizer::Tokenizer>(std::move(vocab));
  if (impl->tok->n_vocab() > config.n_vocab)
    throw Error(path + ": the tokenizer has " + std::to_string(impl->tok->n_vocab()) +
                " tokens but the model's embedding only " + std::to_string(config.n_vocab));
  impl->lm = std::make_unique<model::Lfm2Model>(impl->weights, config);
  impl->end_of_turn = impl->tok->find_token("<|im_end|>").value_or(-1);
  const unsigned hw = std::thread::hardware_concurrency();
  impl->n_threads = options.n_threads > 0 ? options.n_threads : static_cast<int>(hw ? hw : 1);

  ModelInfo& info = impl->info;
  info.architecture = "lfm2";
  if (impl->weights->is_gguf()) info.name = impl->weights->gguf()->get_string("general.name").value_or("");
  if (info.name.empty()) info.name = std::filesystem::path(path).filename().string();
  info.random_weights = info.name.rfind(model::kRandomModelNamePrefix, 0) == 0;
  info.path = path;
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
  return std::shared_ptr<Model>(new Model(std::move(impl)));
}

const ModelInfo& Model::info() const { return impl_->info; }
int Model::n_threads() const { return impl_->n_threads; }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->tok->encode(text, add_special, parse_special);
}

std::string Model::token_to_piece(int32_t id, bool render_special) const {
  return impl_->tok->token_to_piece(id, render_special);
}

std::string Model::detokenize(const std::vector<int32_t>& ids, bool render_special) const {
  return impl_->tok->decode(ids, render_special);
}

std::string Model::apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  std::vector<tokenizer::ChatMessage> m;
  for (const auto& msg : messages) m.push_back({msg.role, msg.content});
  return tokenizer::render_lfm2_chat(m, add_generation_prompt, *impl_->tok);
}

int32_t Model::bos() const { return impl_->tok->bos(); }
int32_t Model::eos() const { return impl_->tok->eos(); }
bool Model::is_end_of_generation(int32_t id) const {
  return id == impl_->tok->eos() || (impl_->end_of_turn >= 0 && id == impl_->end_of_turn);
}

}  // namespace autoneural
