#include "smtpd/command.h"

#include "common/base/strings.h"
#include "common/mail/smtp_command.h"

namespace tern::smtpd {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"HELO", Verb::kHelo}, {"EHLO", Verb::kEhlo}, {"MAIL", Verb::kMail}, {"RCPT", Verb::kRcpt},
    {"DATA", Verb::kData}, {"BDAT", Verb::kBdat}, {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop},
    {"QUIT", Verb::kQuit}, {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn}, {"HELP", Verb::kHelp},
    {"STARTTLS", Verb::kStarttls}, {"AUTH", Verb::kAuth},
};

}  // namespace

std::string_view verb_name(Verb v) {
  for (auto& vn : kVerbs)
    if (vn.verb == v) return vn.name;
  return "unknown";
}

Command parse_command(std::string_view line, CommandError* error) {
  mail::CommandLine parts = mail::parse_command_line(line, error);
  Command cmd;
  cmd.word = parts.word;
  cmd.args = parts.args;
  for (auto& vn : kVerbs) {
    if (equals_nocase(cmd.word, vn.name)) {
      cmd.verb = vn.verb;
      break;
    }
  }
  return cmd;
}

}  // namespace tern::smtpd
