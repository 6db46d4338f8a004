// autoneural command-line tool: one subcommand per file in this folder.
#include <algorithm>
#include <cstring>
#include <iostream>

#include "autoneural/system.h"
#include "args.h"
#include "common.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"run", autoneural::cli::cmd_run, "answer a question about images, or chat with images (streams to stdout)"},
    {"generate", autoneural::cli::cmd_generate, "generate text from a prompt (streams to stdout)"},
    {"encode", autoneural::cli::cmd_encode, "run the vision encoder on an image and write the features as .npy"},
    {"calibrate", autoneural::cli::cmd_calibrate, "record activation ranges of the float model for quantization"},
    {"quantize", autoneural::cli::cmd_quantize, "quantize a model by a recipe (w8a16, w4a16, autoneural, ...)"},
    {"quant-report", autoneural::cli::cmd_quant_report, "quantization error per recipe and layer (SQNR, RMS %, KL)"},
    {"perplexity", autoneural::cli::cmd_perplexity, "perplexity of a text file (llama.cpp's chunked measurement)"},
    {"tokenize", autoneural::cli::cmd_tokenize, "show the token ids of a text"},
    {"logits", autoneural::cli::cmd_logits, "write the logits of every position of a prompt as .npy"},
    {"bench", autoneural::cli::cmd_bench, "measure prefill and decode speed, time to first token and memory"},
    {"convert", autoneural::cli::cmd_convert, "convert a Hugging Face model directory to GGUF"},
    {"make-model", autoneural::cli::cmd_make_model, "write a random-weight model of a published shape"},
    {"info", autoneural::cli::cmd_info, "print a model's shape and its state memory per context length"},
};

void usage(std::ostream& os) {
  os << "usage: autoneural <command> [options]\n\ncommands:\n";
  size_t width = 0;
  for (const auto& c : kCommands) width = std::max(width, std::strlen(c.name));
  for (const auto& c : kCommands) os << "  " << c.name << std::string(width + 2 - std::strlen(c.name), ' ') << c.summary << "\n";
  os << "\nrun 'autoneural <command> --help' for the options of a command, 'autoneural --version' for the\n"
        "version and the SIMD kernels in use\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::cout << "autoneural " << autoneural::version() << "\nkernels: " << autoneural::kernel_isa()
              << " (AUTONEURAL_ISA=scalar|avx2|avx512|neon selects a lower one)\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const autoneural::cli::UsageError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    } catch (const autoneural::Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "error: out of memory\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "error: unknown command '" << argv[1] << "'\n\n";
  usage(std::cerr);
  return 2;
}
