// Outputs never harm what is already at their path, commands never overwrite their own inputs, and
// hostile JSON is refused before it can exhaust the stack (issue 10, items 1-3).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "autoneural/workflows.h"
#include "format/json.h"
#include "format/mapped_file.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "tokenizer/vocab.h"

namespace autoneural {
namespace {

namespace fs = std::filesystem;

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The names in a folder, sorted (temporaries included: they start with '.').
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(Outputs, ASymlinkIsFollowedAndKept) {
  test::TempDir dir;
  write(dir.file("real.bin"), "old");
  fs::create_symlink("real.bin", dir.file("link.bin"));
  format::write_file_atomic(dir.file("link.bin"), "new", 3);
  EXPECT_TRUE(fs::is_symlink(dir.file("link.bin")));
  EXPECT_EQ(format::read_text_file(dir.file("real.bin")), "new");
  // A dangling link names the file to create.
  fs::create_symlink("created.bin", dir.file("dangling.bin"));
  format::write_file_atomic(dir.file("dangling.bin"), "x", 1);
  EXPECT_TRUE(fs::is_symlink(dir.file("dangling.bin")));
  EXPECT_EQ(format::read_text_file(dir.file("created.bin")), "x");
}

TEST(Outputs, APlantedTemporaryNameIsNeverFollowed) {
  test::TempDir dir;
  write(dir.file("victim"), "keep");
  // The temporary name the writer used to pick (OUT.tmp.<pid>), planted as a link to another file.
  fs::create_symlink(dir.file("victim"), dir.file("out.bin.tmp." + std::to_string(::getpid())));
  format::write_file_atomic(dir.file("out.bin"), "data", 4);
  EXPECT_EQ(format::read_text_file(dir.file("victim")), "keep");
  EXPECT_EQ(format::read_text_file(dir.file("out.bin")), "data");
  EXPECT_EQ(names_in(dir.path()),
            (std::vector<std::string>{"out.bin", "out.bin.tmp." + std::to_string(::getpid()), "victim"}));
}

TEST(Outputs, PermissionsOfTheExistingFileAreKept) {
  test::TempDir dir;
  write(dir.file("private.json"), "{}");
  ASSERT_EQ(::chmod(dir.file("private.json").c_str(), 0600), 0);
  format::write_file_atomic(dir.file("private.json"), "[]", 2);
  EXPECT_EQ(mode_of(dir.file("private.json")), 0600u);
  write(dir.file("shared.json"), "{}");
  ASSERT_EQ(::chmod(dir.file("shared.json").c_str(), 0664), 0);
  format::write_file_atomic(dir.file("shared.json"), "[]", 2);
  EXPECT_EQ(mode_of(dir.file("shared.json")), 0664u);
  // A new file gets what open() would give it: 0666 less the umask.
  const mode_t mask = ::umask(022);
  format::write_file_atomic(dir.file("new.json"), "[]", 2);
  ::umask(mask);
  EXPECT_EQ(mode_of(dir.file("new.json")), 0644u);
}

TEST(Outputs, AFifoIsWrittenDirectlyAndADirectoryIsRefused) {
  test::TempDir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);  // blocks until the writer opens the FIFO
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  format::write_file_atomic(fifo, "through the pipe", 16);
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced by a regular file";
  test::expect_error([&] { format::write_file_atomic(dir.path(), "x", 1); }, "is a directory");
}

TEST(Outputs, AnUnfinishedWriteLeavesTheOldFileAndNoTemporary) {
  test::TempDir dir;
  write(dir.file("model.gguf"), "the old model");
  {
    format::AtomicFileWriter w(dir.file("model.gguf"));
    w.write("half of a new", 13);
    EXPECT_EQ(names_in(dir.path()).size(), 2u);  // the file and one temporary
  }  // never committed
  EXPECT_EQ(format::read_text_file(dir.file("model.gguf")), "the old model");
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"model.gguf"});
}

TEST(Outputs, SigtermRemovesTheTemporary) {
  test::TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    format::AtomicFileWriter w(dir.file("big.gguf"));
    w.write("partial", 7);
    ::raise(SIGTERM);
    ::_exit(0);  // not reached: the signal terminates the process
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(names_in(dir.path()).empty()) << names_in(dir.path()).front();
}

// ---- commands do not destroy their own inputs ---------------------------------------------------------

