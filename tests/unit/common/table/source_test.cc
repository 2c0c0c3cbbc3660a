#include <catch2/catch.hpp>
#include <string>

#include "common/table/table.h"

using tern::Errc;

TEST_CASE("source: parses key value lines as postmap does", "[table]") {
  struct Case {
    const char* name;
    const char* text;
    std::vector<tern::table::Entry> want;
  };
  const Case cases[] = {
      {"simple", "a b\n", {{"a", "b", 1}}},
      {"key folded, value kept", "User@Example.COM Mixed Case\n", {{"user@example.com", "Mixed Case", 1}}},
      {"value trimmed", "a   \t b c  \t\n", {{"a", "b c", 1}}},
      {"no final newline", "a b", {{"a", "b", 1}}},
      {"CRLF", "a b\r\nc d\r\n", {{"a", "b", 1}, {"c", "d", 2}}},
      {"comments and blanks", "# x\n\n   \n  # y\na b\n", {{"a", "b", 5}}},
      {"continuation", "a b\n  c\n\td\ne f\n", {{"a", "b c d", 1}, {"e", "f", 4}}},
      {"comment inside continuation", "a b\n# x\n c\n", {{"a", "b c", 1}}},
      {"tab separator", "a\tb\n", {{"a", "b", 1}}},
      {"hash inside value", "a b#c\n", {{"a", "b#c", 1}}},
      {"empty file", "", {}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto got = tern::table::parse_source(c.text, "f");
    REQUIRE(got.ok());
    REQUIRE(got->size() == c.want.size());
    for (size_t i = 0; i < c.want.size(); ++i) {
      CHECK((*got)[i].key == c.want[i].key);
      CHECK((*got)[i].value == c.want[i].value);
      CHECK((*got)[i].line == c.want[i].line);
    }
  }
}

TEST_CASE("source: bad lines are reported as file:line", "[table]") {
  using namespace std::string_literals;
  struct Case {
    std::string text;
    const char* error;
  };
  const Case cases[] = {
      {"a b\nnovalue\n", "/etc/tern/t:2: expected format: key whitespace value"},
      {"  leading b\n", "/etc/tern/t:1: continuation line before any entry: \"leading b\""},
      {"# c\n\n a b\n", "/etc/tern/t:3: continuation line before any entry: \"a b\""},
      {"a b\nc\0d e\n"s, "/etc/tern/t:2: NUL byte in line"},
  };
  for (const auto& c : cases) {
    INFO(c.error);
    auto got = tern::table::parse_source(c.text, "/etc/tern/t");
    REQUIRE_FALSE(got.ok());
    CHECK(got.error().code == Errc::kInvalid);
    CHECK(got.error().text == c.error);
  }
}

TEST_CASE("source: a key longer than the lookup limit is an error", "[table]") {
  std::string text = std::string(tern::table::kMaxKeyLength + 1, 'k') + " v\n";
  auto got = tern::table::parse_source(text, "t");
  REQUIRE_FALSE(got.ok());
  CHECK_THAT(got.error().text, Catch::StartsWith("t:1: key longer than 4096 bytes"));
}

TEST_CASE("source: duplicate keys keep the first and are reported as warnings", "[table]") {
  std::vector<std::string> warnings;
  auto got = tern::table::parse_source("a 1\nb 2\nA 3\na 4\n", "t", &warnings);
  REQUIRE(got.ok());
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].value == "1");
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] == "t:3: duplicate entry \"a\" ignored (first at line 1)");
  CHECK(warnings[1] == "t:4: duplicate entry \"a\" ignored (first at line 1)");
}
