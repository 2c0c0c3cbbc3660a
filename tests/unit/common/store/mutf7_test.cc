#include "common/store/mutf7.h"

#include <catch2/catch.hpp>
#include <string>

namespace {

using tern::store::mutf7_decode;
using tern::store::mutf7_encode;

}  // namespace

TEST_CASE("mutf7: names round trip between UTF-8 and modified UTF-7", "[store]") {
  struct Case {
    const char* utf8;
    const char* mutf7;
  };
  const Case cases[] = {
      {"Sent", "Sent"},
      {"A & B", "A &- B"},
      {"&", "&-"},
      {"Entwürfe", "Entw&APw-rfe"},
      // RFC 3501 5.1.3's own example.
      {"~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
      {"Gel\xC3\xB6scht", "Gel&APY-scht"},
      {"\xC3\xA9\xC3\xA9", "&AOkA6Q-"},
      {"\xF0\x9F\x93\xA7 mail", "&2D3c5w- mail"},  // U+1F4E7, a surrogate pair
      {"", ""},
  };
  for (const Case& c : cases) {
    INFO(c.utf8);
    auto enc = mutf7_encode(c.utf8);
    REQUIRE(enc.ok());
    CHECK(*enc == c.mutf7);
    auto dec = mutf7_decode(c.mutf7);
    REQUIRE(dec.ok());
    CHECK(*dec == c.utf8);
  }
}

TEST_CASE("mutf7: the decoder refuses every non-canonical or malformed form", "[store]") {
  const char* bad[] = {
      "&",           // unterminated
      "&AOk",        // unterminated run
      "&AOk-&AOk-",  // two runs where the encoder writes one
      "&AGE-",       // shifted printable ASCII ("a")
      "&AOl-",       // nonzero padding bits
      "&AO-",        // partial UTF-16 unit
      "&A-",         // partial unit
      "&2D0-",       // lone high surrogate
      "&3OcA6Q-",    // lone low surrogate
      "&AAA-",       // U+0000
      "a\tb",        // a control byte
      "caf\xC3\xA9", // raw 8-bit
      "&AOk/-",      // "/" is not in the modified alphabet
      "&AOk=-",      // no padding
  };
  for (const char* s : bad) {
    INFO(s);
    CHECK_FALSE(mutf7_decode(s).ok());
  }
}

TEST_CASE("mutf7: the encoder refuses malformed UTF-8 and NUL", "[store]") {
  CHECK_FALSE(mutf7_encode("caf\xC3").ok());
  CHECK_FALSE(mutf7_encode("\xED\xA0\x80").ok());  // an encoded surrogate
  CHECK_FALSE(mutf7_encode(std::string("a\0b", 3)).ok());
  CHECK_FALSE(mutf7_encode(std::string(5000, 'a')).ok());
}

TEST_CASE("mutf7: whatever the encoder writes, the decoder reads, at the longest name too", "[store]") {
  // One byte of UTF-8 (DEL) takes 8/3 characters shifted: found by fuzzing.
  const std::string longest(tern::store::kMaxMutf7Input, '\x7f');
  auto enc = mutf7_encode(longest);
  REQUIRE(enc.ok());
  CHECK(enc->size() > tern::store::kMaxMutf7Input);
  auto dec = mutf7_decode(*enc);
  REQUIRE(dec.ok());
  CHECK(*dec == longest);
}
