#include "common/mail/mime.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/unit/support/mime_data.h"

using namespace tern;
using tern::test::crlf;
using namespace tern::mail;

namespace {

std::string body_of(std::string_view msg, const MimePart& p) {
  return std::string(msg.substr(p.body_begin, p.body_end - p.body_begin));
}
std::string header_of(std::string_view msg, const MimePart& p) {
  return std::string(msg.substr(p.header_begin, p.body_begin - p.header_begin));
}

}  // namespace

TEST_CASE("mime: a message without MIME is one text/plain entity", "[mail][mime]") {
  const std::string msg = crlf("From: a@b.example\nSubject: hi\n\nline one\nline two\n");
  MimeTree t = parse_mime(msg);
  REQUIRE(t.parts.size() == 1);
  const MimePart& p = t.parts[0];
  CHECK(p.kind == MimePart::Kind::kLeaf);
  CHECK_FALSE(p.has_content_type);
  CHECK(p.type == "text");
  CHECK(p.subtype == "plain");
  REQUIRE(p.params.size() == 1);
  CHECK(p.params[0].name == "charset");
  CHECK(p.params[0].value == "us-ascii");
  CHECK(header_of(msg, p) == crlf("From: a@b.example\nSubject: hi\n\n"));
  CHECK(body_of(msg, p) == crlf("line one\nline two\n"));
  CHECK(p.header_size == 34);
  CHECK(p.body_size == 20);
  CHECK(p.body_lines == 2);
  CHECK(t.size() == msg.size());
  CHECK_FALSE(t.has_bare_lf);
}

TEST_CASE("mime: the multipart test message has the expected tree", "[mail][mime]") {
  const std::string msg = test::mime_data("mixed.eml");
  MimeTree t = parse_mime(msg);
  // 0 mixed: 1 text, 2 alternative (3 text, 4 html), 5 attachment,
  // 6 message/rfc822 (7 message: alternative (8 text, 9 html)).
  REQUIRE(t.parts.size() == 10);
  CHECK(t.parts[0].kind == MimePart::Kind::kMultipart);
  CHECK(t.parts[0].children == std::vector<uint32_t>{1, 2, 5, 6});
  CHECK(t.parts[2].children == std::vector<uint32_t>{3, 4});
  CHECK(t.parts[6].kind == MimePart::Kind::kMessage);
  CHECK(t.parts[6].children == std::vector<uint32_t>{7});
  CHECK(t.parts[7].children == std::vector<uint32_t>{8, 9});
  CHECK(t.parts[9].depth == 3);
  CHECK(body_of(msg, t.parts[1]) == crlf("Hello,\nthe report is attached."));
  CHECK(header_of(msg, t.parts[1]) ==
        crlf("Content-Type: text/plain; charset=\"us-ascii\"\nContent-Language: en\n\n"));
  CHECK(t.parts[1].language == std::vector<std::string>{"en"});
  CHECK(body_of(msg, t.parts[8]) == crlf("Bonjour =C3=A0 tous,\nle d=C3=A9but."));
  CHECK(t.parts[4].id == "<html.1@example.com>");
  CHECK(t.parts[4].description == "The HTML version");
  CHECK(t.parts[4].encoding == "quoted-printable");
  const MimePart& att = t.parts[5];
  CHECK(att.encoding_lower() == "base64");
  REQUIRE(att.disposition);
  CHECK(att.disposition->type == "attachment");
  CHECK(param_value(att.disposition->params, "filename") == "R\xC3\xA9sum\xC3\xA9 of the year.bin");
  CHECK(param_value(att.disposition->params, "size") == "256");
  CHECK(att.language == std::vector<std::string>{"en", "fr"});
  CHECK(att.location == "http://example.com/report.bin");
  // The encapsulated message starts where the message/rfc822 body does.
  CHECK(t.parts[7].header_begin == t.parts[6].body_begin);
  CHECK(t.parts[7].body_end == t.parts[6].body_end);
  CHECK(t.size() == msg.size());
}

