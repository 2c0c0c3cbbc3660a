#include "common/server/file_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace tern::server {

Status FileWatch::add(const std::string& path) {
  if (!fd_) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return sys_error("inotify_init1");
    fd_ = Fd(fd);
  }
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  int wd = inotify_add_watch(fd_.get(), dir.c_str(),
                             IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB);
  if (wd < 0) return sys_error("inotify_add_watch " + dir);
  dirs_[wd] = dir;
  files_.emplace(wd, base);
  return {};
}

Status FileWatch::start(event::Loop& loop, std::function<void(const std::string&)> on_change) {
  if (!fd_) return {};
  on_change_ = std::move(on_change);
  watch_ = event::IoWatch(loop, fd_.get(), event::IoWatch::kRead, [this](short) { readable(); });
  return {};
}

void FileWatch::readable() {
  alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n <= 0) return;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->len == 0 || fired_) continue;
      std::string name(ev->name);
      if (files_.count({ev->wd, name})) {
        fired_ = true;  // once: the process is on its way out
        on_change_(dirs_[ev->wd] + "/" + name);
      }
    }
  }
}

}  // namespace tern::server
