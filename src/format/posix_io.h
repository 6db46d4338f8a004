// Small POSIX helpers shared by the file readers and writers of src/format.
#pragma once

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "autoneural/error.h"

namespace autoneural::format {

[[noreturn]] inline void fail_errno(const std::string& what, const std::string& path, int err) {
  throw Error(what + " '" + path + "': " + std::strerror(err));
}

// open() retried on EINTR (it can be interrupted on slow file systems such as NFS or FUSE).
inline int open_retry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace autoneural::format
