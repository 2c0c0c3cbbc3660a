#include "common/auth/base64.h"

#include <catch2/catch.hpp>
#include <string>

using tern::auth::base64_decode;
using tern::auth::base64_encode;

TEST_CASE("base64: RFC 4648 test vectors both ways", "[auth]") {
  const std::pair<std::string, std::string> v[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    CHECK(base64_encode(plain) == enc);
    auto d = base64_decode(enc, 100);
    REQUIRE(d.ok());
    CHECK(*d == plain);
  }
  CHECK(base64_encode(std::string("\0u\0p", 4)) == "AHUAcA==");
}

TEST_CASE("base64: refuses bad characters, bad padding, non-canonical bits and oversize input", "[auth]") {
  for (const char* bad : {"Zm9v!", "Zm9v\tYg==", "Z", "Zg=", "Zh==", "=Zg=", "Zg==Zg=="}) {
    CAPTURE(bad);
    CHECK(!base64_decode(bad, 100).ok());
  }
  CHECK(*base64_decode("Zg", 100) == "f");  // padding may be left out
  auto big = base64_decode(std::string(101, 'A'), 100);
  REQUIRE(!big.ok());
  CHECK(big.error().code == tern::Errc::kLimit);
}
