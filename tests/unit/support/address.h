#pragma once
// An SMTP path parsed as smtpd parses MAIL FROM and RCPT TO arguments (the
// null path and <postmaster> allowed), for tests of the checks that take one.

#include <catch2/catch.hpp>
#include <string_view>

#include "common/mail/smtp_path.h"

namespace tern::test {

inline mail::Address address(std::string_view text) {
  mail::PathOptions o;
  o.allow_null = true;
  o.allow_postmaster = true;
  auto a = mail::parse_path(text, o);
  REQUIRE(a.ok());
  return *a;
}

}  // namespace tern::test
