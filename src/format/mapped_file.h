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

// Reads a whole (small) file into a string; throws autoneural::Error on failure.
std::string read_text_file(const std::string& path);

// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, then rename.
// Readers never see a half-written file; on failure the temporary is removed and Error is thrown.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);

// The streaming form of write_file_atomic, for files too large to build in memory (GGUF models): bytes
// go to `<path>.tmp.<pid>`; commit() fsyncs and renames it over `path`. If commit() is never reached
// (an exception, an early return) the destructor removes the temporary, so no partial file is left.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);  // creates the temporary; throws Error on failure
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* bytes, size_t size);  // throws Error (with the path) on I/O failure
  void commit();                               // fsync + rename; the writer is finished afterwards

 private:
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
};

}  // namespace autoneural::format
