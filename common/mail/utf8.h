#pragma once
// Strict UTF-8 validation (RFC 3629 section 4): no overlong forms, no UTF-16
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated
// sequences. Shared by the address parser (RFC 6531 3.3 allows UTF-8 only
// when SMTPUTF8 is in effect) and the header code (RFC 6532).

#include <cstddef>
#include <string_view>

namespace tern::mail {

// True when every byte is below 0x80.
bool is_ascii(std::string_view s);

// Length of the longest prefix of s that is well-formed UTF-8; equals
// s.size() when the whole string is valid.
size_t valid_utf8_prefix(std::string_view s);

inline bool is_valid_utf8(std::string_view s) { return valid_utf8_prefix(s) == s.size(); }

// Decodes one well-formed sequence at the start of s: the code point and its
// length in bytes, or length 0 when s does not start with one.
struct CodePoint {
  char32_t value = 0;
  size_t length = 0;
};
CodePoint decode_utf8(std::string_view s);

}  // namespace tern::mail
