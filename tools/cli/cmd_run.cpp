// autoneural run: images + question in, streamed answer out; without -p an interactive chat in which
// "/image PATH" attaches an image to the next message.
#include <cstdio>
#include <iostream>

#include "args.h"
#include "common.h"

namespace autoneural::cli {

namespace {

void print_stats(const GenerateResult& r, int n_images) {
  const double gen = static_cast<double>(r.tokens.size());
  if (n_images > 0) std::fprintf(stderr, "images: %d encoded in %.1f ms; ", n_images, r.image_ms);
  std::fprintf(stderr, "prompt: %lld tokens in %.1f ms; generated: %zu tokens in %.1f ms (%.1f tok/s); stop: %s\n",
               static_cast<long long>(r.prompt_tokens), r.prompt_ms, r.tokens.size(), r.generate_ms,
               gen > 0 ? gen / (r.generate_ms / 1000.0) : 0.0, r.stop_reason.c_str());
}

bool print_piece(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  return true;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  std::string model_path, mmproj, prompt, system, cache = "f16";
  std::vector<std::string> image_paths, stop;
  int64_t n_predict = 256, n_ctx = 4096, n_batch = 128;
  int threads = 0, size = 0;
  bool letterbox = false, quiet = false;
  GenerateOptions gen;
  ModelOptions exec;
  ArgParser p("run", "Answers a question about images (streamed to stdout); without -p, an interactive chat.");
  p.option({"-m", "--model"}, &model_path, "PATH", "language model GGUF, AutoNeural directory or merged GGUF (required)");
  p.option({"--mmproj"}, &mmproj, "PATH", "vision file (when the model file has none)");
  p.repeated({"--image"}, &image_paths, "IMG", "image (PNG, JPEG, BMP, PPM/PGM); repeatable");
  p.option({"-p", "--prompt"}, &prompt, "TEXT", "the question; <image> marks where each image goes (default: before the text)");
  p.option({"--system"}, &system, "TEXT", "system message");
  p.option({"-n", "--n-predict"}, &n_predict, "N", "maximum tokens per answer (default 256)");
  add_sampling_flags(p, gen.sampling);
  p.repeated({"--stop"}, &stop, "TEXT", "stop when this text is generated (repeatable)");
  p.option({"--size"}, &size, "N", "encoder input size in pixels, multiple of 32 (default: the model's)");
  p.flag({"--letterbox"}, &letterbox, "keep the aspect ratio and pad instead of stretching");
  p.option({"-t", "--threads"}, &threads, "N", "threads (default: all cores)");
  p.option({"-c", "--ctx-size"}, &n_ctx, "N", "context length (default 4096)");
  bool ctx_force = false;
  p.flag({"--ctx-force"}, &ctx_force, "allow -c above the context length the model was trained on");
  p.option({"-b", "--batch-size"}, &n_batch, "N", "prefill chunk size (default 128)");
  p.option({"--cache-type"}, &cache, "f16|f32", "KV cache precision (default f16)");
  p.flag({"-q", "--quiet"}, &quiet, "no timing summary on stderr");
  bool json = false;
  p.flag({"--json"}, &json, "print each answer as one JSON line (text, token ids, stop reason, timings) instead of streaming it");
  bool parse_special = false, no_parse_special = false;
  p.flag({"--parse-special"}, &parse_special,
         "control-token text typed in a message (<|im_end|>, ...) becomes control tokens");
  p.flag({"--no-parse-special"}, &no_parse_special,
         "control-token text in messages stays plain text (the default); only <image> marks images");
  add_execution_flags(p, exec);
  if (!p.parse(argc, argv)) return 0;
  check_execution_flags(exec);
  if (model_path.empty()) throw UsageError("run needs a model (-m PATH)");
  check_size_flag(size);
  gen.max_tokens = check_n_predict(n_predict);
  check_sampling_flags(gen.sampling);
  gen.stop = stop;
  if (parse_special && no_parse_special) throw UsageError("give --parse-special or --no-parse-special, not both");
  gen.parse_special = parse_special;
  const ImageOptions image_options{size, letterbox};

  exec.n_threads = threads;
  exec.mmproj = mmproj;
  auto model = Model::load(model_path, exec);
  if (!model->has_vision() && !image_paths.empty()) (void)model->vision_info();  // explains what is missing
  note_random_weights(*model);
  // Decode every image before loading anything heavy into the session: a bad file fails fast.
  std::vector<Image> images;
  for (const auto& path : image_paths) images.push_back(Image::load(path));
  Chat chat(model, {n_ctx, n_batch, parse_cache_type(cache), ctx_force}, system);

  auto turn = [&](const std::string& text, const std::vector<Image>& imgs) {
    if (json) {
      print_result_json(chat.send(text, imgs, gen, {}, image_options));
      return;
    }
    const auto r = chat.send(text, imgs, gen, print_piece, image_options);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // before the summary on stderr, also when both go to one pipe
    if (!quiet) print_stats(r, static_cast<int>(imgs.size()));
  };

  if (p.given("-p")) {
    turn(prompt, images);
    return 0;
  }
  // Interactive chat.
  std::fprintf(stderr, "chat mode: type a message; '/image PATH' attaches an image to the next message, "
                       "'/reset' clears the conversation, '/exit' or end of input quits.\n");
  std::vector<Image> pending = std::move(images);
  std::string line;
  while (true) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      chat = Chat(model, {n_ctx, n_batch, parse_cache_type(cache), ctx_force}, system);
      pending.clear();
      continue;
    }
    if (line.rfind("/image ", 0) == 0) {
      try {
        pending.push_back(Image::load(line.substr(7)));
        std::fprintf(stderr, "attached %s (%dx%d)\n", line.substr(7).c_str(), pending.back().width,
                     pending.back().height);
      } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
      }
      continue;
    }
    if (line.empty()) continue;
    try {
      turn(line, pending);
      if (!quiet) std::fprintf(stderr, "(reused %lld tokens of the conversation)\n",
                               static_cast<long long>(chat.reused_tokens()));
    } catch (const Error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
    }
    pending.clear();
  }
  return 0;
}

}  // namespace autoneural::cli
