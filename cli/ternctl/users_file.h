#pragma once
// The users file of a fresh instance: Dovecot's passwd-file format
//   user@domain:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$salt$hash:uid:gid::home::
// with one demo user whose random password is printed once.
//
// When ternadm(8) arrives the hashing moves to common/ so both tools and
// authd share one implementation of the scheme.

#include <sys/types.h>

#include <string>

#include "common/base/result.h"

namespace tern::ctl {

// length characters from [A-Za-z0-9], drawn from RAND_bytes without modulo bias.
Result<std::string> random_password(size_t length = 16);

// "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>": libargon2 with a
// 16-byte random salt and a 32-byte hash. The costs follow libsodium's
// "moderate-interactive" range that Dovecot's ARGON2ID uses (64 MiB, a few
// passes, one lane): about 0.1-0.2 s on current hardware, which authd pays
// on the worker pool, never on the loop.
Result<std::string> hash_argon2id(const std::string& password);

struct UserEntry {
  std::string address;  // user@domain
  std::string hash;     // with its {SCHEME} prefix
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};
// One line, newline included.
std::string format_users_line(const UserEntry& e);

}  // namespace tern::ctl
