// LOGIN (RFC 3501 6.2.3) and AUTHENTICATE (RFC 3501 6.2.2) with PLAIN and
// LOGIN, SASL-IR (RFC 4959), relayed to authd on login/auth
// (common/auth/auth_client.h, service=imap); then the handoff to imapd.
//
// LOGIN is AUTHENTICATE PLAIN with the initial response built here. A
// failed login is answered after authd's auth_failure_delay with
// NO [AUTHENTICATIONFAILED] (RFC 5530); authd unreachable is
// NO [UNAVAILABLE]. "*" as a SASL response cancels (RFC 3501 6.2.2: BAD).
//
// After authd's OK nothing more is read from the client: the bytes it
// pipelined after the command (still unread in the input buffer) travel
// with the handoff, and imapd writes the tagged OK. The auth connection
// stays open until imapd has answered, so that authd can still confirm the
// login (its REQUEST names this connection's cookie).

#include <event2/buffer.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/auth/base64.h"
#include "common/auth/client_protocol.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/ipc/imap_handoff.h"
#include "imapd/login/session.h"

namespace tern::imap_login {
namespace {

constexpr std::string_view kPrivacyRequired =
    " NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

}  // namespace

void Session::cmd_login(imap::Command& c) {
  if (c.args.size() != 2) return bad(c.tag, "Syntax: LOGIN user password");
  auto user = c.args[0].as_astring();
  auto pass = c.args[1].as_astring();
  if (!user || !pass) return bad(c.tag, "Syntax: LOGIN user password");
  if (!plaintext_allowed()) {
    log::info("Aborted login (tried to use disallowed plaintext auth): user=<%s>, %s", printable(*user).c_str(),
              client().c_str());
    reply(c.tag + std::string(kPrivacyRequired));
    return;
  }
  if (user->find('\0') != std::string_view::npos || pass->find('\0') != std::string_view::npos)
    return bad(c.tag, "NUL in LOGIN arguments");
  std::string plain = std::string(1, '\0') + std::string(*user) + std::string(1, '\0') + std::string(*pass);
  auth::AuthRequest r;
  r.mech = "PLAIN";
  r.initial = auth::base64_encode(plain);
  std::fill(plain.begin(), plain.end(), '\0');
  for (auto& a : c.args) std::fill(a.text.begin(), a.text.end(), '\0');
  start_auth(c.tag, std::move(r), "LOGIN", std::string(*user));
}

void Session::cmd_authenticate(imap::Command& c) {
  if (c.args.empty() || c.args.size() > 2 || !c.args[0].is_atom())
    return bad(c.tag, "Syntax: AUTHENTICATE mechanism [initial-response]");
  std::string mech = imap::ascii_upper(c.args[0].text);
  if (mech != "PLAIN" && mech != "LOGIN") {
    reply(c.tag + " NO Unsupported authentication mechanism.");
    return;
  }
  if (!plaintext_allowed()) {
    log::info("Aborted login (tried to use disallowed plaintext auth): method=%s, %s", mech.c_str(),
              client().c_str());
    reply(c.tag + std::string(kPrivacyRequired));
    return;
  }
  auth::AuthRequest r;
  r.mech = mech;
  if (c.args.size() == 2) {
    // RFC 4959: the initial response, "=" for an empty one.
    auto ir = c.args[1].as_astring();
    if (!ir) return bad(c.tag, "Invalid initial response");
    r.initial = *ir == "=" ? std::string() : std::string(*ir);
  }
  start_auth(c.tag, std::move(r), mech, "");
}

void Session::start_auth(const std::string& tag, auth::AuthRequest request, std::string method,
                         std::string user_hint) {
  request.service = "imap";
  request.local_ip = local_address_;
  request.remote_ip = peer_.address;
  request.secured = tls_active_ || settings_.trusted(peer_.address);
  auth_tag_ = tag;
  auth_method_ = std::move(method);
  auth_user_ = std::move(user_hint);
  if (!auth_) auth_ = std::make_unique<auth::AuthClient>(server_.ctx().loop(), settings_.auth_socket, settings_.auth_timeout);
  phase_ = Phase::kAuthWait;
  bufferevent_disable(bev_.get(), EV_READ);
  auth_->begin(std::move(request), {[this](std::string ch) { auth_challenge(ch); },
                                    [this](auth::AuthResult r) { auth_done(r); }});
}

void Session::auth_challenge(const std::string& challenge) {
  reply("+ " + challenge);
  phase_ = Phase::kAuthLine;
  bufferevent_enable(bev_.get(), EV_READ);
  process_input();
}

void Session::auth_line(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line == "*") {
    auth_->cancel();
    phase_ = Phase::kCommands;
    reply(auth_tag_ + " BAD Authentication cancelled.");
    return;
  }
  if (line.size() > auth::kMaxSaslBase64) {
    auth_->cancel();
    phase_ = Phase::kCommands;
    return bad(auth_tag_, "Authentication response too long");
  }
  phase_ = Phase::kAuthWait;
  bufferevent_disable(bev_.get(), EV_READ);
  auth_->respond(std::move(line));
}

