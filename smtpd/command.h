#pragma once
// One SMTP command line (RFC 5321 4.1.1): a verb, then its argument text.
// The line arrives without its CRLF; the line reader has already enforced
// the length limit (session.h).

#include <string_view>

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

enum class CommandError {
  kNone,
  kNul,            // a NUL byte: 500 5.5.2
  kEmpty,          // an empty line: 500 5.5.2
  kMissingFrom,    // MAIL without FROM: (501 5.5.4)
  kMissingTo,      // RCPT without TO: (501 5.5.4)
};

// Parses a command line. The view points into `line`.
Command parse_command(std::string_view line, CommandError* error);
std::string_view verb_name(Verb v);

}  // namespace tern::smtpd