TEST_CASE("mime: a bare-LF file gives the sizes and lines of its CRLF form", "[mail][mime]") {
  const std::string lf = test::mime_data("mixed_lf.eml");
  const std::string cr = test::mime_data("mixed.eml");
  REQUIRE(crlf(lf) == cr);
  MimeTree a = parse_mime(lf), b = parse_mime(cr);
  CHECK(a.has_bare_lf);
  REQUIRE(a.parts.size() == b.parts.size());
  for (size_t i = 0; i < a.parts.size(); ++i) {
    INFO("part " << i);
    CHECK(a.parts[i].header_size == b.parts[i].header_size);
    CHECK(a.parts[i].body_size == b.parts[i].body_size);
    CHECK(a.parts[i].body_lines == b.parts[i].body_lines);
    CHECK(crlf(body_of(lf, a.parts[i])) == body_of(cr, b.parts[i]));
    CHECK(crlf(header_of(lf, a.parts[i])) == header_of(cr, b.parts[i]));
  }
  CHECK(a.size() == cr.size());
}

TEST_CASE("mime: missing close delimiters end at the parent's delimiter or the end", "[mail][mime]") {
  const std::string msg = test::mime_data("missing_end.eml");
  MimeTree t = parse_mime(msg);
  // 0 mixed: 1 related (2 text), 3 text
  REQUIRE(t.parts.size() == 4);
  CHECK(t.parts[1].children == std::vector<uint32_t>{2});
  CHECK(body_of(msg, t.parts[2]) == "inner one");
  CHECK(body_of(msg, t.parts[3]) == "second\r\n");
  CHECK(t.parts[0].body_end == msg.size());
}

TEST_CASE("mime: delimiters, preamble, epilogue and empty parts", "[mail][mime]") {
  const std::string msg = crlf(
      "Content-Type: multipart/mixed; boundary=\"=_b\"\n"
      "\n"
      "preamble\n"
      "--=_b  \n"      // transport padding
      "\n"
      "one\n"
      "--=_b\n"
      "--=_b\n"        // an empty part (no header, no body)
      "Content-Type: text/plain\n"
      "--=_b--\n"      // a part whose header runs into the delimiter
      "epilogue\n");
  MimeTree t = parse_mime(msg);
  REQUIRE(t.parts.size() == 4);
  CHECK(body_of(msg, t.parts[1]) == "one");
  CHECK(t.parts[2].header_size == 0);
  CHECK(t.parts[2].body_size == 0);
  CHECK(t.parts[3].has_content_type);
  CHECK(t.parts[3].body_size == 0);
  CHECK(t.parts[0].body_end == msg.size());
}

TEST_CASE("mime: a multipart without boundary or delimiter has no parts", "[mail][mime]") {
  for (const char* text : {"Content-Type: multipart/mixed\n\nx\n", "Content-Type: multipart/mixed; boundary=z\n\nx\n"}) {
    MimeTree t = parse_mime(crlf(text));
    REQUIRE(t.parts.size() == 1);
    CHECK(t.parts[0].children.empty());
  }
}

TEST_CASE("mime: multipart/digest parts default to message/rfc822", "[mail][mime]") {
  MimeTree t = parse_mime(test::mime_data("digest.eml"));
  REQUIRE(t.parts.size() == 4);
  CHECK(t.parts[1].is_type("message", "rfc822"));
  CHECK(t.parts[1].kind == MimePart::Kind::kMessage);
  CHECK(t.parts[3].is_type("text", "plain"));
}

TEST_CASE("mime: 500 levels of nesting stop at the limit, fast", "[mail][mime]") {
  const std::string msg = test::mime_data("deep500.eml");
  auto start = std::chrono::steady_clock::now();
  MimeTree t = parse_mime(msg);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::milliseconds(200));
  CHECK(t.limited);
  uint32_t deepest = 0;
  for (const auto& p : t.parts) deepest = std::max(deepest, p.depth);
  CHECK(deepest == 99);
  // The level-99 message/rfc822 part (depth 99) is not split.
  size_t opaque = 0;
  for (const auto& p : t.parts) {
    if (!p.opaque) continue;
    ++opaque;
    CHECK(p.depth == 99);
  }
  CHECK(opaque == 1);
  CHECK(t.size() == msg.size());

  MimeLimits tight;
  tight.nesting = 3;
  MimeTree u = parse_mime(msg, tight);
  CHECK(u.parts.size() == 3);  // message, part 1 (rfc822, opaque)... and nothing deeper than 2
  for (const auto& p : u.parts) CHECK(p.depth < 3);
}

TEST_CASE("mime: after the parts limit the rest is body of the last part", "[mail][mime]") {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 50; ++i) msg += "--b\r\n\r\npart\r\n";
  msg += "--b--\r\n";
  MimeLimits limits;
  limits.parts = 10;
  MimeTree t = parse_mime(msg, limits);
  CHECK(t.limited);
  REQUIRE(t.parts.size() == 10);
  CHECK(t.parts.back().opaque);
  CHECK(t.parts.back().body_end == msg.size());
  CHECK(t.parts[0].body_end == msg.size());
}

