// Atomic durable writes (durable.h).
//
// The temporary file lives in the target's directory so that rename(2) is
// atomic (same filesystem). Its name carries the pid and a per-process counter
// so that two processes, or two threads of one process, writing the same
// target never share a temporary file; O_EXCL turns any leftover from a crash
// with a recycled pid into an error instead of a silent overwrite.
//
// Every write, fsync and rename first asks fault::check(), so tests in
// TERN_FAULT_INJECTION builds can make each step fail.

#include "common/base/durable.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "common/base/fault.h"
#include "common/base/fd.h"

namespace tern {
namespace {

std::atomic<unsigned long> temp_counter{0};

// "dir" and "name" of a path; a bare name lives in ".".
std::pair<std::string, std::string> split_path(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string dir_of(const std::string& path) { return split_path(path).first; }

Error with_context(const std::string& path, Error e) {
  e.text = path + ": " + e.text;
  return e;
}

Status checked_write(int fd, std::string_view data, const std::string& what) {
  if (int err = fault::check(fault::Point::kWrite)) return sys_error("write " + what, err);
  Status st = write_all(fd, data);
  if (!st) {
    Error e = st.take_error();
    e.text = "write " + what + ": " + e.text;
    return e;
  }
  return {};
}

Status checked_rename(const std::string& from, const std::string& to) {
  if (int err = fault::check(fault::Point::kRename)) return sys_error("rename " + from + " to " + to, err);
  if (::rename(from.c_str(), to.c_str()) < 0) return sys_error("rename " + from + " to " + to);
  return {};
}

// Writes, syncs and renames the already-created temporary file.
Status fill_and_commit(Fd& fd, const std::string& tmp, const std::string& path, std::string_view content,
                       const DurableOptions& opts) {
  if (opts.owner_uid != -1 || opts.owner_gid != -1) {
    if (::fchown(fd.get(), static_cast<uid_t>(opts.owner_uid), static_cast<gid_t>(opts.owner_gid)) < 0)
      return sys_error("fchown " + tmp);
  }
  // fchmod because open(2) applies the umask and the caller asked for a mode
  // (and after fchown, which may clear set-id bits).
  if (::fchmod(fd.get(), static_cast<mode_t>(opts.mode)) < 0) return sys_error("fchmod " + tmp);
  if (Status st = checked_write(fd.get(), content, tmp); !st) return st;
  if (opts.sync) {
    if (Status st = fsync_fd(fd.get(), tmp); !st) return st;
  }
  // close(2) reports deferred write errors on some filesystems (NFS).
  if (::close(fd.release()) < 0) return sys_error("close " + tmp);
  return checked_rename(tmp, path);
}

}  // namespace

Status fsync_fd(int fd, std::string_view what) {
  if (int err = fault::check(fault::Point::kFsync)) return sys_error("fsync " + std::string(what), err);
  while (::fsync(fd) < 0) {
    if (errno != EINTR) return sys_error("fsync " + std::string(what));
  }
  return {};
}

Status fsync_dir(const std::string& dir) {
  auto fd = open_fd(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.take_error();
  return fsync_fd(fd->get(), dir);
}

Status write_file_atomic(const std::string& path, std::string_view content, DurableOptions opts) {
  auto [dir, name] = split_path(path);
  if (name.empty()) return with_context(path, invalid("not a file name"));
  std::string tmp = (dir == "/" ? "/" : dir + "/") + "." + name + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(temp_counter.fetch_add(1, std::memory_order_relaxed));

  auto fd = open_fd(tmp, O_CREAT | O_EXCL | O_WRONLY, opts.mode);
  if (!fd) return with_context(path, fd.take_error());

  if (Status st = fill_and_commit(*fd, tmp, path, content, opts); !st) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    return with_context(path, st.take_error());
  }
  // The rename is the commit; the directory fsync makes it survive a crash.
  // The new content is in place if this fails, but not known to be durable.
  if (opts.sync) {
    if (Status st = fsync_dir(dir); !st) return with_context(path, st.take_error());
  }
  return {};
}

namespace {

// One directory's group commit (fsync_dir_shared). Fsyncs are numbered from
// 1 in the order they start; only one runs at a time, so they also finish in
// that order and `finished` is the number of the last one to end.
struct SharedDirSync {
  std::mutex mu;
  std::condition_variable cv;
  bool running = false;
  uint64_t started = 0;
  uint64_t finished = 0;
  uint64_t failed = 0;  // number of the last fsync that failed; 0: none
  Error error;
};

// A process syncs a handful of directories (incoming/, maildrop/): entries
// are never removed.
SharedDirSync& shared_dir_sync(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<SharedDirSync>> dirs;
  std::lock_guard lock(mu);
  auto& slot = dirs[dir];
  if (!slot) slot = std::make_unique<SharedDirSync>();
  return *slot;
}

}  // namespace

Status fsync_dir_shared(const std::string& dir) {
  SharedDirSync& s = shared_dir_sync(dir);
  std::unique_lock lock(s.mu);
  // An fsync running now may have begun before the caller's rename: the
  // next one to start is the first that certainly covers it.
  const uint64_t need = s.started + 1;
  while (s.finished < need) {
    if (s.running) {
      s.cv.wait(lock);
      continue;
    }
    s.running = true;
    const uint64_t mine = ++s.started;  // >= need: it starts after the call
    lock.unlock();
    Status st = fsync_dir(dir);
    lock.lock();
    s.running = false;
    s.finished = mine;
    if (!st) {
      s.failed = mine;
      s.error = st.error();
    }
    s.cv.notify_all();
  }
  if (s.failed >= need) return s.error;
  return {};
}

// The rename's directory made durable. A directory this process may write
// but not read cannot be opened for fsync(2): terndrop, set-gid to a group
// that has only "wx" on maildrop/ (mode 1730). Then syncfs(2) through the
// renamed file commits its file system's journal, the rename with it; that
// costs more than one directory's fsync, and only local submissions pay it.
static Status sync_target_dir(const std::string& dir, const std::string& file, bool shared = false) {
  Status st = shared ? fsync_dir_shared(dir) : fsync_dir(dir);
  if (st || st.error().code != Errc::kSystem || st.error().err != EACCES) return st;
  auto fd = open_fd(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) return fd.take_error();
  if (int err = fault::check(fault::Point::kFsync)) return sys_error("syncfs " + file, err);
  if (::syncfs(fd->get()) < 0) return sys_error("syncfs " + file);
  return {};
}

Status publish_rename(const std::string& from, const std::string& to) {
  if (Status st = checked_rename(from, to); !st) return st;
  return sync_target_dir(dir_of(to), to);
}

Status publish_rename_shared(const std::string& from, const std::string& to) {
  if (Status st = checked_rename(from, to); !st) return st;
  return sync_target_dir(dir_of(to), to, true);
}

Status durable_rename(const std::string& from, const std::string& to) {
  if (Status st = checked_rename(from, to); !st) return st;
  std::string to_dir = dir_of(to);
  if (Status st = sync_target_dir(to_dir, to); !st) return st;
  // The source's directory entry must be gone too, or a crash can leave the
  // file in both places (harmless for the queue, but fsync anyway as the
  // header promises).
  std::string from_dir = dir_of(from);
  if (from_dir != to_dir) return fsync_dir(from_dir);
  return {};
}

}  // namespace tern
