#pragma once
// IMAP dates (RFC 3501 9):
//
//   date       = date-text / DQUOTE date-text DQUOTE
//   date-text  = date-day "-" date-month "-" date-year      (SEARCH)
//   date-time  = DQUOTE date-day-fixed "-" date-month "-" date-year
//                SP time SP zone DQUOTE                     (APPEND, INTERNALDATE)
//   date-day   = 1*2DIGIT          date-day-fixed = (SP DIGIT) / 2DIGIT
//   date-month = "Jan" / "Feb" / ... / "Dec"  (case-insensitive)
//   date-year  = 4DIGIT            time = 2DIGIT ":" 2DIGIT ":" 2DIGIT
//   zone       = ("+" / "-") 4DIGIT
//
// A date is a day number: days since 1970-01-01 in the proleptic Gregorian
// calendar (negative before), so comparisons are integer comparisons. The
// day must exist in its month (no 31-Feb); years 0000..9999 as written.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::imap {

// Days since 1970-01-01 of a civil date, and back.
int32_t day_number(int year, unsigned month, unsigned day);
struct CivilDate {
  int year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31
};
CivilDate civil_date(int32_t day_number);

// "1-Feb-1994" / "01-Feb-1994" (the quotes, when the date came as a quoted
// string, are already gone: pass the value's text). Errc::kInvalid.
Result<int32_t> parse_date(std::string_view text);

struct DateTime {
  int64_t time = 0;           // seconds since the epoch (UTC)
  int32_t zone_minutes = 0;   // the zone written: -0700 is -420
};
// " 7-Jul-1996 02:44:25 -0700" or "17-Jul-1996 02:44:25 -0700" (without the
// quotes). Errc::kInvalid.
Result<DateTime> parse_date_time(std::string_view text);
// The INTERNALDATE form, quotes included: "\"17-Jul-1996 02:44:25 -0700\"",
// the day with a leading space when below 10 (date-day-fixed).
std::string format_date_time(int64_t time, int32_t zone_minutes);
// The zone of the local time zone at `time`, in minutes east of UTC.
int32_t local_zone_minutes(int64_t time);

}  // namespace tern::imap
