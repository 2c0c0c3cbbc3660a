#include "lmtp-deliver/recipient.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::lmtp;

namespace {

mail::Address addr(const char* text) {
  auto a = mail::parse_mailbox(text, mail::PathLimits{}, true);
  REQUIRE(a.ok());
  return *a;
}

}  // namespace

TEST_CASE("lmtp recipient: plus-addressing picks the user and the detail folder", "[lmtp]") {
  struct Case {
    const char* address;
    const char* delimiters;
    const char* user;
    const char* detail;
    const char* delivered_to;
  };
  const Case cases[] = {
      {"bob@example.test", "+", "bob@example.test", "", "bob@example.test"},
      {"Bob@Example.TEST", "+", "bob@example.test", "", "Bob@example.test"},
      {"bob+Work@example.test", "+", "bob@example.test", "Work", "bob+Work@example.test"},
      {"bob+a.b@example.test", "+", "bob@example.test", "a.b", "bob+a.b@example.test"},
      {"bob-lists@example.test", "+-", "bob@example.test", "lists", "bob-lists@example.test"},
      {"bob+Work@example.test", "", "bob+work@example.test", "", "bob+Work@example.test"},
      {"+tag@example.test", "+", "+tag@example.test", "", "+tag@example.test"},
      {"owner-list@example.test", "-", "owner-list@example.test", "", "owner-list@example.test"},
  };
  for (const auto& c : cases) {
    INFO(c.address << " with " << c.delimiters);
    RecipientAddress r = resolve_recipient(addr(c.address), c.delimiters);
    CHECK(r.user == c.user);
    CHECK(r.detail == c.detail);
    CHECK(r.delivered_to == c.delivered_to);
  }
}

TEST_CASE("lmtp recipient: the header scan finds Delivered-To and Message-ID, not in the body", "[lmtp]") {
  HeaderScan h;
  std::string msg =
      "Received: from a\r\n\tby b\r\nDelivered-To: Bob@Example.TEST\r\nMessage-ID:\r\n <1@x.example>\r\n"
      "delivered-to: <alice@example.test>\r\nSubject: hi\r\n\r\nDelivered-To: carol@example.test\r\n";
  // Fed a byte at a time, as it may arrive.
  for (char c : msg) h.feed(std::string_view(&c, 1));
  h.finish();
  CHECK(h.delivered_to("bob@example.test"));
  CHECK(h.delivered_to("alice@example.test"));
  CHECK_FALSE(h.delivered_to("carol@example.test"));
  CHECK(h.message_id() == "<1@x.example>");

  HeaderScan only_header;  // no empty line, no body
  only_header.feed("Delivered-To: dave@example.test");
  only_header.finish();
  CHECK(only_header.delivered_to("dave@example.test"));

  HeaderScan huge;  // a field past the parser's limit ends the scan; what came before counts
  huge.feed("Delivered-To: e@example.test\r\nX-Big: " + std::string(200000, 'x') +
            "\r\nDelivered-To: f@example.test\r\n\r\n");
  huge.finish();
  CHECK(huge.delivered_to("e@example.test"));
  CHECK_FALSE(huge.delivered_to("f@example.test"));

  HeaderScan no_blank;  // a line that is no field ends the header (as in cleanup)
  no_blank.feed("Subject: x\r\nthis is body\r\nDelivered-To: g@example.test\r\n");
  no_blank.finish();
  CHECK_FALSE(no_blank.delivered_to("g@example.test"));
}
