#include "common/mail/smtp_command.h"

#include "common/base/strings.h"

namespace tern::mail {

namespace {

bool strip_path_keyword(std::string_view* args, std::string_view keyword) {
  if (!starts_with_nocase(*args, keyword)) return false;
  args->remove_prefix(keyword.size());
  while (!args->empty() && args->front() == ' ') args->remove_prefix(1);
  return true;
}

}  // namespace

CommandLine parse_command_line(std::string_view line, CommandLineError* error) {
  *error = CommandLineError::kNone;
  CommandLine cmd;
  if (line.find('\0') != std::string_view::npos) {
    *error = CommandLineError::kNul;
    return cmd;
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  if (line.empty()) {
    *error = CommandLineError::kEmpty;
    return cmd;
  }
  size_t sp = line.find(' ');
  cmd.word = line.substr(0, sp);
  cmd.args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  if (equals_nocase(cmd.word, "MAIL") && !strip_path_keyword(&cmd.args, "FROM:")) *error = CommandLineError::kMissingFrom;
  if (equals_nocase(cmd.word, "RCPT") && !strip_path_keyword(&cmd.args, "TO:")) *error = CommandLineError::kMissingTo;
  return cmd;
}

}  // namespace tern::mail
