#include "common/server/log_writer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "common/base/strings.h"

namespace tern::server {
namespace {

int facility_code(std::string_view name) {
  static const std::pair<std::string_view, int> kFacilities[] = {
      {"kern", 0}, {"user", 1}, {"mail", 2}, {"daemon", 3}, {"auth", 4}, {"local0", 16}, {"local1", 17},
      {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};
  for (auto& [n, code] : kFacilities)
    if (equals_nocase(n, name)) return code;
  return -1;
}

}  // namespace

Status LogWriter::open(const config::MainCf& cf) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  hostname_ = host;
  if (auto dot = hostname_.find('.'); dot != std::string::npos) hostname_.resize(dot);
  std::string file = cf.str("maillog_file");
  if (!file.empty()) {
    auto fd = open_fd(file, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY, 0640);
    if (!fd) return fd.take_error();
    fd_ = std::move(*fd);
    syslog_ = false;
    path_ = file;
    return {};
  }
  facility_ = facility_code(cf.str("syslog_facility"));
  if (facility_ < 0) return invalid("unknown syslog_facility: " + cf.str("syslog_facility"));
  int s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return sys_error("socket");
  Fd sock(s);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strcpy(sun.sun_path, "/dev/log");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0) {
    // No syslog daemon (a container): stderr is the only place left.
    fd_.reset();
    syslog_ = false;
    path_.clear();
    return {};
  }
  fd_ = std::move(sock);
  syslog_ = true;
  return {};
}

const std::string& LogWriter::timestamp() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != stamp_second_) {
    tm t;
    localtime_r(&ts.tv_sec, &t);
    char buf[32];
    strftime(buf, sizeof buf, "%b %e %H:%M:%S", &t);
    stamp_ = buf;
    stamp_second_ = ts.tv_sec;
  }
  return stamp_;
}

void LogWriter::flush() {
  holding_ = false;
  if (held_.empty()) return;
  (void)write_all(fd_ ? fd_.get() : 2, held_);
  held_.clear();
}

void LogWriter::write(log::Level level, std::string_view tag_and_text) {
  if (syslog_) {
    std::string line = strf("<%d>%s ", facility_ * 8 + static_cast<int>(level), timestamp().c_str());
    line.append(tag_and_text);
    if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) < 0) {
      line.push_back('\n');
      (void)!::write(2, line.data(), line.size());
    }
  } else {
    held_.append(timestamp()).append(" ").append(hostname_).append(" ");
    held_.append(tag_and_text).push_back('\n');
    if (!holding_ || held_.size() >= kMaxHeld) {
      (void)write_all(fd_ ? fd_.get() : 2, held_);
      held_.clear();
    }
  }
  if (echo_ && fd_ && static_cast<int>(level) <= static_cast<int>(echo_min_)) {
    std::string e(tag_and_text);
    e.push_back('\n');
    (void)!::write(2, e.data(), e.size());
  }
}

}  // namespace tern::server
