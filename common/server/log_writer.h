#pragma once
// Where every log line of the instance ends up: master's own lines and the
// datagrams its children send (common/server/master_link.h). maillog_file
// set: appended as "Mon DD HH:MM:SS host tag: text" (a path, or /dev/stdout
// for containers). Otherwise syslog: RFC 3164 datagrams to /dev/log with the
// child's own tag and syslog_facility, so chrooted daemons need no /dev/log.
// Tools that log what they did to the mail (ternsuper) open one of their own:
// appends of one line are atomic, so their lines and master's never mix.

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
};

}  // namespace tern::server
