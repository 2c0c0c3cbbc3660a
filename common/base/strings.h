#pragma once
// String helpers that know nothing of mail.

#include <cstdarg>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

// printf-style formatting into a std::string (gcc 12 has no std::format).
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vstrf(const char* fmt, va_list ap);

std::string_view trim(std::string_view s);
bool starts_with_nocase(std::string_view s, std::string_view prefix);
bool equals_nocase(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
// Splits on any of the separator characters, dropping empty fields.
std::vector<std::string_view> split_any(std::string_view s, std::string_view seps);
// Splits on one character, keeping empty fields.
std::vector<std::string_view> split(std::string_view s, char sep);
std::optional<long long> parse_int(std::string_view s);
// Postfix-style time values: "300", "300s", "5m", "2h", "1d", "1w" → seconds.
std::optional<long long> parse_duration(std::string_view s, char default_unit = 's');
// A DNS host name: dot-separated labels of letters, digits and inner
// hyphens, each 1-63 bytes, at most 253 in all, no trailing dot.
bool is_dns_name(std::string_view d);
// Postfix-style booleans: yes/no (also true/false, on/off, 1/0).
std::optional<bool> parse_bool(std::string_view s);

}  // namespace tern
