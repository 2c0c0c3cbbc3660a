#include "common/mail/address_list.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

using tern::mail::header_recipients;
using tern::mail::parse_address_list;
using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("address_list: the forms of RFC 5322 3.4 give their addr-specs", "[mail]") {
  struct Case {
    const char* text;
    Strings want;
  } cases[] = {
      {"bob@example.org", {"bob@example.org"}},
      {"  bob@example.org , carol@example.org ", {"bob@example.org", "carol@example.org"}},
      {"Bob Smith <bob@example.org>", {"bob@example.org"}},
      {"\"Smith, Bob\" <bob@example.org>, carol@example.org", {"bob@example.org", "carol@example.org"}},
      {"bob@example.org (Bob, the builder)", {"bob@example.org"}},
      {"(a (nested) comment) bob@example.org", {"bob@example.org"}},
      {"\"john doe\"@example.org", {"\"john doe\"@example.org"}},
      {"<\"a,b\"@example.org>", {"\"a,b\"@example.org"}},
      {"Friends: bob@example.org, Carol <carol@example.org>;, dave@example.org",
       {"bob@example.org", "carol@example.org", "dave@example.org"}},
      {"undisclosed-recipients:;", {}},
      {"<@relay.example,@other.example:bob@example.org>", {"bob@example.org"}},
      {"root", {"root"}},
      {"root, postmaster", {"root", "postmaster"}},
      {"user@[192.0.2.1]", {"user@[192.0.2.1]"}},
      {"<>", {}},
      {"bob@example.org,\r\n\tcarol@example.org", {"bob@example.org", "carol@example.org"}},
      {"", {}},
      {",,", {}},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto got = parse_address_list(c.text);
    REQUIRE(got.ok());
    CHECK(*got == c.want);
  }
}

TEST_CASE("address_list: unclosed quotes, comments and brackets are errors, not guesses", "[mail]") {
  for (const char* text : {"\"bob@example.org", "(bob@example.org", "<bob@example.org", "a@[1.2.3.4",
                           "A <a@b> <c@d>"}) {
    INFO(text);
    CHECK_FALSE(parse_address_list(text).ok());
  }
}

TEST_CASE("address_list: sendmail -t takes To, Cc and Bcc and removes Bcc", "[mail]") {
  std::string header =
      "From: alice@example.org\r\n"
      "To: Bob <bob@example.org>,\r\n"
      "\tcarol@example.org\r\n"
      "cc: dave@example.org\r\n"
      "Subject: To: not@this.example\r\n"
      "BCC: secret@example.org,\r\n"
      " other-secret@example.org\r\n"
      "X-Note: x\r\n";
  auto got = header_recipients(header);
  REQUIRE(got.ok());
  CHECK(got->recipients ==
        Strings{"bob@example.org", "carol@example.org", "dave@example.org", "secret@example.org",
                "other-secret@example.org"});
  CHECK(got->header ==
        "From: alice@example.org\r\n"
        "To: Bob <bob@example.org>,\r\n"
        "\tcarol@example.org\r\n"
        "cc: dave@example.org\r\n"
        "Subject: To: not@this.example\r\n"
        "X-Note: x\r\n");
}

TEST_CASE("address_list: a resent message goes to its Resent- recipients only", "[mail]") {
  std::string header =
      "To: original@example.org\r\n"
      "Resent-From: alice@example.org\r\n"
      "Resent-To: new@example.org\r\n"
      "Resent-Bcc: hidden@example.org\r\n"
      "Bcc: old-hidden@example.org\r\n";
  auto got = header_recipients(header);
  REQUIRE(got.ok());
  CHECK(got->recipients == Strings{"new@example.org", "hidden@example.org"});
  CHECK(got->header == "To: original@example.org\r\nResent-From: alice@example.org\r\nResent-To: new@example.org\r\n");
}

TEST_CASE("address_list: a header without recipients gives none, and a bad list is an error", "[mail]") {
  auto none = header_recipients("Subject: hi\r\n");
  REQUIRE(none.ok());
  CHECK(none->recipients.empty());
  CHECK(none->header == "Subject: hi\r\n");
  CHECK_FALSE(header_recipients("To: \"unclosed@example.org\r\n").ok());
}

TEST_CASE("address_list: qualify appends @myorigin to a bare local part only", "[mail]") {
  using tern::mail::qualify;
  CHECK(qualify("root", "host.example") == "root@host.example");
  CHECK(qualify("bob@example.org", "host.example") == "bob@example.org");
  CHECK(qualify("", "host.example") == "");
  CHECK(qualify("root", "") == "root");
}
