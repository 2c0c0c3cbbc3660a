#include "smtpd/sender_login.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/address.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::smtpd;

namespace {

using test::address;

std::unique_ptr<table::Table> texthash(const test::TempDir& dir, const std::string& name, std::string_view text) {
  auto t = table::open("texthash:" + dir.write(name, text));
  REQUIRE(t.ok());
  return std::move(*t);
}

}  // namespace

TEST_CASE("sender_login: by default a user owns their address, its extensions and the aliases to them", "[smtpd]") {
  test::TempDir dir;
  SenderLogins logins;
  logins.delimiters = "+";
  std::vector<std::unique_ptr<table::Table>> virtual_aliases;
  virtual_aliases.push_back(
      texthash(dir, "virtual", "sales@example.test demo@example.test, bob@example.test\ninfo@example.test bob@example.test\n"));
  struct Case {
    const char* sender;
    SenderOwnership want;
  } cases[] = {
      {"<demo@example.test>", SenderOwnership::kOwned},
      {"<Demo@EXAMPLE.test>", SenderOwnership::kOwned},
      {"<demo+lists@example.test>", SenderOwnership::kOwned},
      {"<>", SenderOwnership::kOwned},
      {"<sales@example.test>", SenderOwnership::kOwned},
      {"<info@example.test>", SenderOwnership::kNotOwned},
      {"<bob@example.test>", SenderOwnership::kNotOwned},
      {"<demo@other.example>", SenderOwnership::kNotOwned},
      {"<demox@example.test>", SenderOwnership::kNotOwned},
      {"<postmaster@example.test>", SenderOwnership::kNotOwned},
  };
  for (auto& c : cases) {
    INFO(c.sender);
    std::string why;
    CHECK(check_sender_login(logins, virtual_aliases, address(c.sender), "demo@example.test", &why) == c.want);
  }
}

TEST_CASE("sender_login: an explicit table maps senders (then @domain) to their owners and replaces the default",
          "[smtpd]") {
  test::TempDir dir;
  SenderLogins logins;
  logins.delimiters = "+";
  logins.maps.push_back(texthash(dir, "logins",
                                 "boss@example.test demo@example.test\n"
                                 "@shared.example bob@example.test,demo@example.test\n"
                                 "team@example.test bob@example.test demo@example.test\n"));
  std::vector<std::unique_ptr<table::Table>> none;
  struct Case {
    const char* sender;
    SenderOwnership want;
  } cases[] = {
      {"<boss@example.test>", SenderOwnership::kOwned},
      {"<anyone@shared.example>", SenderOwnership::kOwned},
      {"<team@example.test>", SenderOwnership::kOwned},
      {"<demo@example.test>", SenderOwnership::kNotOwned},  // not in the table
      {"<>", SenderOwnership::kOwned},
  };
  for (auto& c : cases) {
    INFO(c.sender);
    std::string why;
    CHECK(check_sender_login(logins, none, address(c.sender), "demo@example.test", &why) == c.want);
  }
  std::string why;
  CHECK(check_sender_login(logins, none, address("<boss@example.test>"), "bob@example.test", &why) ==
        SenderOwnership::kNotOwned);
}
