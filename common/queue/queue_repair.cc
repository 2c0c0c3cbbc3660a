// ternsuper -s (queue_repair.h).

#include "common/queue/queue_repair.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/base/durable.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/queue/qfile_reader.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

constexpr int kFileMode = 0600;  // what QfileWriter creates
constexpr int kMaxSuffix = 1000;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// The names in a directory, without "." and "..", sorted.
Result<std::vector<std::string>> entries(const std::string& dir) {
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) return sys_error("open directory " + dir);
  std::vector<std::string> out;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(n);
    errno = 0;
  }
  if (errno != 0) return sys_error("read directory " + dir);
  std::sort(out.begin(), out.end());
  return out;
}

bool is_hash_name(std::string_view name) {
  return name.size() == 1 && kQueueIdAlphabet.find(name[0]) != std::string_view::npos;
}

// Control characters in a hostile name would rewrite the terminal or split a
// log line.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '%') out += strf("%%%02X", c);
    else out += static_cast<char>(c);
  }
  return out;
}

class Repairer {
 public:
  Repairer(std::string_view queue_dir, const RepairOptions& o) : top_(queue_dir), o_(o) {
    if (top_.size() > 1 && top_.back() == '/') top_.pop_back();
  }

  Result<RepairReport> run() {
    for (Queue q : {Queue::kIncoming, Queue::kActive, Queue::kHold})
      if (Status st = flat_queue(q); !st) return st.take_error();
    for (Queue q : {Queue::kDeferred, Queue::kDefer})
      if (Status st = hashed_queue(q); !st) return st.take_error();
    if (Status st = tmp_queue(); !st) return st.take_error();
    return std::move(report_);
  }

 private:
  std::string dir(Queue q) const { return top_ + "/" + std::string(queue_name(q)); }
  static std::string rel(Queue q, std::string_view sub, std::string_view name) {
    std::string out(queue_name(q));
    out += '/';
    if (!sub.empty()) out += std::string(sub) + "/";
    return out + printable(name);
  }

  void repaired(std::string text) { report_.repairs.push_back(std::move(text)); }
  void warn(std::string text) { report_.warnings.push_back(std::move(text)); }

  // incoming/, active/, hold/.
  Status flat_queue(Queue q) {
    std::string d = dir(q);
    auto names = entries(d);
    if (!names) return names.take_error();
    for (const auto& name : *names) {
      std::string path = d + "/" + name;
      struct stat sb;
      if (::lstat(path.c_str(), &sb) < 0) continue;  // gone meanwhile
      if (S_ISDIR(sb.st_mode)) {
        if (is_hash_name(name)) {
          empty_subdir(q, path, name);
        } else {
          warn(rel(q, "", name) + ": a directory; left alone");
        }
        continue;
      }
      check_file(q, path, "", name, sb);
    }
    return {};
  }

  // incoming/7/ID (a hashed layout in an unhashed queue): each file goes up
  // into the queue, then the empty subdirectory is removed.
  void empty_subdir(Queue q, const std::string& sub_path, const std::string& sub) {
    auto names = entries(sub_path);
    if (!names) return warn(names.error().text);
    for (const auto& name : *names) {
      std::string path = sub_path + "/" + name;
      struct stat sb;
      if (::lstat(path.c_str(), &sb) < 0) continue;
      if (S_ISREG(sb.st_mode) && is_valid_queue_id(name)) {
        std::string target = dir(q) + "/" + name;
        if (relocate(path, target))
          repaired(rel(q, sub, name) + ": in a subdirectory of an unhashed queue; moved to " + rel(q, "", name));
        continue;
      }
      if (S_ISDIR(sb.st_mode)) {
        warn(rel(q, sub, name) + ": a directory; left alone");
        continue;
      }
      check_file(q, path, sub, name, sb);
    }
    if (::rmdir(sub_path.c_str()) == 0) (void)fsync_dir(dir(q));
  }

  // deferred/ and defer/: files live in deferred/<hash>/ID.
  Status hashed_queue(Queue q) {
    std::string d = dir(q);
    auto names = entries(d);
    if (!names) return names.take_error();
    for (const auto& name : *names) {
      std::string path = d + "/" + name;
      struct stat sb;
      if (::lstat(path.c_str(), &sb) < 0) continue;
      if (S_ISDIR(sb.st_mode)) {
        if (!is_hash_name(name)) {
          warn(rel(q, "", name) + ": a directory; left alone");
          continue;
        }
        auto inner = entries(path);
        if (!inner) {
          warn(inner.error().text);
          continue;
        }
        for (const auto& id : *inner) {
          std::string p = path + "/" + id;
          struct stat ib;
          if (::lstat(p.c_str(), &ib) < 0) continue;
          if (S_ISDIR(ib.st_mode)) {
            warn(rel(q, name, id) + ": a directory; left alone");
            continue;
          }
          if (S_ISREG(ib.st_mode) && is_valid_queue_id(id) && hash_subdir(id) != name) {
            std::string target = path_of(top_, q, id);
            if (!ensure_hash_dir(q, id)) continue;
            if (!relocate(p, target)) continue;
            repaired(rel(q, name, id) + ": in the wrong hashed subdirectory; moved to " + relative_path_of(q, id));
            check_file(q, target, hash_subdir(id), id, ib);
            continue;
          }
          check_file(q, p, name, id, ib);
        }
        continue;
      }
      if (S_ISREG(sb.st_mode) && is_valid_queue_id(name)) {
        if (!ensure_hash_dir(q, name)) continue;
        std::string target = path_of(top_, q, name);
        if (!relocate(path, target)) continue;
        repaired(rel(q, "", name) + ": not in its hashed subdirectory; moved to " + relative_path_of(q, name));
        check_file(q, target, hash_subdir(name), name, sb);
        continue;
      }
      check_file(q, path, "", name, sb);
    }
    return {};
  }

