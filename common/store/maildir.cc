// Maildir++ layout, folder names and creation (maildir.h).

#include "common/store/maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/mail/utf8.h"
#include "common/store/mutf7.h"

namespace tern::store {
namespace {

constexpr int kDirMode = 0700;
constexpr size_t kNameMax = 255;
std::atomic<unsigned long> build_counter{0};

bool is_control(char32_t c) { return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f); }

// mkdir(2) where EEXIST is success.
Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) == 0 || errno == EEXIST) return {};
  return sys_error("mkdir " + path);
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Fills an (existing) directory with cur/, new/, tmp/ and, for a folder,
// the empty "maildirfolder" marker that Maildir++ readers look for.
Status fill_maildir(const std::string& dir, bool is_folder) {
  for (const char* sub : {"cur", "new", "tmp"}) {
    if (Status st = make_dir(dir + "/" + sub); !st) return st;
  }
  if (is_folder) {
    auto fd = open_fd(dir + "/maildirfolder", O_WRONLY | O_CREAT, 0600);
    if (!fd) return fd.take_error();
  }
  return {};
}

void remove_tree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

// Builds a complete Maildir (or folder) in `scratch` and renames it to
// `target`. When the rename finds `target` already there (ENOTEMPTY or
// EEXIST: another creator won, or it existed all along), the scratch copy
// goes and the existing one is repaired if it lacks a subdirectory.
Status create_atomically(const std::string& scratch, const std::string& target, bool is_folder) {
  if (is_dir(target)) return fill_maildir(target, is_folder);
  if (::mkdir(scratch.c_str(), kDirMode) < 0) return sys_error("mkdir " + scratch);
  Status st = fill_maildir(scratch, is_folder);
  if (st) {
    for (const char* sub : {"/cur", "/new", "/tmp", ""}) {
      if (st = fsync_dir(scratch + sub); !st) break;
    }
  }
  if (!st) {
    remove_tree(scratch);
    return st;
  }
  if (::rename(scratch.c_str(), target.c_str()) < 0) {
    int err = errno;
    remove_tree(scratch);
    if (err != ENOTEMPTY && err != EEXIST) return sys_error("rename " + scratch + " to " + target, err);
    return fill_maildir(target, is_folder);
  }
  return {};
}

std::string scratch_name(std::string_view dir, std::string_view what) {
  return std::string(dir) + "/.tern-new-" + std::string(what) + "." + std::to_string(::getpid()) + "." +
         std::to_string(build_counter.fetch_add(1, std::memory_order_relaxed));
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string maildir_path(std::string_view home) {
  std::string h(home);
  while (h.size() > 1 && h.back() == '/') h.pop_back();
  return h + "/Maildir";
}

Status check_folder_name(std::string_view name) {
  if (name.empty()) return invalid("empty folder name");
  if (name.size() > kMaxFolderName) return make_error(Errc::kLimit, "folder name too long");
  if (name[0] == '~' || name[0] == '#') return invalid("folder name must not start with ~ or #");
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos)
    return invalid("folder name has an empty hierarchy level");
  if (equals_nocase(name, "INBOX")) return invalid("INBOX is not a folder below the Maildir");
  size_t i = 0;
  while (i < name.size()) {
    const mail::CodePoint cp = mail::decode_utf8(name.substr(i));
    if (cp.length == 0) return invalid("folder name is not valid UTF-8");
    if (is_control(cp.value)) return invalid("folder name contains a control character");
    if (cp.value == '/') return invalid("folder name contains /");
    i += cp.length;
  }
  return {};
}

Result<std::string> folder_dir_name(std::string_view name) {
  if (Status st = check_folder_name(name); !st) return st.take_error();
  auto enc = mutf7_encode(name);
  if (!enc) return enc.take_error();
  std::string dir = "." + *enc;
  if (dir.size() > kNameMax) return make_error(Errc::kLimit, "folder name too long on disk");
  return dir;
}

Result<std::string> folder_name_from_dir(std::string_view dir_name) {
  if (dir_name.size() < 2 || dir_name[0] != '.' || dir_name.size() > kNameMax) return invalid("not a folder");
  auto name = mutf7_decode(dir_name.substr(1));
  if (!name) return name.take_error();
  // Only the canonical spelling counts: this also refuses every name
  // check_folder_name() refuses ("..", "/"-free by construction, "~x").
  auto again = folder_dir_name(*name);
  if (!again || *again != dir_name) return invalid("not a canonical folder name");
  return name;
}

Result<std::string> folder_path(std::string_view maildir, std::string_view name) {
  if (equals_nocase(name, "INBOX")) return std::string(maildir);
  auto dir = folder_dir_name(name);
  if (!dir) return dir.take_error();
  return std::string(maildir) + "/" + *dir;
}

Status ensure_maildir(std::string_view home) {
  std::string h(home);
  while (h.size() > 1 && h.back() == '/') h.pop_back();
  if (!is_dir(h)) {
    // The home's parent is the operator's (e.g. /var/vmail/example.org);
    // only the last level is ours to create.
    if (Status st = make_dir(h); !st) return st;
    if (Status st = fsync_dir(parent_of(h)); !st) return st;
  }
  const std::string md = maildir_path(h);
  if (!is_dir(md)) {
    if (Status st = create_atomically(scratch_name(h, "Maildir"), md, false); !st) return st;
    if (Status st = fsync_dir(h); !st) return st;
  } else if (Status st = fill_maildir(md, false); !st) {
    return st;
  }
  bool created = false;
  for (std::string_view f : kSpecialUseFolders) {
    auto dir = folder_dir_name(f);
    if (!dir) return dir.take_error();
    const std::string path = md + "/" + *dir;
    if (is_dir(path)) continue;
    if (Status st = create_atomically(scratch_name(md + "/tmp", *dir), path, true); !st) return st;
    created = true;
  }
  if (created) return fsync_dir(md);
  return {};
}

Status ensure_folder(std::string_view maildir, std::string_view name) {
  auto dir = folder_dir_name(name);
  if (!dir) return dir.take_error();
  const std::string md(maildir);
  const std::string path = md + "/" + *dir;
  if (is_dir(path)) return fill_maildir(path, true);
  if (Status st = create_atomically(scratch_name(md + "/tmp", *dir), path, true); !st) return st;
  return fsync_dir(md);
}

Result<std::vector<std::string>> list_folders(std::string_view maildir) {
  const std::string md(maildir);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(md.c_str()), ::closedir);
  if (!d) return sys_error("opendir " + md);
  std::vector<std::string> out;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d.get());
    if (!e) {
      if (errno != 0) return sys_error("readdir " + md);
      break;
    }
    std::string_view n = e->d_name;
    if (n.size() < 2 || n[0] != '.' || n == "..") continue;
    auto name = folder_name_from_dir(n);
    if (name && is_dir(md + "/" + std::string(n))) out.push_back(std::move(*name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tern::store
