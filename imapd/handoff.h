#pragma once
// imapd's listener on login/imap: takes over a client that imap-login has
// authenticated, confirms the login with authd, and hands the client to
// Imapd::serve. DESIGN.md: "imapd never trusts imap-login blindly" — all
// imap-login can do is name a login that authd answered OK to on its own
// auth connection; authd says which user that was, once.
//
// The imap-handoff protocol (Tern's line style, common/ipc/escape.h: one
// line, tab-separated key=value, %-escaped; codec in common/ipc/imap_handoff.h)
//
// imapd, at once on accepting a connection on login/imap:
//   VERSION\timap-handoff\t1\t0
// imap-login, one line, with the client's descriptor attached to its first
// byte (SCM_RIGHTS):
//   HANDOFF\tuser=<login>\tauth_id=<n>\tcookie=<hex>\tcpid=<pid>
//          \trip=<ip>\tlip=<ip>\tsecured=<0|1>[\ttag=<tag>][\tpending=<bytes>]
//     user      the login authd answered OK with (checked against authd's
//               answer; a mismatch is refused)
//     auth_id   the AUTH id, cookie the COOKIE of imap-login's connection to
//               login/auth, cpid the CPID it sent there: what authd's
//               REQUEST needs (common/auth/client_protocol.h)
//     rip, lip  the client's and the server's address, for the log
//     secured   1 when the client used TLS (or came from
//               login_trusted_networks)
//     tag       the tag of the LOGIN or AUTHENTICATE command: imapd answers
//               "<tag> OK [CAPABILITY ...] Logged in" itself
//     pending   bytes the client pipelined after that command (at most
//               16 KiB), processed before anything read from the descriptor
//   The descriptor is the client's TCP socket for plain connections; for
//   TLS it is one end of a socketpair that imap-login proxies to the TLS
//   session (imapd never speaks TLS).
// imapd then connects to login/auth as an auth client and sends
//   REQUEST\t<n>\t<cpid>\t<auth_id>\t<cookie>
// (to the same authd process that did the login: login/auth runs one
// process, maxproc 1, as Dovecot's auth service does) and answers
//   OK                      the login is confirmed, the client is served
//   FAIL\treason=<text>     anything else: imapd has written
//                           "* BYE [UNAVAILABLE] ..." to the client and
//                           closed its descriptor
// and closes the handoff connection. Limits: the line is at most
// ipc::kHandoffMaxLine bytes and must arrive within the handoff timeout;
// a line without a descriptor, with two, or that breaks the format is FAIL.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/base/clock.h"
#include "common/base/fd.h"
#include "common/event/loop.h"
#include "imapd/session.h"

namespace tern::imapd {

class HandoffListener {
 public:
  // Takes over a confirmed client (Imapd::serve).
  using Serve = std::function<void(Fd client, UserInfo user, ClientInfo info, std::optional<std::string> login_tag,
                                   std::string pending)>;
  // auth_socket: login/auth as this process sees it. `finished` runs once
  // per accepted connection that did not end in serve(): the skeleton's
  // client_done().
  HandoffListener(event::Loop& loop, std::string auth_socket, Duration timeout, Serve serve,
                  std::function<void()> finished);
  ~HandoffListener();
  HandoffListener(const HandoffListener&) = delete;
  HandoffListener& operator=(const HandoffListener&) = delete;

  // A connection accepted on login/imap.
  void accept(Fd conn);
  // Handoffs in progress (for tests and the stop logic).
  size_t in_progress() const { return handoffs_.size(); }

 private:
  class Handoff;
  void done(uint64_t serial, bool served);

  event::Loop& loop_;
  std::string auth_socket_;
  Duration timeout_;
  Serve serve_;
  std::function<void()> finished_;
  uint64_t next_serial_ = 1;
  std::map<uint64_t, std::unique_ptr<Handoff>> handoffs_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern::imapd
