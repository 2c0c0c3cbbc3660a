#include "authd/client_conn.h"

#include <openssl/rand.h>
#include <unistd.h>

#include "authd/authd.h"
#include "common/auth/base64.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace tern::authd {
namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

// Printable for the log: at most 64 bytes, controls as '?'.
std::string printable(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace

ClientConn::ClientConn(Authd& authd, uint64_t serial, Fd fd, unsigned cuid, std::string peer)
    : authd_(authd),
      serial_(serial),
      peer_(std::move(peer)),
      io_(authd.loop(), std::move(fd), auth::kClientMaxLine, [this](std::string_view l) { on_line(l); },
          [this, &authd](const std::string& why) {
            if (!requests_.empty()) log::debug("auth client %u: %s with %zu requests in flight", pid_, why.c_str(), requests_.size());
            authd.connection_closed(serial_);
          }) {
  unsigned char cookie[16];
  if (RAND_bytes(cookie, sizeof cookie) != 1) log::fatal("RAND_bytes failed");
  cookie_hex_ = hex(cookie, sizeof cookie);
  auth::HandshakeInfo h;
  h.mechanisms = {{"PLAIN", {"plaintext"}}, {"LOGIN", {"plaintext"}}};
  h.spid = static_cast<long>(::getpid());
  h.cuid = cuid;
  h.cookie_hex = cookie_hex_;
  io_.send(auth::format_client_handshake(h));
}

ClientConn::~ClientConn() = default;

void ClientConn::protocol_error(const std::string& why) {
  log::warning("auth client %u (%s): %s: disconnecting", pid_, peer_.c_str(), why.c_str());
  io_.close(why);
}

void ClientConn::on_line(std::string_view line) {
  auto cmd = auth::parse_client_line(line);
  if (!cmd) return protocol_error(cmd.error().text);
  if (!version_ok_) {
    auto* v = std::get_if<auth::ClientVersion>(&*cmd);
    if (!v || v->major != auth::kClientMajor) return protocol_error("client is not compatible (VERSION expected, major 1)");
    version_ok_ = true;
    return;
  }
  if (pid_ == 0) {
    auto* c = std::get_if<auth::ClientCpid>(&*cmd);
    if (!c) return protocol_error("CPID expected");
    pid_ = c->pid;
    return;
  }
  if (auto* a = std::get_if<auth::AuthCommand>(&*cmd)) return on_auth(std::move(*a));
  if (auto* c = std::get_if<auth::ContCommand>(&*cmd)) return on_cont(*c);
  if (auto* r = std::get_if<auth::RequestCommand>(&*cmd)) {
    if (!may_confirm_) return protocol_error("REQUEST from a peer that may not confirm logins");
    io_.send(authd_.confirm(*r, strf("auth client %u (%s)", pid_, peer_.c_str())));
    return;
  }
  if (auto* c = std::get_if<auth::CancelCommand>(&*cmd)) {
    auto it = requests_.find(c->id);
    // A request being checked finishes on its own and is then dropped.
    if (it != requests_.end() && !it->second->checking) requests_.erase(it);
    return;
  }
  protocol_error("handshake command after the handshake");
}

void ClientConn::on_auth(auth::AuthCommand&& a) {
  if (requests_.count(a.id)) return protocol_error(strf("duplicate request id %u", a.id));
  auto mech = auth::make_mechanism(a.mech);
  if (!mech) return protocol_error("unsupported mechanism " + printable(a.mech));
  if (requests_.size() >= kMaxRequests) return fail_now(a.id, "Too many authentication requests in flight");
  auto r = std::make_unique<Request>();
  r->id = a.id;
  r->mech_name = to_lower(a.mech) == "plain" ? "PLAIN" : "LOGIN";
  r->mech = std::move(mech);
  r->service = std::move(a.service);
  r->rip = std::move(a.rip);
  r->nologin = a.nologin;
  Request& req = *r;
  requests_[a.id] = std::move(r);
  std::optional<std::string> initial;
  if (a.resp) {
    auto d = auth::base64_decode(*a.resp, auth::kMaxSaslBase64);
    if (!d) return fail_now(a.id, "Invalid base64 data in initial response");
    initial = std::move(*d);
  }
  step(req, req.mech->start(initial));
}

void ClientConn::on_cont(const auth::ContCommand& c) {
  auto it = requests_.find(c.id);
  if (it == requests_.end()) {
    io_.send(auth::format_fail(c.id, {"Authentication request timed out", "", false}));
    return;
  }
  Request& r = *it->second;
  if (!r.expect_cont) return fail_now(c.id, "Unexpected continuation");
  r.expect_cont = false;
  auto d = auth::base64_decode(c.data, auth::kMaxSaslBase64);
  if (!d) return fail_now(c.id, "Invalid base64 data in continued response");
  step(r, r.mech->next(*d));
}

void ClientConn::step(Request& r, Result<auth::MechStep> s) {
  if (!s) return fail_later(r, s.error().text);
  if (s->challenge) {
    r.expect_cont = true;
    io_.send(auth::format_cont(r.id, auth::base64_encode(*s->challenge)));
    return;
  }
  auth::Credentials& c = *s->credentials;
  r.user = c.authcid;
  // No master users: logging in as someone else is refused.
  if (!c.authzid.empty() && c.authzid != c.authcid) return fail_later(r, "authorization identity differs");
  // No password check for an address refused for its failures: the reply
  // and its delay are those of a wrong password.
  if (authd_.failures().refused(r.rip)) return fail_later(r, "refused: too many failed logins from this address", false);
  const auth::PasswdEntry* e = authd_.users()->find(c.authcid);
  r.checking = true;
  unsigned id = r.id;
  std::string user = e ? e->user : c.authcid;
  // The users file is immutable while the process lives (a change makes it
  // exit), so the entry outlives the check.
  authd_.check_password(serial_, e, std::move(c.password), [this, id, user, known = e != nullptr](bool ok) {
    checked(id, ok && known, user);
  });
}

void ClientConn::checked(unsigned id, bool ok, const std::string& user) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;
  Request& r = *it->second;
  r.checking = false;
  if (!ok) return fail_later(r, authd_.users()->find(user) ? "password mismatch" : "unknown user");
  log::info("%s: %s login: user=<%s>, rip=%s", r.service.c_str(), r.mech_name.c_str(), user.c_str(),
            r.rip.empty() ? "local" : r.rip.c_str());
  r.user = user;
  io_.send(auth::format_ok(id, user));
  if (r.nologin) return finish(id);
  // Kept for the auth-master REQUEST (imapd confirming imap-login's login).
  r.logged_in = true;
  r.timer = event::Timer(authd_.loop(), [this, id] { finish(id); });
  r.timer.start(kLoginKeep);
}

