#pragma once
// Fd: the one owner of a file descriptor. Move-only; closes on destruction.

#include <string>
#include <utility>

#include "common/base/result.h"

namespace tern {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC added; errors name the path.
Result<Fd> open_fd(const std::string& path, int flags, int mode = 0);
// Writes all of data, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data);
// Reads the whole file (bounded by max_bytes: larger is Errc::kLimit).
Result<std::string> read_file(const std::string& path, size_t max_bytes = 64 << 20);
Status set_nonblocking(int fd, bool on = true);
Status set_cloexec(int fd, bool on = true);

}  // namespace tern
