// Message file names and delivery (message_file.h).

#include "common/store/message_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cerrno>

#include "common/base/durable.h"
#include "common/base/fault.h"

namespace tern::store {
namespace {

constexpr size_t kFlushAt = 64 * 1024;
std::atomic<unsigned long> delivery_counter{0};

// The host part of a base: gethostname(), with the characters that would
// break the name escaped as the Maildir specification asks.
const std::string& host_part() {
  static const std::string host = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) < 0 || buf[0] == '\0') return std::string("localhost");
    std::string out;
    for (const char* p = buf; *p; ++p) {
      switch (*p) {
        case '/': out += "\\057"; break;
        case ':': out += "\\072"; break;
        case ',': out += "\\054"; break;
        default:
          if (static_cast<unsigned char>(*p) > 0x20 && *p != 0x7f) out += *p;
      }
    }
    return out.empty() ? std::string("localhost") : out;
  }();
  return host;
}

std::string unique_base() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::to_string(ts.tv_sec) + ".M" + std::to_string(ts.tv_nsec / 1000) + "P" + std::to_string(::getpid()) +
         "Q" + std::to_string(delivery_counter.fetch_add(1, std::memory_order_relaxed)) + "." + host_part();
}

// The digits after `key` (",S=") in base, if any.
std::optional<uint64_t> field(std::string_view base, std::string_view key) {
  size_t at = base.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = base.data() + at + key.size();
  const char* end = base.data() + base.size();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || (p != end && *p != ',')) return std::nullopt;
  return v;
}

}  // namespace

std::optional<MessageName> parse_message_name(std::string_view name) {
  if (name.empty() || name[0] == '.' || name.size() > kMaxFileName) return std::nullopt;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/') return std::nullopt;
  }
  MessageName m;
  size_t info = name.find(":2,");
  if (info == std::string_view::npos) {
    m.base = name;
  } else {
    m.base = name.substr(0, info);
    m.flags = name.substr(info + 3);
    m.has_info = true;
  }
  if (m.base.empty()) return std::nullopt;
  m.size = field(m.base, ",S=");
  m.rfc822_size = field(m.base, ",W=");
  // "<seconds>.M<usec>P..." (also Courier's and Dovecot's); other bases
  // sort by name among time 0.
  size_t dot = m.base.find('.');
  if (dot != std::string_view::npos && dot > 0) {
    uint64_t sec = 0;
    auto [p, ec] = std::from_chars(m.base.data(), m.base.data() + dot, sec);
    if (ec == std::errc() && p == m.base.data() + dot) {
      m.seconds = sec;
      std::string_view rest = m.base.substr(dot + 1);
      if (rest.size() > 1 && rest[0] == 'M') {
        uint32_t usec = 0;
        auto [q, ec2] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), usec);
        if (ec2 == std::errc() && q != rest.data() + 1 && usec < 1000000) m.usec = usec;
      }
    }
  }
  return m;
}

uint64_t crlf_size(std::string_view message) {
  uint64_t n = message.size();
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) ++n;
  }
  return n;
}

Result<MessageWriter> MessageWriter::create(std::string folder_dir) {
  MessageWriter w;
  w.folder_ = std::move(folder_dir);
  // A pid recycled since a crash can meet its old tmp/ file; O_EXCL makes
  // that a collision, and the next counter value a new name.
  for (int attempt = 0; attempt < 8; ++attempt) {
    w.base_ = unique_base();
    auto fd = open_fd(w.folder_ + "/tmp/" + w.base_, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd) {
      w.fd_ = std::move(*fd);
      return w;
    }
    if (fd.error().err != EEXIST) return fd.take_error();
  }
  return make_error(Errc::kTemporary, "no unique file name in " + w.folder_ + "/tmp");
}

MessageWriter::~MessageWriter() {
  if (!done_ && fd_.valid()) ::unlink((folder_ + "/tmp/" + base_).c_str());
}

Status MessageWriter::flush() {
  if (buffer_.empty()) return {};
  if (int err = fault::check(fault::Point::kWrite)) return sys_error("write " + folder_ + "/tmp/" + base_, err);
  Status st = write_all(fd_.get(), buffer_);
  buffer_.clear();
  return st;
}

Status MessageWriter::write(std::string_view chunk) {
  if (done_ || !fd_.valid()) return invalid("message writer already finished");
  for (char c : chunk) {
    if (c == '\n' && !last_cr_) buffer_ += '\r';
    buffer_ += c;
    last_cr_ = c == '\r';
  }
  if (buffer_.size() >= kFlushAt) {
    bytes_ += buffer_.size();
    return flush();
  }
  return {};
}

Result<std::string> MessageWriter::commit() { return finish(false, {}); }

Result<std::string> MessageWriter::commit_into_cur(std::string_view info) { return finish(true, info); }

Result<std::string> MessageWriter::finish(bool cur, std::string_view info) {
  if (done_ || !fd_.valid()) return invalid("message writer already finished");
  const std::string tmp = folder_ + "/tmp/" + base_;
  bytes_ += buffer_.size();
  Status st = flush();
  if (st) st = fsync_fd(fd_.get(), tmp);
  // close(2) reports deferred write errors on some file systems (NFS).
  if (st && ::close(fd_.release()) < 0) st = sys_error("close " + tmp);
  std::string name = base_ + ",S=" + std::to_string(bytes_) + ",W=" + std::to_string(bytes_);
  if (cur) name += ":2," + std::string(info);
  if (st) st = publish_rename(tmp, folder_ + (cur ? "/cur/" : "/new/") + name);
  done_ = true;
  if (!st) {
    ::unlink(tmp.c_str());
    return st.take_error();
  }
  return name;
}

Result<std::string> deliver(std::string folder_dir, std::string_view message) {
  auto w = MessageWriter::create(std::move(folder_dir));
  if (!w) return w.take_error();
  if (Status st = w->write(message); !st) return st.take_error();
  return w->commit();
}

}  // namespace tern::store
