#include "common/imap/search_key.h"

#include <catch2/catch.hpp>

#include "common/imap/date.h"
#include "tests/unit/support/search_args.h"

using namespace tern::imap;

namespace {

// The program printed back, "BAD <text>" or "BADCHARSET".
std::string search(const std::string& text) {
  SearchParse p = parse_search(tern::test::search_args(text));
  if (p.error == SearchError::kBad) return "BAD " + p.text;
  if (p.error == SearchError::kBadCharset) return "BADCHARSET";
  return p.program.root.to_string();
}

}  // namespace

TEST_CASE("search_key: every RFC 3501 6.4.4 key parses and prints back") {
  const char* keys[] = {
      "ALL", "ANSWERED", "BCC \"a@b\"", "BEFORE 1-Feb-1994", "BODY \"x y\"", "CC \"c\"", "DELETED", "DRAFT",
      "FLAGGED", "FROM \"Smith\"", "HEADER X-Spam \"yes\"", "KEYWORD $Junk", "LARGER 1000", "NEW", "NOT SEEN",
      "OLD", "ON 31-Dec-1999", "OR SEEN FLAGGED", "RECENT", "SEEN", "SENTBEFORE 1-Jan-2000", "SENTON 2-Jan-2000",
      "SENTSINCE 3-Jan-2000", "SINCE 4-Jan-2000", "SMALLER 4294967296", "SUBJECT \"hi\"", "TEXT \"t\"", "TO \"to\"",
      "UID 1:*,5", "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNKEYWORD work", "UNSEEN", "1:3,*",
  };
  for (const char* k : keys) {
    INFO(k);
    CHECK(search(k) == k);
  }
}

TEST_CASE("search_key: keys are case-insensitive, strings are astrings, groups nest") {
  CHECK(search("from smith") == "FROM \"smith\"");
  CHECK(search("subject {5}\r\nhello") == "SUBJECT \"hello\"");
  CHECK(search("since \"1-Feb-1994\"") == "SINCE 1-Feb-1994");
  CHECK(search("SEEN (FROM a TO b) NOT (DELETED)") == "SEEN (FROM \"a\" TO \"b\") NOT (DELETED)");
  CHECK(search("OR (OR a b) c") == "BAD Unknown search key");
  CHECK(search("OR OR SEEN DRAFT NOT OR 1 2") == "OR OR SEEN DRAFT NOT OR 1 2");
  CHECK(search("HEADER Subject \"\"") == "HEADER Subject \"\"");
  CHECK(search("BODY \"line\"") == "BODY \"line\"");
}

TEST_CASE("search_key: the tree has the expected shape") {
  SearchParse p = parse_search(tern::test::search_args("CHARSET utf-8 OR FROM x NOT UID 5 LARGER 10 SINCE 1-Feb-1994"));
  REQUIRE(p.error == SearchError::kNone);
  CHECK(p.program.charset == "UTF-8");
  const SearchKey& root = p.program.root;
  REQUIRE(root.kind == SearchKind::kAnd);
  REQUIRE(root.children.size() == 3);
  const SearchKey& orr = root.children[0];
  REQUIRE(orr.kind == SearchKind::kOr);
  REQUIRE(orr.children.size() == 2);
  CHECK(orr.children[0].kind == SearchKind::kFrom);
  CHECK(orr.children[0].text == "x");
  CHECK(orr.children[1].kind == SearchKind::kNot);
  CHECK(orr.children[1].children[0].kind == SearchKind::kUid);
  CHECK(orr.children[1].children[0].set.to_string() == "5");
  CHECK(root.children[1].kind == SearchKind::kLarger);
  CHECK(root.children[1].number == 10);
  CHECK(root.children[2].kind == SearchKind::kSince);
  CHECK(root.children[2].day == day_number(1994, 2, 1));
}

TEST_CASE("search_key: CHARSET UTF-8 and US-ASCII only, else BADCHARSET") {
  CHECK(search("CHARSET US-ASCII ALL") == "ALL");
  CHECK(search("CHARSET \"UTF-8\" SUBJECT {4}\r\n\xc3\xa9t\xc3") == "BAD Invalid UTF-8 in search argument");
  CHECK(search("CHARSET UTF-8 SUBJECT {3}\r\n\xc3\xa9t") == "SUBJECT {3}\r\n\xc3\xa9t");
  CHECK(search("CHARSET ISO-8859-1 SUBJECT x") == "BADCHARSET");
  CHECK(search("CHARSET") == "BAD Missing charset");
  CHECK(search("CHARSET UTF-8") == "BAD Missing search keys");
}

TEST_CASE("search_key: malformed keys are BAD") {
  struct Case {
    const char* in;
    const char* error;
  };
  const Case cases[] = {
      {"FOO", "BAD Unknown search key"},
      {"FROM", "BAD Missing search argument"},
      {"FROM (a)", "BAD Invalid search argument"},
      {"HEADER", "BAD Missing search argument"},
      {"HEADER \"a b\" x", "BAD Invalid header field name"},
      {"HEADER \"a:\" x", "BAD Invalid header field name"},
      {"KEYWORD \\Seen", "BAD Invalid keyword"},
      {"BEFORE 1-Feb-94", "BAD Invalid date"},
      {"BEFORE", "BAD Missing search argument"},
      {"LARGER x", "BAD Invalid number"},
      {"LARGER -1", "BAD Invalid number"},
      {"LARGER \"5\"", "BAD Number expected"},
      {"LARGER 99999999999999999999", "BAD Invalid number"},
      {"UID x", "BAD Invalid sequence set"},
      {"UID", "BAD Sequence set expected"},
      {"0", "BAD Invalid sequence set"},
      {"NOT", "BAD Missing search key"},
      {"OR SEEN", "BAD Missing search key"},
      {"()", "BAD Empty search key list"},
      {"\"ALL\"", "BAD Invalid search key"},
  };
  for (const Case& c : cases) {
    INFO(c.in);
    CHECK(search(c.in) == c.error);
  }
}

TEST_CASE("search_key: nesting and key count are bounded without deep recursion") {
  std::string deep;
  for (size_t i = 0; i < kMaxSearchDepth; ++i) deep += "NOT ";
  CHECK(search(deep + "SEEN").rfind("NOT NOT", 0) == 0);
  CHECK(search(deep + "NOT SEEN") == "BAD Search keys nested too deep");
  // 100,000 ORs: built as values, as no reader with the default limits
  // would pass such a line on.
  std::vector<Value> many(100000, Value::atom("OR"));
  SearchParse p = parse_search(many);
  CHECK(p.error == SearchError::kBad);
  CHECK(p.text == "Search keys nested too deep");
  std::vector<Value> wide(kMaxSearchKeys + 1, Value::atom("SEEN"));
  p = parse_search(wide);
  CHECK(p.text == "Too many search keys");
  wide.pop_back();
  CHECK(parse_search(wide).error == SearchError::kNone);
}
