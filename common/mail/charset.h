#pragma once
// Text in a declared charset, to UTF-8, through glibc's iconv. For IMAP
// SEARCH (RFC 3501 6.4.4: matching is done on the text, whatever its
// charset) and RFC 2231 parameter values; nothing on the delivery path
// converts anything.
//
// Decisions:
//   - "us-ascii" and "utf-8" (any case) need no iconv: bytes are kept as
//     they are (an 8-bit byte in us-ascii text is what the sender wrote).
//   - Charset names from messages are hostile: only [A-Za-z0-9._:+-], at
//     most 64 bytes, no "//" suffix tricks, reach iconv_open.
//   - An unknown charset gives nullopt: callers keep the raw bytes.
//   - Bytes the charset cannot decode become U+FFFD and decoding goes on.
//   - Output is bounded by max_out bytes (silently cut at a character).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tern::mail {

std::optional<std::string> convert_to_utf8(std::string_view bytes, std::string_view charset,
                                           size_t max_out = size_t{64} << 20);

// True when convert_to_utf8 would accept the charset name.
bool charset_known(std::string_view charset);

}  // namespace tern::mail
