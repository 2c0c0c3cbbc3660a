#include "common/mail/utf8.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern::mail;

TEST_CASE("utf8: strict validation refuses overlongs, surrogates and past U+10FFFF", "[mail]") {
  struct Case {
    std::string in;
    bool valid;
  };
  const Case cases[] = {
      {"", true},
      {"plain ascii", true},
      {"\xc3\xa9", true},                 // U+00E9
      {"\xdf\xbf", true},                 // U+07FF
      {"\xe0\xa0\x80", true},             // U+0800
      {"\xed\x9f\xbf", true},             // U+D7FF
      {"\xee\x80\x80", true},             // U+E000
      {"\xef\xbf\xbf", true},             // U+FFFF
      {"\xf0\x90\x80\x80", true},         // U+10000
      {"\xf4\x8f\xbf\xbf", true},         // U+10FFFF
      {"\xc0\xaf", false},                // overlong '/'
      {"\xc1\xbf", false},                // overlong
      {"\xe0\x9f\xbf", false},            // overlong U+07FF
      {"\xf0\x8f\xbf\xbf", false},        // overlong U+FFFF
      {"\xed\xa0\x80", false},            // U+D800 surrogate
      {"\xed\xbf\xbf", false},            // U+DFFF surrogate
      {"\xf4\x90\x80\x80", false},        // U+110000
      {"\xf5\x80\x80\x80", false},
      {"\xff", false},
      {"\x80", false},                    // lone continuation
      {"\xc3", false},                    // truncated
      {"\xe2\x82", false},                // truncated
      {"a\xc3\xa9" "b\xc3", false},
      {std::string("\0", 1), true},       // NUL is ASCII; callers refuse it where needed
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(is_valid_utf8(c.in) == c.valid);
  }
  CHECK(valid_utf8_prefix("ab\xc3\xa9\xff" "cd") == 4);
  CHECK(decode_utf8("\xe2\x82\xac").value == U'\u20ac');
  CHECK(decode_utf8("\xe2\x82\xac").length == 3);
  CHECK(decode_utf8("").length == 0);
  CHECK(is_ascii("abc"));
  CHECK_FALSE(is_ascii("ab\xc3\xa9"));
}
