#include "common/mail/smtp_reply.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace tern::mail;

namespace {

// Feeds lines until a reply completes; returns it (or fails the test).
Reply read_all(const std::vector<std::string>& lines) {
  ReplyReader r;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto got = r.feed(lines[i]);
    REQUIRE(got);
    if (i + 1 < lines.size()) {
      REQUIRE_FALSE(*got);
      REQUIRE(r.partial());
    } else {
      REQUIRE(*got);
      return **got;
    }
  }
  FAIL("no reply");
  return {};
}

}  // namespace

TEST_CASE("smtp_reply: a one-line reply with an enhanced status code") {
  Reply r = read_all({"250 2.1.5 Ok\r"});
  CHECK(r.code == 250);
  CHECK(r.enhanced == "2.1.5");
  CHECK(r.dsn() == "2.1.5");
  CHECK(r.text() == "250 2.1.5 Ok");
}

TEST_CASE("smtp_reply: a multiline reply joins its lines as Postfix logs them") {
  Reply r = read_all({"550-5.1.1 The account does not exist.", "550-5.1.1 Please try again", "550 5.1.1 https://x"});
  CHECK(r.code == 550);
  CHECK(r.enhanced == "5.1.1");
  CHECK(r.lines.size() == 3);
  CHECK(r.text() == "550-5.1.1 The account does not exist. 550-5.1.1 Please try again 550 5.1.1 https://x");
}

TEST_CASE("smtp_reply: without an enhanced code (or with one of another class) the class default applies") {
  struct Case {
    const char* line;
    const char* enhanced;
    const char* dsn;
  };
  Case cases[] = {
      {"250 Ok", "", "2.0.0"},           {"451 try later", "", "4.0.0"},     {"554", "", "5.0.0"},
      {"550 4.1.1 mixed up", "", "5.0.0"}, {"452 4.2.2 full", "4.2.2", "4.2.2"}, {"250 2.0.0", "2.0.0", "2.0.0"},
      {"550 5.1.1x no", "", "5.0.0"},    {"250 2.1000.0 too big", "", "2.0.0"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    Reply r = read_all({c.line});
    CHECK(r.enhanced == c.enhanced);
    CHECK(r.dsn() == c.dsn);
  }
}

TEST_CASE("smtp_reply: malformed lines are protocol errors") {
  const char* bad[] = {"", "25", "abc hello", "250hello", "099 low", "600 high", "2500 x"};
  for (const char* line : bad) {
    INFO(line);
    ReplyReader r;
    CHECK_FALSE(r.feed(line));
  }
  ReplyReader r;
  REQUIRE(r.feed("250-first"));
  CHECK_FALSE(r.feed("251 other code"));
  CHECK_FALSE(r.partial());  // starts over
}

TEST_CASE("smtp_reply: a line over 2048 bytes or a reply over 100 lines is refused") {
  ReplyReader r;
  CHECK(r.feed("250 " + std::string(kMaxReplyLine - 4, 'x')));
  CHECK_FALSE(r.feed("250 " + std::string(kMaxReplyLine - 3, 'x')));
  ReplyReader many;
  for (size_t i = 0; i + 1 < kMaxReplyLines; ++i) REQUIRE(many.feed("250-x"));
  CHECK(many.feed("250 last"));  // exactly 100: fine
  for (size_t i = 0; i < kMaxReplyLines; ++i) REQUIRE(many.feed("250-x"));
  CHECK_FALSE(many.feed("250 one too many"));
}

TEST_CASE("smtp_reply: enhanced_code_in reads X.Y.Z at the start of the text only") {
  CHECK(enhanced_code_in("2.0.0 Ok", 2) == "2.0.0");
  CHECK(enhanced_code_in("2.0.0", 2) == "2.0.0");
  CHECK(enhanced_code_in("Ok 2.0.0", 2).empty());
  CHECK(enhanced_code_in("5.7.1 no", 4).empty());
}
