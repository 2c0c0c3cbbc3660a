#pragma once
// The client side of Dovecot's auth client protocol (client_protocol.h), for
// the daemons that let users log in: smtpd's AUTH now, imap-login next.
//
// One connection per client session, opened at its first AUTH and never
// blocking the loop: a non-blocking connect to private/auth (the jail path),
// "VERSION\t1\t2" and "CPID\t<pid>", then the server's handshake up to DONE.
// Requests wait for DONE, then go out as
//   AUTH\t<id>\t<mech>\tservice=<s>[\tsecured]\tlip=<ip>\trip=<ip>[\tresp=<base64>]
// and each step's answer comes back to the caller: CONT (a challenge to
// relay to the client, base64 as received), OK (with user=) or FAIL (with
// reason= and temp). One request at a time. authd delays a FAIL itself
// (auth_failure_delay), so the caller adds no delay of its own.
//
// Any protocol surprise, a closed connection or no answer within the
// timeout ends the connection and reports a temporary failure: the caller
// answers 454 4.7.0, never "wrong password".

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/event/loop.h"

namespace tern::auth {

// One line from the server, parsed (exposed for tests).
struct ServerVersion {
  unsigned major = 0, minor = 0;
};
struct ServerMech {
  std::string name;
  std::vector<std::string> flags;
};
struct ServerDone {};
struct ServerIgnored {};  // SPID, CUID and lines a later minor version may add
struct ServerCookie {
  std::string hex;  // this connection's cookie, for the auth-master REQUEST
};
struct ServerOk {
  unsigned id = 0;
  std::string user;
};
struct ServerCont {
  unsigned id = 0;
  std::string data;  // base64, may be empty
};
struct ServerFail {
  unsigned id = 0;
  std::string reason;
  bool temp = false;
};
using ServerLine =
    std::variant<ServerVersion, ServerMech, ServerDone, ServerIgnored, ServerCookie, ServerOk, ServerCont, ServerFail>;

// One line without its LF; Errc::kInvalid when it breaks the protocol.
Result<ServerLine> parse_server_line(std::string_view line);

struct AuthRequest {
  std::string mech;                   // "PLAIN", "LOGIN"
  std::optional<std::string> initial;  // base64 initial response ("" = empty response)
  std::string service = "smtp";
  std::string local_ip, remote_ip;
  bool secured = false;               // over TLS (or a local connection)
};
// The line for a request (exposed for tests); no LF.
std::string format_auth_line(unsigned id, const AuthRequest& r);

enum class AuthOutcome { kOk, kFail, kTempFail };
struct AuthResult {
  AuthOutcome outcome = AuthOutcome::kTempFail;
  std::string user;    // kOk: the canonical login authd answered with
  std::string reason;  // kFail: the server's reason; kTempFail: what went wrong (for the log)
  // kOk: what names this login to authd's REQUEST (imapd confirming
  // imap-login's login): the AUTH id, the connection's COOKIE and the CPID
  // this process sent. The login stays confirmable only while this
  // AuthClient (its connection) lives.
  unsigned request_id = 0;
  std::string cookie_hex;
  unsigned client_pid = 0;
};

class AuthClient {
 public:
  struct Callbacks {
    std::function<void(std::string challenge_base64)> challenge;  // answer with respond() or cancel()
    std::function<void(AuthResult)> done;
  };
  // Nothing happens until begin().
  AuthClient(event::Loop& loop, std::string socket_path, Duration timeout);
  ~AuthClient();
  AuthClient(const AuthClient&) = delete;
  AuthClient& operator=(const AuthClient&) = delete;

  // Starts a request; callbacks run on the loop, never inside begin() or
  // respond(), and never after the AuthClient is destroyed.
  void begin(AuthRequest request, Callbacks callbacks);
  void respond(std::string response_base64);
  // Abandons the request in flight (CANCEL to the server); no callback runs.
  void cancel();
  bool busy() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tern::auth
