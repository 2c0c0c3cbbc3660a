#pragma once
// Content-Transfer-Encoding decoders (RFC 2045 6.7 quoted-printable, 6.8
// base64) and the RFC 2047 4.2 "Q" variant, for reading message text (IMAP
// SEARCH BODY/TEXT). Lenient as readers must be (RFC 2045 6.8: characters
// outside the alphabet are ignored; 6.7 note (2): a malformed "=" sequence
// is kept as it is). Output is never longer than the input; the caller
// bounds the input.

#include <string>
#include <string_view>

namespace tern::mail {

// Characters outside the base64 alphabet are skipped; decoding stops at
// "=" padding; a trailing partial group gives what it holds.
std::string decode_base64_lenient(std::string_view text);

// RFC 2045 6.7: "=XX" hex (either case), soft line breaks "=" CRLF (or LF,
// with trailing white space before it) removed; anything else kept.
std::string decode_quoted_printable(std::string_view text);

// RFC 2047 4.2: quoted-printable where "_" is a space, with no line breaks.
std::string decode_q(std::string_view text);

// Decodes a body by its Content-Transfer-Encoding value (any case; unknown
// encodings, 7bit, 8bit and binary leave it as it is).
std::string decode_transfer_encoding(std::string_view body, std::string_view encoding);

}  // namespace tern::mail
