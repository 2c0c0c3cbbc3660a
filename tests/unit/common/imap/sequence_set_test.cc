#include "common/imap/sequence_set.h"

#include <catch2/catch.hpp>

using namespace tern;
using namespace tern::imap;
using Range = SequenceSet::Range;
using Ranges = std::vector<Range>;

TEST_CASE("sequence_set: parses numbers, ranges either way and *") {
  auto s = parse_sequence_set("1:3,5,7:*,*,9:8");
  REQUIRE(s.ok());
  CHECK(s->ranges() == Ranges{{1, 3}, {5, 5}, {7, 0}, {0, 0}, {9, 8}});
  CHECK(s->uses_star());
  CHECK(s->max_explicit() == 9);
  CHECK(s->to_string() == "1:3,5,7:*,*,9:8");
  CHECK(parse_sequence_set("4294967295")->ranges() == Ranges{{4294967295u, 4294967295u}});
}

TEST_CASE("sequence_set: refuses malformed sets with kInvalid") {
  for (const char* bad : {"", "0", "1:0", ",", "1,", ",1", "1::2", "1:2:3", "a", "1 2", "01", "4294967296",
                          "99999999999", "-1", "+1", "1:", ":1", "**", "1,,2", "$"}) {
    INFO(bad);
    auto s = parse_sequence_set(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == Errc::kInvalid);
  }
}

TEST_CASE("sequence_set: bounds the count of ranges") {
  std::string text = "1";
  for (int i = 2; i <= 100; ++i) text += "," + std::to_string(i * 2);
  CHECK(parse_sequence_set(text, 100).ok());
  auto over = parse_sequence_set(text + ",999", 100);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == Errc::kLimit);
}

TEST_CASE("sequence_set: resolve sorts, merges and replaces * by the largest number") {
  auto s = parse_sequence_set("9:8,1:3,4,7:*");
  REQUIRE(s.ok());
  CHECK(s->resolve(20) == Ranges{{1, 4}, {7, 20}});
  // RFC 3501 6.4.8: 559:* with a largest UID of 500 is 500:559.
  CHECK(parse_sequence_set("559:*")->resolve(500) == Ranges{{500, 559}});
  CHECK(parse_sequence_set("559:*")->contains(500, 500));
  CHECK_FALSE(parse_sequence_set("559:*")->contains(499, 500));
  // An empty mailbox has no "*".
  CHECK(parse_sequence_set("1:*,5")->resolve(0) == Ranges{{5, 5}});
  CHECK_FALSE(parse_sequence_set("*")->contains(0, 0));
  CHECK(parse_sequence_set("4294967295,1:4294967294")->resolve(10) == Ranges{{1, 4294967295u}});
  CHECK(format_ranges({{1, 3}, {5, 5}}) == "1:3,5");
}