void Session::auth_done(const auth::AuthResult& result) {
  if (result.outcome == auth::AuthOutcome::kOk) return hand_over(result);
  phase_ = Phase::kCommands;
  if (result.outcome == auth::AuthOutcome::kTempFail) {
    log::warning("authentication failed temporarily (%s): %s", client().c_str(), result.reason.c_str());
    reply(auth_tag_ + " NO [UNAVAILABLE] Temporary authentication failure, try again.");
  } else {
    auth_failures_++;
    log::info("Aborted login (auth failed, %d attempts): user=<%s>, method=%s, %s", auth_failures_,
              printable(auth_user_).c_str(), auth_method_.c_str(), client().c_str());
    reply(auth_tag_ + " NO [AUTHENTICATIONFAILED] Authentication failed.");
    if (auth_failures_ >= settings_.max_auth_failures) return bye("Too many invalid logins.");
  }
  bufferevent_enable(bev_.get(), EV_READ);
  process_input();
}

void Session::hand_over(const auth::AuthResult& result) {
  phase_ = Phase::kHandoff;
  login_timer_.cancel();
  bufferevent_disable(bev_.get(), EV_READ);
  ipc::HandoffRequest h;
  h.user = result.user;
  h.auth_id = result.request_id;
  h.cookie_hex = result.cookie_hex;
  h.cpid = result.client_pid;
  h.rip = peer_.address;
  h.lip = local_address_;
  h.secured = tls_active_ || settings_.trusted(peer_.address);
  h.tag = auth_tag_;
  // What the client pipelined after its login command (never more than the
  // read watermark, kHandoffMaxPending): the reader holds none of it.
  evbuffer* in = bufferevent_get_input(bev_.get());
  size_t n = std::min(evbuffer_get_length(in), ipc::kHandoffMaxPending);
  h.pending.resize(n);
  evbuffer_remove(in, h.pending.data(), n);
  handed_user_ = result.user;
  int give;
  if (tls_active_) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      log::error("socketpair: %s", std::strerror(errno));
      return handed_over(HandoffOutcome::kUnavailable, "socketpair failed");
    }
    pair_ = Fd(sv[0]);
    give_ = Fd(sv[1]);
    give = give_.get();
  } else {
    give = bufferevent_getfd(bev_.get());
  }
  log::info("Login: user=<%s>, method=%s, %s", result.user.c_str(), auth_method_.c_str(), client().c_str());
  handoff_ = std::make_unique<HandoffClient>(server_.ctx().loop(), settings_.handoff_socket, std::move(h), give,
                                             settings_.handoff_timeout,
                                             [this](HandoffOutcome o, const std::string& why) { handed_over(o, why); });
}

void Session::handed_over(HandoffOutcome outcome, const std::string& why) {
  give_.reset();  // imapd has its own copy (or none)
  auth_.reset();  // imapd has confirmed the login, or will not
  if (outcome == HandoffOutcome::kUnavailable) {
    log::error("cannot hand %s over to imapd: %s", handed_user_.c_str(), why.c_str());
    pair_.reset();
    phase_ = Phase::kCommands;
    reply(auth_tag_ + " NO [UNAVAILABLE] Internal error occurred, try again later.");
    login_timer_.start(settings_.login_timeout);
    bufferevent_enable(bev_.get(), EV_READ);
    return;
  }
  if (outcome == HandoffOutcome::kRefused) log::warning("imapd refused %s: %s", handed_user_.c_str(), why.c_str());
  phase_ = Phase::kDone;
  login_timer_.cancel();
  close_timer_.cancel();
  if (counted_ip_) {
    server_.release_ip(peer_.address);
    counted_ip_ = false;
  }
  if (tls_active_) {
    // The proxy forwards imapd's answer (its OK, or its BYE) and everything
    // after it; this session's client slot moves to the proxy.
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
    server_.start_proxy(std::move(bev_), std::move(pair_), handed_user_ + " (" + client() + ")");
    return server_.session_moved(this);
  }
  // Plain: imapd holds the socket; ours closes with the session.
  server_.session_closed(this);
}

}  // namespace tern::imap_login
