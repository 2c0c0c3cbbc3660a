#include "common/auth/sasl_mechanism.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tern::auth;

TEST_CASE("sasl_mechanism: PLAIN splits authzid, authcid and password (RFC 4616)", "[auth]") {
  auto c = parse_plain(std::string("\0demo@example.test\0secret", 25));
  REQUIRE(c.ok());
  CHECK(c->authzid.empty());
  CHECK(c->authcid == "demo@example.test");
  CHECK(c->password == "secret");
  auto z = parse_plain(std::string("admin\0demo\0pw", 13));
  REQUIRE(z.ok());
  CHECK(z->authzid == "admin");
  for (std::string bad : {std::string("demo"), std::string("\0demo", 5), std::string("\0\0pw", 4),
                          std::string("\0demo\0", 6), std::string("\0demo\0p\0w", 9),
                          std::string("\0", 1) + std::string(256, 'u') + std::string("\0pw", 3)}) {
    CAPTURE(bad);
    CHECK(!parse_plain(bad).ok());
  }
}

TEST_CASE("sasl_mechanism: PLAIN without an initial response asks with an empty challenge", "[auth]") {
  auto m = make_mechanism("plain");
  REQUIRE(m);
  auto s = m->start(std::nullopt);
  REQUIRE(s.ok());
  REQUIRE(s->challenge);
  CHECK(s->challenge->empty());
  auto t = m->next(std::string("\0u\0p", 4));
  REQUIRE(t.ok());
  REQUIRE(t->credentials);
  CHECK(t->credentials->authcid == "u");
  CHECK(!m->next("again").ok());
}

TEST_CASE("sasl_mechanism: LOGIN asks Username: then Password:", "[auth]") {
  auto m = make_mechanism("LOGIN");
  REQUIRE(m);
  auto s = m->start(std::nullopt);
  REQUIRE(s.ok());
  CHECK(*s->challenge == "Username:");
  s = m->next("demo");
  CHECK(*s->challenge == "Password:");
  s = m->next("pw");
  REQUIRE(s->credentials);
  CHECK(s->credentials->authcid == "demo");
  CHECK(s->credentials->password == "pw");
  CHECK(!m->next("more").ok());
  // An initial response is the user name.
  auto m2 = make_mechanism("LOGIN");
  CHECK(*m2->start(std::string("demo"))->challenge == "Password:");
  CHECK(!make_mechanism("CRAM-MD5"));
}
