#include "lmtp-deliver/command.h"

#include "common/base/strings.h"
#include "common/mail/smtp_command.h"

namespace tern::lmtp {
namespace {

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"LHLO", Verb::kLhlo}, {"MAIL", Verb::kMail}, {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData},
    {"RSET", Verb::kRset}, {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit}, {"VRFY", Verb::kVrfy},
    {"HELP", Verb::kHelp},
};

}  // namespace

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

}  // namespace tern::lmtp
