#pragma once
// Dovecot's escaping for its own line protocols (auth client, auth-master):
// fields are separated by TAB and a line ends at LF, so inside a field
//   NUL -> \001 '0'   \001 -> \001 '1'   TAB -> \001 't'
//   CR  -> \001 'r'   LF   -> \001 'n'
// (\001 is the byte 0x01, not a backslash). Unescaping maps \001 followed by
// any other byte to that byte, as Dovecot's str_tabunescape does; a lone
// \001 at the end is dropped. Tern's own protocols use %-escaping instead
// (common/ipc/escape.h): this one exists only to speak Dovecot byte for byte.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace tern::auth {

std::string tab_escape(std::string_view s);
std::string tab_unescape(std::string_view s);
// Splits a line (without its LF) on TAB and unescapes every field; more
// than max_fields fields is Errc::kLimit. An empty line is one empty field.
Result<std::vector<std::string>> split_tab_escaped(std::string_view line, size_t max_fields);

}  // namespace tern::auth
