#include "lmtp-deliver/command.h"

#include <catch2/catch.hpp>

using namespace tern::lmtp;

TEST_CASE("lmtp command: verbs, arguments and the LMTP-only verb set", "[lmtp]") {
  struct Case {
    const char* line;
    Verb verb;
    const char* args;
    CommandError error;
  };
  const Case cases[] = {
      {"LHLO client.example.org", Verb::kLhlo, "client.example.org", CommandError::kNone},
      {"lhlo x", Verb::kLhlo, "x", CommandError::kNone},
      {"MAIL FROM:<a@b.example> SIZE=10", Verb::kMail, "<a@b.example> SIZE=10", CommandError::kNone},
      {"MAIL FROM: <a@b.example>", Verb::kMail, "<a@b.example>", CommandError::kNone},
      {"RCPT TO:<u+tag@example.test>", Verb::kRcpt, "<u+tag@example.test>", CommandError::kNone},
      {"DATA", Verb::kData, "", CommandError::kNone},
      {"QUIT  ", Verb::kQuit, "", CommandError::kNone},
      {"HELO x", Verb::kUnknown, "x", CommandError::kNone},  // RFC 2033 4.1
      {"EHLO x", Verb::kUnknown, "x", CommandError::kNone},
      {"MAIL <a@b>", Verb::kMail, "<a@b>", CommandError::kMissingFrom},
      {"RCPT <a@b>", Verb::kRcpt, "<a@b>", CommandError::kMissingTo},
      {"", Verb::kUnknown, "", CommandError::kEmpty},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CommandError err;
    Command cmd = parse_command(c.line, &err);
    CHECK(err == c.error);
    CHECK(cmd.verb == c.verb);
    if (err == CommandError::kNone) CHECK(cmd.args == c.args);
  }
  CommandError err;
  parse_command(std::string_view("NO\0OP", 5), &err);
  CHECK(err == CommandError::kNul);
}
