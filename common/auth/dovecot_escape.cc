#include "common/auth/dovecot_escape.h"

namespace tern::auth {

std::string tab_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    char code = 0;
    switch (c) {
      case '\0': code = '0'; break;
      case '\001': code = '1'; break;
      case '\t': code = 't'; break;
      case '\r': code = 'r'; break;
      case '\n': code = 'n'; break;
      default: out.push_back(c); continue;
    }
    out.push_back('\001');
    out.push_back(code);
  }
  return out;
}

std::string tab_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\001') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) break;
    switch (s[i]) {
      case '0': out.push_back('\0'); break;
      case '1': out.push_back('\001'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'n': out.push_back('\n'); break;
      default: out.push_back(s[i]); break;
    }
  }
  return out;
}

Result<std::vector<std::string>> split_tab_escaped(std::string_view line, size_t max_fields) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    if (fields.size() == max_fields) return make_error(Errc::kLimit, "too many fields");
    size_t tab = line.find('\t', start);
    std::string_view f = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    fields.push_back(tab_unescape(f));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return fields;
}

}  // namespace tern::auth
