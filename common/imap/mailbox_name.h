#pragma once
// Mailbox names on the wire (RFC 3501 5.1, 5.1.3, 9 "mailbox"):
//
//   mailbox = "INBOX" / astring
//
// INBOX is case-insensitive (5.1: "the case-insensitive name INBOX"), so any
// spelling of it is returned as "INBOX"; other names are case-sensitive. The
// wire form is modified UTF-7 (5.1.3) and is decoded strictly
// (common/store/mutf7.h) into UTF-8, the form the rest of Tern uses; a name
// that is not valid modified UTF-7 is refused (Errc::kInvalid: "NO", the
// command was well formed). Which names are allowed at all (hierarchy
// separator, "..", leading "~" or "#") is the mailbox list's to decide
// (common/store/mailbox_list.h); this only decodes.
//
// LIST and LSUB patterns (list-mailbox, with "*" and "%") decode the same
// way: the wildcards are printable ASCII and pass through modified UTF-7.
// Only the whole name INBOX is folded, not a pattern.

#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/imap/command.h"

namespace tern::imap {

// The UTF-8 name of a mailbox argument (an astring value). Errc::kInvalid
// when the value is not an astring (BAD) or not modified UTF-7 (NO).
Result<std::string> parse_mailbox(const Value& value);
// The same for a name already taken out of its value.
Result<std::string> decode_mailbox(std::string_view wire);
// A LIST/LSUB pattern (an astring or, as list-mailbox allows, an atom with
// wildcards — both are atoms here), decoded to UTF-8 without INBOX folding.
Result<std::string> parse_list_pattern(const Value& value);
// UTF-8 name -> wire form (modified UTF-7), quoted or literal as needed,
// ready to append to a response ("INBOX", "\"Sent Items\"", "&AOk-t&AOk-").
std::string format_mailbox(std::string_view utf8_name);

}  // namespace tern::imap
