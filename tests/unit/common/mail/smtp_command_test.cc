#include "common/mail/smtp_command.h"

#include <catch2/catch.hpp>

using namespace tern::mail;

TEST_CASE("smtp_command: the verb, the args, FROM: and TO: removed for MAIL and RCPT", "[mail]") {
  struct Case {
    const char* line;
    const char* word;
    const char* args;
    CommandLineError error;
  };
  const Case cases[] = {
      {"NOOP", "NOOP", "", CommandLineError::kNone},
      {"EHLO client.example.org  \t", "EHLO", "client.example.org", CommandLineError::kNone},
      {"MAIL FROM:<a@example.org> SIZE=10", "MAIL", "<a@example.org> SIZE=10", CommandLineError::kNone},
      {"mail from:  <a@example.org>", "mail", "<a@example.org>", CommandLineError::kNone},
      {"RCPT TO:<b@example.test>", "RCPT", "<b@example.test>", CommandLineError::kNone},
      {"MAIL <a@example.org>", "MAIL", "", CommandLineError::kMissingFrom},
      {"RCPT FROM:<b@example.test>", "RCPT", "", CommandLineError::kMissingTo},
      {"   ", "", "", CommandLineError::kEmpty},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    CommandLineError err;
    CommandLine l = parse_command_line(c.line, &err);
    CHECK(err == c.error);
    CHECK(l.word == c.word);
    if (err == CommandLineError::kNone) CHECK(l.args == c.args);
  }
  CommandLineError err;
  parse_command_line(std::string_view("NO\0OP", 5), &err);
  CHECK(err == CommandLineError::kNul);
}