  Status tmp_queue() {
    std::string d = dir(Queue::kTmp);
    auto names = entries(d);
    if (!names) return names.take_error();
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(o_.now.time_since_epoch()).count();
    for (const auto& name : *names) {
      std::string path = d + "/" + name;
      struct stat sb;
      if (::lstat(path.c_str(), &sb) < 0 || S_ISDIR(sb.st_mode)) continue;
      if (now_s - static_cast<long long>(sb.st_mtime) < o_.tmp_age.count()) continue;  // being written
      to_corrupt(Queue::kTmp, "", name, path,
                 strf("left in tmp/ for more than %lld hours (an interrupted write)",
                      static_cast<long long>(o_.tmp_age.count() / 3600)));
    }
    return {};
  }

  // A file (not a directory) found in queue q: its name, its kind, its
  // content (for message queues), its owner and mode.
  void check_file(Queue q, const std::string& path, std::string_view sub, const std::string& name,
                  const struct stat& sb) {
    if (!S_ISREG(sb.st_mode)) return to_corrupt(q, sub, name, path, "not a regular file");
    if (!is_valid_queue_id(name)) return to_corrupt(q, sub, name, path, "the name is not a queue ID");
    if (q != Queue::kDefer) {
      auto reader = QfileReader::open(path);
      if (!reader) {
        const Error& e = reader.error();
        if (e.code == Errc::kSystem && e.err == ENOENT) return;  // moved by qmgr meanwhile
        if (e.code == Errc::kCorrupt || e.code == Errc::kInvalid)
          return to_corrupt(q, sub, name, path, "not a readable queue file (" + e.text + ")");
        return warn(rel(q, sub, name) + ": " + e.text);
      }
    }
    fix_owner_mode(q, sub, name, path);
  }

  void fix_owner_mode(Queue q, std::string_view sub, const std::string& name, const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno != ENOENT) warn(rel(q, sub, name) + ": " + sys_error("open").text);
      return;
    }
    Fd f(fd);
    struct stat sb;
    if (::fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) return;
    if (o_.fix_owner && (sb.st_uid != o_.uid || sb.st_gid != o_.gid)) {
      if (::fchown(fd, o_.uid, o_.gid) < 0) {
        warn(rel(q, sub, name) + ": " + sys_error("chown").text);
      } else {
        repaired(strf("%s: owner %u:%u; set to %u:%u", rel(q, sub, name).c_str(), static_cast<unsigned>(sb.st_uid),
                      static_cast<unsigned>(sb.st_gid), static_cast<unsigned>(o_.uid),
                      static_cast<unsigned>(o_.gid)));
      }
    }
    if ((sb.st_mode & 07777) != kFileMode) {
      if (::fchmod(fd, kFileMode) < 0) {
        warn(rel(q, sub, name) + ": " + sys_error("chmod").text);
      } else {
        repaired(strf("%s: mode %04o; set to %04o", rel(q, sub, name).c_str(),
                      static_cast<unsigned>(sb.st_mode & 07777), static_cast<unsigned>(kFileMode)));
      }
    }
    if ((o_.fix_owner && (sb.st_uid != o_.uid || sb.st_gid != o_.gid)) || (sb.st_mode & 07777) != kFileMode)
      (void)fsync_fd(fd, path);
  }

  bool ensure_hash_dir(Queue q, std::string_view id) {
    std::string sub = dir(q) + "/" + std::string(hash_subdir(id));
    if (::mkdir(sub.c_str(), 0700) < 0) {
      if (errno == EEXIST) return true;
      warn(sys_error("mkdir " + sub).text);
      return false;
    }
    if (o_.fix_owner && ::chown(sub.c_str(), o_.uid, o_.gid) < 0) warn(sys_error("chown " + sub).text);
    (void)fsync_dir(dir(q));
    return true;
  }

  // A rename that never replaces a file, made durable.
  bool relocate(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) < 0) {
      if (errno != ENOENT) warn(sys_error("rename " + printable(from) + " to " + printable(to)).text);
      return false;
    }
    if (Status st = durable_dirs(from, to); !st) warn(st.error().text);
    return true;
  }

  static Status durable_dirs(const std::string& from, const std::string& to) {
    std::string a = from.substr(0, from.rfind('/'));
    std::string b = to.substr(0, to.rfind('/'));
    if (Status st = fsync_dir(b); !st) return st;
    return a == b ? Status{} : fsync_dir(a);
  }

  void to_corrupt(Queue q, std::string_view sub, const std::string& name, const std::string& path,
                  const std::string& why) {
    std::string base = dir(Queue::kCorrupt) + "/" + name;
    for (int n = 0; n < kMaxSuffix; ++n) {
      std::string target = n == 0 ? base : base + "." + std::to_string(n);
      if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
        if (Status st = durable_dirs(path, target); !st) warn(st.error().text);
        std::string shown = "corrupt/" + printable(target.substr(dir(Queue::kCorrupt).size() + 1));
        return repaired(rel(q, sub, name) + ": " + why + "; moved to " + shown);
      }
      if (errno == ENOENT) return;  // moved meanwhile
      if (errno != EEXIST) return warn(rel(q, sub, name) + ": " + why + "; " + sys_error("rename to corrupt/").text);
    }
    warn(rel(q, sub, name) + ": " + why + "; no free name in corrupt/, left alone");
  }

  std::string top_;
  RepairOptions o_;
  RepairReport report_;
};

}  // namespace

Result<RepairReport> repair_queue(std::string_view queue_dir, const RepairOptions& options) {
  return Repairer(queue_dir, options).run();
}

}  // namespace tern::queue
