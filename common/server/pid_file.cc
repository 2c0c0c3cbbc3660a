#include "common/server/pid_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/base/strings.h"

namespace tern::server {

std::string pid_file_path(const std::string& queue_dir) { return queue_dir + "/pid/master.pid"; }
std::string status_file_path(const std::string& queue_dir) { return queue_dir + "/pid/master.status"; }

Result<Fd> lock_pid_file(const std::string& queue_dir) {
  std::string path = pid_file_path(queue_dir);
  auto fd = open_fd(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
  if (!fd) return fd.take_error();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) return sys_error("flock " + path);
    auto content = read_file(path, 64);
    std::string pid = content ? std::string(trim(*content)) : "?";
    return make_error(Errc::kTemporary, "the tern mail system is already running (pid " + pid + ")");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) < 0) return sys_error("ftruncate " + path);
  if (::pwrite(fd->get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) return sys_error("write " + path);
  return fd;
}

pid_t running_master(const std::string& queue_dir) {
  std::string path = pid_file_path(queue_dir);
  auto fd = open_fd(path, O_RDONLY | O_NOFOLLOW);
  if (!fd) return 0;
  if (::flock(fd->get(), LOCK_SH | LOCK_NB) == 0) return 0;  // nobody holds it
  auto content = read_file(path, 64);
  if (!content) return 0;
  auto pid = parse_int(*content);
  return pid && *pid > 0 ? static_cast<pid_t>(*pid) : 0;
}

}  // namespace tern::server
