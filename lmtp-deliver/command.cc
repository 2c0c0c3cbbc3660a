#include "lmtp-deliver/command.h"

#include "common/base/strings.h"

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

// "FROM:" / "TO:"; a space after the colon is tolerated (as smtpd does),
// since real clients send it.
bool strip_keyword(std::string_view* args, std::string_view keyword) {
  if (!starts_with_nocase(*args, keyword)) return false;
  args->remove_prefix(keyword.size());
  while (!args->empty() && args->front() == ' ') args->remove_prefix(1);
  return true;
}

}  // namespace

Command parse_command(std::string_view line, CommandError* error) {
  *error = CommandError::kNone;
  Command cmd;
  if (line.find('\0') != std::string_view::npos) {
    *error = CommandError::kNul;
    return cmd;
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  if (line.empty()) {
    *error = CommandError::kEmpty;
    return cmd;
  }
  size_t sp = line.find(' ');
  cmd.word = line.substr(0, sp);
  cmd.args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  for (auto& vn : kVerbs) {
    if (equals_nocase(cmd.word, vn.name)) {
      cmd.verb = vn.verb;
      break;
    }
  }
  if (cmd.verb == Verb::kMail && !strip_keyword(&cmd.args, "FROM:")) *error = CommandError::kMissingFrom;
  if (cmd.verb == Verb::kRcpt && !strip_keyword(&cmd.args, "TO:")) *error = CommandError::kMissingTo;
  return cmd;
}

}  // namespace tern::lmtp
