#include "common/imap/date.h"

#include <catch2/catch.hpp>

using namespace tern::imap;

TEST_CASE("date: day numbers count days from 1970-01-01 both ways") {
  CHECK(day_number(1970, 1, 1) == 0);
  CHECK(day_number(1969, 12, 31) == -1);
  CHECK(day_number(2000, 3, 1) == 11017);
  CHECK(day_number(1994, 2, 1) == 8797);
  for (int32_t d : {-800000, -1, 0, 1, 59, 60, 11016, 11017, 20000, 2932896}) {
    CivilDate c = civil_date(d);
    CHECK(day_number(c.year, c.month, c.day) == d);
  }
}

TEST_CASE("date: parse_date reads dd-Mon-yyyy and refuses the rest") {
  CHECK(*parse_date("1-Feb-1994") == 8797);
  CHECK(*parse_date("01-feb-1994") == 8797);
  CHECK(*parse_date("29-Feb-2000") == day_number(2000, 2, 29));
  for (const char* bad : {"", "1-Feb-94", "1-Fev-1994", "32-Jan-2000", "29-Feb-1900", "0-Jan-2000", "001-Jan-2000",
                          "1 Feb 1994", "1-Feb-1994 ", "1-Feb-19944", "a-Feb-1994", "31-Apr-2020"}) {
    INFO(bad);
    CHECK_FALSE(parse_date(bad).ok());
  }
}

TEST_CASE("date: date-time of APPEND and INTERNALDATE round-trip") {
  auto t = parse_date_time("17-Jul-1996 02:44:25 -0700");
  REQUIRE(t.ok());
  CHECK(t->time == 837596665);
  CHECK(t->zone_minutes == -420);
  CHECK(format_date_time(t->time, t->zone_minutes) == "\"17-Jul-1996 02:44:25 -0700\"");
  auto s = parse_date_time(" 7-Jul-1996 02:44:25 +0130");
  REQUIRE(s.ok());
  CHECK(format_date_time(s->time, s->zone_minutes) == "\" 7-Jul-1996 02:44:25 +0130\"");
  CHECK(format_date_time(0, 0) == "\" 1-Jan-1970 00:00:00 +0000\"");
  CHECK(format_date_time(-1, 0) == "\"31-Dec-1969 23:59:59 +0000\"");
  for (const char* bad : {"7-Jul-1996 02:44:25 -0700", "17-Jul-1996 2:44:25 -0700", "17-Jul-1996 24:00:00 +0000",
                          "17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07:0", "17-Jul-1996 02:44:25 -0760",
                          "17-Jul-1996T02:44:25 -0700", " 0-Jul-1996 02:44:25 -0700", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_date_time(bad).ok());
  }
}
