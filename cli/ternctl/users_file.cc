// The demo user's password (users_file.h).

#include "cli/ternctl/users_file.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>


namespace tern::ctl {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

Result<std::string> random_password(size_t length) {
  // 248 = 4 * 62: bytes at or above it are rejected so every character is
  // equally likely.
  constexpr unsigned kLimit = 248;
  std::string out;
  unsigned char buf[64];
  while (out.size() < length) {
    if (RAND_bytes(buf, sizeof buf) != 1) return invalid("RAND_bytes failed");
    for (unsigned char b : buf) {
      if (b >= kLimit || out.size() == length) continue;
      out.push_back(kAlphabet[b % kAlphabet.size()]);
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

}  // namespace tern::ctl
