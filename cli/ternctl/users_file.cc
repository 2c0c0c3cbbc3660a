// Password generation and hashing for the demo user (users_file.h).

#include "cli/ternctl/users_file.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

namespace tern::ctl {
namespace {

constexpr uint32_t kTimeCost = 3;
constexpr uint32_t kMemoryKiB = 64 * 1024;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltLen = 16;
constexpr size_t kHashLen = 32;

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

Result<std::string> hash_argon2id(const std::string& password) {
  unsigned char salt[kSaltLen];
  if (RAND_bytes(salt, sizeof salt) != 1) return invalid("RAND_bytes failed");
  size_t len = argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
  std::vector<char> encoded(len);
  int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(), salt,
                                 sizeof salt, kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return invalid(std::string("argon2id: ") + argon2_error_message(rc));
  return "{ARGON2ID}" + std::string(encoded.data());
}

std::string format_users_line(const UserEntry& e) {
  // user:password:uid:gid:(gecos):home:(shell):extra_fields
  return e.address + ":" + e.hash + ":" + std::to_string(e.uid) + ":" + std::to_string(e.gid) + "::" + e.home +
         "::\n";
}

}  // namespace tern::ctl
