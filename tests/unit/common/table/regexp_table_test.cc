#include <catch2/catch.hpp>
#include <string>

#include "common/table/table.h"
#include "tests/unit/support/temp_dir.h"

using tern::Errc;
using tern::test::TempDir;

namespace {

struct Case {
  const char* key;
  const char* value;  // nullptr: not found
};

void check_cases(const std::string& rules, std::initializer_list<Case> cases) {
  TempDir dir;
  auto table = tern::table::open("regexp:" + dir.write("re", rules));
  INFO(rules);
  REQUIRE(table.ok());
  for (const auto& c : cases) {
    INFO("key \"" << c.key << "\"");
    auto r = (*table)->lookup(c.key);
    if (c.value) {
      REQUIRE(r.ok());
      CHECK(*r == c.value);
    } else {
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == Errc::kNotFound);
    }
  }
}

}  // namespace

TEST_CASE("regexp: substitutes groups into the result", "[table]") {
  check_cases("/^(.*)@(example\\.com)$/ $1+${2}@local $$1 $(1)\n"
              "/^([a-z]+)(-([0-9]+))?$/ user=$1 n=$3.\n",
              {
                  {"alice@example.com", "alice+example.com@local $1 alice"},
                  {"Bob@EXAMPLE.com", "Bob+EXAMPLE.com@local $1 Bob"},
                  {"carol-42", "user=carol n=42."},
                  {"carol", "user=carol n=."},  // a group that took no part is empty
                  {"no match here", nullptr},
              });
}

TEST_CASE("regexp: the first matching pattern wins", "[table]") {
  check_cases("/^a/ first\n/^ab/ second\n/b$/ third\n", {{"abc", "first"}, {"xab", "third"}, {"x", nullptr}});
}

TEST_CASE("regexp: a negated pattern matches what it does not match", "[table]") {
  check_cases("!/@/ local\n/@example\\.com$/ ours\n",
              {{"alice", "local"}, {"alice@example.com", "ours"}, {"alice@other.org", nullptr}});
}

TEST_CASE("regexp: case is ignored by default and the i flag makes it count", "[table]") {
  check_cases("/^ABC$/ default\n/^Xyz$/i exact\n", {{"abc", "default"}, {"AbC", "default"}, {"Xyz", "exact"}, {"xyz", nullptr}});
}

TEST_CASE("regexp: the x flag switches to basic regular expressions", "[table]") {
  // In a BRE, + is literal and \( \) group.
  check_cases("/^a+$/x plus\n/^\\(b\\)c$/x bre-$1\n", {{"a+", "plus"}, {"aa", nullptr}, {"bc", "bre-b"}});
}

TEST_CASE("regexp: other delimiters and escaped delimiters", "[table]") {
  // Not "#": a line starting with it is a comment, in Postfix too.
  check_cases("%^a/b$% slash\n/^c\\/d$/ escaped\n", {{"a/b", "slash"}, {"c/d", "escaped"}});
}

TEST_CASE("regexp: if and endif blocks, nested and negated", "[table]") {
  check_cases("if /@example\\.com$/\n"
              "/^postmaster@/ admin\n"
              "if !/^x/\n"
              "/^(.*)@/ user-$1\n"
              "endif\n"
              "endif\n"
              "IF /@other\\.org$/\n"
              "/./ other\n"
              "ENDIF\n"
              "/^postmaster@/ outside\n",
              {
                  {"postmaster@example.com", "admin"},
                  {"bob@example.com", "user-bob"},
                  {"xavier@example.com", nullptr},
                  {"anyone@other.org", "other"},
                  {"postmaster@else.net", "outside"},
              });
}

TEST_CASE("regexp: continuation lines and comments", "[table]") {
  check_cases("# comment\n/^a$/ one\n  two\n", {{"a", "one two"}});
}

TEST_CASE("regexp: bad rules fail open with file:line", "[table]") {
  struct Bad {
    const char* rules;
    int line;
    const char* error_part;
  };
  const Bad cases[] = {
      {"/ok/ x\n/a(/ y\n", 2, "bad regular expression \"a(\""},
      {"/a/\n", 1, "missing result after the pattern"},
      {"/a/z b\n", 1, "unknown pattern flag 'z'"},
      {"/a b\n", 1, "missing closing '/' of the pattern"},
      {"abc def\n", 1, "expected /pattern/"},
      {"/(a)/ $2\n", 1, "$2 but the pattern has only 1 group(s)"},
      {"/a/ $0\n", 1, "'$' in the result must be followed by a group number"},
      {"/a/ x$\n", 1, "'$' in the result must be followed by a group number"},
      {"/a/ ${1\n", 1, "'$' in the result must be followed by a group number"},
      {"!/(a)/ $1\n", 1, "$1 in the result of a negated pattern"},
      {"if /a/\n/b/ c\n", 1, "\"if\" without \"endif\""},
      {"/b/ c\nendif\n", 2, "\"endif\" without \"if\""},
      {"if /a/ x\nendif\n", 1, "text after the pattern of \"if\""},
      {"if /a/\nendif x\n", 2, "text after \"endif\""},
  };
  for (const auto& c : cases) {
    INFO(c.rules);
    TempDir dir;
    std::string path = dir.write("re", c.rules);
    auto table = tern::table::open("regexp:" + path);
    REQUIRE_FALSE(table.ok());
    CHECK(table.error().code == Errc::kInvalid);
    CHECK_THAT(table.error().text, Catch::StartsWith(path + ":" + std::to_string(c.line) + ": "));
    CHECK_THAT(table.error().text, Catch::Contains(c.error_part));
  }
}

TEST_CASE("regexp: stacked or nested repetition is refused before regcomp (found by fuzzing)", "[table]") {
  TempDir dir;
  const char* bad[] = {"/F++++++++++++++++++++++/ x\n", "/((a{99}){99}){99}/ x\n", "/(((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+/ x\n",
                      "/F+++++++++++++*+++++/ x\n", "/F)+++++++++++++++++++++++/ x\n"};
  for (const char* text : bad) {
    INFO(text);
    auto t = tern::table::open("regexp:" + dir.write("re", text));
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.error().text, Catch::Contains("repeats too much"));
  }
  // Ordinary patterns, repetition included, still compile.
  const char* good[] = {"/^[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}$/ ip\n", "/^(.+)@(.+)$/ $2\n",
                        "/^[[:alpha:]]+(-[[:alnum:]]+)*$/ x\n", "/a{2}b{3}c{100}/ x\n"};
  for (const char* text : good) {
    INFO(text);
    CHECK(tern::table::open("regexp:" + dir.write("re", text)).ok());
  }
}
