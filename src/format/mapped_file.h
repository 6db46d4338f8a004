// A read-only memory-mapped file. Model weights are used in place from the mapping, so loading a
// multi-gigabyte model costs page faults, not copies, and several processes share the page cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace autoneural::format {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws autoneural::Error if the file cannot be opened or mapped. An empty file maps to size 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// The largest text input read whole (prompts, tokenizer and configuration files): 64 MiB.
inline constexpr size_t kMaxTextFileBytes = size_t{64} << 20;
// Reads a whole regular file into a string; Error for a missing, unreadable, non-regular (directory,
// FIFO, device) or larger-than-max_bytes file, without blocking on a FIFO.
std::string read_text_file(const std::string& path, size_t max_bytes = kMaxTextFileBytes);

// Writes `bytes` to `path` atomically (see AtomicFileWriter); throws Error on failure.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);

// Writes an output file without harming what is already at its path (docs/reliability.md, "Outputs"):
//  - a regular file or a new name: the bytes go to a temporary created exclusively (O_EXCL, unpredictable
//    name, never following a link) in the same folder; commit() fsyncs it, gives it the existing file's
//    permissions and renames it into place, so readers see the old file or the whole new one. The
//    temporary is removed on error, when commit() is never reached, and on SIGINT / SIGTERM;
//  - a symbolic link is followed (the file it points to is written, as a shell redirect does);
//  - a device or FIFO (/dev/null, /dev/stdout) is written directly, never renamed over;
//  - a directory is refused with an Error.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);  // creates the temporary; throws Error on failure
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* bytes, size_t size);  // throws Error (with the path) on I/O failure
  void commit();                               // fsync + rename; the writer is finished afterwards

 private:
  void discard() noexcept;

  std::string path_;      // as given
  std::string target_;    // the file written: path_ with symbolic links followed
  std::string tmp_path_;  // empty when writing a device or FIFO directly
  int fd_ = -1;
  unsigned mode_ = 0;     // permissions the committed file gets
  int slot_ = -1;         // entry in the signal-cleanup table
};

}  // namespace autoneural::format
