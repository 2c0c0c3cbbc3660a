#pragma once
// One IMAP client before login (RFC 3501 3.1, "Not Authenticated State"):
// the greeting, CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), STARTTLS (RFC 3501
// 6.2.1, RFC 2595), LOGIN and AUTHENTICATE PLAIN/LOGIN with SASL-IR
// (RFC 4959); every other command is BAD until login. After a successful
// login the client goes to imapd (handoff_client.h): plain connections as
// the socket itself, TLS ones through a socketpair this process proxies
// (tls_proxy.h). Pre-login input never reaches imapd, except the bytes the
// client pipelined after its login command, which go with the handoff.
//
// Commands are read by the shared IMAP reader (common/imap/command_reader.h),
// fed one line (or one literal) at a time from the socket's input buffer, so
// that whatever follows the login command is still in that buffer, unread,
// when the client is handed over.
//
// disable_plaintext_auth (Dovecot's name): on a connection that is neither
// TLS nor from login_trusted_networks, CAPABILITY says LOGINDISABLED and no
// AUTH=, and LOGIN/AUTHENTICATE are refused with NO [PRIVACYREQUIRED]
// (RFC 5530). Loopback is not trusted unless listed.
//
// Limits: imap_login_timeout for the whole pre-login phase, a pre-login
// command of at most Settings::max_command bytes (literals included), at
// most max_commands commands, max_bad_commands BAD answers and
// max_auth_failures failed logins, then * BYE. authd delays failed logins.

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/auth/auth_client.h"
#include "common/event/handles.h"
#include "common/event/loop.h"
#include "common/imap/command_reader.h"
#include "common/server/skeleton.h"
#include "imapd/login/handoff_client.h"
#include "imapd/login/settings.h"
#include "imapd/login/tls_proxy.h"

namespace tern::imap_login {

class Session;

// Client-supplied text for a log line: at most 64 bytes, printable ASCII
// (controls and 8-bit bytes as '?').
std::string printable(std::string_view s);

// What the sessions of one process share: settings, the per-address
// counts, the live sessions and the proxies of logged-in TLS clients.
class LoginServer {
 public:
  LoginServer(server::Context& ctx, const Settings& settings) : ctx_(ctx), settings_(settings) {}
  ~LoginServer();
  void accept(Fd fd, const server::Peer& peer);
  // Graceful stop: clients not logged in get * BYE; proxies run on until
  // one side closes.
  void stop();

  server::Context& ctx() { return ctx_; }
  const Settings& settings() const { return settings_; }
  // Pre-login connections from one address in this process.
  int& per_ip(const std::string& address) { return per_ip_[address]; }
  void release_ip(const std::string& address);
  void session_closed(Session* s);
  // The session's client now lives on as a proxy: no client_done().
  void session_moved(Session* s);
  void start_proxy(event::BuffereventPtr tls, Fd pair, std::string client);

 private:
  void loop_post(std::function<void()> fn);

  server::Context& ctx_;
  const Settings& settings_;
  std::map<std::string, int> per_ip_;
  std::map<Session*, std::unique_ptr<Session>> sessions_;
  std::map<TlsProxy*, std::unique_ptr<TlsProxy>> proxies_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class Session {
 public:
  Session(LoginServer& server, Fd fd, server::Peer peer);
  ~Session();
  void start();
  void shutdown();  // * BYE and close (graceful stop)

 private:
  enum class Phase { kCommands, kAuthLine, kAuthWait, kHandoff, kClosing, kDone };

  static void on_read(bufferevent* bev, void* self) noexcept;
  static void on_write(bufferevent* bev, void* self) noexcept;
  static void on_event(bufferevent* bev, short what, void* self) noexcept;
  void set_callbacks();
  void process_input();
  bool feed_reader();
  void reply(std::string_view line);
  void bad(const std::string& tag, std::string_view text);
  void bye(std::string_view text);
  void close_after_reply();
  bool output_pending();
  void finish(const char* why);
  void closing_drained();  // kClosing, nothing left to send: close_notify over TLS, then finish()
  std::string client() const;  // "[address]" for log lines
  bool plaintext_allowed() const;
  std::string capabilities() const;

  // Commands (cmd_simple.cc, cmd_starttls.cc, cmd_auth.cc).
  void dispatch(imap::Command& c);
  void cmd_capability(const imap::Command& c);
  void cmd_noop(const imap::Command& c);
  void cmd_logout(const imap::Command& c);
  void cmd_id(const imap::Command& c);
  void cmd_starttls(const imap::Command& c);
  void cmd_login(imap::Command& c);
  void cmd_authenticate(imap::Command& c);
  void start_auth(const std::string& tag, auth::AuthRequest request, std::string method, std::string user_hint);
  void auth_challenge(const std::string& challenge);
  void auth_line(std::string line);
  void auth_done(const auth::AuthResult& result);
  void hand_over(const auth::AuthResult& result);
  void handed_over(HandoffOutcome outcome, const std::string& why);

  LoginServer& server_;
  const Settings& settings_;
  server::Peer peer_;
  std::string local_address_;
  event::BuffereventPtr bev_;
  std::unique_ptr<imap::CommandReader> reader_;
  uint64_t literal_left_ = 0;  // octets of an accepted literal still to feed
  Phase phase_ = Phase::kCommands;
  bool tls_active_ = false;
  bool close_notify_sent_ = false;
  bool tls_broken_ = false;
  bool counted_ip_ = false;
  int commands_ = 0;
  int bad_commands_ = 0;
  int auth_failures_ = 0;
  event::Timer login_timer_;
  event::Timer close_timer_;

  // The login in progress.
  std::unique_ptr<auth::AuthClient> auth_;
  std::string auth_tag_;
  std::string auth_method_;
  std::string auth_user_;  // as the client gave it, for log lines
  std::unique_ptr<HandoffClient> handoff_;
  Fd pair_;  // TLS: our end of the socketpair whose other end goes to imapd
  Fd give_;  // TLS: that other end, until imapd has its copy
  std::string handed_user_;
};

}  // namespace tern::imap_login
