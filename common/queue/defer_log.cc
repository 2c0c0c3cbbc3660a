// The defer log (defer_log.h).

#include "common/queue/defer_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>

#include "common/base/durable.h"
#include "common/base/fault.h"
#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/ipc/escape.h"
#include "common/queue/queue_dirs.h"
#include "common/queue/queue_id.h"

namespace tern::queue {
namespace {

constexpr std::string_view kRecordWord = "rcpt";

std::string cut(std::string_view s) { return std::string(s.substr(0, kMaxDeferText)); }

std::string format_time(WallTime t) {
  long long us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  if (us < 0) us = 0;
  return strf("%lld.%06lld", us / 1000000, us % 1000000);
}

// "<seconds>.<6 digits>", as the queue file's ARRIVAL.
bool parse_time(std::string_view s, WallTime* out) {
  size_t dot = s.find('.');
  if (dot == std::string_view::npos || s.size() - dot - 1 != 6 || dot == 0 || dot > 12) return false;
  long long v = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == dot) continue;
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  // WallTime counts nanoseconds in 64 bits: up to the year 2262.
  if (v > 9'000'000'000'000'000LL) return false;
  *out = WallTime(std::chrono::microseconds(v));
  return true;
}

std::string log_path(std::string_view queue_dir, std::string_view id) { return path_of(queue_dir, Queue::kDefer, id); }

// The latest records of a file: the whole file, or its last
// kMaxDeferLogRead bytes.
Result<DeferLog> read_log_fd(int fd, const std::string& path) {
  struct stat sb;
  if (::fstat(fd, &sb) < 0) return sys_error("fstat " + path);
  if (!S_ISREG(sb.st_mode)) return invalid(path + ": not a regular file");
  uint64_t size = static_cast<uint64_t>(sb.st_size);
  uint64_t start = size > kMaxDeferLogRead ? size - kMaxDeferLogRead : 0;
  std::string buf(static_cast<size_t>(size - start), '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(start + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read " + path);
    }
    if (n == 0) break;  // shrank meanwhile (a compaction renamed a new file over it)
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return parse_defer_log(buf, start > 0);
}

Status compact(const std::string& path, const DeferLog& log) {
  std::string text;
  for (const auto& r : log.latest) text += format_defer_record(r);
  return write_file_atomic(path, text, DurableOptions{.mode = 0600});
}

}  // namespace

std::string format_defer_record(const DeferRecord& r) {
  ipc::Line line;
  line.command = std::string(kRecordWord);
  line.add("index", std::to_string(r.index));
  line.add("address", cut(r.address));
  line.add("dsn", r.status.substr(0, kMaxDeferStatus));
  line.add("relay", cut(r.relay));
  line.add("reason", cut(r.reason));
  if (!r.reply.empty()) line.add("reply", cut(r.reply));
  line.add("time", format_time(r.time));
  return line.format();
}

Result<DeferRecord> parse_defer_record(std::string_view text) {
  if (text.size() > kMaxDeferLine) return make_error(Errc::kLimit, "defer log line too long");
  auto line = ipc::Line::parse(text, 32);
  if (!line) return line.take_error();
  if (line->command != kRecordWord) return invalid("not a recipient record");
  DeferRecord r;
  const std::string* index = line->get("index");
  const std::string* address = line->get("address");
  const std::string* time = line->get("time");
  if (!index || !address || !time) return invalid("recipient record without index, address or time");
  auto i = parse_int(*index);
  if (!i || *i < 0 || *i >= static_cast<long long>(kMaxDeferRecipients) || std::to_string(*i) != *index)
    return invalid("bad recipient index");
  r.index = static_cast<size_t>(*i);
  r.address = *address;
  if (!parse_time(*time, &r.time)) return invalid("bad time");
  if (auto* v = line->get("dsn")) r.status = *v;
  if (auto* v = line->get("relay")) r.relay = *v;
  if (auto* v = line->get("reason")) r.reason = *v;
  if (auto* v = line->get("reply")) r.reply = *v;
  // What the writer cuts, the reader refuses: one spelling per record.
  for (const std::string* t : {&r.address, &r.relay, &r.reason, &r.reply})
    if (t->size() > kMaxDeferText) return invalid("text longer than the writer writes");
  if (r.status.size() > kMaxDeferStatus) return invalid("bad dsn");
  return r;
}

const DeferRecord* DeferLog::find(size_t index) const {
  auto it = std::lower_bound(latest.begin(), latest.end(), index,
                             [](const DeferRecord& r, size_t i) { return r.index < i; });
  return it != latest.end() && it->index == index ? &*it : nullptr;
}

DeferLog parse_defer_log(std::string_view text, bool cut_start) {
  DeferLog log;
  std::map<size_t, DeferRecord> by_index;
  size_t start = 0;
  if (cut_start) {
    size_t nl = text.find('\n');
    start = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      ++log.damaged;  // a write in progress, or torn by a crash
      break;
    }
    auto r = parse_defer_record(text.substr(start, nl - start));
    start = nl + 1;
    if (!r) {
      ++log.damaged;
      continue;
    }
    by_index[r->index] = std::move(*r);  // indexes are below kMaxDeferRecipients
  }
  log.latest.reserve(by_index.size());
  for (auto& [i, r] : by_index) log.latest.push_back(std::move(r));
  return log;
}

