// autoneural info: a model's shape and how its per-sequence state grows with the context, next to a
// pure-attention model of the same shape (every layer attention) — the basis of LFM2's long-context claim.
#include <cstdio>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_info(int argc, char** argv) {
  std::string model_path, cache = "f16";
  ArgParser p("info", "Prints a model's shape and its state memory per sequence at several context lengths.");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision assumed (default f16)");
  if (!p.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("info needs a model (-m PATH)");
  auto model = Model::load(model_path, {1});
  const auto& i = model->info();
  if (!model->has_language_model()) {
    const auto& v = model->vision_info();
    std::printf("model: %s\n  %s: %s encoder + %s connector, %.3f M parameters, %d px input, %lld tokens per image\n",
                i.path.c_str(), i.checkpoint.c_str(), v.encoder.c_str(), v.projector.c_str(),
                static_cast<double>(v.n_params) / 1e6, v.image_size, static_cast<long long>(v.tokens_per_image));
    return 0;
  }
  const StateMemoryEstimate mem = estimate_state_memory(*model, parse_cache_type(cache));
  std::printf("model: %s (%s)\n  architecture %s, %s weights, %.3f B parameters, file %s\n", i.path.c_str(),
              i.checkpoint.c_str(), i.architecture.c_str(), i.weight_type.c_str(), static_cast<double>(i.n_params) / 1e9,
              human_bytes(static_cast<double>(i.file_bytes)).c_str());
  std::printf("  %lld layers (%lld attention, %lld short-conv), hidden %lld, heads %lld/%lld kv, head_dim %lld, ffn %lld, "
              "vocab %lld\n",
              (long long)i.n_layers, (long long)i.n_attention_layers, (long long)(i.n_layers - i.n_attention_layers),
              (long long)i.hidden, (long long)i.n_head, (long long)i.n_head_kv, (long long)i.head_dim, (long long)i.ff,
              (long long)i.n_vocab);
  const double conv = static_cast<double>(mem.conv_bytes);
  const double kv_h = static_cast<double>(mem.kv_bytes_per_token);
  const double kv_d = static_cast<double>(mem.all_attention_kv_bytes_per_token);
  std::printf("\nstate per sequence (%s KV cache):\n  conv state %s (constant), KV %s per token; all-attention: %s per token\n",
              cache.c_str(), human_bytes(conv).c_str(), human_bytes(kv_h).c_str(), human_bytes(kv_d).c_str());
  std::printf("\n  %8s  %14s  %14s  %6s\n", "context", "hybrid", "all-attention", "ratio");
  for (double n : {1024.0, 4096.0, 16384.0, 32768.0, 131072.0}) {
    const double h = conv + kv_h * n, d = kv_d * n;
    std::printf("  %8.0f  %14s  %14s  %5.2fx\n", n, human_bytes(h).c_str(), human_bytes(d).c_str(), d / h);
  }
  std::printf("\n  at equal state memory the hybrid holds %.2fx the context of the all-attention model\n", kv_d / kv_h);
  return 0;
}

}  // namespace autoneural::cli
