#include "common/imap/search_eval.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/imap/date.h"
#include "common/store/flags.h"
#include "tests/unit/support/mime_data.h"
#include "tests/unit/support/search_args.h"

using namespace tern;
using namespace tern::imap;

namespace {

// The program of "t SEARCH <text>".
SearchProgram program(const std::string& text) {
  SearchParse p = parse_search(test::search_args(text));
  REQUIRE(p.error == SearchError::kNone);
  return p.program;
}

// "KEY {n}\r\nvalue" (8-bit text must go as a literal), with CHARSET UTF-8.
std::string lit(const std::string& key, const std::string& value) {
  return "CHARSET UTF-8 " + key + "{" + std::to_string(value.size()) + "}\r\n" + value;
}

SearchMessage info() {
  SearchMessage m;
  m.uid = 42;
  m.seqnum = 7;
  m.flags = store::kFlagSeen | store::kFlagFlagged;
  m.keywords = {"$Forwarded", "Work"};
  m.internaldate = 1795411800;  // Mon, 23 Nov 2026 05:30:00 UTC
  m.internaldate_zone = 60;     // 06:30 +0100: the 23rd either way
  m.rfc822_size = 2408;
  return m;
}

bool match(const std::string& keys, const std::string& msg, SearchMessage m = info()) {
  SearchProgram p = program(keys);
  auto tree = mail::parse_mime(msg);
  SearchEvaluator ev(p.root, 10, 100);
  return ev.matches(m, msg, &tree);
}

}  // namespace

TEST_CASE("search_eval: flags, keywords, sizes, sets and dates from the caller", "[imap][search_eval]") {
  const std::string msg = test::mime_data("mixed.eml");
  struct Case {
    const char* keys;
    bool want;
  };
  const Case cases[] = {
      {"ALL", true},          {"SEEN", true},           {"UNSEEN", false},      {"FLAGGED", true},
      {"UNFLAGGED", false},   {"ANSWERED", false},      {"UNANSWERED", true},   {"DELETED", false},
      {"UNDELETED", true},    {"DRAFT", false},         {"UNDRAFT", true},      {"RECENT", false},
      {"OLD", true},          {"NEW", false},           {"KEYWORD work", true}, {"KEYWORD $Junk", false},
      {"UNKEYWORD $Junk", true}, {"UNKEYWORD $forwarded", false},
      {"LARGER 2407", true},  {"LARGER 2408", false},   {"SMALLER 2409", true}, {"SMALLER 2408", false},
      {"UID 42", true},       {"UID 1:41,43:*", false}, {"UID 100:*", false},   {"UID *", false},
      {"7", true},            {"1:6,8:*", false},       {"*", false},           {"10:*", false},
      {"ON 23-Nov-2026", true}, {"BEFORE 23-Nov-2026", false}, {"BEFORE 24-Nov-2026", true},
      {"SINCE 23-Nov-2026", true}, {"SINCE 24-Nov-2026", false},
      {"NOT SEEN", false},    {"OR UNSEEN FLAGGED", true}, {"OR UNSEEN DRAFT", false},
      {"(SEEN FLAGGED) NOT DELETED", true}, {"SEEN DELETED", false},
  };
  for (const auto& c : cases) {
    INFO(c.keys);
    CHECK(match(c.keys, msg) == c.want);
  }
  SearchMessage m = info();
  m.recent = true;
  m.flags = 0;
  CHECK(match("NEW", msg, m));
  CHECK(match("RECENT UNSEEN", msg, m));
  CHECK(match("7", msg, m));
  m.seqnum = 10;
  CHECK(match("*", msg, m));
  // The internal date's day is taken in its own zone: 23:30 -0500 on the
  // 22nd is 04:30 UTC on the 23rd.
  m.internaldate = 1795411800 - 3600;
  m.internaldate_zone = -300;
  CHECK(match("ON 22-Nov-2026", msg, m));
}

TEST_CASE("search_eval: header keys match decoded, case-insensitive text", "[imap][search_eval]") {
  const std::string msg = test::mime_data("mixed.eml");
  struct Case {
    std::string keys;
    bool want;
  };
  const Case cases[] = {
      {"FROM andre@example.com", true},
      {lit("FROM ", "Andr\xC3\xA9 Dupont"), true},  // RFC 2047 decoded (iso-8859-1)
      {lit("FROM ", "ANDR\xC3\x89"), true},         // É folds to é
      {"FROM jane", false},
      {"TO \"doe, jane\"", true},
      {"TO bob@EXAMPLE.net", true},
      {"CC team", true},
      {"CC carol", true},
      {"BCC carol", false},
      {lit("SUBJECT ", "\xC3\xA9t\xC3\xA9 edition"), true},
      {"SUBJECT quarterly", true},
      {"SUBJECT inner", false},
      {"HEADER Message-ID <20261123063000.ABC@example.com>", true},
      {"HEADER message-id \"\"", true},
      {"HEADER X-Nonesuch \"\"", false},
      {"HEADER Return-Path sender", true},
      {"SENTON 23-Nov-2026", true},
      {"SENTBEFORE 23-Nov-2026", false},
      {"SENTBEFORE 24-Nov-2026", true},
      {"SENTSINCE 23-Nov-2026", true},
      {"SENTSINCE 24-Nov-2026", false},
  };
  for (const auto& c : cases) {
    INFO(c.keys);
    CHECK(match(c.keys, msg) == c.want);
  }
}