Status append_defer_records(std::string_view queue_dir, std::string_view id, const std::vector<DeferRecord>& records) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + ipc::escape(id) + "\"");
  if (records.empty()) return {};
  for (const auto& r : records)
    if (r.index >= kMaxDeferRecipients) return invalid("recipient index " + std::to_string(r.index) + " out of range");
  std::string path = log_path(queue_dir, id);
  // O_NONBLOCK: a FIFO planted in defer/ must not hang the writer (ENXIO).
  auto fd = open_fd(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0600);
  bool made_dir = false;
  if (!fd && fd.error().code == Errc::kSystem && fd.error().err == ENOENT) {
    if (Status st = ensure_dir_for(queue_dir, Queue::kDefer, id); !st) return st;
    made_dir = true;
    fd = open_fd(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0600);
  }
  if (!fd) return fd.take_error();
  struct stat sb;
  if (::fstat(fd->get(), &sb) < 0) return sys_error("fstat " + path);
  if (!S_ISREG(sb.st_mode)) return invalid(path + ": not a regular file");
  const bool created = sb.st_size == 0;
  std::string text;
  if (sb.st_size > 0) {
    // End a torn last line, so it costs only its own record.
    char last = '\n';
    auto rfd = open_fd(path, O_RDONLY | O_NONBLOCK);
    if (rfd && ::pread(rfd->get(), &last, 1, sb.st_size - 1) == 1 && last != '\n') text += '\n';
  }
  for (const auto& r : records) text += format_defer_record(r);

  if (static_cast<uint64_t>(sb.st_size) + text.size() > kCompactSize) {
    auto rfd = open_fd(path, O_RDONLY | O_NONBLOCK);
    if (!rfd) return rfd.take_error();
    auto log = read_log_fd(rfd->get(), path);
    if (!log) return log.take_error();
    std::map<size_t, DeferRecord> merged;
    for (auto& r : log->latest) merged[r.index] = std::move(r);
    for (const auto& r : records) merged[r.index] = *parse_defer_record(format_defer_record(r));
    DeferLog out;
    for (auto& [i, r] : merged) out.latest.push_back(std::move(r));
    return compact(path, out);
  }

  if (int err = fault::check(fault::Point::kWrite)) return sys_error("write " + path, err);
  if (Status st = write_all(fd->get(), text); !st) return st;
  if (Status st = fsync_fd(fd->get(), path); !st) return st;
  if (created || made_dir) {
    // A new directory entry is durable only once its directory is synced.
    std::string dir = path.substr(0, path.rfind('/'));
    if (Status st = fsync_dir(dir); !st) return st;
  }
  return {};
}

Result<DeferLog> read_defer_log(std::string_view queue_dir, std::string_view id) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + ipc::escape(id) + "\"");
  std::string path = log_path(queue_dir, id);
  // O_NONBLOCK: a FIFO planted in defer/ must not hang the reader.
  auto fd = open_fd(path, O_RDONLY | O_NONBLOCK);
  if (!fd) {
    if (fd.error().code == Errc::kSystem && fd.error().err == ENOENT)
      return make_error(Errc::kNotFound, std::string(id) + ": no defer log");
    return fd.take_error();
  }
  return read_log_fd(fd->get(), path);
}

Status remove_defer_log(std::string_view queue_dir, std::string_view id) {
  if (!is_valid_queue_id(id)) return invalid("not a queue ID: \"" + ipc::escape(id) + "\"");
  std::string path = log_path(queue_dir, id);
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return sys_error("unlink " + path);
  return {};
}

}  // namespace tern::queue
