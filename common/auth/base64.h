#pragma once
// Base64 (RFC 4648, standard alphabet, with padding) for SASL exchanges.

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::auth {

std::string base64_encode(std::string_view data);
// Strict: only the alphabet and trailing '=' padding; the padding may be
// left out (some clients do). Errc::kInvalid otherwise; input longer than
// max_encoded is Errc::kLimit.
Result<std::string> base64_decode(std::string_view text, size_t max_encoded);

}  // namespace tern::auth