TEST_CASE("mime: Content-Type parameters, RFC 2231 and garbage", "[mail][mime]") {
  auto ct = parse_content_type(
      " Text/Plain (comment) ; Charset = \"UTF-8\" ; format=flowed; junk; name=\"a \\\"q\\\" b\"");
  REQUIRE(ct);
  CHECK(ct->type == "Text");
  CHECK(ct->subtype == "Plain");
  REQUIRE(ct->params.size() == 3);
  CHECK(ct->params[0].name == "Charset");
  CHECK(ct->params[0].value == "UTF-8");
  CHECK(ct->params[2].value == "a \"q\" b");
  CHECK_FALSE(parse_content_type("text"));
  CHECK_FALSE(parse_content_type(""));
  CHECK_FALSE(parse_content_type("/plain"));

  auto joined = parse_content_type("application/x; name*1=\"two\"; name*0=\"one \"; title*=us-ascii'en'%41b");
  REQUIRE(joined);
  REQUIRE(joined->params.size() == 2);
  CHECK(joined->params[0].name == "title*");
  CHECK(joined->params[1].name == "name");
  CHECK(joined->params[1].value == "one two");
  CHECK(param_value(joined->params, "title") == "Ab");
  auto euro = parse_content_type("image/png; name*=iso-8859-15''%A4.png");
  REQUIRE(euro);
  CHECK(param_value(euro->params, "name") == "\xE2\x82\xAC.png");
  // An unknown charset keeps the bytes.
  auto unknown = parse_content_type("image/png; name*=x-nonesuch''%41%42");
  CHECK(param_value(unknown->params, "name") == "AB");
}

TEST_CASE("mime: resolve_section maps IMAP part numbers", "[mail][mime]") {
  MimeTree t = parse_mime(test::mime_data("mixed.eml"));
  using V = std::vector<uint32_t>;
  CHECK(resolve_section(t, {}) == 0u);
  CHECK(resolve_section(t, V{1}) == 1u);
  CHECK(resolve_section(t, V{2}) == 2u);
  CHECK(resolve_section(t, V{2, 2}) == 4u);
  CHECK(resolve_section(t, V{4}) == 6u);
  CHECK(resolve_section(t, V{4, 1}) == 8u);  // into the encapsulated multipart
  CHECK(resolve_section(t, V{4, 2}) == 9u);
  CHECK_FALSE(resolve_section(t, V{5}));
  CHECK_FALSE(resolve_section(t, V{1, 1}));
  CHECK_FALSE(resolve_section(t, V{0}));

  MimeTree s = parse_mime(crlf("Subject: x\n\nbody\n"));
  CHECK(resolve_section(s, V{1}) == 0u);  // a single-part message's part 1 is itself
  CHECK_FALSE(resolve_section(s, V{2}));
  CHECK_FALSE(resolve_section(s, V{1, 1}));

  MimeTree d = parse_mime(test::mime_data("digest.eml"));
  CHECK(resolve_section(d, V{1, 1}) == 2u);  // the text of a non-multipart encapsulated message
  CHECK_FALSE(resolve_section(d, V{1, 2}));
}

TEST_CASE("mime: entity_fields reads an entity's header again", "[mail][mime]") {
  const std::string msg = test::mime_data("mixed.eml");
  MimeTree t = parse_mime(msg);
  auto fields = entity_fields(msg, t.parts[7]);
  REQUIRE(find_field(fields, "Subject"));
  CHECK(find_field(fields, "Subject")->unfolded() == "=?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=");
}

TEST_CASE("mime: hostile inputs parse", "[mail][mime]") {
  for (std::string text : {std::string(), std::string("\n"), std::string("\r\n\r\n"), std::string("no header line"),
                           std::string("Content-Type: multipart/mixed; boundary=\"\"\n\n--\n"),
                           std::string("Content-Type: message/rfc822\n\n"), std::string("--\n--\n"),
                           std::string(10000, '\n'), std::string("Content-Type: multipart/x; boundary=a\n--a\n--a")}) {
    MimeTree t = parse_mime(text);
    REQUIRE_FALSE(t.parts.empty());
    for (const auto& p : t.parts) {
      CHECK(p.header_begin <= p.body_begin);
      CHECK(p.body_begin <= p.body_end);
      CHECK(p.body_end <= text.size());
    }
  }
}
