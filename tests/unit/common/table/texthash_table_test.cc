#include <catch2/catch.hpp>
#include <string>

#include "common/table/table.h"
#include "tests/unit/support/temp_dir.h"

using tern::Errc;
using tern::test::TempDir;

TEST_CASE("texthash: finds a key case-insensitively and keeps the value's case", "[table]") {
  TempDir dir;
  auto table = tern::table::open("texthash:" + dir.write("t", "Example.COM  Relay:[MX.example.com]:25\n"));
  REQUIRE(table.ok());
  for (const char* key : {"example.com", "EXAMPLE.COM", "eXample.Com"}) {
    INFO(key);
    auto r = (*table)->lookup(key);
    REQUIRE(r.ok());
    CHECK(*r == "Relay:[MX.example.com]:25");
  }
}

TEST_CASE("texthash: continuation lines join the value and comments are skipped", "[table]") {
  TempDir dir;
  auto table = tern::table::open("texthash:" + dir.write("t",
                                                         "# header comment\n"
                                                         "key first\n"
                                                         "  # a comment inside the entry\n"
                                                         "\tsecond\r\n"
                                                         "\n"
                                                         "other value\n"));
  REQUIRE(table.ok());
  CHECK(*(*table)->lookup("key") == "first second");
  CHECK(*(*table)->lookup("other") == "value");
  auto all = (*table)->entries();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].key == "key");
  CHECK((*all)[1].key == "other");
}

TEST_CASE("texthash: a bad line fails open with file:line", "[table]") {
  TempDir dir;
  std::string path = dir.write("t", "good value\nlonely\n");
  auto table = tern::table::open("texthash:" + path);
  REQUIRE_FALSE(table.ok());
  CHECK(table.error().code == Errc::kInvalid);
  CHECK(table.error().text == path + ":2: expected format: key whitespace value");
}

TEST_CASE("texthash: a duplicate key keeps the first value", "[table]") {
  TempDir dir;
  auto table = tern::table::open("texthash:" + dir.write("t", "a first\nA second\n"));
  REQUIRE(table.ok());
  CHECK(*(*table)->lookup("a") == "first");
}
