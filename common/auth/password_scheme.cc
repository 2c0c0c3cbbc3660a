#include "common/auth/password_scheme.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "common/base/strings.h"

namespace tern::auth {
namespace {

constexpr uint32_t kTimeCost = 3;
constexpr uint32_t kMemoryKiB = 64 * 1024;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltLen = 16;
constexpr size_t kHashLen = 32;

struct SchemeName {
  const char* name;
  Scheme scheme;
};
constexpr SchemeName kSchemes[] = {
    {"ARGON2ID", Scheme::kArgon2id}, {"SHA512-CRYPT", Scheme::kSha512Crypt}, {"BLF-CRYPT", Scheme::kBlfCrypt},
    {"YESCRYPT", Scheme::kYescrypt}, {"CRYPT", Scheme::kCrypt},              {"PLAIN", Scheme::kPlain},
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_blowfish(std::string_view h) {
  return starts_with(h, "$2a$") || starts_with(h, "$2b$") || starts_with(h, "$2y$");
}

// Does the hash have the form its scheme names? (Catches a hash pasted under
// the wrong prefix at load time, not at the first login.)
bool form_matches(Scheme s, std::string_view h) {
  switch (s) {
    case Scheme::kArgon2id: return starts_with(h, "$argon2id$");
    case Scheme::kSha512Crypt: return starts_with(h, "$6$");
    case Scheme::kBlfCrypt: return is_blowfish(h);
    case Scheme::kYescrypt: return starts_with(h, "$y$");
    case Scheme::kCrypt: return starts_with(h, "$6$") || is_blowfish(h) || starts_with(h, "$y$");
    case Scheme::kPlain: return true;
  }
  return false;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<bool> verify_crypt(const std::string& hash, std::string_view plain) {
  // crypt(3) takes C strings: a password with a NUL cannot match.
  if (plain.find('\0') != std::string_view::npos) return false;
  std::string phrase(plain);
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (out == nullptr || out[0] == '*') {
    OPENSSL_cleanse(data.get(), sizeof *data);
    return invalid("crypt(3) cannot check this hash (unknown method or damaged)");
  }
  bool ok = equal_constant_time(out, hash);
  OPENSSL_cleanse(data.get(), sizeof *data);
  return ok;
}

Result<std::string> hash_crypt(const char* prefix, unsigned long cost, std::string_view plain) {
  if (plain.find('\0') != std::string_view::npos) return invalid("a password with a NUL byte cannot be hashed with crypt(3)");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // nullptr random bytes: libxcrypt draws the salt from the OS (getrandom).
  if (crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting) == nullptr)
    return sys_error(std::string("crypt_gensalt ") + prefix);
  std::string phrase(plain);
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(phrase.c_str(), setting, data.get(), sizeof *data);
  OPENSSL_cleanse(phrase.data(), phrase.size());
  std::string hash = out && out[0] != '*' ? out : "";
  OPENSSL_cleanse(data.get(), sizeof *data);
  if (hash.empty()) return invalid(std::string("crypt(3) cannot hash with method ") + prefix);
  return hash;
}

}  // namespace

Result<Scheme> scheme_from_name(std::string_view name) {
  for (const auto& n : kSchemes)
    if (equals_nocase(name, n.name)) return n.scheme;
  return invalid("unsupported password scheme " + std::string(name));
}

Result<std::string> hash_password(Scheme scheme, std::string_view plain) {
  const char* prefix = nullptr;
  unsigned long cost = 0;
  switch (scheme) {
    case Scheme::kArgon2id: return hash_argon2id(plain);
    case Scheme::kSha512Crypt: prefix = "$6$"; break;
    case Scheme::kBlfCrypt: prefix = "$2b$"; cost = kBlfCost; break;
    case Scheme::kYescrypt: prefix = "$y$"; break;
    case Scheme::kCrypt:
    case Scheme::kPlain:
      return invalid(std::string("new passwords are not stored in ") + scheme_name(scheme) +
                     ": use ARGON2ID, SHA512-CRYPT, BLF-CRYPT or YESCRYPT");
  }
  auto h = hash_crypt(prefix, cost, plain);
  if (!h) return h.take_error();
  return "{" + std::string(scheme_name(scheme)) + "}" + *h;
}

const char* scheme_name(Scheme s) {
  for (const auto& n : kSchemes)
    if (n.scheme == s) return n.name;
  return "?";
}

Result<StoredPassword> parse_stored_password(std::string_view field) {
  StoredPassword p;
  if (!field.empty() && field[0] == '{') {
    size_t close = field.find('}');
    if (close == std::string_view::npos) return invalid("password scheme prefix without '}'");
    std::string_view name = field.substr(1, close - 1);
    auto scheme = scheme_from_name(name);
    if (!scheme) return invalid("unsupported password scheme {" + std::string(name) + "}");
    p.scheme = *scheme;
    field.remove_prefix(close + 1);
  }
  if (field.empty()) return invalid("empty password hash");
  if (!form_matches(p.scheme, field))
    return invalid(std::string("password hash does not have the form of ") + scheme_name(p.scheme));
  p.hash = std::string(field);
  return p;
}

Result<bool> verify_password(const StoredPassword& stored, std::string_view plain) {
  switch (stored.scheme) {
    case Scheme::kArgon2id: {
      // argon2id_verify recomputes the hash with the encoded parameters and
      // compares in constant time.
      int rc = argon2id_verify(stored.hash.c_str(), plain.data(), plain.size());
      if (rc == ARGON2_OK) return true;
      if (rc == ARGON2_VERIFY_MISMATCH) return false;
      return invalid(std::string("argon2id: ") + argon2_error_message(rc));
    }
    case Scheme::kPlain:
      return equal_constant_time(stored.hash, plain);
    case Scheme::kSha512Crypt:
    case Scheme::kBlfCrypt:
    case Scheme::kYescrypt:
    case Scheme::kCrypt:
      return verify_crypt(stored.hash, plain);
  }
  return invalid("unknown scheme");
}

Result<std::string> hash_argon2id(std::string_view plain) {
  unsigned char salt[kSaltLen];
  if (RAND_bytes(salt, sizeof salt) != 1) return invalid("RAND_bytes failed");
  size_t len = argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
  std::vector<char> encoded(len);
  int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, plain.data(), plain.size(), salt, sizeof salt,
                                 kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return invalid(std::string("argon2id: ") + argon2_error_message(rc));
  return "{ARGON2ID}" + std::string(encoded.data());
}

}  // namespace tern::auth
