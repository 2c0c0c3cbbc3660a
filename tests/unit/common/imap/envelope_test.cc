#include "common/imap/envelope.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/mime_data.h"

using namespace tern;

TEST_CASE("envelope: the test message, group syntax and encoded words kept", "[imap][envelope]") {
  const std::string msg = test::mime_data("mixed.eml");
  auto tree = mail::parse_mime(msg);
  CHECK(imap::envelope(msg, tree) ==
        R"~(("Mon, 23 Nov 2026 06:30:00 +0100" "Quarterly report, =?utf-8?b?w6l0w6k=?= edition")~"
        R"~( (("=?iso-8859-1?q?Andr=E9?= Dupont" NIL "andre" "example.com")))~"
        R"~( (("=?iso-8859-1?q?Andr=E9?= Dupont" NIL "andre" "example.com")))~"
        R"~( (("Lists" NIL "lists" "example.com")))~"
        R"~( (("Doe, Jane" NIL "jane" "example.net")("Bob" NIL "bob" "example.net")))~"
        R"~( ((NIL NIL "Team" NIL)(NIL NIL "carol" "example.net")(NIL NIL "dave" "example.net")(NIL NIL NIL NIL)))~"
        R"~( NIL "<prev@example.com>" "<20261123063000.ABC@example.com>"))~");
  // The encapsulated message of part 4 (tree index 7).
  CHECK(imap::envelope(msg, tree, 7) ==
        R"~(("Sun, 22 Nov 2026 10:00:00 -0500" "=?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=")~"
        R"~( (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "example.org")))~"
        R"~( (("Inner Sender" NIL "inner" "example.org")))~"
        R"~( ((NIL NIL "Group Test" NIL)(NIL NIL "a" "example.org")(NIL NIL "b" "example.org")(NIL NIL NIL NIL))~"
        R"~((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL "<inner.1@example.org>"))~");
}

TEST_CASE("envelope: fields as Dovecot gives them", "[imap][envelope]") {
  struct Case {
    const char* header;
    const char* want;
  };
  const Case cases[] = {
      // Sender from a comment, Reply-To defaulting to From, routes, a
      // missing domain.
      {"Date: Mon, 23 Nov 2026 06:00:00 +0100 (CET)\r\n"
       "From: \"Doe, John\" <jd@example.com>\r\n"
       "Sender: jd@example.com (John Doe)\r\n"
       "To: undisclosed-recipients:;, Friends: a@b.example, \"C D\" <c@d.example>;,\r\n"
       "  root, <@r1.example,@r2.example:u@h.example>\r\n"
       "Cc: =?utf-8?q?J=C3=B6rg?= <j@x.example>, Bob Smith (comment) <bob@x.example>\r\n"
       "Bcc:\r\n"
       "In-Reply-To: <a@b> (x)\r\n"
       "Message-ID: <id1@example.com>\r\n\r\n",
       R"~(("Mon, 23 Nov 2026 06:00:00 +0100 (CET)" NIL (("Doe, John" NIL "jd" "example.com")))~"
       R"~( (("John Doe" NIL "jd" "example.com")) (("Doe, John" NIL "jd" "example.com")))~"
       R"~( ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)(NIL NIL "Friends" NIL)(NIL NIL "a" "b.example"))~"
       R"~(("C D" NIL "c" "d.example")(NIL NIL NIL NIL)(NIL NIL "root" "MISSING_DOMAIN"))~"
       R"~((NIL "@r1.example,@r2.example" "u" "h.example")))~"
       R"~( (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x.example")("Bob Smith" NIL "bob" "x.example")))~"
       R"~( NIL "<a@b> (x)" "<id1@example.com>"))~"},
      // Empty Reply-To takes From; quoted specials are escaped.
      {"From: nobody\r\nReply-To: \r\nSubject: \"quoted\" \\back\r\nDate: x\r\n\r\n",
       R"~(("x" "\"quoted\" \\back" ((NIL NIL "nobody" "MISSING_DOMAIN")) ((NIL NIL "nobody" "MISSING_DOMAIN")))~"
       R"~( ((NIL NIL "nobody" "MISSING_DOMAIN")) NIL NIL NIL NIL NIL))~"},
      // Folded subject: CRLF removed (RFC 5322 2.2.3).
      {"Subject: a\r\n\t b\r\n\r\n", "(NIL \"a\t b\" NIL NIL NIL NIL NIL NIL NIL NIL)"},
      // 8-bit text goes as a literal.
      {"Subject: caf\xC3\xA9\r\n\r\n", "(NIL {5}\r\ncaf\xC3\xA9 NIL NIL NIL NIL NIL NIL NIL NIL)"},
      // Odd addresses.
      {"From: \"\" <a@b.x>, <>, Name <>, \"john doe\"@e.x, w@x (c1) (c2)\r\n\r\n",
       R"~((NIL NIL ((NIL NIL "a" "b.x")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))~"
       R"~(("Name" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "john doe" "e.x")("c2" NIL "w" "x")) )~"
       R"~(((NIL NIL "a" "b.x")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")("Name" NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))~"
       R"~((NIL NIL "john doe" "e.x")("c2" NIL "w" "x")) ((NIL NIL "a" "b.x")(NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN"))~"
       R"~(("Name" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "john doe" "e.x")("c2" NIL "w" "x")) NIL NIL NIL NIL NIL))~"},
      {"\r\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"},
  };
  for (const auto& c : cases) {
    INFO(c.header);
    CHECK(imap::envelope_of_header(c.header) == c.want);
  }
}
