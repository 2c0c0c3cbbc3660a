#pragma once
// Where ternadm gets a password from: the terminal, without echo, asked
// twice (the two must match); or one line of standard input when it is not
// a terminal (scripts: `printf '%s\n' "$pw" | ternadm user add ...`).
// A password given with -p is visible to every user in ps(1): the man page
// says so, and scripts should pipe it instead.

#include <string>

#include "common/base/result.h"

namespace tern::adm {

// At most kMaxPassword bytes: authd takes no longer ones (RFC 4616 limits
// the SASL PLAIN fields to 255 bytes).
inline constexpr size_t kMaxPassword = 255;

Result<std::string> read_new_password();
// Checks a password from anywhere (-p, terminal, stdin): not empty, at most
// kMaxPassword bytes, no NUL, CR or LF.
Status check_password(const std::string& pw);

}  // namespace tern::adm
