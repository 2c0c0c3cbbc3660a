// Session, after EHLO: SMTP AUTH to a smarthost (RFC 4954) when
// smtp_sasl_auth_enable is on and smtp_sasl_password_maps has a login for
// this next hop (sasl_client.h). Runs once per connection, after STARTTLS's
// second EHLO when there is one; a reused session is already
// authenticated.
//
//   - no login for the next hop, or the server offers no AUTH: the mail
//     goes without authentication (Postfix does the same);
//   - no mechanism the options allow (by default PLAIN and LOGIN only
//     inside TLS): deferred 4.7.0 "SASL authentication failed; cannot
//     authenticate to server X: no mechanism available" -- the password
//     never goes over a cleartext connection unless the configuration says
//     so;
//   - 235: the transaction follows;
//   - any other reply: "SASL authentication failed; server X said: 535 ..."
//     for every recipient; a 4xx defers, a 5xx bounces, except that with
//     smtp_sasl_auth_soft_bounce = yes (the default, as in Postfix) a 5xx
//     defers too, its class turned to 4 (a wrong password in the table
//     must not bounce the mail). The session is closed; a deferral moves
//     on to the next MX host or address first, like any failure before
//     MAIL FROM.
#include "common/base/log.h"
#include "smtp-client/session.h"

namespace tern::smtp_client {

using Action = ipc::DeliveryAction;

std::string Session::sasl_nexthop() const {
  // The next hop as qmgr named it (nexthop.h): "[host]:port" or a domain.
  if (hop_.kind == Nexthop::Kind::kDomain) return hop_.host;
  std::string h = hop_.family == 6 ? "[ipv6:" + hop_.host + "]" : "[" + hop_.host + "]";
  return h + ":" + std::to_string(hop_.port);
}

void Session::after_hello() {
  const SaslSettings* sasl = settings_.sasl.get();
  if (protocol_ != ipc::DeliveryProtocol::kSmtp || !sasl || !sasl->enable) return start_transaction();
  std::string host = peer_.label.substr(0, peer_.label.find('['));
  auto login = sasl->lookup(sasl_nexthop(), host);
  if (!login) {
    if (login.error().code == Errc::kNotFound) return start_transaction();
    log::warning("%s: %s", job_.queue_id.c_str(), login.error().text.c_str());
    return auth_failed(Action::kDeferred, "4.3.0",
                       "SASL authentication failed; cannot look up the login for " + peer_.label + ": " +
                           login.error().text);
  }
  if (features_.auth.empty()) return start_transaction();
  const SaslOptions& options = tls_active() ? sasl->tls_options : sasl->options;
  std::string mech = choose_mechanism(features_.auth, options, sasl->filter);
  if (mech.empty()) {
    std::string why = "SASL authentication failed; cannot authenticate to server " + peer_.label +
                      ": no mechanism available";
    if (!tls_active() && !sasl->options.plaintext_allowed())
      why += " (PLAIN and LOGIN need TLS: smtp_sasl_security_options)";
    log::warning("%s", why.c_str());
    return auth_failed(Action::kDeferred, "4.7.0", why);
  }
  sasl_ = std::make_unique<SaslClient>(mech, std::move(*login));
  state_ = State::kAuth;
  wait(settings_.helo_timeout);
  send(sasl_->first_command());
}

void Session::on_auth_reply(const Reply& r) {
  if (!sasl_) return auth_failed(Action::kDeferred, "4.5.0", "unexpected reply while " + stage());
  auto step = sasl_->on_reply(r);
  switch (step.kind) {
    case SaslClient::Step::Kind::kSend:
      wait(settings_.helo_timeout);
      return send(step.line);
    case SaslClient::Step::Kind::kSuccess:
      log::debug("authenticated to %s with %s", peer_.label.c_str(), sasl_->mechanism().c_str());
      sasl_.reset();
      return start_transaction();
    case SaslClient::Step::Kind::kFailure:
      break;
  }
  sasl_.reset();
  if (!step.why.empty())
    return auth_failed(Action::kDeferred, "4.7.0",
                       "SASL authentication failed; server " + peer_.label + ": " + step.why, r.text());
  std::string why = "SASL authentication failed; server " + peer_.label + " said: " + r.text();
  log::warning("%s", why.c_str());
  std::string dsn = r.klass() == 5 || r.klass() == 4 ? r.dsn() : "4.7.0";
  Action action = r.klass() == 5 ? Action::kBounced : Action::kDeferred;
  const SaslSettings* sasl = settings_.sasl.get();
  if (action == Action::kBounced && sasl && sasl->soft_bounce) {
    action = Action::kDeferred;
    dsn = "4" + dsn.substr(1);
  }
  auth_failed(action, dsn, why, r.text());
}

void Session::auth_failed(Action action, const std::string& dsn, const std::string& reason, const std::string& reply) {
  sasl_.reset();
  // A deferral tries the next MX host or address first, as any failure
  // before MAIL FROM does (session.h); a bounce is final.
  if (action == Action::kDeferred && hop_.kind != Nexthop::Kind::kUnix) return try_next(action, dsn, reason, reply);
  broken_ = true;
  fail_all(action, dsn, reason, reply);
}

}  // namespace tern::smtp_client
