#include "common/imap/response.h"

#include <algorithm>

#include "common/imap/command.h"

namespace tern::imap {

bool quotable(std::string_view s) {
  if (s.size() > kMaxQuotedOut) return false;
  // TEXT-CHAR: CHAR (7-bit, not NUL) except CR and LF (RFC 3501 9).
  return std::none_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u == 0 || u == '\r' || u == '\n' || u >= 0x80;
  });
}

void append_string(std::string* out, std::string_view s) {
  if (quotable(s)) {
    out->push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('"');
    return;
  }
  // A literal: "{n}" CRLF and the octets (RFC 3501 4.3). A NUL cannot go
  // in one (CHAR8 excludes it); callers give message data that the store
  // has already checked, so one here is sent as is rather than dropped
  // silently — the count stays right and the framing intact.
  out->push_back('{');
  out->append(std::to_string(s.size()));
  out->append("}\r\n");
  out->append(s);
}

void append_nstring(std::string* out, std::optional<std::string_view> s) {
  if (!s) {
    out->append("NIL");
    return;
  }
  append_string(out, *s);
}

void append_astring(std::string* out, std::string_view s) {
  // "[" stays out of atoms written by the server: the reader (and other
  // parsers) take "BODY[" as the start of a section, so "BODY[x" written
  // as an atom would not read back as itself.
  bool atom = !s.empty() && !ascii_iequal(s, "NIL") && s.find('[') == std::string_view::npos &&
              std::all_of(s.begin(), s.end(), [](char c) { return is_astring_char(static_cast<unsigned char>(c)); });
  if (atom) {
    out->append(s);
  } else {
    append_string(out, s);
  }
}

std::string format_flag_list(uint8_t system, const std::vector<std::string>& keywords, bool recent) {
  static constexpr store::SystemFlag kOrder[] = {store::kFlagAnswered, store::kFlagFlagged, store::kFlagDeleted,
                                                 store::kFlagSeen, store::kFlagDraft};
  std::string out = "(";
  auto add = [&out](std::string_view word) {
    if (out.size() > 1) out.push_back(' ');
    out.append(word);
  };
  for (store::SystemFlag f : kOrder) {
    if (system & f) add(store::system_flag_name(f));
  }
  if (recent) add("\\Recent");
  for (const std::string& k : keywords) add(k);
  out.push_back(')');
  return out;
}

std::string_view condition_name(Condition c) {
  switch (c) {
    case Condition::kOk: return "OK";
    case Condition::kNo: return "NO";
    case Condition::kBad: return "BAD";
    case Condition::kBye: return "BYE";
    case Condition::kPreauth: return "PREAUTH";
  }
  return "BAD";
}

std::string sanitize_text(std::string_view text) {
  constexpr size_t kMaxText = 512;
  std::string out(text.substr(0, kMaxText));
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

static std::string status_line(std::string_view tag, Condition c, std::string_view code, std::string_view text) {
  std::string out(tag);
  out.push_back(' ');
  out.append(condition_name(c));
  if (!code.empty()) {
    out.append(" [");
    out.append(sanitize_text(code));
    out.push_back(']');
  }
  // resp-text = ["[" resp-text-code "]" SP] text, and text is 1*TEXT-CHAR
  // (RFC 3501 9): never empty, so an empty one becomes the condition.
  std::string t = sanitize_text(text);
  out.push_back(' ');
  out.append(t.empty() ? std::string(condition_name(c)) : t);
  out.append("\r\n");
  return out;
}

std::string tagged(std::string_view tag, Condition c, std::string_view code, std::string_view text) {
  return status_line(tag, c, code, text);
}

std::string untagged(Condition c, std::string_view code, std::string_view text) {
  return status_line("*", c, code, text);
}

}  // namespace tern::imap