// The same program answered from a search record (made from the header
// section alone, formatted, parsed back), when the record suffices.
std::optional<bool> match_record(const std::string& keys, const std::string& msg, SearchMessage m = info()) {
  SearchProgram p = program(keys);
  if (!search_header_suffices(p.root)) return std::nullopt;
  std::string_view header = header_section(msg, msg.size());
  auto tree = mail::parse_mime(header);
  std::string record = search_header_record(header, tree);
  auto parsed = parse_search_header(record);
  REQUIRE(parsed);
  SearchEvaluator ev(p.root, 10, 100);
  return ev.matches(m, *parsed);
}

TEST_CASE("search_eval: a search record answers header keys as the message does", "[imap][search_eval]") {
  for (const char* file : {"mixed.eml", "mixed_lf.eml"}) {
    const std::string msg = test::mime_data(file);
    const char* keys[] = {
        "FROM andre@example.com", "FROM jane", "TO \"doe, jane\"", "TO bob@EXAMPLE.net", "CC team",
        "BCC carol", "SUBJECT quarterly", "SUBJECT inner", "HEADER Message-ID <20261123063000.ABC@example.com>",
        "HEADER message-id \"\"", "SENTON 23-Nov-2026", "SENTBEFORE 24-Nov-2026", "SENTSINCE 24-Nov-2026",
        "OR FROM nobody SUBJECT edition", "NOT FROM andre SEEN", "UNSEEN"};
    for (const char* k : keys) {
      INFO(file << ": " << k);
      auto r = match_record(k, msg);
      REQUIRE(r);
      CHECK(*r == match(k, msg));
    }
    std::string accented = lit("FROM ", "ANDR\xC3\x89");
    CHECK(match_record(accented, msg) == std::optional<bool>(true));
  }
  // Keys a record cannot answer.
  const std::string msg = test::mime_data("mixed.eml");
  CHECK_FALSE(match_record("HEADER Return-Path sender", msg));
  CHECK_FALSE(match_record("BODY x", msg));
  CHECK_FALSE(match_record("OR FROM a TEXT b", msg));
}

TEST_CASE("search_eval: search records: several fields of a name, no Date:, damage", "[imap][search_eval]") {
  const std::string msg =
      "From: a@x.test\r\nSubject: one\r\nsubject: =?utf-8?q?Zw=C3=B6lf?=\r\nX-Other: y\r\n\r\nFrom: body@x.test\r\n";
  std::string_view header = header_section(msg, msg.size());
  CHECK(header.size() == msg.find("\r\n\r\n") + 4);
  auto tree = mail::parse_mime(header);
  std::string record = search_header_record(header, tree);
  auto h = parse_search_header(record);
  REQUIRE(h);
  CHECK_FALSE(h->sent_day);
  REQUIRE(h->fields.size() == 3);
  CHECK(h->fields[2].first == "subject");
  CHECK(h->fields[2].second == "zw\xC3\xB6lf");
  SearchMessage m = info();
  for (const char* k : {"SUBJECT one", "SUBJECT zw", "FROM body", "SENTON 23-Nov-2026", "HEADER from \"\""}) {
    INFO(k);
    SearchProgram p = program(k);
    SearchEvaluator ev(p.root, 10, 100);
    auto whole = mail::parse_mime(msg);
    CHECK(ev.matches(m, *h) == ev.matches(m, msg, &whole));
  }
  // A value holding line ends and digits survives the format.
  const std::string odd = "Subject: =?utf-8?q?a=0A5_b?=\n\nbody";
  auto t2 = mail::parse_mime(header_section(odd, 100));
  const std::string r2 = search_header_record(header_section(odd, 100), t2);
  auto h2 = parse_search_header(r2);
  REQUIRE(h2);
  REQUIRE(h2->fields.size() == 1);
  CHECK(h2->fields[0].second == "a\n5 b");
  CHECK(header_section("\r\nbody", 100) == "\r\n");
  CHECK(header_section("no end", 3) == "no ");
  for (const char* bad : {"", "S2 -\n", "S1 -", "S1 x\n", "S1 -\nfrom 5\nab\n", "S1 -\nfrom -1\n\n", "S1 -\nfrom 1\nab"})
    CHECK_FALSE(parse_search_header(bad));
}

