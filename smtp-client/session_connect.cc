// Session, connecting: a unix socket inside the chroot, or TCP to each
// target of the next hop in turn (mx.h), each attempt bounded by
// connect_timeout; the move to the next target; STARTTLS and the TLS layer
// under the session's reads and writes (session.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "common/base/log.h"
#include "common/dns/names.h"
#include "smtp-client/session.h"

namespace tern::smtp_client {

using Action = ipc::DeliveryAction;

void Session::begin() {
  broken_ = false;
  sessions_ = 0;
  plain_target_ = SIZE_MAX;
  last_failure_ = {};
  if (hop_.kind == Nexthop::Kind::kUnix) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return fail_all(Action::kDeferred, "4.3.0", std::string("socket: ") + std::strerror(errno));
    fd_ = Fd(s);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::string path = jail_root_ == "/" ? "/" + hop_.path : jail_root_ + "/" + hop_.path;
    if (path.size() >= sizeof sun.sun_path)
      return fail_all(Action::kDeferred, "4.3.5", "connect to " + hop_.path + ": path too long");
    std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) < 0 && errno != EINPROGRESS) {
      std::string why = "connect to " + hop_.path + ": " + std::strerror(errno);
      fd_.reset();
      return fail_all(Action::kDeferred, "4.4.1", why);
    }
    state_ = State::kConnecting;
    watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kWrite, [this](short ev) { on_events(ev); });
    wait(settings_.connect_timeout);
    return;
  }
  targets_.clear();
  next_target_ = 0;
  if (protocol_ == ipc::DeliveryProtocol::kSmtp && (!policy_ || !*policy_)) policy_ = tls_policy_for(settings_, hop_.text);
  if (policy_ && !*policy_)
    return fail_all(Action::kDeferred, "4.7.5", "TLS policy lookup error for " + hop_.text + ": " + policy_->error().text);
  if (hop_.family) {
    targets_.push_back({hop_.host, hop_.host});
    return connect_next();
  }
  if (!resolver_) return fail_all(Action::kDeferred, "4.3.0", "no resolver for " + hop_.host);
  state_ = State::kResolving;
  mx_.start(hop_.host, hop_.kind == Nexthop::Kind::kDomain, [this](Destination d) { on_destination(std::move(d)); });
}

void Session::on_destination(Destination d) {
  if (!d.ok()) return fail_all(d.action, d.dsn, d.reason);
  targets_ = std::move(d.targets);
  connect_next();
}

bool Session::before_transaction() const {
  switch (state_) {
    case State::kConnecting:
    case State::kGreeting:
    case State::kHelo:
    case State::kHeloFallback:
    case State::kStarttls:
    case State::kTlsHandshake: return true;
    default: return false;
  }
}

void Session::try_next(Action action, const std::string& dsn, const std::string& reason, const std::string& reply) {
  last_failure_ = {action, dsn, reason, reply};
  if (hop_.kind == Nexthop::Kind::kUnix) return fail_all(action, dsn, reason, reply);
  pending_.clear();
  unsent_.clear();
  accepted_.clear();
  in_xfer_ = false;
  if (next_target_ < targets_.size()) log::info("%s", reason.c_str());  // Postfix logs each fallback
  connect_next();
}

void Session::next_after_reply(const Reply& r, const std::string& command) {
  auto x = result_from_reply(0, r, peer_, command, false, 0);
  try_next(x.action, x.dsn, x.reason, x.reply);
}

TlsLevel Session::tls_level() const {
  if (protocol_ != ipc::DeliveryProtocol::kSmtp || !policy_ || !*policy_) return TlsLevel::kNone;
  return (**policy_).level;
}

void Session::connect_next() {
  close_socket();
  bool limited = settings_.mx_session_limit > 0 && sessions_ >= settings_.mx_session_limit;
  if (next_target_ >= targets_.size() || limited) {
    if (last_failure_.reason.empty()) last_failure_ = {Action::kDeferred, "4.4.1", "no address for " + hop_.host, ""};
    Failure f = last_failure_;
    return fail_all(f.action, f.dsn, f.reason, f.reply);
  }
  const Target& t = targets_[next_target_++];
  peer_.label = t.host + "[" + t.address + "]";
  peer_.relay = peer_.label + ":" + std::to_string(hop_.port);
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = dns::address_family(t.address) == 6 ? AF_INET6 : AF_INET;
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(hop_.port));
    inet_pton(AF_INET, t.address.c_str(), &sin->sin_addr);
    len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(hop_.port));
    inet_pton(AF_INET6, t.address.c_str(), &sin6->sin6_addr);
    len = sizeof *sin6;
  }
  int s = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return try_next(Action::kDeferred, "4.4.1", "connect to " + peer_.relay + ": " + std::strerror(errno));
  fd_ = Fd(s);
  if (::connect(s, reinterpret_cast<sockaddr*>(&ss), len) < 0 && errno != EINPROGRESS)
    return try_next(Action::kDeferred, "4.4.1", "connect to " + peer_.relay + ": " + std::strerror(errno));
  state_ = State::kConnecting;
  watch_ = event::IoWatch(loop_, fd_.get(), event::IoWatch::kWrite, [this](short ev) { on_events(ev); });
  wait(settings_.connect_timeout);
}

