#pragma once
// TEMPORARY: string output for envelope.cc and bodystructure.cc until
// improto's common/imap/response.h (append_string / append_nstring) is on
// main; then these go.

#include <optional>
#include <string>
#include <string_view>

namespace tern::imap::detail {

inline void put_string(std::string* out, std::string_view s) {
  bool quotable = s.size() <= 1024;
  for (unsigned char c : s)
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) quotable = false;
  if (!quotable) {
    *out += "{" + std::to_string(s.size()) + "}\r\n";
    out->append(s);
    return;
  }
  *out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') *out += '\\';
    *out += c;
  }
  *out += '"';
}

inline void put_nstring(std::string* out, std::optional<std::string_view> s) {
  if (!s) {
    *out += "NIL";
    return;
  }
  put_string(out, *s);
}

}  // namespace tern::imap::detail
