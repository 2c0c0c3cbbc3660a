#pragma once
// Where every log line of the instance ends up: master's own lines and the
// datagrams its children send (common/server/master_link.h). maillog_file
// set: appended as "Mon DD HH:MM:SS host tag: text" (a path, or /dev/stdout
// for containers). Otherwise syslog: RFC 3164 datagrams to /dev/log with the
// child's own tag and syslog_facility, so chrooted daemons need no /dev/log.
// Tools that log what they did to the mail (ternsuper) open one of their own:
// appends of one line are atomic, so their lines and master's never mix.

#include <ctime>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/log.h"
#include "common/config/main_cf.h"

namespace tern::server {

class LogWriter {
 public:
  Status open(const config::MainCf& cf);
  // tag_and_text: "tern/smtpd[123]: text".
  void write(log::Level level, std::string_view tag_and_text);
  // Between hold() and flush(), lines for maillog_file collect in memory
  // and leave in one write(2) (master reads up to 256 datagrams per turn:
  // one write for them all, not one per line). One O_APPEND write of whole
  // lines is still atomic next to other appenders (ternsuper). flush() also
  // runs when the batch passes kMaxHeld bytes. Syslog lines stay one
  // datagram each.
  void hold() { holding_ = true; }
  void flush();
  static constexpr size_t kMaxHeld = 64 * 1024;
  // False when lines can only go to stderr (no maillog_file, no /dev/log).
  bool has_destination() const { return fd_.valid(); }
  // Also copy lines at or above `min` priority to stderr (while master still
  // has a terminal: start-up problems, or every line when in the foreground).
  void set_echo_stderr(bool on, log::Level min = log::Level::kDebug) {
    echo_ = on;
    echo_min_ = min;
  }

 private:
  Fd fd_;
  bool syslog_ = false;
  bool echo_ = false;
  log::Level echo_min_ = log::Level::kDebug;
  int facility_ = 2;  // mail
  std::string hostname_;
  std::string path_;
  bool holding_ = false;
  std::string held_;
  // "Mon DD HH:MM:SS " of stamp_second_: formatted once per second.
  std::string stamp_;
  time_t stamp_second_ = -1;
  const std::string& timestamp();
};

}  // namespace tern::server
