#include "common/server/master_link.h"

#include <sys/socket.h>

#include <cerrno>

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

void log_to_master(int fd) {
  log::set_sink([fd](log::Level level, std::string_view tag, std::string_view text) {
    std::string d = format_log_datagram(level, tag, text);
    if (d.size() > 8000) d.resize(8000);  // a datagram must fit the socket buffer
    while (::send(fd, d.data(), d.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
  });
}

}  // namespace tern::server
