#include "common/server/master_link.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace tern::server {

std::string_view status_name(ChildStatus s) {
  switch (s) {
    case ChildStatus::kReady: return "ready";
    case ChildStatus::kServed: return "served";
    case ChildStatus::kFull: return "full";
    case ChildStatus::kAvail: return "avail";
  }
  return "?";
}

bool parse_status(std::string_view msg, ChildStatus* out) {
  for (auto s : {ChildStatus::kReady, ChildStatus::kServed, ChildStatus::kFull, ChildStatus::kAvail}) {
    if (msg == status_name(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

bool send_status(int fd, std::string_view msg) {
  for (;;) {
    ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n >= 0) return true;
    if (errno != EINTR) return false;
  }
}

std::string format_log_datagram(log::Level level, std::string_view tag, std::string_view text) {
  std::string d = "<";
  d += static_cast<char>('0' + static_cast<int>(level));
  d += ">";
  d.append(tag).append(": ").append(text);
  return d;
}

bool parse_log_datagram(std::string_view dgram, log::Level* level, std::string_view* tag_and_text) {
  if (dgram.size() < 4 || dgram[0] != '<' || dgram[2] != '>') return false;
  int p = dgram[1] - '0';
  if (p < 0 || p > 7) return false;
  *level = static_cast<log::Level>(p < 2 ? 2 : p);
  *tag_and_text = dgram.substr(3);
  return true;
}

namespace {

// The batch of lines waiting for the end of the loop turn (batch_logs()).
struct LogBatch {
  std::mutex mu;
  int fd = -1;
  event::Loop* loop = nullptr;  // batching on when set
  std::thread::id loop_thread;
  std::string pending;          // records separated by "\n"
  bool flush_posted = false;
};

LogBatch& batch() {
  static LogBatch* b = new LogBatch;  // never destroyed: worker threads may log at exit
  return *b;
}

void send_datagram(int fd, std::string_view d) {
  while (::send(fd, d.data(), d.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// With b.mu held.
void flush_locked(LogBatch& b) {
  if (!b.pending.empty()) send_datagram(b.fd, b.pending);
  b.pending.clear();
}

void flush_logs() {
  LogBatch& b = batch();
  std::lock_guard lock(b.mu);
  b.flush_posted = false;
  if (b.fd >= 0) flush_locked(b);
}

}  // namespace

void log_to_master(int fd) {
  {
    std::lock_guard lock(batch().mu);
    batch().fd = fd;
  }
  static bool registered = false;
  if (!registered) {
    registered = true;
    std::atexit(flush_logs);
  }
  log::set_sink([](log::Level level, std::string_view tag, std::string_view text) {
    std::string d = format_log_datagram(level, tag, text);
    if (d.size() > kMaxLogDatagram) d.resize(kMaxLogDatagram);
    LogBatch& b = batch();
    std::lock_guard lock(b.mu);
    bool wait = b.loop != nullptr && level >= log::Level::kNotice && std::this_thread::get_id() == b.loop_thread;
    if (!wait) {
      flush_locked(b);
      send_datagram(b.fd, d);
      return;
    }
    if (!b.pending.empty() && b.pending.size() + 1 + d.size() > kMaxLogDatagram) flush_locked(b);
    if (!b.pending.empty()) b.pending.push_back('\n');
    b.pending += d;
    if (!b.flush_posted) {
      b.flush_posted = true;
      // On the loop's thread, inside a callback: runs after the callbacks
      // already due in this turn, before the loop waits again.
      b.loop->post(flush_logs);
    }
  });
}

void batch_logs(event::Loop& loop) {
  LogBatch& b = batch();
  std::lock_guard lock(b.mu);
  if (b.fd < 0) return;  // not a child of master: nothing to batch
  b.loop = &loop;
  b.loop_thread = std::this_thread::get_id();
}

void unbatch_logs() {
  LogBatch& b = batch();
  std::lock_guard lock(b.mu);
  b.loop = nullptr;
  b.flush_posted = false;
  if (b.fd >= 0) flush_locked(b);
}

void for_each_log_record(std::string_view dgram,
                         const std::function<void(log::Level, std::string_view tag_and_text)>& fn) {
  while (!dgram.empty()) {
    size_t nl = dgram.find('\n');
    std::string_view record = dgram.substr(0, nl);
    dgram = nl == std::string_view::npos ? std::string_view() : dgram.substr(nl + 1);
    log::Level level;
    std::string_view text;
    if (parse_log_datagram(record, &level, &text)) fn(level, text);
  }
}

}  // namespace tern::server
