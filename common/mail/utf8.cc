#include "common/mail/utf8.h"

namespace tern::mail {

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 3629 section 4 (the UTF8-octets grammar): the second byte's range
// depends on the first byte, which is what excludes overlongs (E0, F0),
// surrogates (ED) and code points past U+10FFFF (F4).
CodePoint decode_utf8(std::string_view s) {
  if (s.empty()) return {};
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
    if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {};  // C0, C1 (always overlong), F5..FF, or a continuation byte
  }
  if (s.size() < len) return {};
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return {};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, len};
}

size_t valid_utf8_prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const CodePoint cp = decode_utf8(s.substr(i));
    if (cp.length == 0) break;
    i += cp.length;
  }
  return i;
}

}  // namespace tern::mail
