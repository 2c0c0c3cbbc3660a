#include <catch2/catch.hpp>
#include <string>

#include "common/table/table.h"

using tern::Errc;

TEST_CASE("aliases: parses names and value lists as postalias does", "[table]") {
  struct Case {
    const char* name;
    const char* text;
    const char* key;
    const char* value;
  };
  const Case cases[] = {
      {"one value", "postmaster: root\n", "postmaster", "root"},
      {"name folded", "PostMaster: Root\n", "postmaster", "Root"},
      {"list normalised", "staff:alice,bob ,  carol\n", "staff", "alice, bob, carol"},
      {"continuation", "staff: alice,\n  bob,\n\tcarol\n", "staff", "alice, bob, carol"},
      {"continuation without comma", "staff: alice\n  , bob\n", "staff", "alice, bob"},
      {"quoted command keeps its commas", "log: \"|/usr/bin/logger -t a, b\", root\n", "log",
       "\"|/usr/bin/logger -t a, b\", root"},
      {"file and include kept verbatim", "arch: /var/mail/archive, :include:/etc/tern/list\n", "arch",
       "/var/mail/archive, :include:/etc/tern/list"},
      {"empty items dropped", "a: b,, c,\n", "a", "b, c"},
      {"quoted name", "\"Odd Name\": bob\n", "odd name", "bob"},
      {"escaped quote inside quotes", "q: \"|echo \\\"x, y\\\"\"\n", "q", "\"|echo \\\"x, y\\\"\""},
      {"colon in value", "a: user@host:25\n", "a", "user@host:25"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto got = tern::table::parse_aliases(c.text, "aliases");
    REQUIRE(got.ok());
    REQUIRE(got->size() == 1);
    CHECK((*got)[0].key == c.key);
    CHECK((*got)[0].value == c.value);
    CHECK((*got)[0].line == 1);
  }
}

TEST_CASE("aliases: comments, blank lines and line numbers", "[table]") {
  auto got = tern::table::parse_aliases("# aliases\n\nroot: alice\n  # note\n  , bob\nabuse: root\n", "aliases");
  REQUIRE(got.ok());
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].value == "alice, bob");
  CHECK((*got)[0].line == 3);
  CHECK((*got)[1].key == "abuse");
  CHECK((*got)[1].line == 6);
}

TEST_CASE("aliases: bad lines are reported as file:line", "[table]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"root: alice\nno colon here\n", "/etc/aliases:2: expected format: name: value, ..."},
      {": alice\n", "/etc/aliases:1: missing alias name before ':'"},
      {"root:\n", "/etc/aliases:1: no value for alias \"root\""},
      {"root: , ,\n", "/etc/aliases:1: no value for alias \"root\""},
      {"two words: x\n", "/etc/aliases:1: white space in alias name (quote the name)"},
      {"a: \"|unterminated, x\n", "/etc/aliases:1: unterminated quoted string"},
      {"\"a: b\n", "/etc/aliases:1: unterminated quoted alias name"},
      {"\"a\" b: c\n", "/etc/aliases:1: expected ':' after the alias name"},
      {"# c\n  root: alice\n", "/etc/aliases:2: continuation line before any entry: \"root: alice\""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto got = tern::table::parse_aliases(c.text, "/etc/aliases");
    REQUIRE_FALSE(got.ok());
    CHECK(got.error().code == Errc::kInvalid);
    CHECK(got.error().text == c.error);
  }
}

TEST_CASE("aliases: a duplicate name keeps the first and warns", "[table]") {
  std::vector<std::string> warnings;
  auto got = tern::table::parse_aliases("root: alice\nROOT: bob\n", "aliases", &warnings);
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].value == "alice");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] == "aliases:2: duplicate entry \"root\" ignored (first at line 1)");
}

TEST_CASE("aliases: split_alias_list recovers the items of a stored value", "[table]") {
  struct Case {
    const char* value;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"alice, bob", {"alice", "bob"}},
      {"\"|/usr/bin/logger -t a, b\", root", {"|/usr/bin/logger -t a, b", "root"}},
      {"\"john doe\"@example.com", {"\"john doe\"@example.com"}},
      {"\"|echo \\\"x, y\\\"\"", {"|echo \"x, y\""}},
      {" , a ,, ", {"a"}},
      {"", {}},
  };
  for (const auto& c : cases) {
    INFO(c.value);
    CHECK(tern::table::split_alias_list(c.value) == c.want);
  }
}

TEST_CASE("aliases: parse then split gives back each item", "[table]") {
  auto got = tern::table::parse_aliases("x: a, \"|cmd 1, 2\",\n  \"/path/with, comma\"\n", "aliases");
  REQUIRE(got.ok());
  CHECK(tern::table::split_alias_list((*got)[0].value) ==
        std::vector<std::string>{"a", "|cmd 1, 2", "/path/with, comma"});
}
