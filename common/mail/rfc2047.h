#pragma once
// RFC 2047 encoded words ("=?charset?B?...?=", "=?charset?Q?...?="), decoded
// to UTF-8 for IMAP SEARCH, and for nothing else: ENVELOPE, BODYSTRUCTURE
// and BODY[...] give the header text as it is (RFC 3501 7.4.2).
//
// Decisions (as Dovecot's message_header_decode, leniently):
//   - An encoded word is taken wherever it appears, also inside a quoted
//     string or glued to other text; RFC 2231's "charset*language" is
//     accepted and the language dropped.
//   - White space between two encoded words is dropped (RFC 2047 6.2), and
//     adjacent words in one charset are decoded together, so a multibyte
//     character split across words comes out whole.
//   - An unknown charset, an unknown encoding or a malformed word keeps the
//     raw text; undecodable bytes become U+FFFD (charset.h).
//   - Text outside encoded words is kept as it is; callers unfold first.

#include <string>
#include <string_view>

namespace tern::mail {

std::string decode_rfc2047(std::string_view text);

}  // namespace tern::mail
