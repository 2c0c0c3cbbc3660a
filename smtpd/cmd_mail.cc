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
  o.offered.chunking = false;
  o.offered.auth = false;
  return o;
}

void Session::cmd_mail(const Command& c) {
  if (mail_) return error_reply(503, "5.5.1", "Error: nested MAIL command");
  mail::ArgFault why = mail::ArgFault::kNone;
  auto args = mail::parse_mail_args(c.args, arg_options(), &why);
  if (!args) {
    switch (why) {
      case mail::ArgFault::kNonAscii:
        return error_reply(553, "5.6.7", "Error: non-ASCII sender address needs SMTPUTF8");
      case mail::ArgFault::kParamUnknown:
        return error_reply(555, "5.5.4", "Error: " + args.error().text);
      case mail::ArgFault::kParamSyntax:
        return error_reply(501, "5.5.4", "Error: " + args.error().text);
      case mail::ArgFault::kPathTooLong:
      case mail::ArgFault::kPathSyntax:
      case mail::ArgFault::kNone:
        return error_reply(501, "5.1.7", "Bad sender address syntax");
    }
  }
  if (args->params.size && settings_.message_size_limit && *args->params.size > settings_.message_size_limit)
    return error_reply(552, "5.3.4", "Message size exceeds fixed limit");
  mail_ = std::move(*args);
  reply(250, "2.1.0", "Ok");
}

}  // namespace tern::smtpd