TEST_CASE("search_eval: BODY and TEXT search decoded text parts", "[imap][search_eval]") {
  const std::string msg = test::mime_data("mixed.eml");
  const std::string lf = test::mime_data("mixed_lf.eml");
  struct Case {
    std::string keys;
    bool want;
  };
  const Case cases[] = {
      {"BODY \"report is attached\"", true},
      {"BODY \"REPORT IS\"", true},
      {lit("BODY ", "caf\xC3\xA9 <b>bold"), true},          // quoted-printable text/html, decoded
      {"BODY \"Caf=C3=A9\"", false},                  // ... not the encoded form
      {lit("BODY ", "\xC3\xA0 tous"), true},                // inside the message/rfc822
      {lit("BODY ", "Ce n'est qu'un d\xC3\xA9" "but"), true},  // the encapsulated message's header
      {"BODY AAECAwQF", false},                       // the base64 attachment is not text
      {"BODY Quarterly", false},                      // the header is not body
      {"BODY Epilogue", false},
      {"BODY preamble", false},
      {"TEXT Quarterly", true},
      {"TEXT \"report is attached\"", true},
      {"TEXT \"return-path: <sender\"", true},
      {"TEXT nonesuch", false},
  };
  for (const auto& c : cases) {
    INFO(c.keys);
    CHECK(match(c.keys, msg) == c.want);
    CHECK(match(c.keys, lf) == c.want);
  }
  // A single-part message is its own text; charsets convert.
  const std::string latin = "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                            "Content-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve caf=E9\r\n";
  CHECK(match(lit("BODY ", "NA\xC3\x8FVE CAF\xC3\x89"), latin));
  CHECK(match(lit("BODY ", "na\xC3\xAFve"), latin));
  const std::string plain = "Subject: x\r\n\r\nhello world\r\n";
  CHECK(match("BODY \"o w\"", plain));
  CHECK_FALSE(match("BODY subject", plain));
}

TEST_CASE("search_eval: search_needs says what the caller must read", "[imap][search_eval]") {
  CHECK(search_needs(program("SEEN UID 1:* LARGER 5 SINCE 1-Jan-2020").root) == SearchNeeds::kNothing);
  CHECK(search_needs(program("SEEN OR FROM x SMALLER 9").root) == SearchNeeds::kHeader);
  CHECK(search_needs(program("SENTON 1-Jan-2020").root) == SearchNeeds::kHeader);
  CHECK(search_needs(program("NOT (SEEN TEXT x)").root) == SearchNeeds::kMessage);
  // Without the bytes, content keys do not match.
  SearchProgram p = program("FROM x");
  SearchEvaluator ev(p.root, 1, 1);
  CHECK_FALSE(ev.matches(info()));
}

TEST_CASE("search_eval: search_uses_date and search_uses_keywords say which fields are read", "[imap][search_eval]") {
  struct Case {
    const char* program;
    bool date;
    bool keywords;
  };
  for (const Case& c : {Case{"FROM alice", false, false}, Case{"UNSEEN", false, false},
                        Case{"SUBJECT x LARGER 5 UID 1:*", false, false}, Case{"SINCE 1-Jan-2020", true, false},
                        Case{"OR SEEN NOT BEFORE 1-Jan-2020", true, false}, Case{"SENTON 1-Jan-2020", true, false},
                        Case{"KEYWORD $Junk", false, true}, Case{"NOT (UNKEYWORD x ON 2-Feb-2021)", true, true}}) {
    SearchProgram p = program(c.program);
    CHECK(search_uses_date(p.root) == c.date);
    CHECK(search_uses_keywords(p.root) == c.keywords);
  }
}

TEST_CASE("search_eval: helpers", "[imap][search_eval]") {
  CHECK(fold_case("ABC \xC3\x89t\xC3\xA9 \xD0\x9F\xD0\xA0\xD0\x98 \xCE\xA3") == "abc \xC3\xA9t\xC3\xA9 \xD0\xBF\xD1\x80\xD0\xB8 \xCF\x83");
  CHECK(fold_case("\xFF\xFEX") == "\xFF\xFEx");
  CHECK(rfc5322_day("Mon, 23 Nov 2026 06:30:00 +0100") == day_number(2026, 11, 23));
  CHECK(rfc5322_day("23 nov 26 06:30 EST") == day_number(2026, 11, 23));
  CHECK(rfc5322_day("  Sat (comment),  1 Jan 1999 ") == day_number(1999, 1, 1));
  CHECK(rfc5322_day("1 Jan 99") == day_number(1999, 1, 1));
  CHECK(rfc5322_day("1 Jan 101") == day_number(2001, 1, 1));
  CHECK_FALSE(rfc5322_day("garbage"));
  CHECK_FALSE(rfc5322_day("31 Foo 2020"));
  CHECK_FALSE(rfc5322_day(""));
  // Without a parsable Date:, SENT* use the internal date's day.
  const std::string nodate = "Subject: x\r\n\r\nb\r\n";
  CHECK(match("SENTON 23-Nov-2026", nodate));
}
