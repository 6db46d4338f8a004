// AtomicFileWriter (format/mapped_file.h): outputs that never harm what is already at their path.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <utility>

#include "autoneural/error.h"
#include "format/mapped_file.h"
#include "format/posix_io.h"

namespace autoneural::format {

namespace {

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string file_name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// `path` with symbolic links followed to the file they name (which need not exist yet).
std::string follow_links(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
    if (n < 0) fail_errno("cannot read the link", p, errno);
    std::string link(buf, static_cast<size_t>(n));
    p = !link.empty() && link[0] == '/' ? link : directory_of(p) + "/" + link;
  }
  throw Error("cannot write '" + path + "': too many levels of symbolic links");
}

// Temporaries being written, removed by the SIGINT / SIGTERM handler before the signal takes its default
// course. A fixed table of fixed-size names: the handler may only call async-signal-safe functions.
// (Process-wide by nature: a signal reaches the process, not an object.)
constexpr int kSlots = 64;
struct CleanupTable {
  std::atomic<bool> used[kSlots] = {};
  char paths[kSlots][PATH_MAX] = {};
  std::mutex mutex;  // guards slot allocation and the handler installation, never taken by the handler
  bool installed = false;
  struct sigaction previous_int {}, previous_term {};
};
CleanupTable& cleanup_table() {
  static CleanupTable table;
  return table;
}

void on_signal(int sig) {
  CleanupTable& t = cleanup_table();
  for (int i = 0; i < kSlots; ++i)
    if (t.used[i].load(std::memory_order_acquire)) ::unlink(t.paths[i]);
  // Restore what was there before and deliver the signal again (normally: terminate).
  ::sigaction(SIGINT, &t.previous_int, nullptr);
  ::sigaction(SIGTERM, &t.previous_term, nullptr);
  ::raise(sig);
}

int register_temporary(const std::string& path) {
  CleanupTable& t = cleanup_table();
  if (path.size() >= PATH_MAX) return -1;
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.installed) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &t.previous_int);
    ::sigaction(SIGTERM, &sa, &t.previous_term);
    t.installed = true;
  }
  for (int i = 0; i < kSlots; ++i)
    if (!t.used[i].load(std::memory_order_relaxed)) {
      std::memcpy(t.paths[i], path.c_str(), path.size() + 1);
      t.used[i].store(true, std::memory_order_release);
      return i;
    }
  return -1;  // more than 64 outputs at once: still removed on errors, only not on signals
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  CleanupTable& t = cleanup_table();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.used[slot].store(false, std::memory_order_release);
}

mode_t current_umask() {
  const mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
  if (path.empty()) throw Error("cannot write a file with an empty name");
  target_ = follow_links(path);
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error("cannot write '" + path + "': is a directory");
    if (!S_ISREG(st.st_mode)) {
      // A device, FIFO or socket: the data goes to it; renaming over it would replace the device node.
      fd_ = open_retry(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd_ < 0) fail_errno("cannot open", path, errno);
      return;
    }
    mode_ = st.st_mode & 07777;
  } else {
    mode_ = 0666 & ~current_umask();
  }
  std::string templ = directory_of(target_) + "/." + file_name_of(target_) + ".XXXXXX";
  fd_ = ::mkostemp(templ.data(), O_CLOEXEC);  // O_CREAT | O_EXCL: never follows or reuses a planted name
  if (fd_ < 0) fail_errno("cannot create a temporary file next to", path, errno);
  tmp_path_ = templ;
  slot_ = register_temporary(tmp_path_);
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  unregister_temporary(std::exchange(slot_, -1));
  tmp_path_.clear();
}

void AtomicFileWriter::write(const void* bytes, size_t size) {
  if (fd_ < 0) throw Error("write to '" + path_ + "' after it was committed");
  const auto* p = static_cast<const uint8_t*>(bytes);
  while (size > 0) {
    // write() may be partial (signals, pipes, quotas); loop until all bytes are out.
    const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
    const ssize_t n = ::write(fd_, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      discard();
      fail_errno("cannot write", path_, err);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw Error("'" + path_ + "' was already committed");
  if (tmp_path_.empty()) {  // written directly to a device or FIFO
    if (::close(std::exchange(fd_, -1)) != 0) fail_errno("cannot close", path_, errno);
    return;
  }
  // fsync before rename: otherwise a crash could leave the new name pointing at unwritten blocks.
  if (::fchmod(fd_, mode_) != 0 || ::fsync(fd_) != 0) {
    const int err = errno;
    discard();
    fail_errno("cannot finish writing", path_, err);
  }
  if (::close(std::exchange(fd_, -1)) != 0) {
    const int err = errno;
    discard();
    fail_errno("cannot close", path_, err);
  }
  if (::rename(tmp_path_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    discard();
    fail_errno("cannot rename the temporary file to", path_, err);
  }
  tmp_path_.clear();
  unregister_temporary(std::exchange(slot_, -1));
  // Make the rename itself durable. Best effort: some file systems refuse fsync on directories.
  const int dfd = open_retry(directory_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
  AtomicFileWriter w(path);
  w.write(bytes, size);
  w.commit();
}

}  // namespace autoneural::format
