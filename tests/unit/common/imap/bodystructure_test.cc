#include "common/imap/bodystructure.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/mime_data.h"

using namespace tern;

namespace {

std::string structure(const std::string& msg, bool ext) {
  return imap::body_structure(msg, mail::parse_mime(msg), ext);
}

}  // namespace

// The expected strings are what Dovecot 2.3.19's imap gives for the same
// files (tests/data/mime), but for the differences bodystructure.h lists:
// here the attachment's RFC 2231 filename (Dovecot leaves "of the year"
// unencoded) and the Content-Location (Dovecot keeps the folding space).
TEST_CASE("bodystructure: the multipart test message, as Dovecot gives it", "[imap][bodystructure]") {
  const std::string expected =
      R"~((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 31 1 NIL NIL ("en") NIL))~"
      R"~((("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "8bit" 22 0 NIL NIL NIL NIL))~"
      R"~(("text" "html" ("charset" "utf-8") "<html.1@example.com>" "The HTML version" "quoted-printable" 47 0 NIL NIL NIL NIL))~"
      R"~( "alternative" ("boundary" "alt") NIL NIL NIL))~"
      R"~(("application" "octet-stream" ("name" "report.bin") NIL NIL "base64" 352 NIL ("attachment" ("size" "256" "filename*" "utf-8''R%C3%A9sum%C3%A9%20of%20the%20year.bin")) ("en" "fr") "http://example.com/report.bin"))~"
      R"~(("message" "rfc822" NIL NIL NIL "7bit" 546 ("Sun, 22 Nov 2026 10:00:00 -0500" "=?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=" (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "example.org")) ((NIL NIL "Group Test" NIL)(NIL NIL "a" "example.org")(NIL NIL "b" "example.org")(NIL NIL NIL NIL)(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL "<inner.1@example.org>"))~"
      R"~( (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 36 1 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 14 0 NIL NIL NIL NIL) "alternative" ("boundary" "inner-alt") NIL NIL NIL) 19 NIL ("inline" NIL) NIL NIL))~"
      R"~( "mixed" ("boundary" "outer-boundary") NIL NIL NIL))~";
  CHECK(structure(test::mime_data("mixed.eml"), true) == expected);
  // A bare-LF copy gives the same (CRLF) sizes.
  CHECK(structure(test::mime_data("mixed_lf.eml"), true) == expected);
}

TEST_CASE("bodystructure: BODY leaves out the extension data everywhere", "[imap][bodystructure]") {
  CHECK(structure(test::mime_data("mixed.eml"), false) ==
        R"~((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 31 1))~"
        R"~((("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "8bit" 22 0))~"
        R"~(("text" "html" ("charset" "utf-8") "<html.1@example.com>" "The HTML version" "quoted-printable" 47 0) "alternative"))~"
        R"~(("application" "octet-stream" ("name" "report.bin") NIL NIL "base64" 352))~"
        R"~(("message" "rfc822" NIL NIL NIL "7bit" 546 ("Sun, 22 Nov 2026 10:00:00 -0500" "=?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=" (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "example.org")) (("Inner Sender" NIL "inner" "example.org")) ((NIL NIL "Group Test" NIL)(NIL NIL "a" "example.org")(NIL NIL "b" "example.org")(NIL NIL NIL NIL)(NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL "<inner.1@example.org>"))~"
        R"~( (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 36 1)("text" "html" ("charset" "utf-8") NIL NIL "7bit" 14 0) "alternative") 19) "mixed"))~");
}

TEST_CASE("bodystructure: small cases agree with Dovecot", "[imap][bodystructure]") {
  struct Case {
    const char* msg;
    const char* want;
  };
  const Case cases[] = {
      {"From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n",
       R"~(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL))~"},
      {"Content-Type: multipart/mixed\r\n\r\nx\r\n",
       R"~((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL))~"},
      {"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno delimiters\r\n",
       R"~((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL))~"},
      {"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpi\r\n",
       R"~(("message" "rfc822" NIL NIL NIL "base64" 22 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 1 NIL NIL NIL NIL))~"},
      {"Content-Type: text/html\r\n\r\nx\r\n",
       R"~(("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL))~"},
      {"Content-Type: TEXT/PLAIN; FORMAT=flowed; CHARSET=UTF-8\r\nContent-Transfer-Encoding: BASE64\r\n"
       "Content-Disposition: inline\r\n\r\nx\r\n",
       R"~(("TEXT" "PLAIN" ("FORMAT" "flowed" "CHARSET" "UTF-8") NIL NIL "BASE64" 3 1 NIL ("inline" NIL) NIL NIL))~"},
      {"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
       "--q\r\n\r\np\r\n--q--\r\n",
       R"~(("message" "rfc822" NIL NIL NIL "7bit" 78 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL) 7 NIL NIL NIL NIL))~"},
      {"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n--q--\r\n",
       R"~((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL))~"},
  };
  for (const auto& c : cases) {
    INFO(c.msg);
    CHECK(structure(c.msg, true) == c.want);
  }
  CHECK(structure(test::mime_data("missing_end.eml"), true) ==
        R"~(((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 9 0 NIL NIL NIL NIL) "related" ("boundary" "b2") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 1 NIL NIL NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL))~");
  CHECK(structure(test::mime_data("digest.eml"), true) ==
        R"~((("message" "rfc822" NIL NIL NIL "7bit" 44 (NIL "one" ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) ((NIL NIL "one" "example.com")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL))~");
}

TEST_CASE("bodystructure: the 500-level message stops at depth 100 as Dovecot's does", "[imap][bodystructure]") {
  const std::string s = structure(test::mime_data("deep500.eml"), true);
  // 50 message/rfc822 levels, then the one the limit stopped.
  size_t messages = 0;
  for (size_t pos = 0; (pos = s.find(R"~(("message" "rfc822")~", pos)) != std::string::npos; ++pos) ++messages;
  CHECK(messages == 49);
  CHECK(s.find(R"~((("application" "octet-stream" NIL NIL NIL "7bit" 24051 NIL NIL NIL NIL) "mixed" ("boundary" "b098"))~") !=
        std::string::npos);
  size_t open = 0, close = 0;
  for (char c : s) open += c == '(', close += c == ')';
  CHECK(open == close);
}
