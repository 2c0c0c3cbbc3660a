#include "common/imap/command.h"

#include <algorithm>

namespace tern::imap {

bool Value::is_astring() const {
  switch (kind) {
    case ValueKind::kAtom:
    case ValueKind::kNil:
    case ValueKind::kQuoted:
      return true;
    case ValueKind::kLiteral:
      return !streamed;
    case ValueKind::kList:
      return false;
  }
  return false;
}

std::optional<std::string_view> Value::as_astring() const {
  if (!is_astring()) return std::nullopt;
  return std::string_view(text);
}

std::optional<std::string_view> Value::as_string() const {
  if (kind == ValueKind::kQuoted || (kind == ValueKind::kLiteral && !streamed)) return std::string_view(text);
  return std::nullopt;
}

bool Value::is_atom(std::string_view word) const {
  return kind == ValueKind::kAtom && ascii_iequal(text, word);
}

Value Value::atom(std::string text) {
  Value v;
  v.kind = ValueKind::kAtom;
  v.text = std::move(text);
  return v;
}

Value Value::quoted(std::string text) {
  Value v;
  v.kind = ValueKind::kQuoted;
  v.text = std::move(text);
  return v;
}

Value Value::literal(std::string text) {
  Value v;
  v.kind = ValueKind::kLiteral;
  v.literal_size = text.size();
  v.text = std::move(text);
  return v;
}

Value Value::nil(std::string spelled) {
  Value v;
  v.kind = ValueKind::kNil;
  v.text = std::move(spelled);
  return v;
}

Value Value::list_of(std::vector<Value> members) {
  Value v;
  v.kind = ValueKind::kList;
  v.list = std::move(members);
  return v;
}

void ascii_upper(std::string* s) {
  for (char& c : *s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
}

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  ascii_upper(&out);
  return out;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_atom_char(unsigned char c) {
  // atom-specials: "(" ")" "{" SP CTL list-wildcards ("%" "*")
  // quoted-specials (DQUOTE "\") resp-specials ("]"). CHAR excludes NUL and
  // 8-bit; CTL is 0x00..0x1f and 0x7f.
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

bool is_astring_char(unsigned char c) { return is_atom_char(c) || c == ']'; }

bool valid_tag(std::string_view tag) {
  if (tag.empty()) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return c != '+' && is_astring_char(static_cast<unsigned char>(c)); });
}

static void describe_value(const Value& v, std::string* out) {
  constexpr size_t kShown = 64;
  switch (v.kind) {
    case ValueKind::kAtom:
    case ValueKind::kNil:
      out->append(v.text.substr(0, kShown));
      if (v.text.size() > kShown) out->append("...");
      return;
    case ValueKind::kQuoted:
      out->push_back('"');
      for (char c : v.text.substr(0, kShown)) {
        unsigned char u = static_cast<unsigned char>(c);
        out->push_back(u < 0x20 || u >= 0x7f || c == '"' || c == '\\' ? '?' : c);
      }
      if (v.text.size() > kShown) out->append("...");
      out->push_back('"');
      return;
    case ValueKind::kLiteral:
      out->append("{" + std::to_string(v.literal_size) + "}");
      return;
    case ValueKind::kList:
      out->push_back('(');
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i) out->push_back(' ');
        describe_value(v.list[i], out);
      }
      out->push_back(')');
      return;
  }
}

std::string describe(const Command& command) {
  std::string out = command.tag;
  out.push_back(' ');
  if (command.uid) out.append("UID ");
  out.append(command.name);
  for (const Value& v : command.args) {
    out.push_back(' ');
    describe_value(v, &out);
  }
  return out;
}

}  // namespace tern::imap
