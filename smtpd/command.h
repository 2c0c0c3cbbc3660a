#pragma once
// One SMTP command line (RFC 5321 4.1.1): a verb, then its argument text.
// The line arrives without its CRLF; the line reader has already enforced
// the length limit (session.h).

#include <string_view>

#include "common/mail/smtp_command.h"

namespace tern::smtpd {

enum class Verb {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kVrfy, kExpn, kHelp, kStarttls, kAuth,
  kUnknown,
};

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view word;  // the verb as the client wrote it
  std::string_view args;  // after the verb and one space; for MAIL/RCPT after "FROM:"/"TO:"
};

// kNul, kEmpty: 500 5.5.2; kMissingFrom, kMissingTo: 501 5.5.4.
using CommandError = mail::CommandLineError;

// Parses a command line. The view points into `line`.
Command parse_command(std::string_view line, CommandError* error);
std::string_view verb_name(Verb v);

}  // namespace tern::smtpd
