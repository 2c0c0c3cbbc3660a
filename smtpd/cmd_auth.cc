// AUTH (RFC 4954), PLAIN and LOGIN, relayed to authd over Dovecot's auth
// client protocol (common/auth/auth_client.h), as Postfix's
// smtpd_sasl_type = dovecot does. Offered only over TLS: a password never
// crosses the network in the clear.
//
// Replies, as Postfix gives them:
//   not enabled here             503 5.5.1 Error: authentication not enabled
//   before TLS, TLS required     530 5.7.0 Must issue a STARTTLS command first
//   before TLS, TLS optional     538 5.7.11 Encryption required for requested authentication mechanism
//   unknown mechanism            504 5.5.4 Unsupported authentication mechanism
//   bad base64                   501 5.5.2 Cannot decode response
//   "*" from the client          501 5.7.0 Authentication aborted
//   wrong password               535 5.7.8 Error: authentication failed  (authd delays it)
//   authd unreachable or temp    454 4.7.0 Temporary authentication failure
//   success                      235 2.7.0 Authentication successful

#include <event2/buffer.h>

#include "common/auth/base64.h"
#include "common/auth/client_protocol.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "smtpd/session.h"

namespace tern::smtpd {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  return out;
}

bool valid_base64(std::string_view text) {
  if (text.empty()) return true;
  return auth::base64_decode(text, auth::kMaxSaslBase64).ok();
}

}  // namespace

void Session::cmd_auth(const Command& c) {
  if (!settings_.sasl_enabled) return error_reply(503, "5.5.1", "Error: authentication not enabled");
  if (!tls_active_) {
    if (settings_.tls_level == Settings::TlsLevel::kEncrypt)
      return error_reply(530, "5.7.0", "Must issue a STARTTLS command first");
    return error_reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
  }
  if (helo_.empty() || !esmtp_) return error_reply(503, "5.5.1", "Error: send EHLO first");
  if (authenticated()) return error_reply(503, "5.5.1", "Error: already authenticated");
  if (mail_) return error_reply(503, "5.5.1", "Error: MAIL transaction in progress");
  std::string_view args = trim(c.args);
  size_t sp = args.find(' ');
  std::string mech = upper(args.substr(0, sp));
  std::string_view initial = sp == std::string_view::npos ? std::string_view() : trim(args.substr(sp + 1));
  if (mech.empty()) return error_reply(501, "5.5.4", "Syntax: AUTH mechanism");
  if (mech != "PLAIN" && mech != "LOGIN") return error_reply(504, "5.5.4", "Unsupported authentication mechanism");
  auth::AuthRequest req;
  req.mech = mech;
  req.service = "smtp";
  req.local_ip = local_address_;
  req.remote_ip = peer_.address;
  req.secured = true;
  if (sp != std::string_view::npos) {
    // RFC 4954 4: "=" is an empty initial response.
    if (initial == "=") req.initial = "";
    else if (!valid_base64(initial)) return error_reply(501, "5.5.2", "Cannot decode response");
    else req.initial = std::string(initial);
  }
  if (!auth_client_)
    auth_client_ = std::make_unique<auth::AuthClient>(ctx_.loop(), settings_.auth_socket, settings_.auth_timeout);
  sasl_method_ = mech;
  phase_ = Phase::kAuthWait;
  pause_reading();
  auth_client_->begin(std::move(req), {[this](std::string challenge) { auth_challenge(challenge); },
                                       [this](auth::AuthResult r) { auth_done(r); }});
}

void Session::auth_challenge(const std::string& challenge) {
  // RFC 4954 4: "334 " and the base64 challenge, no enhanced code.
  std::string line = "334 " + challenge + "\r\n";
  evbuffer_add(bufferevent_get_output(bev_.get()), line.data(), line.size());
  phase_ = Phase::kAuth;
  resume_reading();
  process_input();
}

void Session::auth_response(const std::string& line) {
  if (line == "*") {
    auth_client_->cancel();
    phase_ = Phase::kCommands;
    sasl_method_.clear();
    return error_reply(501, "5.7.0", "Authentication aborted");
  }
  if (!valid_base64(line)) {
    auth_client_->cancel();
    phase_ = Phase::kCommands;
    sasl_method_.clear();
    return error_reply(501, "5.5.2", "Cannot decode response");
  }
  phase_ = Phase::kAuthWait;
  pause_reading();
  auth_client_->respond(line);
}

void Session::auth_done(const auth::AuthResult& r) {
  phase_ = Phase::kCommands;
  switch (r.outcome) {
    case auth::AuthOutcome::kOk:
      sasl_user_ = r.user;
      log::info("%s: SASL %s login as %s", client().c_str(), sasl_method_.c_str(), sasl_user_.c_str());
      reply(235, "2.7.0", "Authentication successful");
      break;
    case auth::AuthOutcome::kFail:
      // Postfix's line, which fail2ban's postfix-sasl filter matches.
      log::warning("%s: SASL %s authentication failed: %s", client().c_str(), sasl_method_.c_str(),
                   r.reason.empty() ? "authentication failure" : r.reason.c_str());
      sasl_method_.clear();
      error_reply(535, "5.7.8", "Error: authentication failed");
      break;
    case auth::AuthOutcome::kTempFail:
      log::warning("%s: SASL %s authentication: temporary failure: %s", client().c_str(), sasl_method_.c_str(),
                   r.reason.c_str());
      sasl_method_.clear();
      reply(454, "4.7.0", "Temporary authentication failure");
      break;
  }
  if (phase_ == Phase::kClosing) return;
  resume_reading();
  process_input();
}

}  // namespace tern::smtpd
