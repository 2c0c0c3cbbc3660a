#pragma once
// One authenticated IMAP session (RFC 3501 states "authenticated" and
// "selected"; "not authenticated" is imap-login's, which never hands over
// input it read before the login).
//
// I/O: one descriptor for a handed-over client socket, or two (stdin and
// stdout) in the PREAUTH mode of `imapd -u USER`. Output is queued in the
// session and written when the descriptor is writable; the session stops
// reading while more than kMaxPendingOutput waits (a client that pipelines
// without reading its replies costs bounded memory).
//
// Commands run one at a time in the order received (RFC 3501 5.5 allows
// more, but a strict order keeps sequence numbers simple): while one waits
// for the worker pool (a folder sync, a file read, an fsync), the next ones
// stay in the input buffer, read ahead up to imapd_read_ahead bytes.
//
// Untagged updates (EXISTS, EXPUNGE, FETCH FLAGS) caused by other sessions
// or deliveries are sent at the end of a command, or at once while the
// client IDLEs; EXPUNGE never while a FETCH, STORE or SEARCH (non-UID)
// is being answered and never when no command is in progress (RFC 3501
// 7.4.1), so sequence numbers never shift under the client's feet.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/fd.h"
#include "common/event/loop.h"

namespace tern::imapd {

struct UserInfo {
  std::string user;        // as authd returned it (user@domain)
  std::string home;        // userdb home; the Maildir is home + "/Maildir"
  std::map<std::string, std::string> fields;  // other userdb fields (quota_rule, ...)
};

struct ClientInfo {
  std::string rip, lip;    // remote and local address, for logs
  bool secured = false;    // TLS or loopback, as imap-login saw it
};

// The Maildir of a user: the userdb field "mail" when it is Dovecot's
// "maildir:PATH" (a leading "~/" is the home), else home + "/Maildir".
std::string user_maildir(const UserInfo& user);

// The capabilities imapd announces after login (RFC 3501 7.2.1).
std::string_view capabilities();

class Imapd;
class SessionImpl;

class Session {
 public:
  // `out` is invalid when `in` is a socket serving both directions.
  Session(Imapd& imapd, Fd in, Fd out, UserInfo user, ClientInfo info);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Writes the greeting ("<tag> OK [CAPABILITY ...] Logged in" or
  // "* PREAUTH ...") and processes `pending` as if just read.
  void start(std::optional<std::string> login_tag, std::string pending);
  // The process is stopping: "* BYE" after the command in progress.
  void shutdown();
  const UserInfo& user() const;

 private:
  std::unique_ptr<SessionImpl> impl_;
};

}  // namespace tern::imapd
