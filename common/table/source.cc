// The "key value" source format of texthash and lmdb tables, as postmap(1)
// reads it: the key is the first word, folded to lower case; the value is the
// rest of the logical line with white space trimmed. A key without a value is
// an error (Postfix warns and skips it; a silently missing route is worse).

#include <unordered_map>

#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table {
namespace detail {

std::vector<Entry> drop_duplicates(std::vector<Entry> entries, const std::string& filename,
                                   std::vector<std::string>* warnings) {
  std::unordered_map<std::string, int> first_line;
  std::vector<Entry> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    auto [it, inserted] = first_line.emplace(e.key, e.line);
    if (!inserted) {
      if (warnings)
        warnings->push_back(filename + ":" + std::to_string(e.line) + ": duplicate entry \"" + e.key +
                            "\" ignored (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace detail

Result<std::vector<Entry>> parse_source(std::string_view text, const std::string& filename) {
  return parse_source(text, filename, nullptr);
}

Result<std::vector<Entry>> parse_source(std::string_view text, const std::string& filename,
                                        std::vector<std::string>* warnings) {
  auto lines = detail::logical_lines(text, filename);
  if (!lines) return lines.take_error();
  std::vector<Entry> entries;
  entries.reserve(lines->size());
  for (const auto& ll : *lines) {
    std::string_view body = ll.text;
    size_t ws = body.find_first_of(" \t");
    if (ws == std::string_view::npos)
      return detail::at_line(filename, ll.line, "expected format: key whitespace value");
    std::string_view key = body.substr(0, ws);
    if (key.size() > kMaxKeyLength)
      return detail::at_line(filename, ll.line, "key longer than " + std::to_string(kMaxKeyLength) + " bytes");
    entries.push_back(Entry{to_lower(key), std::string(trim(body.substr(ws))), ll.line});
  }
  return detail::drop_duplicates(std::move(entries), filename, warnings);
}

}  // namespace tern::table
