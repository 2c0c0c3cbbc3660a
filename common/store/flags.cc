// Message flags in Maildir file names (flags.h).

#include "common/store/flags.h"

#include <algorithm>

#include "common/base/strings.h"

namespace tern::store {
namespace {

constexpr std::string_view kInfo = ":2,";

struct Letter {
  char c;
  SystemFlag flag;
  std::string_view name;
};
// In ASCII order, as format_flags() writes them.
constexpr Letter kLetters[] = {
    {'D', kFlagDraft, "\\Draft"},   {'F', kFlagFlagged, "\\Flagged"}, {'R', kFlagAnswered, "\\Answered"},
    {'S', kFlagSeen, "\\Seen"},     {'T', kFlagDeleted, "\\Deleted"},
};

}  // namespace

MessageFlags parse_flags(std::string_view suffix) {
  MessageFlags f;
  size_t comma = suffix.find(',');
  if (comma != std::string_view::npos) {
    f.extension = std::string(suffix.substr(comma));
    suffix = suffix.substr(0, comma);
  }
  for (char c : suffix) {
    if (c >= 'a' && c <= 'z') {
      f.keywords |= 1u << (c - 'a');
      continue;
    }
    auto known = std::find_if(std::begin(kLetters), std::end(kLetters), [c](const Letter& l) { return l.c == c; });
    if (known != std::end(kLetters)) {
      f.system |= known->flag;
    } else if (f.other.find(c) == std::string::npos) {
      f.other += c;
    }
  }
  std::sort(f.other.begin(), f.other.end());
  return f;
}

std::string format_flags(const MessageFlags& f) {
  // Merge the three sets in ASCII order: `other` may hold characters below
  // 'D', between the system letters, between 'Z' and 'a', or above 'z'.
  std::string letters = f.other;
  for (const Letter& l : kLetters)
    if (f.system & l.flag) letters += l.c;
  for (size_t i = 0; i < kMaxKeywordLetters; ++i)
    if (f.has_keyword(i)) letters += static_cast<char>('a' + i);
  std::sort(letters.begin(), letters.end());
  letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
  return letters + f.extension;
}

MessageFlags flags_of_name(std::string_view file_name) {
  size_t at = file_name.find(kInfo);
  if (at == std::string_view::npos) return {};
  return parse_flags(file_name.substr(at + kInfo.size()));
}

std::string name_with_flags(std::string_view file_name, const MessageFlags& flags) {
  size_t at = file_name.find(kInfo);
  std::string_view base = at == std::string_view::npos ? file_name : file_name.substr(0, at);
  return std::string(base) + std::string(kInfo) + format_flags(flags);
}

MessageFlags apply_flags(const MessageFlags& current, FlagOp op, uint8_t system, uint32_t keywords) {
  MessageFlags f = current;
  system &= kAllSystemFlags;
  keywords &= (1u << kMaxKeywordLetters) - 1;
  switch (op) {
    case FlagOp::kReplace:
      f.system = system;
      f.keywords = keywords;
      break;
    case FlagOp::kAdd:
      f.system |= system;
      f.keywords |= keywords;
      break;
    case FlagOp::kRemove:
      f.system &= static_cast<uint8_t>(~system);
      f.keywords &= ~keywords;
      break;
  }
  return f;
}

std::string_view system_flag_name(SystemFlag flag) {
  for (const Letter& l : kLetters)
    if (l.flag == flag) return l.name;
  return {};
}

uint8_t system_flag_from_name(std::string_view name) {
  for (const Letter& l : kLetters)
    if (equals_nocase(name, l.name)) return l.flag;
  return 0;
}

}  // namespace tern::store
