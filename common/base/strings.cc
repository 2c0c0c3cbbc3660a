#include "common/base/strings.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace tern {

std::string vstrf(const char* fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  char buf[512];
  int n = std::vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string strf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string out = vstrf(fmt, ap);
  va_end(ap);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equals_nocase(s.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = s.find_first_not_of(seps, i);
    if (start == std::string_view::npos) break;
    size_t end = s.find_first_of(seps, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    i = end;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<long long> parse_duration(std::string_view s, char default_unit) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  char unit = default_unit;
  if (std::isalpha(static_cast<unsigned char>(s.back()))) {
    unit = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    s.remove_suffix(1);
    if (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) return std::nullopt;  // "5 m"
  }
  auto n = parse_int(s);
  if (!n || *n < 0) return std::nullopt;
  long long mult;
  switch (unit) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 7 * 86400; break;
    default: return std::nullopt;
  }
  if (*n > (1LL << 40)) return std::nullopt;
  return *n * mult;
}

std::optional<bool> parse_bool(std::string_view s) {
  s = trim(s);
  if (equals_nocase(s, "yes") || equals_nocase(s, "true") || equals_nocase(s, "on") || s == "1") return true;
  if (equals_nocase(s, "no") || equals_nocase(s, "false") || equals_nocase(s, "off") || s == "0") return false;
  return std::nullopt;
}

bool is_dns_name(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  for (std::string_view label : split(d, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace tern
