#pragma once
// The demo user's password for a fresh instance (ternctl init). Its line in
// the users file is written by common/auth/passwd_edit.h, as ternadm(1)
// writes every other user's, and hashed by common/auth/password_scheme.h.

#include <string>

#include "common/base/result.h"

namespace tern::ctl {

// length characters from [A-Za-z0-9], drawn from RAND_bytes without modulo bias.
Result<std::string> random_password(size_t length = 16);

}  // namespace tern::ctl
