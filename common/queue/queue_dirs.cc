// Queue directories (queue_dirs.h).

#include "common/queue/queue_dirs.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/base/durable.h"
#include "common/base/fault.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

struct QueueName {
  Queue queue;
  std::string_view name;
};
constexpr QueueName kNames[] = {
    {Queue::kTmp, "tmp"},           {Queue::kMaildrop, "maildrop"}, {Queue::kIncoming, "incoming"},
    {Queue::kActive, "active"},     {Queue::kDeferred, "deferred"}, {Queue::kDefer, "defer"},
    {Queue::kHold, "hold"},         {Queue::kCorrupt, "corrupt"},
};

// The hash digit: the least significant time digit of the ID.
constexpr size_t kHashIndex = kQueueIdTimeDigits - 1;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (out.empty()) return std::string(b);
  if (out.back() != '/') out += '/';
  out += b;
  return out;
}

// Appends the valid IDs in dir to out.
Status scan_dir(const std::string& dir, std::vector<std::string>& out) {
  DirPtr d(::opendir(dir.c_str()));
  if (!d) return sys_error("open directory " + dir);
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (is_valid_queue_id(name)) out.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return sys_error("read directory " + dir);
  return {};
}

// mkdir 0700 of a hashed subdirectory; a new one is made durable at once
// (fsync of its parent) so the rename into it cannot outlive it in a crash.
Status ensure_dir(const std::string& dir, const std::string& parent) {
  if (::mkdir(dir.c_str(), 0700) == 0) return fsync_dir(parent);
  if (errno == EEXIST) return {};
  return sys_error("mkdir " + dir);
}

}  // namespace

std::string_view queue_name(Queue queue) {
  for (const auto& n : kNames)
    if (n.queue == queue) return n.name;
  return "?";
}

std::optional<Queue> parse_queue_name(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.queue;
  return std::nullopt;
}

bool is_hashed(Queue queue) { return queue == Queue::kDeferred || queue == Queue::kDefer; }

std::string_view hash_subdir(std::string_view id) {
  if (id.size() <= kHashIndex) return "_";
  return id.substr(kHashIndex, 1);
}

std::string relative_path_of(Queue queue, std::string_view id) {
  std::string out(queue_name(queue));
  out += '/';
  if (is_hashed(queue)) {
    out += hash_subdir(id);
    out += '/';
  }
  out += id;
  return out;
}

std::string path_of(std::string_view queue_dir, Queue queue, std::string_view id) {
  return join(queue_dir, relative_path_of(queue, id));
}

Status ensure_dir_for(std::string_view queue_dir, Queue queue, std::string_view id) {
  if (!is_hashed(queue)) return {};
  std::string top = join(queue_dir, queue_name(queue));
  return ensure_dir(join(top, hash_subdir(id)), top);
}

namespace {

Status move_with(std::string_view queue_dir, std::string_view id, Queue from, Queue to,
                 Status (*rename)(const std::string&, const std::string&)) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + std::string(id) + "\"");
  std::string source = path_of(queue_dir, from, id);
  std::string target = path_of(queue_dir, to, id);
  if (Status st = ensure_dir_for(queue_dir, to, id); !st) return st;
  Status st = rename(source, target);
  if (!st && st.error().code == Errc::kSystem && st.error().err == ENOENT) {
    struct stat sb;
    if (::stat(source.c_str(), &sb) < 0 && errno == ENOENT)
      return make_error(Errc::kNotFound, std::string(id) + ": not in " + std::string(queue_name(from)) + "/");
  }
  return st;
}

Status plain_rename(const std::string& from, const std::string& to) {
  if (int err = fault::check(fault::Point::kRename)) return sys_error("rename " + from + " to " + to, err);
  if (::rename(from.c_str(), to.c_str()) < 0) return sys_error("rename " + from + " to " + to);
  return {};
}

}  // namespace

Status move(std::string_view queue_dir, std::string_view id, Queue from, Queue to) {
  return move_with(queue_dir, id, from, to, durable_rename);
}

Status move_unsynced(std::string_view queue_dir, std::string_view id, Queue from, Queue to) {
  return move_with(queue_dir, id, from, to, plain_rename);
}

Result<std::vector<std::string>> scan(std::string_view queue_dir, Queue queue) {
  std::string top = join(queue_dir, queue_name(queue));
  std::vector<std::string> ids;
  if (!is_hashed(queue)) {
    if (Status st = scan_dir(top, ids); !st) return st.take_error();
  } else {
    for (char c : kQueueIdAlphabet) {
      std::string sub = join(top, std::string_view(&c, 1));
      struct stat sb;
      if (::stat(sub.c_str(), &sb) < 0) {
        if (errno == ENOENT) continue;
        return sys_error("stat " + sub);
      }
      if (!S_ISDIR(sb.st_mode)) continue;
      if (Status st = scan_dir(sub, ids); !st) return st.take_error();
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<Queue> locate(std::string_view queue_dir, std::string_view id) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + std::string(id) + "\"");
  // A queue this user may not search (maildrop/ for a non-root terncat)
  // is reported only when the file is found nowhere else.
  std::optional<Error> first_error;
  for (Queue q : kMessageQueues) {
    std::string p = path_of(queue_dir, q, id);
    struct stat sb;
    if (::lstat(p.c_str(), &sb) == 0) return q;
    if (errno != ENOENT && errno != ENOTDIR && !first_error) first_error = sys_error("stat " + p);
  }
  if (first_error) return *first_error;
  return make_error(Errc::kNotFound, std::string(id) + ": not found in the queue");
}

}  // namespace tern::queue
