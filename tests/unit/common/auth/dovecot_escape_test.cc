#include "common/auth/dovecot_escape.h"

#include <catch2/catch.hpp>
#include <string>

using tern::auth::split_tab_escaped;
using tern::auth::tab_escape;
using tern::auth::tab_unescape;

TEST_CASE("dovecot_escape: escapes NUL, 0x01, TAB, CR and LF with 0x01 as Dovecot does", "[auth]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"", ""},
      {"plain user@example.test", "plain user@example.test"},
      {"a\tb", "a\001tb"},
      {"line\n", "line\001n"},
      {"\r\n", "\001r\001n"},
      {"\001", "\0011"},
      {std::string("nul\0byte", 8), "nul\0010byte"},
      {"back\\slash %25", "back\\slash %25"},  // nothing else changes
      {"\xff\x80", "\xff\x80"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(tab_escape(c.in) == c.out);
    CHECK(tab_unescape(c.out) == c.in);
  }
}

TEST_CASE("dovecot_escape: unescaping keeps an unknown escaped byte and drops a trailing 0x01", "[auth]") {
  CHECK(tab_unescape("a\001xb") == "axb");
  CHECK(tab_unescape("end\001") == "end");
}

TEST_CASE("dovecot_escape: splits a line on TAB, then unescapes each field", "[auth]") {
  auto f = split_tab_escaped("USER\t1\tna\001tme\t\tk=v", 16);
  REQUIRE(f.ok());
  REQUIRE(f->size() == 5);
  CHECK((*f)[2] == "na\tme");
  CHECK((*f)[3].empty());
  CHECK(split_tab_escaped("", 4)->size() == 1);
  auto many = split_tab_escaped("a\tb\tc\td", 3);
  REQUIRE(!many.ok());
  CHECK(many.error().code == tern::Errc::kLimit);
}
