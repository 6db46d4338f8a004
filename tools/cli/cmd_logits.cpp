// autoneural logits: the logits of every position of a prompt, as float32 .npy [n_tokens, n_vocab].
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

int cmd_logits(int argc, char** argv) {
  std::string model_path, mmproj, prompt_file, out, tokens_out, cache = "f32";
  ModelOptions exec;
  std::vector<std::string> image_paths;
  int size = 0;
  bool incremental = false, no_bos = false, no_parse_special = false;
  int threads = 0;
  int64_t n_ctx = 4096, n_batch = 128;
  ArgParser p("logits", "Tokenizes a prompt file as-is and writes the logits of every position as .npy.");
  p.option({"-m", "--model"}, &model_path, "PATH", "GGUF file or Hugging Face directory (required)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file, when the model file has none");
  p.option({"--prompt-file"}, &prompt_file, "FILE", "prompt text (required); <image> markers take the --image files in order");
  p.repeated({"--image"}, &image_paths, "IMG", "image for the next <image> marker (repeatable)");
  p.option({"--size"}, &size, "N", "encoder input size, multiple of 32 (default: the model's)");
  p.option({"--out"}, &out, "FILE.npy", "logits output, float32 [n_tokens, n_vocab] (required)");
  p.option({"--tokens-out"}, &tokens_out, "FILE.npy", "also write the token ids (image placeholders included), int32 [n_tokens]");
  p.flag({"--incremental"}, &incremental, "feed the tokens one at a time through the decode path");
  p.flag({"--no-bos"}, &no_bos, "do not add the BOS token");
  p.flag({"--no-parse-special"}, &no_parse_special, "treat special-token text as plain text");
  add_execution_flags(p, exec);
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision (default f32)");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "context length (default 4096)");
  bool ctx_force = false;
  p.flag({"--ctx-force"}, &ctx_force, "allow -c above the context length the model was trained on");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  if (!p.parse(argc, argv)) return 0;
  {
    std::vector<std::string> inputs{model_path, mmproj, prompt_file};
    inputs.insert(inputs.end(), image_paths.begin(), image_paths.end());
    check_outputs_usage({out, tokens_out}, inputs);
  }
  check_size_flag(size);
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("logits needs a model (-m PATH)");
  if (prompt_file.empty()) throw UsageError("logits needs --prompt-file FILE");
  if (out.empty()) throw UsageError("logits needs --out FILE.npy");

  const std::string text = read_text_file(prompt_file);
  if (!image_paths.empty() && no_parse_special) throw UsageError("--image needs special tokens parsed (<image> markers)");
  exec.n_threads = threads;
  exec.mmproj = mmproj;
  auto model = Model::load(model_path, exec);
  std::vector<int32_t> tokens;
  Session session(model, {n_ctx, n_batch, parse_cache_type(cache), ctx_force});
  std::vector<ImageEmbedding> images;
  if (model->has_vision() && !no_parse_special) {
    int markers = 0;
    tokens = model->tokenize_with_images(text, !no_bos, &markers);
    if (markers != static_cast<int>(image_paths.size()))
      throw UsageError(prompt_file + " has " + std::to_string(markers) + " <image> marker(s) but " +
                       std::to_string(image_paths.size()) + " --image file(s) were given");
    for (const auto& path : image_paths) images.push_back(session.encode_image(Image::load(path), {size, false}));
  } else {
    if (!image_paths.empty()) (void)model->vision_info();  // explains that there is no vision part
    tokens = model->tokenize(text, !no_bos, !no_parse_special);
  }
  if (tokens.empty()) throw Error(prompt_file + ": the prompt is empty after tokenization");
  const int64_t n = static_cast<int64_t>(tokens.size()), vocab = model->info().n_vocab;
  std::vector<float> logits;
  if (incremental) {
    // One position per call: tokens through decode(), image rows through decode_embeddings().
    logits.reserve(static_cast<size_t>(n * vocab));
    const int32_t image_token = images.empty() ? -1 : model->vision_info().image_token;
    size_t image = 0, row = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<float> out;
      if (tokens[i] == image_token) {
        const auto& e = images.at(image);
        out = session.decode_embeddings(std::span<const float>(e.rows.data() + row * e.dim, e.dim));
        if (++row == static_cast<size_t>(e.n_tokens)) row = 0, ++image;
      } else {
        out = session.decode(std::span<const int32_t>(&tokens[i], 1));
      }
      logits.insert(logits.end(), out.begin(), out.end());
    }
  } else {
    logits = session.decode_with_images(tokens, images, true);
  }
  write_npy(out, std::span<const float>(logits), {n, vocab});
  if (!tokens_out.empty()) write_npy(tokens_out, std::span<const int32_t>(tokens), {n});
  std::cerr << "wrote logits [" << n << ", " << vocab << "] to " << out << "\n";
  return 0;
}

}  // namespace autoneural::cli
