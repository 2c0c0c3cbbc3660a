// Modified UTF-7 (mutf7.h).
//
// Strictness is obtained by construction: the decoder refuses what the
// encoder would never write (checked step by step, so errors name the
// problem), and the encoder closes a shifted run only when it has to.

#include "common/store/mutf7.h"

#include <cstdint>

#include "common/mail/utf8.h"

namespace tern::store {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool is_direct(char32_t c) { return c >= 0x20 && c <= 0x7e; }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Accumulates UTF-16 units and writes them as modified BASE64.
class Base64Writer {
 public:
  explicit Base64Writer(std::string& out) : out_(out) {}
  void unit(uint16_t u) {
    bits_ = (bits_ << 16) | u;
    nbits_ += 16;
    while (nbits_ >= 6) {
      nbits_ -= 6;
      out_ += kAlphabet[(bits_ >> nbits_) & 0x3F];
    }
  }
  void flush() {
    if (nbits_ > 0) out_ += kAlphabet[(bits_ << (6 - nbits_)) & 0x3F];
    bits_ = 0;
    nbits_ = 0;
  }

 private:
  std::string& out_;
  uint32_t bits_ = 0;
  int nbits_ = 0;
};

// Decodes the BASE64 run s (between "&" and "-") into code points appended
// to out as UTF-8.
Status decode_run(std::string_view s, std::string& out) {
  uint32_t bits = 0;
  int nbits = 0;
  char32_t high = 0;  // a pending high surrogate
  for (char c : s) {
    int v = base64_value(c);
    if (v < 0) return invalid("modified UTF-7: bad character in a shifted run");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits < 16) continue;
    nbits -= 16;
    const char32_t u = (bits >> nbits) & 0xFFFF;
    bits &= (1u << nbits) - 1;
    if (high != 0) {
      if (u < 0xDC00 || u > 0xDFFF) return invalid("modified UTF-7: unpaired high surrogate");
      append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00));
      high = 0;
    } else if (u >= 0xD800 && u <= 0xDBFF) {
      high = u;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return invalid("modified UTF-7: unpaired low surrogate");
    } else if (is_direct(u)) {
      return invalid("modified UTF-7: printable ASCII must not be shifted");
    } else if (u == 0) {
      return invalid("modified UTF-7: U+0000");
    } else {
      append_utf8(out, u);
    }
  }
  if (high != 0) return invalid("modified UTF-7: unpaired high surrogate");
  // The encoder pads the last character with zero bits only: fewer than 6
  // of them, and all zero (RFC 3501 5.1.3 via RFC 2152).
  if (nbits >= 6) return invalid("modified UTF-7: partial UTF-16 unit");
  if (bits != 0) return invalid("modified UTF-7: nonzero padding bits");
  return {};
}

}  // namespace

Result<std::string> mutf7_encode(std::string_view utf8) {
  if (utf8.size() > kMaxMutf7Input) return make_error(Errc::kLimit, "folder name too long");
  std::string out;
  out.reserve(utf8.size() + utf8.size() / 2);
  size_t i = 0;
  while (i < utf8.size()) {
    const char c = utf8[i];
    if (is_direct(static_cast<unsigned char>(c))) {
      out += c;
      if (c == '&') out += '-';
      ++i;
      continue;
    }
    out += '&';
    Base64Writer w(out);
    while (i < utf8.size() && !is_direct(static_cast<unsigned char>(utf8[i]))) {
      const mail::CodePoint cp = mail::decode_utf8(utf8.substr(i));
      if (cp.length == 0) return invalid("folder name is not valid UTF-8");
      if (cp.value == 0) return invalid("folder name contains NUL");
      if (cp.value >= 0x10000) {
        const char32_t v = cp.value - 0x10000;
        w.unit(static_cast<uint16_t>(0xD800 + (v >> 10)));
        w.unit(static_cast<uint16_t>(0xDC00 + (v & 0x3FF)));
      } else {
        w.unit(static_cast<uint16_t>(cp.value));
      }
      i += cp.length;
    }
    w.flush();
    out += '-';
  }
  return out;
}

Result<std::string> mutf7_decode(std::string_view s) {
  if (s.size() > kMaxMutf7Encoded) return make_error(Errc::kLimit, "folder name too long");
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  bool after_run = false;  // the previous token was a shifted run
  while (i < s.size()) {
    const char c = s[i];
    if (!is_direct(static_cast<unsigned char>(c))) return invalid("modified UTF-7: byte outside 0x20..0x7e");
    if (c != '&') {
      out += c;
      ++i;
      after_run = false;
      continue;
    }
    const size_t end = s.find('-', i + 1);
    if (end == std::string_view::npos) return invalid("modified UTF-7: unterminated shifted run");
    if (end == i + 1) {
      out += '&';
      after_run = false;
    } else {
      // Two runs back to back would be one run in the encoder's output.
      if (after_run) return invalid("modified UTF-7: adjacent shifted runs");
      if (Status st = decode_run(s.substr(i + 1, end - i - 1), out); !st) return st.take_error();
      after_run = true;
    }
    i = end + 1;
  }
  return out;
}

}  // namespace tern::store
