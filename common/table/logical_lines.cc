// Postfix-style logical lines (backends.h), shared by every text format:
// texthash and lmdb sources, aliases and regexp tables.

#include <cctype>

#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table::detail {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Result<std::vector<LogicalLine>> logical_lines(std::string_view text, const std::string& filename) {
  std::vector<LogicalLine> out;
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    // A NUL would silently cut a key or a pattern short in the C libraries.
    if (raw.find('\0') != std::string_view::npos) return at_line(filename, lineno, "NUL byte in line");
    std::string_view body = trim(raw);
    if (body.empty() || body.front() == '#') continue;
    if (is_blank(raw.front())) {
      // Postfix only warns here; a table that routes mail should not guess.
      if (out.empty()) return at_line(filename, lineno, "continuation line (starts with white space) without an entry before it");
      out.back().text += ' ';
      out.back().text += body;
      continue;
    }
    out.push_back(LogicalLine{std::string(body), lineno});
  }
  return out;
}

}  // namespace tern::table::detail