void ClientConn::fail_later(Request& r, const std::string& why, bool count) {
  // One line per failure with the client address, for fail2ban-style filters.
  std::string rip = r.rip.empty() ? "local" : printable(r.rip);
  log::info("login failed: user=<%s>, method=%s, rip=%s, service=%s: %s", printable(r.user).c_str(),
            r.mech_name.c_str(), rip.c_str(), printable(r.service).c_str(), why.c_str());
  if (count) {
    if (auto n = authd_.failures().failed(r.rip)) {
      const auto& l = authd_.failures().limits();
      log::warning("%s: too many failed logins (%u in %llds), refused for %llds", rip.c_str(), *n,
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(l.window).count()),
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(l.ban_time).count()));
    }
  }
  r.failed = true;
  r.expect_cont = false;
  unsigned id = r.id;
  r.timer = event::Timer(authd_.loop(), [this, id] {
    auto it = requests_.find(id);
    if (it == requests_.end()) return;
    // Like Dovecot: no reason for a failed password (the client says
    // "authentication failed"), only the user name.
    io_.send(auth::format_fail(id, {"", it->second->user, false}));
    finish(id);
  });
  r.timer.start(authd_.settings().failure_delay);
}

void ClientConn::fail_now(unsigned id, const std::string& reason) {
  io_.send(auth::format_fail(id, {reason, "", false}));
  finish(id);
}

void ClientConn::finish(unsigned id) {
  requests_.erase(id);
  if (authd_.stopping()) close_if_idle();
}

void ClientConn::close_if_idle() {
  for (const auto& [id, r] : requests_)
    if (!r->logged_in) return;  // kept logins do not hold the process
  io_.close("stopping");
}

std::optional<std::string> ClientConn::take_login(unsigned id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || !it->second->logged_in) return std::nullopt;
  std::string user = it->second->user;
  requests_.erase(it);
  return user;
}

}  // namespace tern::authd
