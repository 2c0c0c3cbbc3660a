#include "common/imap/fetch_section.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/support/mime_data.h"

using namespace tern;
using tern::test::crlf;
using namespace tern::imap;

namespace {

Section sec(std::vector<uint32_t> part, SectionText text = SectionText::kNone, std::vector<std::string> fields = {}) {
  Section s;
  s.part = std::move(part);
  s.text = text;
  s.fields = std::move(fields);
  return s;
}

std::string fetch(const std::string& msg, const Section& s, std::optional<Partial> partial = std::nullopt) {
  auto tree = mail::parse_mime(msg);
  SectionData d = fetch_section(msg, tree, s, partial);
  uint64_t size = d.size();
  std::string out = d.read_all(msg);
  CHECK(out.size() == size);
  return out;
}

}  // namespace

// Expected bytes as Dovecot 2.3.19 sends them for the same files.
TEST_CASE("fetch_section: sections of a single-part message", "[imap][fetch_section]") {
  const std::string msg = test::mime_data("simple.eml");
  using T = SectionText;
  CHECK(fetch(msg, sec({})) == msg);
  CHECK(fetch(msg, sec({}, T::kHeader)) == crlf("From: a@b.example\nSubject: hi\n\n"));
  CHECK(fetch(msg, sec({}, T::kText)) == crlf("line one\nline two\n"));
  CHECK(fetch(msg, sec({1})) == crlf("line one\nline two\n"));
  CHECK(fetch(msg, sec({1}, T::kMime)) == crlf("From: a@b.example\nSubject: hi\n\n"));
  CHECK(fetch(msg, sec({1}, T::kHeader)) == "");
  CHECK(fetch(msg, sec({1}, T::kText)) == "");
  CHECK(fetch(msg, sec({1, 1})) == "");
  CHECK(fetch(msg, sec({5})) == "");
  CHECK(fetch(msg, sec({}, T::kHeaderFields, {"X-None"})) == "\r\n");
  CHECK(fetch(msg, sec({}, T::kHeaderFields, {"SUBJECT", "from"})) == crlf("From: a@b.example\nSubject: hi\n\n"));
  CHECK(fetch(msg, sec({}, T::kHeaderFieldsNot, {"SUBJECT"})) == crlf("From: a@b.example\n\n"));
  CHECK(fetch(msg, sec({}), Partial{100, 5}) == "");
  CHECK(fetch(msg, sec({}), Partial{5, 5}) == " a@b.");
  CHECK(fetch(msg, sec({}), Partial{50, 100}) == "wo\r\n");

  auto tree = mail::parse_mime(msg);
  CHECK_FALSE(fetch_section(msg, tree, sec({5})).exists());
  CHECK(fetch_section(msg, tree, sec({1})).exists());
}

TEST_CASE("fetch_section: parts, MIME headers and the message inside a message/rfc822", "[imap][fetch_section]") {
  const std::string msg = test::mime_data("mixed.eml");
  using T = SectionText;
  const std::string inner_header = crlf(
      "From: Inner Sender <inner@example.org>\n"
      "To: \"Group Test\": a@example.org, b@example.org;, undisclosed-recipients:;\n"
      "Subject: =?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=\n"
      "Date: Sun, 22 Nov 2026 10:00:00 -0500\n"
      "Message-ID: <inner.1@example.org>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/alternative; boundary=\"inner-alt\"\n\n");
  CHECK(fetch(msg, sec({4}, T::kHeader)) == inner_header);
  CHECK(fetch(msg, sec({4}, T::kText), Partial{0, 40}) == crlf("--inner-alt\nContent-Type: text/plain; c"));
  CHECK(fetch(msg, sec({4}, T::kMime)) == crlf("Content-Type: message/rfc822\nContent-Disposition: inline\n\n"));
  CHECK(fetch(msg, sec({4}), Partial{0, 30}) == "From: Inner Sender <inner@exam");
  CHECK(fetch(msg, sec({4, 1})) == crlf("Bonjour =C3=A0 tous,\nle d=C3=A9but."));
  CHECK(fetch(msg, sec({4, 1}, T::kMime)) ==
        crlf("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"));
  CHECK(fetch(msg, sec({2}, T::kHeader)) == "");
  CHECK(fetch(msg, sec({2})).size() == 347);
  CHECK(fetch(msg, sec({4}, T::kHeaderFields, {"subject"})) ==
        crlf("Subject: =?utf-8?q?Ce_n=27est_qu=27un_d=C3=A9but?=\n\n"));
  // Folded fields keep their folds.
  CHECK(fetch(msg, sec({3}, T::kMime)) ==
        crlf("Content-Type: application/octet-stream; name=\"report.bin\"\n"
             "Content-Transfer-Encoding: base64\n"
             "Content-Disposition: attachment;\n"
             " filename*0*=utf-8''R%C3%A9sum%C3%A9%20;\n"
             " filename*1=\"of the year.bin\"; size=256\n"
             "Content-Language: en, fr\n"
             "Content-Location: http://example.com/\n"
             "  report.bin\n\n"));
  CHECK(fetch(msg, sec({3}, T::kMime)).size() == 292);

  const std::string digest = test::mime_data("digest.eml");
  CHECK(fetch(digest, sec({1, 1})) == "first");
  CHECK(fetch(digest, sec({1, 1}, T::kMime)) == crlf("From: one@example.com\nSubject: one\n\n"));
  CHECK(fetch(digest, sec({1}, T::kHeader)) == crlf("From: one@example.com\nSubject: one\n\n"));
}

TEST_CASE("fetch_section: a bare-LF file gives the bytes of its CRLF form, partials included",
          "[imap][fetch_section]") {
  const std::string lf = test::mime_data("mixed_lf.eml");
  const std::string cr = test::mime_data("mixed.eml");
  using T = SectionText;
  const Section sections[] = {sec({}),        sec({}, T::kHeader), sec({}, T::kText), sec({1}),
                              sec({2, 2}),    sec({3}, T::kMime),  sec({4}),          sec({4}, T::kHeader),
                              sec({4}, T::kText), sec({4, 2}),
                              sec({}, T::kHeaderFields, {"To", "Cc"}), sec({4}, T::kHeaderFieldsNot, {"To"})};
  for (const auto& s : sections) {
    const std::string want = fetch(cr, s);
    CHECK(fetch(lf, s) == want);
    // Every origin (also one between the CR and LF of a normalised line
    // end) and a few counts.
    for (uint32_t origin = 0; origin <= want.size() + 1; origin += (want.size() > 400 ? 7 : 1)) {
      for (uint32_t count : {1u, 2u, 3u, 100u}) {
        std::string part = origin < want.size() ? want.substr(origin, count) : "";
        INFO("origin " << origin << " count " << count);
        REQUIRE(fetch(lf, s, Partial{origin, count}) == part);
      }
    }
  }
}

TEST_CASE("fetch_section: reading in small pieces gives the same bytes", "[imap][fetch_section]") {
  const std::string lf = test::mime_data("mixed_lf.eml");
  auto tree = mail::parse_mime(lf);
  SectionData d = fetch_section(lf, tree, sec({}));
  const uint64_t size = d.size();
  std::string out;
  size_t calls = 0;
  while (d.read(lf, &out, 3) > 0) ++calls;
  CHECK(out == test::mime_data("mixed.eml"));
  CHECK(out.size() == size);
  CHECK(calls == (size + 2) / 3);
  CHECK(d.size() == 0);
}