void Session::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    if (hop_.kind == Nexthop::Kind::kUnix)
      return fail_all(Action::kDeferred, "4.4.1", "connect to " + hop_.path + ": " + std::strerror(err));
    return try_next(Action::kDeferred, "4.4.1", "connect to " + peer_.relay + ": " + std::strerror(err));
  }
  if (hop_.kind != Nexthop::Kind::kUnix) {
    // Every write is a whole batch (pipelined commands, 64 KiB of body with
    // the final "." appended): Nagle would only hold back a short last one.
    int one = 1;
    (void)::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  connected_at_ = loop_.clock().now();
  uses_ = 0;
  state_ = State::kGreeting;
  watch_.set_events(event::IoWatch::kRead);
  wait(settings_.helo_timeout);
}

// ---- STARTTLS (RFC 3207) -------------------------------------------------------

void Session::start_tls() {
  state_ = State::kStarttls;
  wait(settings_.helo_timeout);
  send("STARTTLS\r\n");
}

void Session::on_starttls_reply(const Reply& r) {
  if (r.klass() != 2) {
    if (tls_level() == TlsLevel::kMay) {
      log::info("host %s refused STARTTLS (%s): continuing without TLS", peer_.label.c_str(), r.text().c_str());
      return start_transaction();
    }
    return next_after_reply(r, "STARTTLS");
  }
  if (!in_.empty())
    return try_next(Action::kDeferred, "4.5.0",
                    "host " + peer_.label + " sent more after its reply to STARTTLS (plain-text injection?)");
  ERR_clear_error();
  ssl_.reset(SSL_new(settings_.tls_ctx));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) return tls_failed("SSL_new: " + tls::error_queue());
  const Target& t = targets_[next_target_ - 1];
  if (dns::address_family(t.host) == 0) (void)SSL_set_tlsext_host_name(ssl_.get(), t.host.c_str());
  tls_names_ = false;
  if (tls_level() == TlsLevel::kVerify) {
    SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    for (const auto& name : match_names((**policy_).match, t.host, hop_.text))
      tls_names_ = SSL_add1_host(ssl_.get(), name.c_str()) == 1 || tls_names_;
  }
  SSL_set_connect_state(ssl_.get());
  state_ = State::kTlsHandshake;
  wait(settings_.helo_timeout);
  drive_handshake();
}

void Session::drive_handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) return on_tls_established();
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) return watch_.set_events(event::IoWatch::kRead);
  if (err == SSL_ERROR_WANT_WRITE) return watch_.set_events(event::IoWatch::kRead | event::IoWatch::kWrite);
  std::string why = tls::error_queue();
  if (why.empty()) why = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN ? "lost connection" : "handshake failure";
  tls_failed(why);
}

void Session::tls_failed(const std::string& why) {
  log::info("SSL_connect error to %s: %s", peer_.relay.c_str(), why.c_str());
  if (tls_level() == TlsLevel::kMay) {
    // Opportunistic: this target once more, in plain text (Postfix does the
    // same); the handshake's session does not count against the limit.
    plain_target_ = next_target_ - 1;
    --next_target_;
    if (sessions_ > 0) --sessions_;
    log::info("%s: TLS handshake failed, trying again without TLS", peer_.relay.c_str());
    return connect_next();
  }
  try_next(Action::kDeferred, "4.7.5", "Cannot start TLS: handshake failure with " + peer_.relay + " (" + why + ")");
}

void Session::on_tls_established() {
  timer_.cancel();
  auto n = tls::negotiated(ssl_.get());
  auto trust = tls::peer_trust(ssl_.get(), tls_names_);
  const char* kind = trust.kind;
  if (trust.verified && tls_level() != TlsLevel::kVerify) kind = "Trusted";  // no name was asked for
  std::string what = tls::describe(n);
  log::info("%s TLS connection established to %s: %s", kind, peer_.relay.c_str(), what.c_str());
  if (tls_level() == TlsLevel::kVerify && !trust.verified) {
    log::info("server certificate verification failed for %s: %s", peer_.relay.c_str(), trust.why.c_str());
    return try_next(Action::kDeferred, "4.7.5",
                    std::string(trust.trusted ? "Server certificate not verified" : "Server certificate not trusted") +
                        " (" + peer_.relay + ": " + trust.why + ")");
  }
  watch_.set_events(event::IoWatch::kRead);
  send_hello(false);  // RFC 3207 4.2: everything learned before TLS is forgotten
}

// ---- bytes, in the clear or through TLS ---------------------------------------------

ssize_t Session::raw_send(const char* data, size_t n) {
  if (!ssl_) return ::send(fd_.get(), data, n, MSG_NOSIGNAL);
  ERR_clear_error();
  int rc = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (rc > 0) return rc;
  int err = SSL_get_error(ssl_.get(), rc);
  errno = err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? EAGAIN : ECONNRESET;
  return -1;
}

ssize_t Session::raw_recv(char* data, size_t n) {
  tls_wants_write_ = false;
  if (!ssl_) return ::recv(fd_.get(), data, n, 0);
  ERR_clear_error();
  int rc = SSL_read(ssl_.get(), data, static_cast<int>(std::min<size_t>(n, INT_MAX)));
  if (rc > 0) return rc;
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) return 0;
  if (err == SSL_ERROR_WANT_WRITE) tls_wants_write_ = true;
  errno = err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ ? EAGAIN : ECONNRESET;
  return -1;
}

}  // namespace tern::smtp_client
