#pragma once
// Password schemes of the users file, named as Dovecot names them in a
// "{SCHEME}" prefix:
//   ARGON2ID      libargon2's encoded form "$argon2id$v=19$m=..,t=..,p=..$salt$hash"
//                 (the default for new passwords)
//   SHA512-CRYPT  crypt(3) "$6$..."        BLF-CRYPT  crypt(3) "$2y$.." / "$2b$.."
//   YESCRYPT      crypt(3) "$y$..."        CRYPT      any of the crypt(3) forms above
//   PLAIN         the password itself (accepted with a warning at load)
// A hash without a prefix is CRYPT, as Dovecot's passwd-file assumes.
//
// verify_password() and hash_argon2id() are slow on purpose (ARGON2ID uses
// 64 MiB and ~0.1 s): they block, so daemons call them on the worker pool,
// never on the loop. Comparisons are constant-time.

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::auth {

enum class Scheme { kArgon2id, kSha512Crypt, kBlfCrypt, kYescrypt, kCrypt, kPlain };

struct StoredPassword {
  Scheme scheme = Scheme::kCrypt;
  std::string hash;  // without the {SCHEME} prefix
};

// Parses "{SCHEME}hash" (scheme names are case-insensitive). An unknown
// scheme, or a hash that does not have its scheme's form, is Errc::kInvalid.
Result<StoredPassword> parse_stored_password(std::string_view field);
const char* scheme_name(Scheme s);

// True when plain matches. Errc::kInvalid when the stored hash cannot be
// checked (damaged, or a crypt(3) method libxcrypt does not know).
Result<bool> verify_password(const StoredPassword& stored, std::string_view plain);

// "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>": 16-byte random
// salt, 32-byte hash; the costs are those of libsodium's moderate range that
// Dovecot's ARGON2ID uses.
Result<std::string> hash_argon2id(std::string_view plain);

// A scheme by its Dovecot name, case-insensitively ("argon2id", "SHA512-CRYPT").
Result<Scheme> scheme_from_name(std::string_view name);

// A new "{SCHEME}hash" of plain with a fresh random salt, for ARGON2ID (as
// hash_argon2id), SHA512-CRYPT (crypt(3) "$6$", libxcrypt's default 5000
// rounds, as doveadm pw), BLF-CRYPT ("$2b$", cost kBlfCost) and YESCRYPT
// ("$y$", libxcrypt's default cost). CRYPT and PLAIN are refused: they name
// no method to hash with, or store no hash. A password holding a NUL byte is
// refused for the crypt(3) schemes, which take C strings.
inline constexpr unsigned long kBlfCost = 10;
Result<std::string> hash_password(Scheme scheme, std::string_view plain);

}  // namespace tern::auth
