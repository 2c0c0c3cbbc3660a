#include "common/imap/date.h"

#include <array>

#include "common/imap/command.h"

namespace tern::imap {

namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool digits(std::string_view s, size_t n, int* out) {
  if (s.size() != n) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "dd-Mon-yyyy" with a day of one or two digits (or, for date-day-fixed,
// a space and one digit: the caller strips the space).
bool parse_day_month_year(std::string_view s, int* year, unsigned* month, unsigned* day) {
  size_t d1 = s.find('-');
  if (d1 == std::string_view::npos || s.size() < d1 + 9 || s[d1 + 4] != '-') return false;
  int dd = 0;
  if (d1 < 1 || d1 > 2 || !digits(s.substr(0, d1), d1, &dd)) return false;
  std::string_view mon = s.substr(d1 + 1, 3);
  unsigned m = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (ascii_iequal(mon, kMonths[i])) m = i + 1;
  }
  int yyyy = 0;
  if (m == 0 || !digits(s.substr(d1 + 5), 4, &yyyy)) return false;
  if (dd < 1 || static_cast<unsigned>(dd) > days_in_month(yyyy, m)) return false;
  *year = yyyy;
  *month = m;
  *day = static_cast<unsigned>(dd);
  return true;
}

}  // namespace

// Days from civil (the proleptic Gregorian count by eras of 400 years).
int32_t day_number(int year, unsigned month, unsigned day) {
  int y = year - (month <= 2 ? 1 : 0);
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int32_t>(doe) - 719468;
}

CivilDate civil_date(int32_t z) {
  z += 719468;
  int32_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int y = static_cast<int>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  CivilDate out;
  out.day = doy - (153 * mp + 2) / 5 + 1;
  out.month = mp < 10 ? mp + 3 : mp - 9;
  out.year = y + (out.month <= 2 ? 1 : 0);
  return out;
}

Result<int32_t> parse_date(std::string_view text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (!parse_day_month_year(text, &y, &m, &d)) return invalid("invalid date");
  return day_number(y, m, d);
}

Result<DateTime> parse_date_time(std::string_view text) {
  // date-day-fixed "-" date-month "-" date-year SP time SP zone: 26 bytes.
  if (text.size() != 26 || text[11] != ' ' || text[20] != ' ') return invalid("invalid date-time");
  std::string_view date = text.substr(0, 11);
  if (date[0] == ' ') {
    if (date[1] < '1' || date[1] > '9') return invalid("invalid date-time");
    date.remove_prefix(1);
  }
  int y = 0;
  unsigned m = 0, d = 0;
  if (!parse_day_month_year(date, &y, &m, &d)) return invalid("invalid date-time");
  int hh = 0, mm = 0, ss = 0, zh = 0, zm = 0;
  std::string_view time = text.substr(12, 8);
  std::string_view zone = text.substr(21);
  if (time[2] != ':' || time[5] != ':' || !digits(time.substr(0, 2), 2, &hh) ||
      !digits(time.substr(3, 2), 2, &mm) || !digits(time.substr(6, 2), 2, &ss) || hh > 23 || mm > 59 ||
      ss > 60) {
    return invalid("invalid date-time");
  }
  if ((zone[0] != '+' && zone[0] != '-') || !digits(zone.substr(1, 2), 2, &zh) ||
      !digits(zone.substr(3, 2), 2, &zm) || zm > 59) {
    return invalid("invalid date-time");
  }
  DateTime out;
  out.zone_minutes = (zone[0] == '-' ? -1 : 1) * (zh * 60 + zm);
  // A leap second (60) is taken as the next second's start.
  out.time = static_cast<int64_t>(day_number(y, m, d)) * 86400 + hh * 3600 + mm * 60 + ss -
             static_cast<int64_t>(out.zone_minutes) * 60;
  return out;
}

std::string format_date_time(int64_t time, int32_t zone_minutes) {
  int64_t local = time + static_cast<int64_t>(zone_minutes) * 60;
  int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  int64_t secs = local - days * 86400;
  CivilDate c = civil_date(static_cast<int32_t>(days));
  int32_t z = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  char buf[40];
  snprintf(buf, sizeof buf, "\"%2u-%s-%04d %02d:%02d:%02d %c%02d%02d\"", c.day,
           std::string(kMonths[c.month - 1]).c_str(), c.year, static_cast<int>(secs / 3600),
           static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+',
           static_cast<int>(z / 60), static_cast<int>(z % 60));
  return buf;
}

int32_t local_zone_minutes(int64_t time) {
  time_t t = static_cast<time_t>(time);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return 0;
  return static_cast<int32_t>(tm.tm_gmtoff / 60);
}

}  // namespace tern::imap
