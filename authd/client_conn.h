#pragma once
// One connection speaking Dovecot's auth client protocol (the spec is in
// common/auth/client_protocol.h): smtpd or Postfix's smtpd on private/auth,
// imap-login on login/auth.
//
// Each AUTH is a Request: its SASL mechanism, then one password check on the
// worker pool, then OK at once or FAIL after auth_failure_delay (a timer;
// the connection keeps serving its other requests meanwhile). Each failure
// counts against the client's address (rip=); an address refused for too
// many failures gets the same FAIL after the same delay, without a password
// check (login_failures.h). A request
// that succeeded without "nologin" stays, for kLoginKeep, so that the
// auth-master REQUEST can confirm it once (imapd after imap-login's login).
// Limits: kMaxRequests requests in flight, lines of kClientMaxLine bytes,
// base64 of kMaxSaslBase64; breaking the protocol closes the connection.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/ipc/line_io.h"
#include "common/auth/client_protocol.h"
#include "common/auth/sasl_mechanism.h"
#include "common/event/loop.h"

namespace tern::authd {

class Authd;

class ClientConn {
 public:
  static constexpr size_t kMaxRequests = 32;
  static constexpr std::chrono::seconds kLoginKeep{150};  // Dovecot's MASTER_AUTH_SERVER_TIMEOUT_SECS

  ClientConn(Authd& authd, uint64_t serial, Fd fd, unsigned cuid, std::string peer);
  ~ClientConn();

  unsigned pid() const { return pid_; }
  const std::string& cookie_hex() const { return cookie_hex_; }
  bool closed() const { return io_.closed(); }
  // REQUEST from the auth-master side: the user of a finished, successful
  // login with this AUTH id, once; nullopt otherwise.
  std::optional<std::string> take_login(unsigned id);
  // Whether REQUEST (imapd confirming a login, client_protocol.h) is
  // answered on this connection: only for peers running as vmail_owner.
  void set_may_confirm(bool on) { may_confirm_ = on; }
  // For a graceful stop: closes now unless requests are in flight (then
  // when the last one ends).
  void close_if_idle();

 private:
  struct Request {
    unsigned id = 0;
    std::string mech_name;
    std::unique_ptr<auth::SaslMechanism> mech;
    std::string service, rip;
    bool nologin = false;
    bool expect_cont = false;
    bool checking = false;
    bool failed = false;  // waiting out the failure delay
    std::string user;      // the name the client gave, then the one from the file
    bool logged_in = false;
    event::Timer timer;    // failure delay, or expiry of a kept login
  };

  void on_line(std::string_view line);
  void protocol_error(const std::string& why);
  void on_auth(auth::AuthCommand&& a);
  void on_cont(const auth::ContCommand& c);
  void step(Request& r, Result<auth::MechStep> s);
  void checked(unsigned id, bool ok, const std::string& user);
  // count: whether this failure counts against the client's address (not
  // the refusals of an address already refused).
  void fail_later(Request& r, const std::string& why, bool count = true);
  void fail_now(unsigned id, const std::string& reason);
  void finish(unsigned id);

  Authd& authd_;
  uint64_t serial_;
  std::string peer_;
  ipc::LineIo io_;
  std::string cookie_hex_;
  bool version_ok_ = false;
  unsigned pid_ = 0;  // 0 until CPID: the handshake is not finished
  bool may_confirm_ = true;
  std::map<unsigned, std::unique_ptr<Request>> requests_;
};

}  // namespace tern::authd
