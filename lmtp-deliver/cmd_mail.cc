// LHLO (RFC 2033 4.1) and MAIL FROM: (RFC 5321 4.1.1.2) with SIZE (RFC
// 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461):
// accepted and, apart from SIZE, only carried along; a final delivery has
// nothing to do with DSN parameters but must not refuse them.

#include "common/base/log.h"
#include "lmtp-deliver/session.h"

namespace tern::lmtp {

void Session::cmd_lhlo(const Command& c) {
  if (c.args.empty()) return reply(501, "5.5.4", "Syntax: LHLO hostname");
  reset_transaction();
  lhlo_ = std::string(c.args.substr(0, 255));
  std::string out = "250-" + settings_.myhostname + "\r\n";
  out += "250-PIPELINING\r\n";
  out += settings_.message_size_limit ? "250-SIZE " + std::to_string(settings_.message_size_limit) + "\r\n"
                                      : std::string("250-SIZE\r\n");
  out += "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n";
  evbuffer_add(bufferevent_get_output(bev_.get()), out.data(), out.size());
}

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

void Session::arg_error(mail::ArgFault why, bool sender) {
  switch (why) {
    case mail::ArgFault::kNonAscii:
      return reply(553, "5.6.7", std::string("Error: non-ASCII ") + (sender ? "sender" : "recipient") +
                                     " address needs SMTPUTF8");
    case mail::ArgFault::kParamUnknown: return reply(555, "5.5.4", "Error: unsupported parameter");
    case mail::ArgFault::kParamSyntax: return reply(501, "5.5.4", "Error: bad parameter syntax");
    case mail::ArgFault::kPathTooLong:
    case mail::ArgFault::kPathSyntax:
    case mail::ArgFault::kNone:
      return sender ? reply(501, "5.1.7", "Bad sender address syntax")
                    : reply(501, "5.1.3", "Bad recipient address syntax");
  }
}

void Session::cmd_mail(const Command& c) {
  if (lhlo_.empty()) return reply(503, "5.5.1", "Error: send LHLO first");
  if (mail_) return reply(503, "5.5.1", "Error: nested MAIL command");
  mail::ArgFault why = mail::ArgFault::kNone;
  auto args = mail::parse_mail_args(c.args, arg_options(), &why);
  if (!args) return arg_error(why, /*sender=*/true);
  if (args->params.size && settings_.message_size_limit && *args->params.size > settings_.message_size_limit)
    return reply(552, "5.3.4", "Message size exceeds fixed limit");
  mail_ = std::move(*args);
  reply(250, "2.1.0", "Ok");
}

}  // namespace tern::lmtp
