#include "common/ipc/escape.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

using tern::Errc;
using tern::ipc::escape;
using tern::ipc::Line;
using tern::ipc::unescape;
using tern::ipc::Version;

TEST_CASE("escape: writes the four protocol bytes as upper-case escapes", "[ipc]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"a\tb", "a%09b"},
      {"line\n", "line%0A"},
      {"\r\n", "%0D%0A"},
      {"100%", "100%25"},
      {"%25", "%2525"},
      {"k=v", "k=v"},
      {std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
      {"\xff\x80", "\xff\x80"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(escape(c.in) == c.out);
    auto back = unescape(c.out);
    REQUIRE(back.ok());
    CHECK(*back == c.in);
  }
}

TEST_CASE("escape: every byte value survives a round trip", "[ipc]") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string escaped = escape(all);
  CHECK(escaped.find_first_of("\t\r\n") == std::string::npos);
  auto back = unescape(escaped);
  REQUIRE(back.ok());
  CHECK(*back == all);
}

TEST_CASE("escape: random strings survive a round trip", "[ipc]") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len(0, 64);
  // Weighted towards the bytes that need escaping.
  const std::string alphabet = "\t\n\r%=abc\x01\xff 0";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int n = len(rng); n > 0; --n) s.push_back(alphabet[pick(rng)]);
    auto back = unescape(escape(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
  }
}

TEST_CASE("unescape: accepts lower-case hex and any escaped byte", "[ipc]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"%0a%0d%09%25", "\n\r\t%"},
      {"%41%62", "Ab"},
      {"%3d", "="},
      {"%00", std::string(1, '\0')},
      {"%fF", "\xff"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    auto r = unescape(c.in);
    REQUIRE(r.ok());
    CHECK(*r == c.out);
  }
}

TEST_CASE("unescape: rejects malformed escapes", "[ipc]") {
  for (const char* bad : {"%", "%0", "a%", "%G0", "%0G", "%%", "ab%2", "% 1", "%+1", "%-1", "%x1"}) {
    CAPTURE(bad);
    auto r = unescape(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kInvalid);
  }
}

TEST_CASE("Line: format and parse round trip", "[ipc]") {
  Line line;
  line.command = "DELIVER";
  line.add("id", "0J2XQ3V5K7A0AB1C0")
      .add("rcpt", "a\tb@example.org")
      .add("diag", "550 5.1.1 no\r\nsuch user 100%")
      .add("empty", "")
      .add("eq", "a=b=c")
      .add("k=ey", "odd key")
      .add("id", "second");
  std::string wire = line.format();
  CHECK(wire.back() == '\n');
  CHECK(wire.find_first_of("\r\n") == wire.size() - 1);

  for (const std::string& text : {wire, wire.substr(0, wire.size() - 1)}) {
    auto parsed = Line::parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->command == line.command);
    CHECK(parsed->fields == line.fields);
    REQUIRE(parsed->get("id") != nullptr);
    CHECK(*parsed->get("id") == "0J2XQ3V5K7A0AB1C0");  // the first of repeated keys
    CHECK(*parsed->get("empty") == "");
    CHECK(parsed->get("missing") == nullptr);
  }
}

TEST_CASE("Line: parses a bare command and escaped components", "[ipc]") {
  struct Case {
    std::string text, command;
    std::vector<std::pair<std::string, std::string>> fields;
  };
  const std::vector<Case> cases = {
      {"QUIT\n", "QUIT", {}},
      {"QUIT", "QUIT", {}},
      {"A%09B\tk%0A=v%25", "A\tB", {{"k\n", "v%"}}},
      {"CMD\tk=\tx=1", "CMD", {{"k", ""}, {"x", "1"}}},
      {"CMD\tk==", "CMD", {{"k", "="}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto r = Line::parse(c.text);
    REQUIRE(r.ok());
    CHECK(r->command == c.command);
    CHECK(r->fields == c.fields);
  }
}

TEST_CASE("Line: rejects malformed lines", "[ipc]") {
  struct Case {
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty line"},
      {"\n", "empty line with newline"},
      {"\tk=v", "empty command"},
      {"CMD\tnoequals", "field without '='"},
      {"CMD\tk=v\t", "trailing tab: an empty field"},
      {"CMD\t\tk=v", "empty field in the middle"},
      {"CMD\t=v", "empty key"},
      {"CMD\tk=%zz", "bad escape in a value"},
      {"CMD\tk%2=v", "bad escape in a key"},
      {"C%MD", "bad escape in the command"},
      {"CMD\tk=v\r", "raw CR"},
      {"CMD\tk=v\r\n", "CRLF"},
      {"CMD\tk=a\nb", "raw LF inside"},
      {"CMD\tk=v\n\n", "two newlines"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.why);
    auto r = Line::parse(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::kInvalid);
  }
}

TEST_CASE("Line: max_fields bounds hostile input", "[ipc]") {
  std::string text = "CMD";
  for (int i = 0; i < 5; ++i) text += "\tk" + std::to_string(i) + "=v";
  CHECK(Line::parse(text, 5).ok());
  auto r = Line::parse(text, 4);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::kLimit);
  CHECK(Line::parse("CMD", 0).ok());
  CHECK(Line::parse("CMD\tk=v", 0).error().code == Errc::kLimit);
}

TEST_CASE("Version: format and parse round trip", "[ipc]") {
  Version v{"deliver", 1, 2};
  CHECK(v.format() == "VERSION\tdeliver\t1\t2\n");
  auto r = Version::parse(v.format());
  REQUIRE(r.ok());
  CHECK(r->proto == "deliver");
  CHECK(r->major == 1);
  CHECK(r->minor == 2);
  CHECK(Version::parse("VERSION\tqmgr\t0\t0").ok());
}

TEST_CASE("Version: rejects malformed greetings", "[ipc]") {
  for (const char* bad : {
           "", "VERSION", "VERSION\tp\t1", "VERSION\tp\t1\t0\textra", "version\tp\t1\t0", "HELLO\tp\t1\t0",
           "VERSION\t\t1\t0", "VERSION\tp\t-1\t0", "VERSION\tp\t+1\t0", "VERSION\tp\t1x\t0", "VERSION\tp\t\t0",
           "VERSION\tp\t1\t", "VERSION\tp\t 1\t0", "VERSION\tp\t99999999999\t0", "VERSION\tp\t1\t0\r\n",
           "VERSION\tp%\t1\t0"}) {
    CAPTURE(bad);
    CHECK_FALSE(Version::parse(bad).ok());
  }
}

TEST_CASE("check_version: accepts the same major and refuses another", "[ipc]") {
  struct Case {
    Version server;
    const char* proto;
    int major;
    bool ok;
  };
  const Case cases[] = {
      {{"deliver", 1, 0}, "deliver", 1, true},
      {{"deliver", 1, 7}, "deliver", 1, true},
      {{"deliver", 2, 0}, "deliver", 1, false},
      {{"deliver", 0, 9}, "deliver", 1, false},
      {{"qmgr", 1, 0}, "deliver", 1, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.server.proto, c.server.major, c.proto, c.major);
    auto st = tern::ipc::check_version(c.server, c.proto, c.major);
    CHECK(st.ok() == c.ok);
  }
}
