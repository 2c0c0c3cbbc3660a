#pragma once
// Writing IMAP responses (RFC 3501 7, 9): how a string goes on the wire, flag
// lists, and status responses.
//
// Strings: RFC 3501 4.3 lets the server choose between quoted and literal;
// quoted is used when the string is short and holds only 7-bit characters
// other than CR, LF and NUL (quoted-specials are escaped), a literal
// otherwise. An astring is written as an atom when every byte is an
// ASTRING-CHAR, it is not "NIL" (which would read as NIL) and it has no "["
// (which after BODY would read as a section, command.h).
//
// Status responses: "<tag> OK [CODE args] text" CRLF (RFC 3501 7.1). The
// text must not contain CR or LF; any such byte (and NUL) becomes a space, so
// a message from elsewhere (an errno string, a client's name) cannot break
// the framing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/imap/store_args.h"

namespace tern::imap {

// Quoted strings longer than this go as literals (they would be legal,
// but clients handle long quoted strings worse than literals).
inline constexpr size_t kMaxQuotedOut = 1024;

// Appends `s` as a string (quoted or literal, never an atom).
void append_string(std::string* out, std::string_view s);
// Appends an nstring: NIL when nullopt, else as append_string.
void append_nstring(std::string* out, std::optional<std::string_view> s);
// Appends an astring: atom when possible, else as append_string.
void append_astring(std::string* out, std::string_view s);
// Whether `s` can go as a quoted string.
bool quotable(std::string_view s);

// "(\Answered \Flagged \Deleted \Seen \Draft kw1 kw2)" with \Recent after the
// system flags when `recent`; system flags in that order (RFC 3501 2.3.2).
std::string format_flag_list(uint8_t system, const std::vector<std::string>& keywords, bool recent = false);
inline std::string format_flag_list(const FlagSet& flags, bool recent = false) {
  return format_flag_list(flags.system, flags.keywords, recent);
}

enum class Condition : uint8_t { kOk, kNo, kBad, kBye, kPreauth };
std::string_view condition_name(Condition c);  // "OK", "NO", ...

// "<tag> <COND> [<code>] <text>\r\n"; the code part only when non-empty
// (code holds the whole inside of the brackets: "APPENDUID 38505 3955").
std::string tagged(std::string_view tag, Condition c, std::string_view code, std::string_view text);
inline std::string tagged(std::string_view tag, Condition c, std::string_view text) {
  return tagged(tag, c, {}, text);
}
// "* <COND> [<code>] <text>\r\n".
std::string untagged(Condition c, std::string_view code, std::string_view text);
inline std::string untagged(Condition c, std::string_view text) { return untagged(c, {}, text); }
// A text safe for a status response (CR, LF, NUL -> space; at most 512
// bytes, so a long client-supplied text cannot make a huge line).
std::string sanitize_text(std::string_view text);

}  // namespace tern::imap
