// Owners and modes without following symbolic links (fs_setup.h).

#include "cli/ternctl/fs_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cli/ternctl/accounts.h"
#include "cli/ternctl/say.h"
#include "common/base/fd.h"
#include "common/base/strings.h"

namespace tern::ctl {
namespace {

std::string owner_text(uid_t uid, gid_t gid) { return user_name(uid) + ":" + group_name(gid); }

// Opens path without following a final symbolic link; O_PATH is not enough
// for fchown/fchmod, so directories are opened for reading and files with
// O_RDONLY|O_NONBLOCK (a FIFO planted there must not block us).
Result<Fd> open_nofollow(const std::string& path, bool directory) {
  int flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | (directory ? O_DIRECTORY : O_NONBLOCK);
  auto fd = open_fd(path, flags);
  if (!fd && (fd.error().err == ELOOP || fd.error().err == ENOTDIR)) {
    // Linux reports a symbolic link opened with O_DIRECTORY|O_NOFOLLOW as ENOTDIR.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return invalid(path + " is a symbolic link; refusing to follow it");
    return invalid(path + " exists and is not a " + (directory ? "directory" : "regular file"));
  }
  return fd;
}

Status fix(int fd, const std::string& path, const Ownership& want, bool quiet, bool created) {
  struct stat st;
  if (::fstat(fd, &st) < 0) return sys_error("fstat " + path);
  bool root = ::geteuid() == 0;
  if (!root && st.st_uid != ::geteuid()) {
    return invalid(path + " is owned by " + user_name(st.st_uid) + ", not by " + user_name(::geteuid()) +
                   ": run ternctl as root, or choose a directory of your own");
  }
  if (st.st_uid != want.uid || st.st_gid != want.gid) {
    if (::fchown(fd, want.uid, want.gid) < 0)
      return sys_error("chown " + owner_text(want.uid, want.gid) + " " + path);
    if (!quiet && !created) say("set owner %s on %s", owner_text(want.uid, want.gid).c_str(), path.c_str());
  }
  // chown(2) clears set-id bits, so the mode comes second and is compared
  // against a fresh stat.
  if (::fstat(fd, &st) < 0) return sys_error("fstat " + path);
  if ((st.st_mode & 07777) != want.mode) {
    if (::fchmod(fd, want.mode) < 0) return sys_error(strf("chmod %04o %s", want.mode, path.c_str()));
    if (!quiet && !created) say("set mode %04o on %s", want.mode, path.c_str());
  }
  return {};
}

}  // namespace

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ensure_dir(const std::string& path, const Ownership& want, bool quiet) {
  bool created = false;
  if (::mkdir(path.c_str(), 0700) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return sys_error("mkdir " + path);
  }
  auto fd = open_nofollow(path, true);
  if (!fd) return fd.take_error();
  if (Status st = fix(fd->get(), path, want, quiet, created); !st) return st;
  if (created && !quiet)
    say("created directory %s (%s %04o)", path.c_str(), owner_text(want.uid, want.gid).c_str(), want.mode);
  return {};
}

Status ensure_file(const std::string& path, const Ownership& want, bool quiet) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return {};
    return sys_error("lstat " + path);
  }
  if (S_ISLNK(st.st_mode)) return invalid(path + " is a symbolic link; refusing to follow it");
  if (!S_ISREG(st.st_mode)) return invalid(path + " is not a regular file");
  auto fd = open_nofollow(path, false);
  if (!fd) return fd.take_error();
  return fix(fd->get(), path, want, quiet, false);
}

Status check_traversable(const std::string& path) {
  std::string dir = parent_dir(path);
  for (;;) {
    struct stat st;
    if (::stat(dir.c_str(), &st) < 0) return sys_error("stat " + dir);
    if ((st.st_mode & S_IXOTH) == 0) {
      return invalid(dir + " is not searchable by other users; the tern accounts cannot reach " + path +
                     ": choose a directory elsewhere or chmod o+x " + dir);
    }
    if (dir == "/" || dir == ".") return {};
    dir = parent_dir(dir);
  }
}

}  // namespace tern::ctl
