#include "common/auth/base64.h"

#include <array>

namespace tern::auth {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_values() {
  std::array<int, 256> v{};
  for (auto& x : v) x = -1;
  for (int i = 0; i < 64; i++) v[static_cast<unsigned char>(kAlphabet[i])] = i;
  return v;
}
constexpr std::array<int, 256> kValues = make_values();

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text, size_t max_encoded) {
  if (text.size() > max_encoded) return make_error(Errc::kLimit, "base64 data too long");
  size_t end = text.size();
  size_t pad = 0;
  while (end > 0 && text[end - 1] == '=' && pad < 2) {
    end--;
    pad++;
  }
  if (pad > 0 && text.size() % 4 != 0) return invalid("bad base64 padding");
  if (end % 4 == 1) return invalid("bad base64 length");
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; i++) {
    int v = kValues[static_cast<unsigned char>(text[i])];
    if (v < 0) return invalid("invalid base64 character");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return invalid("non-canonical base64");
  return out;
}

}  // namespace tern::auth
