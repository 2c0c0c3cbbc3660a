// MAIL FROM: (RFC 5321 4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152),
// SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461).

#include "common/base/log.h"
#include "smtpd/session.h"

namespace tern::smtpd {

mail::ArgOptions Session::arg_options() const {
  mail::ArgOptions o;
  o.offered.size = true;
  o.offered.eightbitmime = true;
  o.offered.smtputf8 = true;
  o.offered.dsn = true;
  // CHUNKING is offered, BINARYMIME is not (as in Postfix): the queue keeps
  // the message in lines ending in CRLF, and BDAT content is stored so
  // (common/mail/smtp_bdat.h), which binary content would not survive.
  o.offered.chunking = false;
  o.offered.auth = settings_.sasl_enabled && tls_active_;
  return o;
}

// The reply to a MAIL or RCPT argument smtp_path refused (RFC 5321 4.1.4,
// RFC 3463, RFC 6531 3.5).
void Session::arg_error(mail::ArgFault why, const Error& e, bool sender) {
  switch (why) {
    case mail::ArgFault::kNonAscii:
      return error_reply(553, "5.6.7", std::string("Error: non-ASCII ") + (sender ? "sender" : "recipient") +
                                           " address needs SMTPUTF8");
    case mail::ArgFault::kParamUnknown:
      return error_reply(555, "5.5.4", "Error: " + e.text);
    case mail::ArgFault::kParamSyntax:
      return error_reply(501, "5.5.4", "Error: " + e.text);
    case mail::ArgFault::kPathTooLong:
    case mail::ArgFault::kPathSyntax:
    case mail::ArgFault::kNone:
      return sender ? error_reply(501, "5.1.7", "Bad sender address syntax")
                    : error_reply(501, "5.1.3", "Bad recipient address syntax");
  }
}

void Session::cmd_mail(const Command& c) {
  // RFC 3207 4 and RFC 6409 4.3: a port that requires TLS, or AUTH, takes
  // no mail without it.
  if (settings_.tls_level == Settings::TlsLevel::kEncrypt && !tls_active_)
    return error_reply(530, "5.7.0", "Must issue a STARTTLS command first");
  if (settings_.sasl_required && !authenticated()) return error_reply(530, "5.7.0", "Authentication required");
  if (mail_) return error_reply(503, "5.5.1", "Error: nested MAIL command");
  if (!wait_for_rate(RateEvent::kMessage, c.args, &Session::mail_from)) mail_from(c.args);
}

void Session::mail_from(std::string_view text) {
  mail::ArgFault why = mail::ArgFault::kNone;
  auto args = mail::parse_mail_args(text, arg_options(), &why);
  if (!args) return arg_error(why, args.error(), /*sender=*/true);
  if (args->params.size && settings_.message_size_limit && *args->params.size > settings_.message_size_limit)
    return error_reply(552, "5.3.4", "Message size exceeds fixed limit");
  if (authenticated()) {
    // RFC 6409 6.1: the sender must be the user's (sender_login.h).
    std::string why;
    switch (check_sender_login(settings_.sender_logins, settings_.directory.virtual_alias_maps, args->sender,
                               sasl_user_, &why)) {
      case SenderOwnership::kOwned: break;
      case SenderOwnership::kNotOwned:
        log::info("NOQUEUE: reject: MAIL from %s: 553 5.7.1 <%s>: Sender address rejected: not owned by user %s; "
                  "from=<%s> proto=ESMTP helo=<%s>",
                  client().c_str(), args->sender.str().c_str(), sasl_user_.c_str(), args->sender.str().c_str(),
                  helo_.c_str());
        return error_reply(553, "5.7.1",
                           "<" + args->sender.str() + ">: Sender address rejected: not owned by user " + sasl_user_);
      case SenderOwnership::kTempFail:
        log::warning("smtpd_sender_login_maps lookup for <%s> failed: %s", args->sender.str().c_str(), why.c_str());
        return reply(451, "4.3.0", "<" + args->sender.str() + ">: Temporary lookup failure");
    }
  }
  mail_ = std::move(*args);
  reply(250, "2.1.0", "Ok");
}

}  // namespace tern::smtpd
