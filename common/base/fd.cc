#include "common/base/fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tern {

void Fd::reset(int fd) {
  if (fd_ >= 0) {
    // POSIX leaves the descriptor state unspecified after EINTR; on Linux it
    // is closed, so retrying would close someone else's descriptor.
    ::close(fd_);
  }
  fd_ = fd;
}

Result<Fd> open_fd(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return sys_error("open " + path);
  return Fd(fd);
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  auto fd = open_fd(path, O_RDONLY);
  if (!fd) return fd.take_error();
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read " + path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      return make_error(Errc::kLimit, path + ": file larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return sys_error("fcntl F_GETFL");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) < 0) return sys_error("fcntl F_SETFL");
  return {};
}

Status set_cloexec(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return sys_error("fcntl F_GETFD");
  flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (::fcntl(fd, F_SETFD, flags) < 0) return sys_error("fcntl F_SETFD");
  return {};
}

}  // namespace tern
