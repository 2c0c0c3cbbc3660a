// The /etc/aliases format, as postalias(1) and sendmail read it:
//
//   # comment
//   postmaster: root
//   root:       alice, "|/usr/bin/logger -t root, mail",
//               /var/log/root.mbox
//   "odd name": bob
//
// The name ends at the first ':' outside double quotes; a quoted name is
// unquoted. Names are folded to lower case. The value is a comma-separated
// list; commas inside double quotes do not separate (a backslash escapes the
// next character inside quotes). Items are kept verbatim, quotes included, and
// stored joined as "a, b, c", so split_alias_list() recovers them exactly.

#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Splits on commas outside quotes. Returns false on an unterminated quote
// (the last item then holds the rest of the text).
bool split_items(std::string_view s, std::vector<std::string_view>* items) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      if (auto item = trim(s.substr(start, i - start)); !item.empty()) items->push_back(item);
      start = i + 1;
    }
  }
  if (auto item = trim(s.substr(start)); !item.empty()) items->push_back(item);
  return !quoted;
}

// The text of a quoted string starting at s[0] == '"'; *end is set past the
// closing quote. nullopt when it is not terminated.
std::optional<std::string> unquote(std::string_view s, size_t* end) {
  std::string out;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else if (s[i] == '"') {
      *end = i + 1;
      return out;
    } else {
      out += s[i];
    }
  }
  return std::nullopt;
}

// The name and the text after its ':' of one logical line.
Result<std::pair<std::string, std::string_view>> split_name(std::string_view body, const std::string& filename,
                                                            int line) {
  std::string name;
  std::string_view rest;
  if (body.front() == '"') {
    size_t end = 0;
    auto q = unquote(body, &end);
    if (!q) return detail::at_line(filename, line, "unterminated quoted alias name");
    name = std::move(*q);
    rest = trim(body.substr(end));
    if (rest.empty() || rest.front() != ':') return detail::at_line(filename, line, "expected ':' after the alias name");
    rest.remove_prefix(1);
  } else {
    size_t colon = body.find(':');
    if (colon == std::string_view::npos) return detail::at_line(filename, line, "expected format: name: value, ...");
    std::string_view n = trim(body.substr(0, colon));
    for (char c : n)
      if (is_blank(c)) return detail::at_line(filename, line, "white space in alias name (quote the name)");
    name = std::string(n);
    rest = body.substr(colon + 1);
  }
  if (name.empty()) return detail::at_line(filename, line, "missing alias name before ':'");
  if (name.size() > kMaxKeyLength)
    return detail::at_line(filename, line, "alias name longer than " + std::to_string(kMaxKeyLength) + " bytes");
  return std::pair{to_lower(name), rest};
}

}  // namespace

Result<std::vector<Entry>> parse_aliases(std::string_view text, const std::string& filename) {
  return parse_aliases(text, filename, nullptr);
}

Result<std::vector<Entry>> parse_aliases(std::string_view text, const std::string& filename,
                                         std::vector<std::string>* warnings) {
  auto lines = detail::logical_lines(text, filename);
  if (!lines) return lines.take_error();
  std::vector<Entry> entries;
  entries.reserve(lines->size());
  for (const auto& ll : *lines) {
    auto split = split_name(ll.text, filename, ll.line);
    if (!split) return split.take_error();
    auto& [name, rest] = *split;
    std::vector<std::string_view> items;
    if (!split_items(rest, &items)) return detail::at_line(filename, ll.line, "unterminated quoted string");
    if (items.empty()) return detail::at_line(filename, ll.line, "no value for alias \"" + name + "\"");
    std::string value;
    for (auto item : items) {
      if (!value.empty()) value += ", ";
      value += item;
    }
    entries.push_back(Entry{std::move(name), std::move(value), ll.line});
  }
  return detail::drop_duplicates(std::move(entries), filename, warnings);
}

std::vector<std::string> split_alias_list(std::string_view value) {
  std::vector<std::string_view> items;
  (void)split_items(value, &items);  // an unterminated quote keeps the rest as one item
  std::vector<std::string> out;
  out.reserve(items.size());
  for (auto item : items) {
    size_t end = 0;
    if (item.front() == '"') {
      if (auto q = unquote(item, &end); q && end == item.size()) {
        out.push_back(std::move(*q));
        continue;
      }
    }
    out.emplace_back(item);
  }
  return out;
}

}  // namespace tern::table
