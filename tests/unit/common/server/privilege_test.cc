#include "common/server/privilege.h"

#include <catch2/catch.hpp>

using namespace tern;

// The drop itself changes the test process for good; it is exercised in
// tests/integration/test_master_root.py on real daemons.

TEST_CASE("privilege: an account is looked up with its groups", "[server]") {
  auto root = server::lookup_account("root");
  REQUIRE(root.ok());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  CHECK(std::find(root->groups.begin(), root->groups.end(), gid_t{0}) != root->groups.end());
}

TEST_CASE("privilege: an unknown account is not found and the message says how to create it", "[server]") {
  auto none = server::lookup_account("no-such-tern-account");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == Errc::kNotFound);
  CHECK(none.error().text.find("ternctl check") != std::string::npos);
}