TEST(Outputs, CommandsRefuseToOverwriteTheirInputs) {
  test::TempDir dir;
  const std::string hf = dir.file("hf");
  fs::create_directory(hf);
  for (const auto& e : fs::directory_iterator(test::lfm2_tiny("hf"))) fs::copy_file(e.path(), hf + "/" + e.path().filename().string());
  fs::copy_file(test::lfm2_tiny("model-q8_0.gguf"), dir.file("a.gguf"));
  const std::string st_before = format::read_text_file(hf + "/model.safetensors");
  const std::string gguf_before = format::read_text_file(dir.file("a.gguf"));
  write(dir.file("prompt.txt"), "Hello");
  fs::create_symlink(dir.file("a.gguf"), dir.file("alias.gguf"));
  struct Case {
    std::string args, fragment;
  };
  const std::vector<Case> cases = {
      {"convert " + hf + " " + hf + "/model.safetensors", "would overwrite the input"},
      {"convert " + hf + " " + hf + "/config.json --type f32", "would overwrite the input"},
      {"quantize " + dir.file("a.gguf") + " " + dir.file("a.gguf") + " --recipe w8a16", "would overwrite the input"},
      {"quantize " + dir.file("a.gguf") + " " + dir.file("alias.gguf") + " --recipe w8a16", "would overwrite the input"},
      {"quantize " + dir.file("a.gguf") + " " + dir.path() + "/./a.gguf", "would overwrite the input"},
      {"convert " + test::quote(test::fixture("vlm/autoneural-tiny/hf")) + " " + dir.file("o.gguf") + " --mmproj " +
           dir.file("o.gguf"),
       "twice"},
      {"logits -m " + dir.file("a.gguf") + " --prompt-file " + dir.file("prompt.txt") + " --out " + dir.file("l.npy") +
           " --tokens-out " + dir.file("l.npy"),
       "twice"},
      {"logits -m " + dir.file("a.gguf") + " --prompt-file " + dir.file("prompt.txt") + " --out " +
           dir.file("prompt.txt"),
       "would overwrite the input"},
  };
  for (const auto& c : cases) {
    const auto r = test::run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.fragment), std::string::npos) << c.args << "\n" << r.out;
  }
  EXPECT_EQ(format::read_text_file(hf + "/model.safetensors"), st_before);
  EXPECT_EQ(format::read_text_file(dir.file("a.gguf")), gguf_before);
  EXPECT_EQ(format::read_text_file(dir.file("prompt.txt")), "Hello");
  EXPECT_FALSE(fs::exists(dir.file("o.gguf")));
  EXPECT_FALSE(fs::exists(dir.file("l.npy")));
  // Writing next to the inputs, or to /dev/null twice, is fine.
  const auto ok = test::run_cli("logits -m " + dir.file("a.gguf") + " --prompt-file " + dir.file("prompt.txt") +
                                " --out /dev/null --tokens-out /dev/null");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  const auto next = test::run_cli("convert " + hf + " " + hf + "/model.gguf --type f32");
  EXPECT_EQ(next.exit_code, 0) << next.out;
}

TEST(Outputs, CheckOutputsNamesTheFiles) {
  test::TempDir dir;
  write(dir.file("in.txt"), "x");
  test::expect_error([&] { check_outputs({dir.file("in.txt")}, {dir.file("in.txt")}); },
                     "refusing to write " + dir.file("in.txt") + ": it would overwrite the input");
  test::expect_error([&] { check_outputs({dir.file("o"), dir.path() + "/../" + fs::path(dir.path()).filename().string() + "/o"}, {}); },
                     "twice");
  EXPECT_NO_THROW(check_outputs({dir.file("o1"), dir.file("o2"), ""}, {dir.file("in.txt"), ""}));
}

// ---- hostile JSON -----------------------------------------------------------------------------------

TEST(Outputs, DeeplyNestedJsonIsAClearErrorNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  test::expect_error([&] { format::parse_json(deep, "x.json"); }, "x.json: JSON nested deeper than 256 levels");
  // Brackets inside strings do not count; 256 levels are fine.
  EXPECT_NO_THROW(format::parse_json("{\"a\": \"" + std::string(1000, '[') + "\"}", "s"));
  EXPECT_NO_THROW(format::parse_json(std::string(256, '[') + std::string(256, ']'), "ok"));
  test::expect_error([&] { format::parse_json(std::string(257, '[') + std::string(257, ']'), "deep"); }, "deeper");

  test::TempDir dir;
  for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
    const std::string sub = dir.file(f);
    fs::create_directory(sub);
    for (const auto& e : fs::directory_iterator(test::lfm2_tiny("hf")))
      fs::create_symlink(e.path(), sub + "/" + e.path().filename().string());
    fs::remove(sub + "/" + f);
    write(sub + "/" + f, std::string(100000, '{') + "\"a\":" + std::string(100000, '}'));
    test::expect_error([&] { Model::load(sub); }, std::string(f) + ": JSON nested deeper");
  }
  // A describing message never carries the value itself.
  EXPECT_EQ(format::describe_json(nlohmann::json::parse(R"({"type": "Metaspace", "x": [1, 2]})")),
            "an object of type \"Metaspace\"");
  EXPECT_EQ(format::describe_json(nlohmann::json::parse("[[[1]]]")), "an array of 1");
}

// ---- models without a language model -------------------------------------------------------------------

TEST(Outputs, AVisionOnlyModelInInfoAndBenchIsAnswered) {
  test::TempDir dir;
  const std::string hf = test::quote(test::fixture("vlm/autoneural-tiny/hf"));
  ASSERT_EQ(test::run_cli("convert " + hf + " " + dir.file("t.gguf") + " --mmproj " + dir.file("v.gguf")).exit_code, 0);
  const auto info = test::run_cli("info -m " + dir.file("v.gguf"));
  EXPECT_EQ(info.exit_code, 0) << info.out;
  EXPECT_NE(info.out.find("AutoNeural vision GGUF"), std::string::npos) << info.out;
  const auto bench = test::run_cli("bench -m " + dir.file("v.gguf") + " -p 4 -n 2 -r 1");
  EXPECT_EQ(bench.exit_code, 2) << bench.out;
  EXPECT_NE(bench.out.find("has no language model: give --image"), std::string::npos) << bench.out;
}

}  // namespace
}  // namespace autoneural
