#pragma once
// The shape every SMTP and LMTP command line shares (RFC 5321 4.1.1): a
// verb, one space, the argument text; MAIL and RCPT put "FROM:" / "TO:"
// before the path. smtpd and lmtp-deliver each map the verb to their own
// command set (smtpd/command.h, lmtp-deliver/command.h).
//
// The line arrives without its CRLF; the line reader has already enforced
// line_length_limit (common/event/line_reader.h).

#include <string_view>

namespace tern::mail {

enum class CommandLineError {
  kNone,
  kNul,          // a NUL byte anywhere: 500 5.5.2
  kEmpty,        // nothing but white space: 500 5.5.2
  kMissingFrom,  // MAIL without FROM: (501 5.5.4)
  kMissingTo,    // RCPT without TO: (501 5.5.4)
};

struct CommandLine {
  std::string_view word;  // the verb as the client wrote it
  std::string_view args;  // after the verb and one space ("" when none)
};

// Trailing spaces and tabs are ignored. For MAIL and RCPT (any case) the
// args start after "FROM:" / "TO:" and the spaces after it: RFC 5321 has
// none, but like Postfix (smtpd_strict_rfc821_envelope = no) a space after
// the colon is tolerated, since real clients send it. The views point into
// `line`.
CommandLine parse_command_line(std::string_view line, CommandLineError* error);

}  // namespace tern::mail
