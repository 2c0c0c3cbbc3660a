#pragma once
// One LMTP command line (RFC 2033 4.1 over RFC 5321 4.1.1): a verb, then its
// argument text. The line arrives without its CRLF; the session's line
// reader has already enforced line_length_limit.
//
// LMTP has LHLO where SMTP has HELO and EHLO; RFC 2033 4.1 forbids a server
// in LMTP mode to accept those two, so they are unknown commands here.

#include <string_view>

#include "common/mail/smtp_command.h"

namespace tern::lmtp {

enum class Verb { kLhlo, kMail, kRcpt, kData, kRset, kNoop, kQuit, kVrfy, kHelp, kUnknown };

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view word;  // the verb as the client wrote it
  std::string_view args;  // after the verb and one space; for MAIL/RCPT after "FROM:"/"TO:"
};

// kNul, kEmpty: 500 5.5.2; kMissingFrom, kMissingTo: 501 5.5.4.
using CommandError = mail::CommandLineError;

// Parses a command line. The views point into `line`.
Command parse_command(std::string_view line, CommandError* error);

}  // namespace tern::lmtp
