#include "common/base/strings.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace std::string_view_literals;

TEST_CASE("strings: parse_duration reads Postfix time values", "[base]") {
  struct Case {
    const char* in;
    char default_unit;
    std::optional<long long> out;
  };
  const Case cases[] = {
      {"300", 's', 300},
      {"300s", 's', 300},
      {"5m", 's', 300},
      {"2h", 's', 7200},
      {"1d", 's', 86400},
      {"1w", 's', 604800},
      {"1W", 's', 604800},
      {" 10s ", 's', 10},
      {"0", 's', 0},
      {"3", 'd', 3 * 86400},
      {"3", 'm', 180},
      {"", 's', std::nullopt},
      {"s", 's', std::nullopt},
      {"-1s", 's', std::nullopt},
      {"5x", 's', std::nullopt},
      {"1.5h", 's', std::nullopt},
      {"5 m", 's', std::nullopt},
      {"99999999999999999999", 's', std::nullopt},
      {"1099511627777", 's', std::nullopt},  // beyond 2^40: refused before multiplying
      {"3", 'q', std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in, c.default_unit);
    CHECK(tern::parse_duration(c.in, c.default_unit) == c.out);
  }
}

TEST_CASE("strings: parse_bool reads Postfix booleans", "[base]") {
  struct Case {
    const char* in;
    std::optional<bool> out;
  };
  const Case cases[] = {
      {"yes", true},  {"YES", true},   {"true", true},  {"on", true},   {"1", true},    {" yes ", true},
      {"no", false},  {"No", false},   {"false", false}, {"off", false}, {"0", false},
      {"", std::nullopt}, {"y", std::nullopt}, {"2", std::nullopt}, {"yess", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(tern::parse_bool(c.in) == c.out);
  }
}

TEST_CASE("strings: split keeps empty fields", "[base]") {
  struct Case {
    std::string_view in;
    char sep;
    std::vector<std::string_view> out;
  };
  const std::vector<Case> cases = {
      {"a,b,c", ',', {"a", "b", "c"}},
      {"", ',', {""}},
      {",", ',', {"", ""}},
      {"a,,b,", ',', {"a", "", "b", ""}},
      {"abc", ',', {"abc"}},
      {"k\tv", '\t', {"k", "v"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(tern::split(c.in, c.sep) == c.out);
  }
}

TEST_CASE("strings: split_any drops empty fields", "[base]") {
  struct Case {
    std::string_view in;
    std::string_view seps;
    std::vector<std::string_view> out;
  };
  const std::vector<Case> cases = {
      {"a, b,c", ", ", {"a", "b", "c"}},
      {"", ", ", {}},
      {" ,, ", ", ", {}},
      {"  one  ", " ", {"one"}},
      {"x\ty\nz", " \t\n", {"x", "y", "z"}},
      {"abc", "", {"abc"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(tern::split_any(c.in, c.seps) == c.out);
  }
}

TEST_CASE("strings: trim removes surrounding white space only", "[base]") {
  struct Case {
    std::string_view in, out;
  };
  const Case cases[] = {
      {"", ""}, {"   ", ""}, {" a ", "a"}, {"\t\r\na b\n", "a b"}, {"ab", "ab"}, {"a  ", "a"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(tern::trim(c.in) == c.out);
  }
}

TEST_CASE("strings: strf formats output longer than its 512-byte buffer", "[base]") {
  std::string long_arg(2000, 'x');
  std::string out = tern::strf("<%s>%d", long_arg.c_str(), 42);
  CHECK(out == "<" + long_arg + ">42");
  for (size_t n : {510u, 511u, 512u, 513u}) {
    CAPTURE(n);
    std::string arg(n, 'y');
    CHECK(tern::strf("%s", arg.c_str()) == arg);
  }
  CHECK(tern::strf("%s", "").empty());
}

TEST_CASE("strings: case-insensitive helpers", "[base]") {
  CHECK(tern::equals_nocase("MAIL", "mail"));
  CHECK_FALSE(tern::equals_nocase("MAIL", "mai"));
  CHECK(tern::starts_with_nocase("MAIL FROM:<a>", "mail from:"));
  CHECK_FALSE(tern::starts_with_nocase("MA", "mail"));
  CHECK(tern::to_lower("HeLLo") == "hello");
  CHECK(tern::parse_int(" 42 ") == 42);
  CHECK(tern::parse_int("4x") == std::nullopt);
}
