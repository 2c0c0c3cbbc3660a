#include "common/auth/password_scheme.h"

#include <crypt.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

using namespace tern::auth;

namespace {

// A crypt(3) hash of pw with a fresh salt of the given method prefix.
std::string crypt_hash(const char* prefix, unsigned long cost, const std::string& pw) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, cost, nullptr, 0, salt, sizeof salt) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* h = crypt_rn(pw.c_str(), salt, data.get(), sizeof *data);
  REQUIRE(h != nullptr);
  REQUIRE(h[0] != '*');
  return h;
}

}  // namespace

TEST_CASE("password_scheme: every crypt(3) scheme accepts its password and refuses others", "[auth]") {
  struct Case {
    const char* scheme;
    const char* prefix;
    unsigned long cost;
  };
  const Case cases[] = {
      {"SHA512-CRYPT", "$6$", 5000}, {"BLF-CRYPT", "$2b$", 5}, {"YESCRYPT", "$y$", 0}, {"CRYPT", "$6$", 1000},
      {"sha512-crypt", "$6$", 1000},  // scheme names are case-insensitive
  };
  for (const auto& c : cases) {
    CAPTURE(c.scheme);
    std::string field = std::string("{") + c.scheme + "}" + crypt_hash(c.prefix, c.cost, "s3cret pass");
    auto stored = parse_stored_password(field);
    REQUIRE(stored.ok());
    CHECK(*verify_password(*stored, "s3cret pass"));
    CHECK(!*verify_password(*stored, "s3cret pasS"));
    CHECK(!*verify_password(*stored, ""));
    CHECK(!*verify_password(*stored, std::string("s3cret pass\0x", 13)));
  }
}

TEST_CASE("password_scheme: a hash without a prefix is CRYPT", "[auth]") {
  auto stored = parse_stored_password(crypt_hash("$y$", 0, "pw"));
  REQUIRE(stored.ok());
  CHECK(stored->scheme == Scheme::kCrypt);
  CHECK(*verify_password(*stored, "pw"));
}

TEST_CASE("password_scheme: ARGON2ID hashes made by hash_argon2id verify", "[auth]") {
  auto h = hash_argon2id("correct horse");
  REQUIRE(h.ok());
  CHECK(h->rfind("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$", 0) == 0);
  auto stored = parse_stored_password(*h);
  REQUIRE(stored.ok());
  CHECK(stored->scheme == Scheme::kArgon2id);
  CHECK(*verify_password(*stored, "correct horse"));
  CHECK(!*verify_password(*stored, "correct horsE"));
  // Two hashes of one password differ (random salt).
  CHECK(*hash_argon2id("correct horse") != *h);
}

TEST_CASE("password_scheme: PLAIN compares the password itself", "[auth]") {
  auto stored = parse_stored_password("{PLAIN}hunter2");
  REQUIRE(stored.ok());
  CHECK(*verify_password(*stored, "hunter2"));
  CHECK(!*verify_password(*stored, "hunter"));
}

TEST_CASE("password_scheme: refuses unknown schemes and hashes of the wrong form", "[auth]") {
  for (const char* bad : {"{MD5}abc", "{SHA512-CRYPT}$2b$05$abc", "{ARGON2ID}$argon2i$v=19$x", "{BLF-CRYPT}", "{ARGON2ID",
                          "", "$1$md5$hash", "{CRYPT}plainword"}) {
    CAPTURE(bad);
    CHECK(!parse_stored_password(bad).ok());
  }
}

TEST_CASE("password_scheme: a damaged hash is an error, not a match", "[auth]") {
  auto stored = parse_stored_password("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$broken");
  REQUIRE(stored.ok());
  CHECK(!verify_password(*stored, "x").ok());
}

TEST_CASE("password_scheme: hash_password makes each scheme's form, and the hash verifies", "[auth]") {
  for (const char* name : {"ARGON2ID", "SHA512-CRYPT", "blf-crypt", "YESCRYPT"}) {
    CAPTURE(name);
    auto scheme = scheme_from_name(name);
    REQUIRE(scheme.ok());
    auto h = hash_password(*scheme, "correct horse");
    REQUIRE(h.ok());
    CHECK(h->rfind(std::string("{") + scheme_name(*scheme) + "}", 0) == 0);
    auto stored = parse_stored_password(*h);
    REQUIRE(stored.ok());
    CHECK(stored->scheme == *scheme);
    CHECK(*verify_password(*stored, "correct horse"));
    CHECK(!*verify_password(*stored, "correct horsE"));
    CHECK(*hash_password(*scheme, "correct horse") != *h);  // a fresh salt each time
  }
  CHECK(parse_stored_password(*hash_password(Scheme::kBlfCrypt, "x"))->hash.rfind("$2b$10$", 0) == 0);
  CHECK(!hash_password(Scheme::kPlain, "x").ok());
  CHECK(!hash_password(Scheme::kCrypt, "x").ok());
  CHECK(!hash_password(Scheme::kSha512Crypt, std::string("a\0b", 3)).ok());
  CHECK(!scheme_from_name("MD5-CRYPT").ok());
}
